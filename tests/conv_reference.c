#include "conv_reference.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Kernels of the pairs (1,2), (1,1), (2,2) over all pixel pairs; Θ for (1,2). */
typedef struct Ker {
    int spatial;
    size_t h, w;
    double *s[3]; /* 0: (x1,x2)  1: (x1,x1)  2: (x2,x2) */
    double *t;
    int same; /* x1 is x2 (the same row of the same array): dropout scales (x1,x2) too */
    double units; /* units per unit of width: 1 after a layer with weights, times the pixels after
                   * flatten, the branches' total after a channel concat, which weights each branch's
                   * kernel by its share of them (as a finite net's concatenated channels count) */
} Ker;

static size_t len(const Ker *k) { return k->h * k->h * k->w * k->w; }
static size_t at(const Ker *k, size_t i, size_t kk, size_t j, size_t l)
{
    return ((i * k->h + kk) * k->w + j) * k->w + l;
}

static Ker ker_new(int spatial, size_t h, size_t w)
{
    Ker k = {spatial, h, w, {NULL, NULL, NULL}, NULL, 0, 1.0};
    for (int p = 0; p < 3; p++)
        k.s[p] = calloc(len(&k), sizeof(double));
    k.t = calloc(len(&k), sizeof(double));
    return k;
}

static Ker ker_copy(const Ker *a)
{
    Ker k = ker_new(a->spatial, a->h, a->w);
    k.same = a->same;
    k.units = a->units;
    for (int p = 0; p < 3; p++)
        memcpy(k.s[p], a->s[p], len(a) * sizeof(double));
    memcpy(k.t, a->t, len(a) * sizeof(double));
    return k;
}

static void ker_free(Ker *k)
{
    for (int p = 0; p < 3; p++)
        free(k->s[p]);
    free(k->t);
}

/* Index of output position m, tap u along an axis of n (−1 outside). */
static long tap(long m, long u, long s, long p, long n, int cyc)
{
    long r = s * m + u - p;
    if (cyc)
        return ((r % n) + n) % n;
    return r < 0 || r >= n ? -1 : r;
}

/* out = c·Σ over windows of a; shared = 1 for a conv (the same tap on both pixels). */
static void window_sum(const Ker *a, double *src, Ker *o, double *dst, const IrWindow *w, int shared, double c)
{
    int cyc = w->pad == IR_PAD_CIRCULAR;
    for (size_t i = 0; i < o->h; i++)
        for (size_t k = 0; k < o->h; k++)
            for (size_t j = 0; j < o->w; j++)
                for (size_t l = 0; l < o->w; l++) {
                    double sum = 0;
                    for (int u = 0; u < w->kh; u++)
                        for (int v = 0; v < w->kh; v++) {
                            if (shared && u != v)
                                continue;
                            long ri = tap((long)i, u * w->dh, w->sh, w->pt, (long)a->h, cyc);
                            long rk = tap((long)k, v * w->dh, w->sh, w->pt, (long)a->h, cyc);
                            if (ri < 0 || rk < 0)
                                continue;
                            for (int u2 = 0; u2 < w->kw; u2++)
                                for (int v2 = 0; v2 < w->kw; v2++) {
                                    if (shared && u2 != v2)
                                        continue;
                                    long cj = tap((long)j, u2 * w->dw, w->sw, w->pl, (long)a->w, cyc);
                                    long cl = tap((long)l, v2 * w->dw, w->sw, w->pl, (long)a->w, cyc);
                                    if (cj >= 0 && cl >= 0)
                                        sum += src[at(a, (size_t)ri, (size_t)rk, (size_t)cj, (size_t)cl)];
                                }
                        }
                    dst[at(o, i, k, j, l)] = c * sum;
                }
}

/* Input pixel of conv_transpose's position m, tap u: the input dilated by s,
 * padded by p before (lax.conv_transpose); −1 off the grid or outside. */
static long tap_transpose(long m, long u, long s, long p, long n)
{
    long j = m + u - p;
    return j < 0 || j % s != 0 || j / s >= n ? -1 : j / s;
}

/* conv_transpose and conv_local, entry by entry from their definitions:
 * the valid (pre-fold) output of all pixel pairs with the same tap on both,
 * every entry added to its folded pair (circular transpose: v → (v − c) mod
 * n), and conv_local's pairs of different pixels zero, bias included.
 * Under param standard (neural-tangents' _Conv, standard branch) Θ' takes
 * C·(the tap sum of Σ) instead of Σ', +1 with a bias, on the same pairs. */
static void variant_sum(const Ker *a, const IrOp *op, Parameterization param, Ker *o)
{
    const IrConv *cv = &op->u.conv;
    const IrWindow *w = &cv->win;
    int tr = op->kind == IR_CONV_TRANSPOSE, cyc = w->pad == IR_PAD_CIRCULAR, fold = tr && cyc;
    int trains = ir_arg(&op->args, "trainable", 1) != 0; /* trainable=false: Σ' leaves Θ' */
    int std = param == PARAM_STANDARD;
    double C = (double)cv->fan_in;
    long ph = fold ? (long)cv->fold_h : (long)o->h, pw = fold ? (long)cv->fold_w : (long)o->w;
    long ch = fold ? (ph - (long)o->h) / 2 : 0, cw = fold ? (pw - (long)o->w) / 2 : 0;
    double c = cv->w_std * cv->w_std / ((double)w->kh * w->kw), b2 = cv->b_std * cv->b_std;
    for (long i = 0; i < ph; i++)
        for (long k = 0; k < ph; k++)
            for (long j = 0; j < pw; j++)
                for (long l = 0; l < pw; l++) {
                    double sum[4] = {0, 0, 0, 0};
                    for (long u = 0; u < w->kh; u++)
                        for (long v = 0; v < w->kw; v++) {
                            long r[4];
                            const long m[4] = {i, k, j, l}, tp[4] = {u, u, v, v};
                            for (int q = 0; q < 4; q++) {
                                long n = q < 2 ? (long)a->h : (long)a->w, st = q < 2 ? w->sh : w->sw;
                                long pd = q < 2 ? w->pt : w->pl;
                                r[q] = tr ? tap_transpose(m[q], tp[q], st, pd, n) : tap(m[q], tp[q], st, pd, n, cyc);
                            }
                            if (r[0] < 0 || r[1] < 0 || r[2] < 0 || r[3] < 0)
                                continue;
                            size_t e = at(a, (size_t)r[0], (size_t)r[1], (size_t)r[2], (size_t)r[3]);
                            for (int p = 0; p < 3; p++)
                                sum[p] += a->s[p][e];
                            sum[3] += a->t[e];
                        }
                    size_t oi = (size_t)((((i - ch) % (long)o->h) + (long)o->h) % (long)o->h);
                    size_t ok = (size_t)((((k - ch) % (long)o->h) + (long)o->h) % (long)o->h);
                    size_t oj = (size_t)((((j - cw) % (long)o->w) + (long)o->w) % (long)o->w);
                    size_t ol = (size_t)((((l - cw) % (long)o->w) + (long)o->w) % (long)o->w);
                    if (!tr && (i != k || j != l))
                        continue;
                    size_t e = at(o, oi, ok, oj, ol);
                    for (int p = 0; p < 3; p++)
                        o->s[p][e] += c * sum[p];
                    o->t[e] += c * sum[3] + (std && trains ? C * sum[0] : 0.0);
                }
    for (size_t i = 0; i < o->h; i++)
        for (size_t k = 0; k < o->h; k++)
            for (size_t j = 0; j < o->w; j++)
                for (size_t l = 0; l < o->w; l++) {
                    size_t e = at(o, i, k, j, l);
                    int kept = tr || (i == k && j == l);
                    if (kept)
                        for (int p = 0; p < 3; p++)
                            o->s[p][e] += b2;
                    if (trains && !std)
                        o->t[e] += o->s[0][e];
                    else if (trains && kept && cv->has_bias)
                        o->t[e] += 1.0;
                }
}

static void dual(const char *name, double s11, double s12, double s22, double *T, double *Td)
{
    if (strcmp(name, "relu") == 0) {
        double norm = sqrt(s11 * s22), c = norm > 0 ? fmax(-1.0, fmin(1.0, s12 / norm)) : 0.0, th = acos(c);
        *T = norm * (sin(th) + (M_PI - th) * c) / (2 * M_PI);
        *Td = (M_PI - th) / (2 * M_PI);
    } else if (strcmp(name, "erf") == 0) {
        double q = (1 + 2 * s11) * (1 + 2 * s22);
        *T = 2 / M_PI * asin(2 * s12 / sqrt(q));
        *Td = 4 / M_PI / sqrt(q - 4 * s12 * s12);
    } else {
        cr_assert_str_eq(name, "identity", "the reference lacks activation %s", name);
        *T = s12, *Td = 1.0;
    }
}

static void apply(const IrOp *ops, size_t n, Parameterization param, Ker *k);

/* A pixel's branch and its pixel in that branch's output along a spatial
 * concat's axis (sizes n[b]). */
static size_t part_of(const size_t *n, size_t nb, size_t r, size_t *local)
{
    size_t b = 0;
    while (b + 1 < nb && r >= n[b])
        r -= n[b++];
    *local = r;
    return b;
}

/* concat along height or width from its definition: the covariance of
 * pixels p, q is branch b's when both lie in b, the input's when they lie in
 * two identity branches (the same variables), else 0 (independent branches). */
static void spatial_concat(const IrFanout *f, Parameterization param, Ker *k)
{
    size_t nb = f->nbranches, *n = calloc(nb, sizeof *n);
    Ker *br = calloc(nb, sizeof *br);
    int rows = f->axis == IR_CONCAT_HEIGHT;
    size_t H = rows ? 0 : k->h, W = rows ? k->w : 0;
    for (size_t b = 0; b < nb; b++) {
        br[b] = ker_copy(k);
        apply(f->branches[b].ops, f->branches[b].nops, param, &br[b]);
        n[b] = rows ? br[b].h : br[b].w;
        H += rows ? br[b].h : 0;
        W += rows ? 0 : br[b].w;
        if (!rows)
            H = br[b].h;
        else
            W = br[b].w;
    }
    Ker o = ker_new(1, H, W);
    o.same = k->same;
    for (size_t b = 0; b < nb; b++) /* joined pixels: as wide as each branch (see fanout) */
        o.units = fmax(b ? o.units : 0.0, br[b].units);
    for (size_t i = 0; i < H; i++)
        for (size_t kk = 0; kk < H; kk++)
            for (size_t j = 0; j < W; j++)
                for (size_t l = 0; l < W; l++) {
                    size_t li = i, lk = kk, lj = j, ll = l;
                    size_t b1 = part_of(n, nb, rows ? i : j, rows ? &li : &lj);
                    size_t b2 = part_of(n, nb, rows ? kk : l, rows ? &lk : &ll);
                    const Ker *src = b1 == b2 ? &br[b1]
                                     : f->branches[b1].nops == 0 && f->branches[b2].nops == 0 ? k
                                                                                              : NULL;
                    if (src == NULL)
                        continue;
                    size_t e = at(src, li, lk, lj, ll), d = at(&o, i, kk, j, l);
                    for (int p = 0; p < 3; p++)
                        o.s[p][d] = src->s[p][e];
                    o.t[d] = src->t[e];
                }
    for (size_t b = 0; b < nb; b++)
        ker_free(&br[b]);
    free(br);
    free(n);
    ker_free(k);
    *k = o;
}

static void fanout(const IrFanout *f, Parameterization param, Ker *k)
{
    if (f->mode == IR_FANIN_CONCAT && f->axis != IR_CONCAT_CHANNELS) {
        spatial_concat(f, param, k);
        return;
    }
    Ker acc = {0};
    Ker *brs = calloc(f->nbranches, sizeof *brs);
    double total = 0.0, widest = 0.0;
    for (size_t b = 0; b < f->nbranches; b++) {
        brs[b] = ker_copy(k);
        apply(f->branches[b].ops, f->branches[b].nops, param, &brs[b]);
        total += brs[b].units;
        widest = fmax(widest, brs[b].units);
    }
    for (size_t b = 0; b < f->nbranches; b++) {
        Ker br = brs[b];
        if (b == 0) {
            acc = ker_new(br.spatial, br.h, br.w);
            acc.same = k->same;
            if (f->mode == IR_FANIN_PROD)
                for (int p = 0; p < 3; p++)
                    for (size_t e = 0; e < len(&acc); e++)
                        acc.s[p][e] = 1.0;
        }
        double c = f->mode == IR_FANIN_SUM ? f->branches[b].scale * f->branches[b].scale
                   : f->mode == IR_FANIN_CONCAT ? br.units / total
                                               : 1.0;
        for (size_t e = 0; e < len(&acc); e++) {
            if (f->mode == IR_FANIN_PROD) {
                acc.t[e] = acc.t[e] * br.s[0][e] + acc.s[0][e] * br.t[e];
                for (int p = 0; p < 3; p++)
                    acc.s[p][e] *= br.s[p][e];
            } else {
                acc.t[e] += c * br.t[e];
                for (int p = 0; p < 3; p++)
                    acc.s[p][e] += c * br.s[p][e];
            }
        }
        ker_free(&br);
    }
    free(brs);
    /* a sum's branches have equal widths: a branch ending in a layer with weights is as wide as
     * the others (an identity's input, or a flattened image); 1 when all end so */
    acc.units = f->mode == IR_FANIN_CONCAT ? total : widest;
    ker_free(k);
    *k = acc;
}

/* Variances of the pixels of x1 (p = 1) or x2 (p = 2): the same-pixel entries. */
static double var(const Ker *k, int p, size_t i, size_t j) { return k->s[p][at(k, i, i, j, j)]; }

static void pointwise(const IrOp *op, Ker *k)
{
    Ker old = ker_copy(k);
    for (size_t i = 0; i < k->h; i++)
        for (size_t kk = 0; kk < k->h; kk++)
            for (size_t j = 0; j < k->w; j++)
                for (size_t l = 0; l < k->w; l++) {
                    size_t e = at(k, i, kk, j, l);
                    /* pairs (x1,x2), (x1,x1), (x2,x2): which input each pixel is of */
                    double va[3] = {var(&old, 1, i, j), var(&old, 1, i, j), var(&old, 2, i, j)};
                    double vb[3] = {var(&old, 2, kk, l), var(&old, 1, kk, l), var(&old, 2, kk, l)};
                    for (int p = 0; p < 3; p++) {
                        double T, Td;
                        if (op->kind == IR_ACT) {
                            dual(op->u.act.def->name, va[p], old.s[p][e], vb[p], &T, &Td);
                        } else {
                            Td = 1.0 / sqrt((va[p] + op->u.ln.eps) * (vb[p] + op->u.ln.eps));
                            T = old.s[p][e] * Td;
                        }
                        k->s[p][e] = T;
                        if (p == 0)
                            k->t[e] = old.t[e] * Td;
                    }
                }
    ker_free(&old);
}

/* Entry (pixel a of the first input, pixel b of the second), pixels numbered row by row. */
static double *px(const Ker *k, double *m, size_t a, size_t b)
{
    return &m[at(k, a / k->w, b / k->w, a % k->w, b % k->w)];
}

/* Attention weights of one input from its self-kernel m (neural-tangents'
 * _get_weighting): mech(qk·m(a, b)), softmax normalised over b. */
static double *attn_weights(const Ker *k, double *m, const IrAttention *a)
{
    size_t P = k->h * k->w;
    double *A = calloc(P * P, sizeof *A);
    for (size_t i = 0; i < P; i++) {
        double z = 0, mx = -INFINITY;
        for (size_t j = 0; j < P; j++)
            mx = fmax(mx, a->w_q * a->w_k * *px(k, m, i, j));
        for (size_t j = 0; j < P; j++) {
            double g = a->w_q * a->w_k * *px(k, m, i, j);
            A[i * P + j] = a->mech == IR_ATTN_SOFTMAX ? exp(g - mx) : a->mech == IR_ATTN_IDENTITY ? g
                           : a->mech == IR_ATTN_ABS   ? fabs(g)
                                                      : fmax(g, 0.0);
            z += A[i * P + j];
        }
        for (size_t j = 0; j < P && a->mech == IR_ATTN_SOFTMAX; j++)
            A[i * P + j] /= z;
    }
    return A;
}

/* m ← Aa·m·Abᵀ, by the four-index sum. */
static void attn_mix(const Ker *k, double *m, const double *Aa, const double *Ab)
{
    size_t P = k->h * k->w;
    double *o = calloc(P * P, sizeof *o);
    for (size_t i = 0; i < P; i++)
        for (size_t j = 0; j < P; j++)
            for (size_t u = 0; u < P; u++)
                for (size_t v = 0; v < P; v++)
                    o[i * P + j] += Aa[i * P + u] * *px(k, m, u, v) * Ab[j * P + v];
    for (size_t i = 0; i < P; i++)
        for (size_t j = 0; j < P; j++)
            *px(k, m, i, j) = o[i * P + j];
    free(o);
}

static void attention(const IrAttention *a, Ker *k)
{
    size_t n = len(k);
    double ov2 = a->w_v * a->w_v * a->w_out * a->w_out, b2 = a->b_std * a->b_std;
    if (a->linear) {
        double *A1 = attn_weights(k, k->s[1], a), *A2 = attn_weights(k, k->s[2], a);
        const double *L[3] = {A1, A1, A2}, *R[3] = {A2, A1, A2};
        attn_mix(k, k->t, A1, A2);
        for (int p = 0; p < 3; p++)
            attn_mix(k, k->s[p], L[p], R[p]);
        for (size_t e = 0; e < n; e++) {
            k->t[e] = ov2 * (k->t[e] + 2 * k->s[0][e]) + b2;
            for (int p = 0; p < 3; p++)
                k->s[p][e] = ov2 * k->s[p][e] + b2;
        }
        free(A1);
        free(A2);
        return;
    }
    /* sqrt scaling, identity mechanism (neural-tangents' dot12, nngp_dot_ntk) */
    double c = ov2 * a->w_q * a->w_q * a->w_k * a->w_k, ss[3] = {0, 0, 0}, st = 0;
    for (size_t e = 0; e < n; e++) {
        for (int p = 0; p < 3; p++)
            ss[p] += k->s[p][e] * k->s[p][e];
        st += k->s[0][e] * k->t[e];
    }
    for (size_t e = 0; e < n; e++) {
        k->t[e] = c * (2 * st * k->s[0][e] + ss[0] * (k->t[e] + 4 * k->s[0][e])) + b2;
        for (int p = 0; p < 3; p++)
            k->s[p][e] = c * ss[p] * k->s[p][e] + b2;
    }
}

/* jax.image.resize's weight of input pixel i for output pixel j along an
 * axis n → m, written from jax's definition (half-pixel centres, the
 * triangle widened by n/m when antialiasing a downsampling, weights divided
 * by their sum; nearest reads ⌊(j + ½)·n/m⌋; an unchanged axis is the
 * identity), separately from compiler/ir/ir_resize.c. */
static double resize_weight(const IrResize *r, size_t n, size_t m, size_t j, size_t i)
{
    if (n == m)
        return i == j ? 1.0 : 0.0;
    double centre = ((double)j + 0.5) * (double)n / (double)m; /* in input pixel units, from its left edge */
    if (r->nearest)
        return (double)i == floor(centre) ? 1.0 : 0.0;
    double width = r->antialias && n > m ? (double)n / (double)m : 1.0, total = 0.0, mine = 0.0;
    for (size_t u = 0; u < n; u++) {
        double d = fabs(centre - ((double)u + 0.5)) / width, tri = d < 1.0 ? 1.0 - d : 0.0;
        total += tri;
        mine += u == i ? tri : 0.0;
    }
    return mine / total;
}

/* o[p][q] = Σ_{a,b} R[p][a]·R[q][b]·k[a][b] on every pixel pair, R = Rh ⊗ Rw. */
static void resize_sum(const Ker *k, const double *m, const Ker *o, double *out, const IrResize *r)
{
    for (size_t i = 0; i < o->h; i++)
        for (size_t kk = 0; kk < o->h; kk++)
            for (size_t j = 0; j < o->w; j++)
                for (size_t l = 0; l < o->w; l++) {
                    double sum = 0.0;
                    for (size_t a = 0; a < k->h; a++)
                        for (size_t b = 0; b < k->h; b++)
                            for (size_t c = 0; c < k->w; c++)
                                for (size_t d = 0; d < k->w; d++)
                                    sum += resize_weight(r, k->h, o->h, i, a) * resize_weight(r, k->h, o->h, kk, b) *
                                           resize_weight(r, k->w, o->w, j, c) * resize_weight(r, k->w, o->w, l, d) *
                                           m[at(k, a, b, c, d)];
                    out[at(o, i, kk, j, l)] = sum;
                }
}

/* neural-tangents' Dropout(rate=keep, 'train'): _diag_mul by 1/keep of the
 * entries whose two units share a mask, the same input at the same position
 * (every spatial axis pair equal): always in the inputs' own covariances
 * (cov1, cov2), in the pair's only when x1 is x2. */
static void dropout(double keep, Ker *k)
{
    for (size_t i = 0; i < k->h; i++)
        for (size_t j = 0; j < k->w; j++) {
            size_t e = at(k, i, i, j, j);
            k->s[1][e] /= keep;
            k->s[2][e] /= keep;
            if (k->same)
                k->s[0][e] /= keep, k->t[e] /= keep;
        }
}

static void apply(const IrOp *ops, size_t n, Parameterization param, Ker *k)
{
    for (size_t i = 0; i < n; i++) {
        const IrOp *op = &ops[i];
        Ker o = ker_new(op->out.spatial, op->out.h, op->out.w);
        o.same = k->same;
        o.units = k->units;
        switch (op->kind) {
        case IR_DENSE:
        case IR_CONV: {
            IrWindow one = {1, 1, 1, 1, 0, 0, IR_PAD_VALID, 1, 1, 0, 0, 0, 0, 0, 0};
            const IrWindow *w = op->kind == IR_CONV ? &op->u.conv.win : &one;
            double ws = op->kind == IR_CONV ? op->u.conv.w_std : op->u.dense.w_std;
            double bs = op->kind == IR_CONV ? op->u.conv.b_std : op->u.dense.b_std;
            double c = ws * ws / ((double)w->kh * w->kw);
            for (int p = 0; p < 3; p++) {
                window_sum(k, k->s[p], &o, o.s[p], w, 1, c);
                for (size_t e = 0; e < len(&o); e++)
                    o.s[p][e] += bs * bs;
            }
            window_sum(k, k->t, &o, o.t, w, 1, c);
            int frozen = op->kind == IR_CONV ? op->u.conv.frozen : op->u.dense.frozen;
            if (param == PARAM_STANDARD && !frozen) {
                /* neural-tangents' standard parameterization: the raw weights' gradient,
                 * Θ' += C·Σ_δ Σ (C input channels, the sum over the window's taps), +1 with a bias */
                long C = op->kind == IR_CONV ? op->u.conv.fan_in : op->u.dense.fan_in;
                int bias = op->kind == IR_CONV ? op->u.conv.has_bias : op->u.dense.has_bias;
                cr_assert(C > 0, "conv_reference: param standard on the data's own dimension");
                double *raw = calloc(len(&o), sizeof *raw);
                window_sum(k, k->s[0], &o, raw, w, 1, (double)C);
                for (size_t e = 0; e < len(&o); e++)
                    o.t[e] += raw[e] + (bias ? 1.0 : 0.0);
                free(raw);
                break;
            }
            for (size_t e = 0; e < len(&o) && !frozen; e++)
                o.t[e] += o.s[0][e];
            o.units = 1.0;
            break;
        }
        case IR_CONV_TRANSPOSE:
        case IR_CONV_LOCAL:
            variant_sum(k, op, param, &o);
            o.units = 1.0;
            break;
        case IR_IMAGE_RESIZE:
            for (int p = 0; p < 3; p++)
                resize_sum(k, k->s[p], &o, o.s[p], &op->u.resize);
            resize_sum(k, k->t, &o, o.t, &op->u.resize);
            break;
        case IR_POOL: {
            const IrWindow *w = &op->u.pool.win;
            double c = op->u.pool.average ? 1.0 / ((double)w->kh * w->kw) : 1.0;
            for (int p = 0; p < 3; p++)
                window_sum(k, k->s[p], &o, o.s[p], w, 0, c * c);
            window_sum(k, k->t, &o, o.t, w, 0, c * c);
            break;
        }
        case IR_GLOBAL_POOL:
        case IR_FLATTEN: {
            double P = (double)(k->h * k->w);
            double c = op->kind == IR_FLATTEN ? 1.0 / P : op->u.gpool.average ? 1.0 / (P * P) : 1.0;
            for (size_t ii = 0; ii < k->h; ii++)
                for (size_t kk = 0; kk < k->h; kk++)
                    for (size_t j = 0; j < k->w; j++)
                        for (size_t l = 0; l < k->w; l++) {
                            if (op->kind == IR_FLATTEN && (ii != kk || j != l))
                                continue;
                            size_t e = at(k, ii, kk, j, l);
                            for (int p = 0; p < 3; p++)
                                o.s[p][0] += c * k->s[p][e];
                            o.t[0] += c * k->t[e];
                        }
            if (op->kind == IR_FLATTEN)
                o.units = k->units * P;
            break;
        }
        case IR_INDEX: { /* the (k, k) entry of the position pairs: row k / w, column k % w */
            size_t r = op->u.index.pos / k->w, c = op->u.index.pos % k->w, e = at(k, r, r, c, c);
            for (int p = 0; p < 3; p++)
                o.s[p][0] = k->s[p][e];
            o.t[0] = k->t[e];
            break;
        }
        case IR_ACT:
        case IR_LAYER_NORM:
            ker_free(&o);
            pointwise(op, k);
            continue;
        case IR_FANOUT:
            ker_free(&o);
            fanout(&op->u.fanout, param, k);
            continue;
        case IR_ATTENTION:
            ker_free(&o);
            attention(&op->u.attn, k);
            k->units = 1.0;
            continue;
        case IR_DROPOUT:
            ker_free(&o);
            dropout(op->u.dropout.keep, k);
            continue;
        case IR_AGGREGATE: /* graph ops never reach this image reference */
        case IR_READOUT:
            cr_assert_fail("conv_reference: graph op");
        }
        ker_free(k);
        *k = o;
    }
}

void conv_reference(const IrNet *net, size_t dim, const double *x1, const double *x2, double *nngp, double *ntk)
{
    const IrInput *in = &net->input;
    size_t h = in->kind == IR_INPUT_IMAGE ? in->h : 1, w = in->kind == IR_INPUT_IMAGE ? in->w : 1;
    size_t c = in->kind == IR_INPUT_IMAGE ? in->c : dim;
    Ker k = ker_new(in->kind == IR_INPUT_IMAGE, h, w);
    k.same = x1 == x2;
    const double *xs[2] = {x1, x2};
    const int pa[3] = {0, 0, 1}, pb[3] = {1, 0, 1};
    for (int p = 0; p < 3; p++)
        for (size_t i = 0; i < h; i++)
            for (size_t kk = 0; kk < h; kk++)
                for (size_t j = 0; j < w; j++)
                    for (size_t l = 0; l < w; l++) {
                        const double *u = xs[pa[p]] + (i * w + j) * c, *v = xs[pb[p]] + (kk * w + l) * c;
                        double s = 0;
                        for (size_t ch = 0; ch < c; ch++)
                            s += u[ch] * v[ch];
                        k.s[p][at(&k, i, kk, j, l)] = s / (double)c;
                    }
    apply(net->ops, net->nops, net->param, &k);
    *nngp = k.s[0][0];
    *ntk = k.t[0];
    ker_free(&k);
}
