/* Kernel-time C: the helpers of image kernels. Every emitted image kernel
 * carries them (the functions under #ifndef NTKC_HOST_PRIMITIVES) and the
 * library compiles them once more, optimised, for the libtcc back end
 * (tools/gen_host_prims). tools/embed_text embeds the two spans: the common
 * part (macros, types) and the functions, with the prototypes and names of
 * those marked NTKC_FN; tests/test_conv_identities.c checks the copies agree.
 * Compiled on its own as a check (Makefile, kernel-c-check: NTKC_KERNEL_CHECK). */
#ifdef NTKC_KERNEL_CHECK
#include <stddef.h>
#include "ntkc_math.h"
#include "kernel_abi.h" /* NTKC_LANES: the emitter prints it before this text */
#endif
/* @text emit_image_runtime_common */
/* ---- ntkc image-kernel helpers ------------------------------------------
 * A "plane" holds the kernel entries of the pixel pairs (p, p + (a, b)) of an
 * H×W grid: pixel (i, j) of x1 with (i + a, j + b) of x2 (indices wrap on
 * circular axes). Only pairs inside the grid exist: rows [r0, r1), columns
 * [c0, c1) (ntkc_span), stored compactly, row by row, (c1 - c0) apart;
 * everything outside is zero by definition (zero padding). Every entry holds
 * NTKC_LANES values, one per kernel entry computed together (x1 against
 * NTKC_LANES columns x2), so every inner loop runs over whole lanes. */

/* FP exceptions are never inspected: let the optimising back end vectorise
 * loops with selects (tcc ignores the pragma; clang does not know it). Scoped:
 * pushed here, popped at the end of the file (emit_image_runtime_end), so a
 * file that includes or pastes the emitted code keeps its own options. */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__TINYC__)
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")
#endif

/* NTKC_FN: the functions generated code calls (static inline in a net's
 * file, external in the library's copies); NTKC_LEAF: helpers only these
 * call, always static inline so the optimiser can fuse and vectorise them. */
#define NTKC_LEAF static inline
/* NTKC_ROW: a row loop kept out of line. Inlined into its plane's loops,
 * ReLU's row (two vectors of lanes, two dozen constants) no longer fits
 * gcc's sixteen vector registers and spills: 10-30% slower per pair. */
#if defined(__GNUC__) && !defined(__TINYC__)
#define NTKC_ROW static __attribute__((noinline))
#else
#define NTKC_ROW static
#endif

/* float64 in both runtimes (float.sed), and defined once where both sit in
 * one file (the library's host copies): C99 has no repeated typedef. */
#ifndef NTKC_DUAL_FN_DEFINED
#define NTKC_DUAL_FN_DEFINED
typedef void (*ntkc_dual_fn)(const double *p, double s11, double s12, double s22, double *T, double *Td);
#endif

/* The pointwise layers read, for each pair, the variances v1, v2 of its two
 * pixels (the prep records hold Σ(p, p) before every activation and
 * layer_norm). v2 is lane-expanded (one x2 per lane); v1 is one value per
 * pixel shared by all lanes (bc = 1, every lane has the same x1) or
 * lane-expanded too (bc = 0, the prep run). Rows cover n pixels. */
#define NTKC_R1(v1, bc, j, l) ((bc) ? (v1)[j] : (v1)[(j) * NTKC_LANES + (l)])

/* Runs BODY for each stretch of a plane's valid entries whose x2 pixels are
 * contiguous: s = index of its first value, n = pixels, p1 / p2 = the first
 * x1 / x2 pixel. */
#define NTKC_ROWS(H, W, a, b, ch, cw, BODY)                                                                    \
    do {                                                                                                       \
        int r0_, r1_, c0_, c1_;                                                                                \
        ntkc_span(H, a, ch, &r0_, &r1_);                                                                       \
        ntkc_span(W, b, cw, &c0_, &c1_);                                                                       \
        int split_ = cw && (b) > 0 ? (W) - (b) : c1_;                                                          \
        for (int i = r0_; i < r1_; i++) {                                                                      \
            int i2 = ch ? ntkc_wrap(i + (a), H) : i + (a);                                                     \
            for (int part_ = 0; part_ < 2; part_++) {                                                          \
                int j0 = part_ ? split_ : c0_, j1 = part_ ? c1_ : split_;                                      \
                int n = j1 - j0, s = ((i - r0_) * (c1_ - c0_) + j0 - c0_) * NTKC_LANES;                        \
                int p1 = i * (W) + j0, p2 = i2 * (W) + (part_ ? j0 + (b) - (W) : j0 + (b));                    \
                if (n > 0) {                                                                                   \
                    BODY;                                                                                      \
                }                                                                                              \
            }                                                                                                  \
        }                                                                                                      \
    } while (0)

/* v1 + p1 in lanes or not */
#define NTKC_V1(v1, bc, p1) ((bc) ? (v1) + (p1) : (v1) + (p1) * NTKC_LANES)

/* The body of an activation's plane function, the dual DUAL applied to every
 * pair: of ntkc_act_plane (DUAL its argument f) and of each built-in
 * activation's ntkc_act_plane_NAME (DUAL ntkc_dual_NAME, compiler/emit/emit_prims.c),
 * which share its parameters p, S, T, H, W, a, b, ch, cw, v1, bc, v2. */
#define NTKC_ACT_PLANE(DUAL)                                                                                   \
    NTKC_ROWS(H, W, a, b, ch, cw,                                                                              \
              ntkc_act_row(DUAL, p, n, S + s, T + s, NTKC_V1(v1, bc, p1), bc, v2 + p2 * NTKC_LANES))

/* @end */
#ifdef NTKC_KERNEL_CHECK
#define NTKC_FN static inline
#endif
/* @text emit_image_runtime_functions @fns emit_image_runtime */
/* -- functions -- */

NTKC_LEAF void ntkc_span(int n, int a, int cyc, int *lo, int *hi)
{
    if (cyc) {
        *lo = 0;
        *hi = n;
        return;
    }
    *lo = a < 0 ? -a : 0;
    *hi = a > 0 ? n - a : n;
}

NTKC_LEAF int ntkc_wrap(int i, int n)
{
    i %= n;
    return i < 0 ? i + n : i;
}

NTKC_LEAF int ntkc_cdiv(int p, int q) { return p >= 0 ? (p + q - 1) / q : -((-p) / q); }
NTKC_LEAF int ntkc_fdiv(int p, int q) { return p >= 0 ? p / q : -((-p + q - 1) / q); }

/* Entries (not values) of a plane at offset (a, b). */
NTKC_FN int ntkc_area(int H, int W, int a, int b, int ch, int cw)
{
    int r0, r1, c0, c1;
    ntkc_span(H, a, ch, &r0, &r1);
    ntkc_span(W, b, cw, &c0, &c1);
    return (r1 - r0) * (c1 - c0);
}

NTKC_FN void ntkc_copy(double *restrict dst, const double *restrict src, int n)
{
    for (int e = 0; e < n; e++)
        dst[e] = src[e];
}

/* The inputs of the lanes, transposed once per entry so the input kernel is
 * a loop over lanes: X[(p·C + c)·L + l] = x[l][p·C + c], P·C values. */
NTKC_FN void ntkc_lanes(const double *const *x, int PC, double *X)
{
    for (int k = 0; k < PC; k++)
        for (int l = 0; l < NTKC_LANES; l++)
            X[k * NTKC_LANES + l] = x[l][k];
}

/* Σ of the input: x1[p]·x2[q]/C per lane (X2 from ntkc_lanes; X1 too, or
 * with bc = 1 the one x1 of every lane as it is); Θ = 0. */
NTKC_FN void ntkc_load_x(const double *X1, int bc, const double *X2, int H, int W, int C, int a, int b, int ch,
                         int cw, double *S, double *T)
{
    int r0, r1, c0, c1;
    ntkc_span(H, a, ch, &r0, &r1);
    ntkc_span(W, b, cw, &c0, &c1);
    double inv = 1.0 / C;
    double *s = S, *t = T;
    for (int i = r0; i < r1; i++) {
        int i2 = ch ? ntkc_wrap(i + a, H) : i + a;
        for (int j = c0; j < c1; j++) {
            int j2 = cw ? ntkc_wrap(j + b, W) : j + b;
            const double *p = X1 + (i * W + j) * C * (bc ? 1 : NTKC_LANES), *q = X2 + (i2 * W + j2) * C * NTKC_LANES;
            for (int l = 0; l < NTKC_LANES; l++)
                s[l] = 0.0, t[l] = 0.0;
            if (bc)
                for (int c = 0; c < C; c++)
                    for (int l = 0; l < NTKC_LANES; l++)
                        s[l] += p[c] * q[c * NTKC_LANES + l];
            else
                for (int c = 0; c < C; c++)
                    for (int l = 0; l < NTKC_LANES; l++)
                        s[l] += p[c * NTKC_LANES + l] * q[c * NTKC_LANES + l];
            for (int l = 0; l < NTKC_LANES; l++)
                s[l] *= inv;
            s += NTKC_LANES, t += NTKC_LANES;
        }
    }
}

/* dst += src over n values (the inner loop of every window sum). */
NTKC_LEAF void ntkc_add(double *restrict dst, const double *restrict src, int n)
{
    for (int e = 0; e < n; e++)
        dst[e] += src[e];
}

/* t = the sum of k rows of n values, the first at src, each `stride` apart,
 * added in order (k <= 3 in one pass, the usual 3×3 conv). */
NTKC_LEAF void ntkc_row_sum(double *restrict t, const double *restrict src, int stride, int k, int n)
{
    if (k == 3) {
        const double *b = src + stride, *c = b + stride;
        for (int e = 0; e < n; e++)
            t[e] = (src[e] + b[e]) + c[e];
    } else if (k == 2) {
        const double *b = src + stride;
        for (int e = 0; e < n; e++)
            t[e] = src[e] + b[e];
    } else if (k == 0) {
        for (int e = 0; e < n; e++)
            t[e] = 0.0;
    } else {
        ntkc_copy(t, src, n);
        for (int m = 1; m < k; m++)
            ntkc_add(t, src + m * stride, n);
    }
}

/* Output columns [q0, q1) of one row of a stride-1 conv, each summing the
 * taps that fall inside [ci0, ci1), in registers. */
NTKC_LEAF void ntkc_conv_cols(const double *tmp, double *dst, const double *ad, int q0, int q1, int co0, int ci0,
                              int ci1, int kw, int pl, double scale, double addc)
{
    for (int q = q0; q < q1; q++) {
        int e0 = ci0 - q + pl > 0 ? ci0 - q + pl : 0, e1 = ci1 - q + pl < kw ? ci1 - q + pl : kw;
        double acc[NTKC_LANES] = {0};
        for (int d = e0; d < e1; d++)
            for (int l = 0; l < NTKC_LANES; l++)
                acc[l] += tmp[(q + d - pl - ci0) * NTKC_LANES + l];
        double *o8 = dst + (q - co0) * NTKC_LANES;
        for (int l = 0; l < NTKC_LANES; l++)
            o8[l] = scale * acc[l] + (ad ? ad[(q - co0) * NTKC_LANES + l] : addc);
    }
}

/* ntkc_conv_plane for stride 1 without circular axes, one output row at a
 * time: the row sum of its kh input rows (a row of tmp, in L1), then the
 * columns whose taps all lie inside in one flat pass (3 taps: one
 * expression), the few at the borders one by one. Same additions in the
 * same order as the general path. A 3×3 'same' conv whose output spans its
 * input's columns puts the row sum between two zero columns, so the border
 * outputs take the interior's expression too: (0 + a) + b, the border sum,
 * is a + b (+ 0), exactly. */
NTKC_LEAF void ntkc_conv_s1(const double *in, double *tmp, double *out, int H, int W, int Ho, int Wo, int a, int b,
                            int kh, int kw, int pt, int pl, double scale, double addc, const double *add)
{
    const int L = NTKC_LANES;
    int ri0, ri1, ci0, ci1, ro0, ro1, co0, co1;
    ntkc_span(H, a, 0, &ri0, &ri1);
    ntkc_span(W, b, 0, &ci0, &ci1);
    ntkc_span(Ho, a, 0, &ro0, &ro1);
    ntkc_span(Wo, b, 0, &co0, &co1);
    int wi = (ci1 - ci0) * L, wo = (co1 - co0) * L;
    int qa = ci0 + pl > co0 ? ci0 + pl : co0, qb = ci1 + pl - kw + 1 < co1 ? ci1 + pl - kw + 1 : co1;
    if (qb < qa) /* no column has every tap inside */
        qa = qb = co1;
    /* tmp holds a plane (H·W·L values): room for a row and two columns */
    int zpad = kw == 3 && pl == 1 && co0 == ci0 && co1 == ci1 && (H - 1) * W >= 2;
    if (zpad) {
        for (int l = 0; l < L; l++)
            tmp[l] = 0.0, tmp[L + wi + l] = 0.0;
        qa = co0, qb = co1;
    }
    double *row = zpad ? tmp + L : tmp;
    for (int o = ro0; o < ro1; o++) {
        int d0 = ri0 - o + pt > 0 ? ri0 - o + pt : 0, d1 = ri1 - o + pt < kh ? ri1 - o + pt : kh;
        ntkc_row_sum(row, d1 > d0 ? in + (o + d0 - pt - ri0) * wi : in, wi, d1 > d0 ? d1 - d0 : 0, wi);
        double *dst = out + (o - ro0) * wo;
        const double *ad = add ? add + (o - ro0) * wo : 0;
        ntkc_conv_cols(tmp, dst, ad, co0, qa, co0, ci0, ci1, kw, pl, scale, addc);
        ntkc_conv_cols(tmp, dst, ad, qb, co1, co0, ci0, ci1, kw, pl, scale, addc);
        int n = (qb - qa) * L;
        if (n == 0)
            continue;
        double *d = dst + (qa - co0) * L;
        const double *t0 = zpad ? tmp : tmp + (qa - pl - ci0) * L, *t1 = t0 + L, *t2 = t1 + L;
        const double *a8 = ad ? ad + (qa - co0) * L : 0;
        if (kw == 3 && a8)
            for (int e = 0; e < n; e++)
                d[e] = scale * ((t0[e] + t1[e]) + t2[e]) + a8[e];
        else if (kw == 3)
            for (int e = 0; e < n; e++)
                d[e] = scale * ((t0[e] + t1[e]) + t2[e]) + addc;
        else
            ntkc_conv_cols(tmp, dst, ad, qa, qb, co0, ci0, ci1, kw, pl, scale, addc);
    }
}

/* out = scale·(window sum of in) + addc (+ add[e] when add): one conv into
 * the plane at offset (ao, bo) of an Ho×Wo grid, from the plane at offset
 * (sh·ao, sw·bo) of the H×W grid, wrapped on the input's circular axes (chi,
 * cwi). An output axis is circular (cho, cwo) only when its input axis is
 * and the stride divides the size: a circular conv wraps its input, as
 * neural-tangents pads it, and with a stride that does not divide the size
 * output pixels p and p + a read input pixels s·a apart, not s·a mod H, so
 * its output is an ordinary grid. Separable: a pass along rows into tmp,
 * then along columns. A dilated window (dh, dw > 1) takes tap d of a row at
 * dh·d, of a column at dw·d (the same tap on both pixels of a pair, so each
 * output plane still reads one input plane). */
NTKC_FN void ntkc_conv_plane(const double *in, double *tmp, double *out, int H, int W, int Ho, int Wo, int ao,
                             int bo, int chi, int cwi, int cho, int cwo, int kh, int kw, int sh, int sw, int dh,
                             int dw, int pt, int pl, double scale, double addc, const double *add)
{
    if (sh == 1 && sw == 1 && dh == 1 && dw == 1 && !chi && !cwi) {
        ntkc_conv_s1(in, tmp, out, H, W, Ho, Wo, ao, bo, kh, kw, pt, pl, scale, addc, add);
        return;
    }
    int a = chi ? ntkc_wrap(sh * ao, H) : sh * ao, b = cwi ? ntkc_wrap(sw * bo, W) : sw * bo;
    const int L = NTKC_LANES;
    int ri0, ri1, ci0, ci1, ro0, ro1, co0, co1;
    ntkc_span(H, a, chi, &ri0, &ri1);
    ntkc_span(W, b, cwi, &ci0, &ci1);
    ntkc_span(Ho, ao, cho, &ro0, &ro1);
    ntkc_span(Wo, bo, cwo, &co0, &co1);
    int wi = (ci1 - ci0) * L, wo = (co1 - co0) * L;
    for (int o = ro0; o < ro1; o++) {
        double *t = tmp + (o - ro0) * wi;
        int first = 1;
        for (int d = 0; d < kh; d++) {
            int r = sh * o + dh * d - pt;
            if (chi)
                r = ntkc_wrap(r, H);
            else if (r < ri0 || r >= ri1)
                continue;
            const double *src = in + (r - ri0) * wi;
            if (first)
                ntkc_copy(t, src, wi);
            else
                ntkc_add(t, src, wi);
            first = 0;
        }
        if (first)
            for (int e = 0; e < wi; e++)
                t[e] = 0.0;
    }
    for (int o = ro0; o < ro1; o++) {
        const double *t = tmp + (o - ro0) * wi;
        double *dst = out + (o - ro0) * wo;
        for (int e = 0; e < wo; e++)
            dst[e] = 0.0;
        for (int d = 0; d < kw; d++) {
            int shift = dw * d - pl;
            if (cwi) {
                for (int q = co0; q < co1; q++)
                    ntkc_add(dst + (q - co0) * L, t + (ntkc_wrap(sw * q + shift, W) - ci0) * L, L);
                continue;
            }
            int q0 = ntkc_cdiv(ci0 - shift, sw), q1 = ntkc_fdiv(ci1 - 1 - shift, sw) + 1;
            q0 = q0 > co0 ? q0 : co0;
            q1 = q1 < co1 ? q1 : co1;
            if (q1 <= q0)
                continue;
            if (sw == 1)
                ntkc_add(dst + (q0 - co0) * L, t + (q0 + shift - ci0) * L, (q1 - q0) * L);
            else
                for (int q = q0; q < q1; q++)
                    ntkc_add(dst + (q - co0) * L, t + (sw * q + shift - ci0) * L, L);
        }
        if (add) {
            const double *ad = add + (o - ro0) * wo;
            for (int e = 0; e < wo; e++)
                dst[e] = scale * dst[e] + ad[e];
        } else {
            for (int e = 0; e < wo; e++)
                dst[e] = scale * dst[e] + addc;
        }
    }
}

/* dense on images (per pixel): Σ ← w2·Σ + b2, Θ ← w2·Θ + Σ. */
NTKC_FN void ntkc_dense_plane(double *S, double *T, int H, int W, int a, int b, int ch, int cw, double w2,
                                    double b2)
{
    int n = ntkc_area(H, W, a, b, ch, cw) * NTKC_LANES;
    for (int e = 0; e < n; e++) {
        double s = w2 * S[e] + b2;
        S[e] = s;
        T[e] = w2 * T[e] + s;
    }
}

/* dense(trainable=false) on images: Σ ← w2·Σ + b2, Θ ← w2·Θ (no gradient of its own). */
NTKC_FN void ntkc_dense_frozen_plane(double *S, double *T, int H, int W, int a, int b, int ch, int cw, double w2,
                                     double b2)
{
    int n = ntkc_area(H, W, a, b, ch, cw) * NTKC_LANES;
    for (int e = 0; e < n; e++) {
        S[e] = w2 * S[e] + b2;
        T[e] = w2 * T[e];
    }
}

/* The two cases in loops of their own, as ntkc_relu_row: each is a plain
 * loop the compiler vectorises once f is inlined. */
NTKC_LEAF void ntkc_act_row(ntkc_dual_fn f, const double *p, int n, double *restrict s, double *restrict t,
                            const double *restrict v1, int bc, const double *restrict v2)
{
    double T, Td;
    if (bc) {
        for (int j = 0; j < n; j++)
            for (int l = 0; l < NTKC_LANES; l++) {
                f(p, v1[j], s[j * NTKC_LANES + l], v2[j * NTKC_LANES + l], &T, &Td);
                s[j * NTKC_LANES + l] = T;
                t[j * NTKC_LANES + l] *= Td;
            }
    } else {
        for (int e = 0; e < n * NTKC_LANES; e++) {
            f(p, v1[e], s[e], v2[e], &T, &Td);
            s[e] = T;
            t[e] *= Td;
        }
    }
}

/* ntkc_relu_qr, ReLU's dual for one pair from the records, is in the prelude
 * (compiler/kernel_c/ntkc_math.h): fully connected nets use it too. */

/* A row of n pixels; q/r of x1 at q1, r1 (per pixel, or lane-expanded when
 * bc = 0), of x2 lane-expanded at q2, r2. With bc = 1, two pixels a pass,
 * x1's values spread over their lanes first: two independent vectors for
 * the out-of-order core to overlap when a pass of lanes is one vector (eight
 * floats: 1.25x faster than float64 one pixel a pass, 1.8x two; float64
 * runs the same either way). */
NTKC_ROW void ntkc_relu_row(int n, double *restrict s, double *restrict t, const double *restrict q1,
                            const double *restrict r1, int bc, const double *restrict q2, const double *restrict r2)
{
    if (bc) {
        int j = 0;
        for (; j + 2 <= n; j += 2) {
            double a[2 * NTKC_LANES], b[2 * NTKC_LANES], *sj = s + j * NTKC_LANES, *tj = t + j * NTKC_LANES;
            const double *q2j = q2 + j * NTKC_LANES, *r2j = r2 + j * NTKC_LANES;
            for (int l = 0; l < 2 * NTKC_LANES; l++)
                a[l] = q1[j + l / NTKC_LANES], b[l] = r1[j + l / NTKC_LANES];
            for (int l = 0; l < 2 * NTKC_LANES; l++)
                ntkc_relu_qr(sj + l, tj + l, a[l], b[l], q2j[l], r2j[l]);
        }
        for (; j < n; j++) {
            double a = q1[j], b = r1[j], *sj = s + j * NTKC_LANES, *tj = t + j * NTKC_LANES;
            const double *q2j = q2 + j * NTKC_LANES, *r2j = r2 + j * NTKC_LANES;
            for (int l = 0; l < NTKC_LANES; l++)
                ntkc_relu_qr(sj + l, tj + l, a, b, q2j[l], r2j[l]);
        }
    } else {
        for (int e = 0; e < n * NTKC_LANES; e++)
            ntkc_relu_qr(s + e, t + e, q1[e], r1[e], q2[e], r2[e]);
    }
}

NTKC_FN void ntkc_act_plane(ntkc_dual_fn f, const double *p, double *S, double *T, int H, int W, int a, int b,
                                  int ch, int cw, const double *v1, int bc, const double *v2)
{
    NTKC_ACT_PLANE(f);
}

/* v1, v2: the layer's records, √v of the H×W pixels then 1/√v (ntkc_fill_relu). */
NTKC_FN void ntkc_relu_plane(double *S, double *T, int H, int W, int a, int b, int ch, int cw,
                                   const double *v1, int bc, const double *v2)
{
    int P = H * W;
    const double *r1 = v1 + (bc ? P : P * NTKC_LANES), *r2 = v2 + P * NTKC_LANES;
    NTKC_ROWS(H, W, a, b, ch, cw,
              ntkc_relu_row(n, S + s, T + s, NTKC_V1(v1, bc, p1), NTKC_V1(r1, bc, p1), bc,
                            v2 + p2 * NTKC_LANES, r2 + p2 * NTKC_LANES));
}

NTKC_FN void ntkc_ln_row(int n, double *s, double *t, const double *v1, int bc, const double *v2, double eps)
{
    for (int j = 0; j < n; j++)
        for (int l = 0; l < NTKC_LANES; l++) {
            double r = 1.0 / sqrt((NTKC_R1(v1, bc, j, l) + eps) * (v2[j * NTKC_LANES + l] + eps));
            s[j * NTKC_LANES + l] *= r;
            t[j * NTKC_LANES + l] *= r;
        }
}

NTKC_FN void ntkc_ln_plane(double *S, double *T, int H, int W, int a, int b, int ch, int cw, const double *v1,
                                 int bc, const double *v2, double eps)
{
    NTKC_ROWS(H, W, a, b, ch, cw, ntkc_ln_row(n, S + s, T + s, NTKC_V1(v1, bc, p1), bc, v2 + p2 * NTKC_LANES, eps));
}

/* Fan-in of branch k of n into the accumulator (mode 0 sum, 1 product, 2
 * concat): c is the branch's scale² in a sum, its share of the units in a
 * concat along the channels (IrBranch.scale). */
NTKC_FN void ntkc_fanin(int mode, int k, int n, double c, double *S, double *T, const double *Sb,
                              const double *Tb, int len)
{
    if (mode == 1) {
        if (k == 0) {
            ntkc_copy(S, Sb, len);
            ntkc_copy(T, Tb, len);
        } else {
            for (int e = 0; e < len; e++) {
                T[e] = T[e] * Sb[e] + S[e] * Tb[e];
                S[e] *= Sb[e];
            }
        }
        return;
    }
    (void)n;
    if (k == 0)
        for (int e = 0; e < len; e++)
            S[e] = c * Sb[e], T[e] = c * Tb[e];
    else
        for (int e = 0; e < len; e++)
            S[e] += c * Sb[e], T[e] += c * Tb[e];
}

/* acc[l] += the sum of lane l over n entries. */
NTKC_FN void ntkc_sum(const double *S, int n, double *acc)
{
    for (int e = 0; e < n; e++)
        for (int l = 0; l < NTKC_LANES; l++)
            acc[l] += S[e * NTKC_LANES + l];
}

/* All pixel pairs of an H×W grid as a 4-D array [i][k][j][l] (x1 row, x2 row,
 * x1 column, x2 column) of lanes, the form pooling works on. */
NTKC_FN void ntkc_store_plane(double *B, const double *S, int H, int W, int a, int b, int ch, int cw)
{
    int r0, r1, c0, c1;
    ntkc_span(H, a, ch, &r0, &r1);
    ntkc_span(W, b, cw, &c0, &c1);
    for (int i = r0; i < r1; i++) {
        int k = ch ? ntkc_wrap(i + a, H) : i + a;
        for (int j = c0; j < c1; j++, S += NTKC_LANES) {
            int l = cw ? ntkc_wrap(j + b, W) : j + b;
            ntkc_copy(B + (((i * H + k) * W + j) * W + l) * NTKC_LANES, S, NTKC_LANES);
        }
    }
}

NTKC_FN void ntkc_load_plane(const double *B, double *S, int H, int W, int a, int b, int ch, int cw)
{
    int r0, r1, c0, c1;
    ntkc_span(H, a, ch, &r0, &r1);
    ntkc_span(W, b, cw, &c0, &c1);
    for (int i = r0; i < r1; i++) {
        int k = ch ? ntkc_wrap(i + a, H) : i + a;
        for (int j = c0; j < c1; j++, S += NTKC_LANES) {
            int l = cw ? ntkc_wrap(j + b, W) : j + b;
            ntkc_copy(S, B + (((i * H + k) * W + j) * W + l) * NTKC_LANES, NTKC_LANES);
        }
    }
}

/* One axis of a pool on a 4-D array of lanes: dims d (d[ax] becomes no),
 * out[.., m, ..] = scale·Σ_{u<k} in[.., s·m + u - p, ..], padding zero or wrapped. */
NTKC_LEAF void ntkc_pool_axis(const double *in, double *out, int *d, int ax, int no, int k, int s, int p,
                                  int cyc, double scale)
{
    int outer = 1, inner = NTKC_LANES, n = d[ax];
    for (int x = 0; x < ax; x++)
        outer *= d[x];
    for (int x = ax + 1; x < 4; x++)
        inner *= d[x];
    for (int o = 0; o < outer; o++)
        for (int m = 0; m < no; m++) {
            double *dst = out + ((long)o * no + m) * inner;
            for (int e = 0; e < inner; e++)
                dst[e] = 0.0;
            for (int u = 0; u < k; u++) {
                int r = s * m + u - p;
                if (cyc)
                    r = ntkc_wrap(r, n);
                else if (r < 0 || r >= n)
                    continue;
                ntkc_add(dst, in + ((long)o * n + r) * inner, inner);
            }
            for (int e = 0; e < inner; e++)
                dst[e] *= scale;
        }
    d[ax] = no;
}

/* The whole pool of a 4-D array X (H×H×W×W) into Y (Ho×Ho×Wo×Wo); t1, t2 scratch. */
NTKC_FN void ntkc_pool4(const double *X, double *Y, double *t1, double *t2, int H, int W, int Ho, int Wo,
                              int kh, int kw, int sh, int sw, int pt, int pl, int cyc, double scale_h, double scale_w)
{
    int d[4] = {H, H, W, W};
    ntkc_pool_axis(X, t1, d, 0, Ho, kh, sh, pt, cyc, scale_h);
    ntkc_pool_axis(t1, t2, d, 1, Ho, kh, sh, pt, cyc, scale_h);
    ntkc_pool_axis(t2, t1, d, 2, Wo, kw, sw, pl, cyc, scale_w);
    ntkc_pool_axis(t1, Y, d, 3, Wo, kw, sw, pl, cyc, scale_w);
}

/* ---- image_resize on 4-D arrays (emit_resize.c) ----
 * One axis of a 4-D array of lanes times a matrix R (no × d[ax], row-major):
 * out[.., m, ..] = Σ_i R[m][i]·in[.., i, ..]; d[ax] becomes no. */
NTKC_LEAF void ntkc_resize_axis(const double *in, double *out, int *d, int ax, int no, const double *R)
{
    int outer = 1, inner = NTKC_LANES, n = d[ax];
    for (int x = 0; x < ax; x++)
        outer *= d[x];
    for (int x = ax + 1; x < 4; x++)
        inner *= d[x];
    for (int o = 0; o < outer; o++)
        for (int m = 0; m < no; m++) {
            double *dst = out + ((long)o * no + m) * inner;
            for (int e = 0; e < inner; e++)
                dst[e] = 0.0;
            for (int i = 0; i < n; i++) {
                double r = R[(long)m * n + i];
                const double *src = in + ((long)o * n + i) * inner;
                if (r != 0.0)
                    for (int e = 0; e < inner; e++)
                        dst[e] += r * src[e];
            }
        }
    d[ax] = no;
}

/* Σ' = R Σ Rᵀ on both inputs' positions, R = Rh ⊗ Rw: X (H×H×W×W) into Y
 * (Ho×Ho×Wo×Wo); t1, t2 scratch. */
NTKC_FN void ntkc_resize4(const double *X, double *Y, double *t1, double *t2, int H, int W, int Ho, int Wo,
                          const double *Rh, const double *Rw)
{
    int d[4] = {H, H, W, W};
    ntkc_resize_axis(X, t1, d, 0, Ho, Rh);
    ntkc_resize_axis(t1, t2, d, 1, Ho, Rh);
    ntkc_resize_axis(t2, t1, d, 2, Wo, Rw);
    ntkc_resize_axis(t1, Y, d, 3, Wo, Rw);
}

/* ---- conv_transpose and conv_local on 4-D arrays (emit_conv_variants.c) ----
 * One axis pair (ax, ax + 1: the same axis of x1 and of x2) of a 4-D array of
 * lanes, both pixels read with the same tap u:
 *   conv:      out[m1][m2] = Σ_u in[s·m1 + u − p][s·m2 + u − p]  (zero outside, wrapped when cyc)
 *   transpose: out[m1][m2] = Σ_u in[(m1 + u − p)/s][(m2 + u − p)/s], the input dilated by s
 *              (lax.conv_transpose: zero off the grid of multiples of s). */
NTKC_LEAF int ntkc_cvar_src(int m, int u, int s, int p, int n, int cyc, int transpose)
{
    if (transpose) {
        int j = m + u - p;
        return j < 0 || j % s != 0 || j / s >= n ? -1 : j / s;
    }
    int r = s * m + u - p;
    if (cyc)
        return ntkc_wrap(r, n);
    return r < 0 || r >= n ? -1 : r;
}

NTKC_LEAF void ntkc_cvar_pair(const double *in, double *out, int *d, int ax, int no, int k, int s, int p, int cyc,
                              int transpose)
{
    int outer = 1, inner = NTKC_LANES, n = d[ax];
    for (int x = 0; x < ax; x++)
        outer *= d[x];
    for (int x = ax + 2; x < 4; x++)
        inner *= d[x];
    for (int o = 0; o < outer; o++)
        for (int m1 = 0; m1 < no; m1++)
            for (int m2 = 0; m2 < no; m2++) {
                double *dst = out + (((long)o * no + m1) * no + m2) * inner;
                for (int e = 0; e < inner; e++)
                    dst[e] = 0.0;
                for (int u = 0; u < k; u++) {
                    int r1 = ntkc_cvar_src(m1, u, s, p, n, cyc, transpose);
                    int r2 = ntkc_cvar_src(m2, u, s, p, n, cyc, transpose);
                    if (r1 >= 0 && r2 >= 0)
                        ntkc_add(dst, in + (((long)o * n + r1) * n + r2) * inner, inner);
                }
            }
    d[ax] = d[ax + 1] = no;
}

/* One axis of a 4-D array folded circularly onto no entries, as
 * neural-tangents folds a circular conv_transpose's valid output:
 * out[m] = Σ_{i ≡ m + c (mod no)} in[i], c = (n − no)/2. */
NTKC_LEAF void ntkc_fold_axis(const double *in, double *out, int *d, int ax, int no)
{
    int outer = 1, inner = NTKC_LANES, n = d[ax], c = (n - no) / 2;
    for (int x = 0; x < ax; x++)
        outer *= d[x];
    for (int x = ax + 1; x < 4; x++)
        inner *= d[x];
    for (long e = 0; e < (long)outer * no * inner; e++)
        out[e] = 0.0;
    for (int o = 0; o < outer; o++)
        for (int i = 0; i < n; i++)
            ntkc_add(out + ((long)o * no + ntkc_wrap(i - c, no)) * inner, in + ((long)o * n + i) * inner, inner);
    d[ax] = no;
}

/* The kernel after conv_transpose (transpose = 1) or conv_local (0) of the
 * H×H×W×W array X into Y (Ho×Ho×Wo×Wo): Y = scale·K(X) + b2 (+ add), where a
 * circular transpose computes the valid output (fh×fw) and folds it, and
 * conv_local keeps only same-pixel pairs (other pairs, bias included, are 0).
 * add (Θ's call: the layer's own Σ') counts only when the layer trains:
 * trainable = 0 (trainable=false) leaves Θ' = scale·K(Θ).
 * t1, t2: scratch as large as the largest grid on the way. */
NTKC_FN void ntkc_cvar4(const double *X, double *Y, double *t1, double *t2, int H, int W, int Ho, int Wo, int kh,
                        int kw, int sh, int sw, int pt, int pl, int cyc, int transpose, int fh, int fw, int trainable,
                        double scale, double b2, const double *add)
{
    int d[4] = {H, H, W, W}, fold = transpose && cyc;
    ntkc_cvar_pair(X, t1, d, 0, fold ? fh : Ho, kh, sh, pt, cyc, transpose);
    ntkc_cvar_pair(t1, t2, d, 2, fold ? fw : Wo, kw, sw, pl, cyc, transpose);
    if (fold) {
        ntkc_fold_axis(t2, t1, d, 0, Ho);
        ntkc_fold_axis(t1, t2, d, 1, Ho);
        ntkc_fold_axis(t2, t1, d, 2, Wo);
        ntkc_fold_axis(t1, t2, d, 3, Wo);
    }
    for (int i = 0; i < Ho; i++)
        for (int k = 0; k < Ho; k++)
            for (int j = 0; j < Wo; j++)
                for (int l = 0; l < Wo; l++) {
                    long e = ((((long)i * Ho + k) * Wo + j) * Wo + l) * NTKC_LANES;
                    int keep = transpose || (i == k && j == l);
                    for (int q = 0; q < NTKC_LANES; q++)
                        Y[e + q] = (keep ? scale * t2[e + q] + b2 : 0.0) + (add && trainable ? add[e + q] : 0.0);
                }
}

/* In-bounds taps of output m's window along an axis of n (k taps, stride s, p padded before). */
NTKC_LEAF int ntkc_taps_inside(int m, int n, int k, int s, int p)
{
    int lo = s * m - p, hi = lo + k;
    lo = lo < 0 ? 0 : lo;
    hi = hi > n ? n : hi;
    return hi > lo ? hi - lo : 0;
}

/* avg_pool(normalize_edges=true) after ntkc_pool4 with scales 1: entry
 * (i, i', j, j') of the Ho×Ho×Wo×Wo array Y divided by the in-bounds counts
 * of the four windows, n_h(i)·n_h(i')·n_w(j)·n_w(j') (neural-tangents' AvgPool
 * divides each output by its own count; a pair of outputs, by both). */
NTKC_FN void ntkc_pool4_edges(double *Y, int H, int W, int Ho, int Wo, int kh, int kw, int sh, int sw, int pt,
                              int pl, int cyc)
{
    for (int i = 0; i < Ho; i++)
        for (int i2 = 0; i2 < Ho; i2++)
            for (int j = 0; j < Wo; j++)
                for (int j2 = 0; j2 < Wo; j2++) {
                    double c = cyc ? (double)kh * kh * kw * kw
                                   : (double)ntkc_taps_inside(i, H, kh, sh, pt) * ntkc_taps_inside(i2, H, kh, sh, pt) *
                                         ntkc_taps_inside(j, W, kw, sw, pl) * ntkc_taps_inside(j2, W, kw, sw, pl);
                    double *y = Y + (((long)i * Ho + i2) * Wo * Wo + (long)j * Wo + j2) * NTKC_LANES;
                    for (int l = 0; l < NTKC_LANES; l++)
                        y[l] = c > 0.0 ? y[l] / c : 0.0;
                }
}

/* Plane offsets, (0, 0) first: 0, 1, -1, 2, -2, ... (or 0, 1, 2, ... on a circular axis). */
NTKC_FN int ntkc_offset(int k, int cyc) { return cyc ? k : (k & 1 ? (k + 1) / 2 : -(k / 2)); }

/* One entry's NNGP s and NTK t at `at` in the outputs present; 1 when
 * either is not finite (the engine then names the entry). */
NTKC_FN int ntkc_put(double *nngp, double *ntk, size_t at, double s, double t)
{
    if (nngp)
        nngp[at] = s;
    if (ntk)
        ntk[at] = t;
    return !(s - s == 0.0 && t - t == 0.0);
}

/* Lane-expanded maps: v[k·L + l] = rec_l[k] for the n values of a prep
 * record per lane. */
NTKC_FN void ntkc_expand(double *v, const double *const *rec, int n)
{
    for (int k = 0; k < n; k++)
        for (int l = 0; l < NTKC_LANES; l++)
            v[k * NTKC_LANES + l] = rec[l][k];
}

/* The prep run: the same-pixel plane gives each lane's variances, into its
 * record and into the lane-expanded maps v1 = v2. */
NTKC_FN void ntkc_fill(double *const *rec, double *v1, double *v2, const double *S, int off, int n)
{
    for (int k = 0; k < n; k++)
        for (int l = 0; l < NTKC_LANES; l++) {
            double v = S[k * NTKC_LANES + l], s = v > 0.0 ? v : 0.0;
            rec[l][off + k] = s;
            v1[(off + k) * NTKC_LANES + l] = s;
            v2[(off + k) * NTKC_LANES + l] = s;
        }
}

/* The prep run before a layer_norm over pixels too (IrLnAxes: 1 height, 2
 * width, 3 both): the H×W records ntkc_fill wrote at off become each pixel's
 * mean over the pixels normalised with it (its column, its row, or all), in
 * every lane, so ntkc_ln_plane divides by the group's variance. */
NTKC_FN void ntkc_fill_ln_axes(double *const *rec, double *v1, double *v2, int off, int H, int W, int axes)
{
    for (int l = 0; l < NTKC_LANES; l++) {
        double *r = rec[l] + off, all = 0.0;
        for (int k = 0; k < H * W; k++)
            all += r[k];
        for (int i = 0; i < H && axes != 3; i++) /* per row (axes 2) or per column (axes 1), in place */
            for (int j = 0; j < W; j++) {
                if ((axes == 2 && j > 0) || (axes == 1 && i > 0))
                    continue;
                double m = 0.0;
                int n = axes == 2 ? W : H;
                for (int u = 0; u < n; u++)
                    m += axes == 2 ? r[i * W + u] : r[u * W + j];
                m /= n;
                for (int u = 0; u < n; u++)
                    r[axes == 2 ? i * W + u : u * W + j] = m;
            }
        for (int k = 0; k < H * W; k++) {
            if (axes == 3)
                r[k] = all / (H * W);
            v1[(off + k) * NTKC_LANES + l] = r[k];
            v2[(off + k) * NTKC_LANES + l] = r[k];
        }
    }
}

/* The prep run before a ReLU: records of √v (n values) then 1/√v (n more);
 * 1/√v is 0 for a zero variance (see ntkc_relu_qr). */
NTKC_FN void ntkc_fill_relu(double *const *rec, double *v1, double *v2, const double *S, int off, int n)
{
    for (int k = 0; k < n; k++)
        for (int l = 0; l < NTKC_LANES; l++) {
            double v = S[k * NTKC_LANES + l], q = v > 0.0 ? sqrt(v) : 0.0, r = v > 0.0 ? 1.0 / q : 0.0;
            rec[l][off + k] = q;
            rec[l][off + n + k] = r;
            v1[(off + k) * NTKC_LANES + l] = v2[(off + k) * NTKC_LANES + l] = q;
            v1[(off + n + k) * NTKC_LANES + l] = v2[(off + n + k) * NTKC_LANES + l] = r;
        }
}

/* ---- fanouts on pixel-pair arrays (compiler/ir/ir_fanout.h) ---------------
 * Branch k of n (an h×h×w×w array Xs, Xt) into the accumulator S, T
 * (Ho×Ho×Wo×Wo). Sum, product and concat along channels combine entry by
 * entry (ntkc_fanin); concat along height (axis 1) or width (axis 2) writes
 * the branch's block at offset `off` on that axis for both pixels of a pair,
 * after branch 0 cleared the rest: the blocks between branches are zero. */
NTKC_FN void ntkc_fanin4(int mode, int axis, int k, int n, double c, double *S, double *T, const double *Xs,
                         const double *Xt, int Ho, int Wo, int h, int w, int off)
{
    if (axis == 0) {
        ntkc_fanin(mode, k, n, c, S, T, Xs, Xt, Ho * Ho * Wo * Wo * NTKC_LANES);
        return;
    }
    if (k == 0)
        for (long e = 0; e < (long)Ho * Ho * Wo * Wo * NTKC_LANES; e++)
            S[e] = 0.0, T[e] = 0.0;
    int oh = axis == 1 ? off : 0, ow = axis == 2 ? off : 0;
    for (int i = 0; i < h; i++)
        for (int kk = 0; kk < h; kk++)
            for (int j = 0; j < w; j++)
                for (int l = 0; l < w; l++) {
                    long src = (((long)(i * h + kk) * w + j) * w + l) * NTKC_LANES;
                    long dst = (((long)((i + oh) * Ho + kk + oh) * Wo + j + ow) * Wo + l + ow) * NTKC_LANES;
                    ntkc_copy(S + dst, Xs + src, NTKC_LANES);
                    ntkc_copy(T + dst, Xt + src, NTKC_LANES);
                }
}

/* The block of two identity branches of a spatial concat (offsets o1 for the
 * x1 pixel, o2 for the x2 pixel): the input's own kernel (h×h×w×w X). */
NTKC_FN void ntkc_cross4(int axis, double *S, double *T, const double *Xs, const double *Xt, int Ho, int Wo, int h,
                         int w, int o1, int o2)
{
    int a1 = axis == 1 ? o1 : 0, a2 = axis == 1 ? o2 : 0, b1 = axis == 2 ? o1 : 0, b2 = axis == 2 ? o2 : 0;
    for (int i = 0; i < h; i++)
        for (int kk = 0; kk < h; kk++)
            for (int j = 0; j < w; j++)
                for (int l = 0; l < w; l++) {
                    long src = (((long)(i * h + kk) * w + j) * w + l) * NTKC_LANES;
                    long dst = (((long)((i + a1) * Ho + kk + a2) * Wo + j + b1) * Wo + l + b2) * NTKC_LANES;
                    ntkc_copy(S + dst, Xs + src, NTKC_LANES);
                    ntkc_copy(T + dst, Xt + src, NTKC_LANES);
                }
}
/* @end */

/* The end of an emitted image kernel: the options pushed above are popped. */
/* @text emit_image_runtime_end */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__TINYC__)
#pragma GCC pop_options
#endif
/* @end */
