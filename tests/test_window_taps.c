/* The all-pairs back end's window layers (attn_runtime.c, "Window tables")
 * against their definition summed pair by pair, on random geometries
 * (strides, dilations, padding, circular windows, conv_transpose's folds) and
 * random kernels: conv and pooling bit for bit (each entry's terms in the
 * definition's order, taps reading nothing skipped), conv_local bit for bit on
 * the diagonal and 0 elsewhere, a folded conv_transpose (its terms in another
 * order) within 1e-14 of the largest entry; and the one-array call of the
 * standard parameterization's fan-in term (S = T, frozen). The taps' input
 * positions come from the runtime's own tap functions: the geometry is checked
 * end to end against independent references (tests/conv_reference.c,
 * scripts/volume_reference.py); this checks the sums. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NTKC_KERNEL_CHECK
#include "attn_runtime.c"

enum { IMAGE, VOLUME, TRANSPOSE };

typedef struct Geo {
    int kind, g[19], Pi, Po, F, K;
} Geo;

static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;

static int draw(int n) /* uniform in [0, n) */
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (int)(rng_state % (unsigned long long)n);
}

static double uniform(void) { return (double)draw(1 << 30) / (1 << 29) - 1.0; }

/* One axis of a window: input n, window k dilated by d, stride s, padding
 * before p (circular: stride 1, output n); the output size. */
static int axis(int n, int *k, int *d, int *s, int *p, int circular)
{
    *k = 1 + draw(3), *d = 1 + draw(2), *s = circular ? 1 : 1 + draw(2);
    int span = (*k - 1) * *d + 1;
    *p = draw(span);
    int out = (n + 2 * *p - span) / *s + 1;
    return circular ? n : out < 1 ? 1 : out;
}

static Geo random_geo(int kind)
{
    Geo G = {.kind = kind, .K = 1};
    int *g = G.g, circ = draw(4) == 0;
    if (kind == IMAGE) { /* {H, W, kh, kw, pt, pl, dh, dw, circular}: the grid kept */
        int s;
        g[0] = 1 + draw(5), g[1] = 1 + draw(5);
        axis(g[0], &g[2], &g[6], &s, &g[4], 1);
        axis(g[1], &g[3], &g[7], &s, &g[5], 1);
        g[8] = circ;
        G.Pi = G.Po = g[0] * g[1], G.F = g[2] * g[3];
        return G;
    }
    for (int a = 0; a < 3; a++) /* small grids: the definition costs Po²·K²·F */
        g[a] = 1 + draw(kind == VOLUME ? 4 : 2);
    if (kind == VOLUME) { /* {Zi, Hi, Wi, Zo, Ho, Wo, kd, kh, kw, sd, sh, sw, pf, pt, pl, dd, dh, dw, circular} */
        for (int a = 0; a < 3; a++)
            g[3 + a] = axis(g[a], &g[6 + a], &g[15 + a], &g[9 + a], &g[12 + a], circ);
        g[18] = circ;
    } else { /* {Zi, Hi, Wi, Zo, Ho, Wo, kd, kh, kw, sd, sh, sw, pf, pt, pl, Gz, Gy, Gx}: gathered on G, folded */
        for (int a = 0; a < 3; a++) {
            g[6 + a] = 1 + draw(3), g[9 + a] = 1 + draw(2), g[12 + a] = draw(g[6 + a] + 1);
            int n = (g[a] - 1) * g[9 + a] + g[6 + a]; /* the dilated input's valid extent */
            g[15 + a] = n, g[3 + a] = circ ? 1 + draw(n) : n;
            G.K *= (g[15 + a] + g[3 + a] - 1) / g[3 + a];
        }
    }
    G.Pi = g[0] * g[1] * g[2], G.Po = g[3] * g[4] * g[5], G.F = g[6] * g[7] * g[8];
    return G;
}

/* Input position of tap f of output o, through the fold's k-th position. */
static int tap(const Geo *G, int o, int k, int f)
{
    if (G->kind == TRANSPOSE) {
        int i = ntkc_m_foldv(G->g, o, k);
        return i < 0 ? -1 : ntkc_m_tapt(G->g, i, f);
    }
    if (k > 0)
        return -1;
    return G->kind == IMAGE ? ntkc_m_tap(G->g, o, f / G->g[3], f % G->g[3]) : ntkc_m_tapv(G->g, o, f);
}

/* The definition: Σ'(p, q) = w2/F·Σ over fold pairs and taps f of
 * Σ(tap f of p, tap f of q) + b2, Θ' = Σ' + the same of Θ; local: p = q only. */
static void def_conv(const Geo *G, const double *S, const double *T, double w2, double b2, int local, double *So,
                     double *To)
{
    for (int p = 0; p < G->Po; p++)
        for (int q = 0; q < G->Po; q++) {
            double s = 0.0, t = 0.0;
            for (int kp = 0; kp < G->K; kp++)
                for (int kq = 0; kq < G->K; kq++)
                    for (int f = 0; f < G->F; f++) {
                        int a = tap(G, p, kp, f), b = tap(G, q, kq, f);
                        if (a >= 0 && b >= 0)
                            s += S[a * G->Pi + b], t += T[a * G->Pi + b];
                    }
            int zero = local && p != q;
            So[p * G->Po + q] = zero ? 0.0 : w2 * s / G->F + b2;
            To[p * G->Po + q] = zero ? 0.0 : So[p * G->Po + q] + w2 * t / G->F;
        }
}

/* Pooling: M'(p, q) = c·Σ_f (Σ_f' M(tap f of p, tap f' of q)), rows first. */
static void def_pool(const Geo *G, const double *M, double c, double *out)
{
    double *rows = calloc((size_t)G->Po * G->Pi, sizeof *rows);
    for (int p = 0; p < G->Po; p++)
        for (int b = 0; b < G->Pi; b++)
            for (int f = 0; f < G->F; f++) {
                int a = tap(G, p, 0, f);
                rows[p * G->Pi + b] += a >= 0 ? M[a * G->Pi + b] : 0.0;
            }
    for (int p = 0; p < G->Po; p++)
        for (int q = 0; q < G->Po; q++) {
            double r = 0.0;
            for (int f = 0; f < G->F; f++) {
                int b = tap(G, q, 0, f);
                r += b >= 0 ? rows[p * G->Pi + b] : 0.0;
            }
            out[p * G->Po + q] = c * r;
        }
    free(rows);
}

typedef struct Bufs {
    double *S, *T, *So, *To, *tmp;
    int *it;
    size_t n;
} Bufs;

static Bufs bufs(const Geo *G)
{
    size_t P = (size_t)(G->Pi > G->Po ? G->Pi : G->Po), n = P * P;
    size_t taps = (size_t)G->F * (G->Po + 1) + 2 * (size_t)G->F * G->Po * G->K;
    Bufs b = {calloc(n, sizeof(double)), calloc(n, sizeof(double)), calloc(n, sizeof(double)),
              calloc(n, sizeof(double)), calloc(2 * n, sizeof(double)), calloc(taps, sizeof(int)), n};
    cr_assert(b.S && b.T && b.So && b.To && b.tmp && b.it);
    for (int i = 0; i < G->Pi * G->Pi; i++) /* a kernel pair: entries of either sign, some zero (padding) */
        b.S[i] = draw(8) ? uniform() : 0.0, b.T[i] = draw(8) ? uniform() : 0.0;
    return b;
}

static void free_bufs(Bufs *b)
{
    free(b->S), free(b->T), free(b->So), free(b->To), free(b->tmp), free(b->it);
}

/* Entries 0..n of a against the definition d: bit for bit (tol 0) or within
 * tol of d's largest entry. */
static void same(const double *a, const double *d, int n, double tol, const char *what, const Geo *G)
{
    double big = 0.0, err = 0.0;
    for (int e = 0; e < n; e++)
        big = fmax(big, fabs(d[e])), err = fmax(err, fabs(a[e] - d[e]));
    if (tol == 0.0)
        cr_assert(memcmp(a, d, (size_t)n * sizeof *a) == 0, "%s (kind %d, Pi %d, Po %d, F %d) differs: %g", what,
                  G->kind, G->Pi, G->Po, G->F, err);
    else
        cr_assert(err <= tol * big, "%s (fold %d) differs by %g of %g", what, G->K, err, big);
}

static void conv_case(const Geo *G, int local)
{
    Bufs b = bufs(G);
    double w2 = 0.5 + uniform() * uniform() + 1.0, b2 = draw(2) ? 0.0 : 0.1;
    def_conv(G, b.S, b.T, w2, b2, local, b.So, b.To);
    if (G->kind == IMAGE)
        (local ? ntkc_m_local : ntkc_m_conv)(b.S, b.T, G->g, w2, b2, 0, b.tmp, b.it);
    else if (G->kind == VOLUME)
        (local ? ntkc_m_localv : ntkc_m_convv)(b.S, b.T, G->g, w2, b2, 0, b.tmp, b.it);
    else
        ntkc_m_convtv(b.S, b.T, G->g, w2, b2, 0, b.tmp, b.it);
    double tol = G->K > 1 ? 1e-14 : 0.0;
    same(b.S, b.So, G->Po * G->Po, tol, local ? "conv_local NNGP" : "conv NNGP", G);
    same(b.T, b.To, G->Po * G->Po, tol, local ? "conv_local NTK" : "conv NTK", G);
    free_bufs(&b);
}

Test(window_taps, conv_local_and_transpose_match_the_definition)
{
    int folds = 0;
    for (int r = 0; r < 60; r++) {
        Geo image = random_geo(IMAGE), volume = random_geo(VOLUME), transpose = random_geo(TRANSPOSE);
        conv_case(&image, r % 2);
        conv_case(&volume, r % 2);
        conv_case(&transpose, 0);
        folds += transpose.K > 1;
    }
    cr_assert_geq(folds, 10, "only %d folded transposes drawn", folds);
}

Test(window_taps, pools_match_the_definition_bit_for_bit)
{
    for (int r = 0; r < 60; r++) {
        Geo G = random_geo(r % 2 ? IMAGE : VOLUME);
        Bufs b = bufs(&G);
        double c = r % 3 ? 1.0 / ((double)G.F * G.F) : 1.0;
        def_pool(&G, b.S, c, b.So);
        def_pool(&G, b.T, c, b.To);
        (G.kind == IMAGE ? ntkc_m_pool : ntkc_m_poolv)(b.S, b.T, G.g, c, b.tmp, b.it);
        same(b.S, b.So, G.Po * G.Po, 0.0, "pool NNGP", &G);
        same(b.T, b.To, G.Po * G.Po, 0.0, "pool NTK", &G);
        free_bufs(&b);
    }
}

/* The standard parameterization's fan-in term (emit_attn_std.c) calls a
 * conv with one array as both kernels, frozen and b2 = 0: each entry the
 * frozen NTK of the array with itself, w2/F·Σ. */
Test(window_taps, one_array_as_both_kernels)
{
    for (int r = 0; r < 30; r++) {
        Geo G = random_geo(r % 3);
        Bufs b = bufs(&G);
        def_conv(&G, b.S, b.S, 1.7, 0.0, 0, b.So, b.To); /* So: w2/F·Σ + 0, the frozen NTK's value */
        void (*fn)(double *, double *, const int *, double, double, int, double *, int *) =
            G.kind == IMAGE ? ntkc_m_conv : G.kind == VOLUME ? ntkc_m_convv : ntkc_m_convtv;
        fn(b.S, b.S, G.g, 1.7, 0.0, 1, b.tmp, b.it);
        same(b.S, b.So, G.Po * G.Po, G.K > 1 ? 1e-14 : 0.0, "the fan-in term", &G);
        free_bufs(&b);
    }
}
