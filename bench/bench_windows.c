/* The all-pairs back end's window layers (compiler/kernel_c/attn_runtime.c,
 * "Window tables") against the old path, in one run: the same layer on the
 * same random position-pair matrices, computed as attn_runtime.c did before
 * its tap tables (each output pair summing its tap pairs, the taps' input
 * positions computed in the innermost loop) and as it does now. Both are
 * compiled here with the library's flags for kernel-time C (PRIM_FLAGS); the
 * geometries are those the emitter writes for the nets in the comments.
 *
 * usage: bench_windows; prints per case "windows_CASE_old SECONDS s",
 * "..._new SECONDS s" (per call of the layer on both kernels, the best of a
 * few rounds), "..._speedup X x", "..._err E rel" (the largest |new − old|
 * over the largest |old|), "..._terms N" (the new path's terms: additions
 * in its inner loops, both kernels) and "..._ns_per_term". */
#define NTKC_KERNEL_CHECK
#include "attn_runtime.c"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { CONV2, CONVV, LOCALV, CONVTV, POOLV };

typedef struct Case {
    const char *name; /* the net (.ntk) whose layer it is, in the comment */
    int kind;
    int g[19];
} Case;

static const Case cases[] = {
    /* volume(4, 1, 2, 2); conv_transpose(4, stride=2, padding=circular): 8 → 64 positions, 8 folded onto each */
    {"transpose_circular", CONVTV, {4, 1, 2, 8, 2, 4, 4, 4, 4, 2, 2, 2, 3, 3, 3, 10, 4, 6}},
    /* volume(4, 4, 4, 2); conv_transpose(3, stride=2): 64 → 512 positions */
    {"transpose_stride2", CONVTV, {4, 4, 4, 8, 8, 8, 3, 3, 3, 2, 2, 2, 2, 2, 2, 8, 8, 8}},
    /* volume(6, 8, 8, 2); conv(3): 384 positions, 27 taps */
    {"conv3_volume", CONVV, {6, 8, 8, 6, 8, 8, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0}},
    /* volume(6, 8, 8, 2); conv_local(3) */
    {"conv_local3_volume", LOCALV, {6, 8, 8, 6, 8, 8, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0}},
    /* volume(6, 8, 8, 2); avg_pool(2, stride=1, padding=same) */
    {"avg_pool2_volume", POOLV, {6, 8, 8, 6, 8, 8, 2, 2, 2, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0}},
    /* image(16, 16, 2, masked=true); conv(3) */
    {"conv3_image", CONV2, {16, 16, 3, 3, 1, 1, 1, 1, 0}},
};

/* ---- the old path ---------------------------------------------------------- */

/* Input position of tap f of gathered or output position i (kind as the
 * case's), or -1; k over a transpose's fold. */
static int old_tap(const Case *c, int o, int k, int f)
{
    if (c->kind == CONVTV) {
        int i = ntkc_m_foldv(c->g, o, k);
        return i < 0 ? -1 : ntkc_m_tapt(c->g, i, f);
    }
    if (k > 0)
        return -1;
    return c->kind == CONV2 ? ntkc_m_tap(c->g, o, f / c->g[3], f % c->g[3]) : ntkc_m_tapv(c->g, o, f);
}

static void sizes(const Case *c, int *Pi, int *Po, int *F, int *K)
{
    const int *g = c->g;
    if (c->kind == CONV2) {
        *Pi = *Po = g[0] * g[1], *F = g[2] * g[3], *K = 1;
        return;
    }
    *Pi = g[0] * g[1] * g[2], *Po = g[3] * g[4] * g[5], *F = g[6] * g[7] * g[8], *K = 1;
    if (c->kind == CONVTV)
        *K = (g[15] + g[3] - 1) / g[3] * ((g[16] + g[4] - 1) / g[4]) * ((g[17] + g[5] - 1) / g[5]);
}

/* conv, conv_local and conv_transpose: every output pair sums its tap pairs. */
static void old_conv(const Case *c, double *S, double *T, double w2, double b2, double *tmp)
{
    int Pi, Po, F, K;
    sizes(c, &Pi, &Po, &F, &K);
    double *S0 = tmp, *T0 = tmp + (size_t)Pi * Pi;
    memcpy(S0, S, sizeof *S * Pi * Pi);
    memcpy(T0, T, sizeof *T * Pi * Pi);
    for (int p = 0; p < Po; p++)
        for (int q = 0; q < Po; q++) {
            double s = 0.0, t = 0.0;
            for (int kp = 0; kp < K; kp++)
                for (int kq = 0; kq < K; kq++)
                    for (int f = 0; f < F; f++) {
                        int a = old_tap(c, p, kp, f), b = old_tap(c, q, kq, f);
                        if (a >= 0 && b >= 0)
                            s += S0[(size_t)a * Pi + b], t += T0[(size_t)a * Pi + b];
                    }
            int zero = c->kind == LOCALV && p != q;
            S[(size_t)p * Po + q] = zero ? 0.0 : w2 * s / F + b2;
            T[(size_t)p * Po + q] = zero ? 0.0 : S[(size_t)p * Po + q] + w2 * t / F;
        }
}

/* Pooling: rows, then columns, the taps' positions in the inner loops. */
static void old_pool1(const Case *c, double *M, double scale, double *tmp)
{
    int Pi, Po, F, K;
    sizes(c, &Pi, &Po, &F, &K);
    for (int p = 0; p < Po; p++)
        for (int q = 0; q < Pi; q++) {
            double r = 0.0;
            for (int f = 0; f < F; f++) {
                int a = old_tap(c, p, 0, f);
                r += a >= 0 ? M[(size_t)a * Pi + q] : 0.0;
            }
            tmp[(size_t)p * Pi + q] = r;
        }
    for (int p = 0; p < Po; p++)
        for (int q = 0; q < Po; q++) {
            double r = 0.0;
            for (int f = 0; f < F; f++) {
                int b = old_tap(c, q, 0, f);
                r += b >= 0 ? tmp[(size_t)p * Pi + b] : 0.0;
            }
            M[(size_t)p * Po + q] = scale * r;
        }
}

/* The new path's terms, from the tap table of the last call (it). */
static double new_terms(const Case *c, const int *it)
{
    int Pi, Po, F, K;
    sizes(c, &Pi, &Po, &F, &K);
    double terms = 0.0;
    for (int f = 0; f < F; f++) {
        const int *ptr = it + (size_t)f * (Po + 1);
        double nnz = ptr[Po] - ptr[0];
        terms += c->kind == LOCALV ? nnz : c->kind == POOLV ? nnz * Pi + nnz * Po : nnz * nnz;
    }
    return 2.0 * terms;
}

/* ---- timing ------------------------------------------------------------------ */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static const double W2 = 1.96, B2 = 0.01;

static void run(const Case *c, int old, double *S, double *T, double *tmp, int *it)
{
    int Pi, Po, F, K;
    sizes(c, &Pi, &Po, &F, &K);
    double avg = 1.0 / ((double)F * F);
    if (old && c->kind == POOLV) {
        old_pool1(c, S, avg, tmp);
        old_pool1(c, T, avg, tmp);
    } else if (old) {
        old_conv(c, S, T, W2, B2, tmp);
    } else if (c->kind == CONV2) {
        ntkc_m_conv(S, T, c->g, W2, B2, 0, tmp, it);
    } else if (c->kind == CONVV) {
        ntkc_m_convv(S, T, c->g, W2, B2, 0, tmp, it);
    } else if (c->kind == LOCALV) {
        ntkc_m_localv(S, T, c->g, W2, B2, 0, tmp, it);
    } else if (c->kind == CONVTV) {
        ntkc_m_convtv(S, T, c->g, W2, B2, 0, tmp, it);
    } else {
        ntkc_m_poolv(S, T, c->g, avg, tmp, it);
    }
}

/* The best time per call over rounds of calls lasting ~0.1 s each (at
 * least one call per round), into out (S then T) from the last call. */
static double best_time(const Case *c, int old, const double *S0, const double *T0, size_t n, double *out,
                        double *tmp, int *it)
{
    double best = 1e30;
    for (int round = 0; round < 3; round++) {
        int calls = 0;
        double t0 = now(), dt;
        do {
            memcpy(out, S0, n * sizeof *out);
            memcpy(out + n, T0, n * sizeof *out);
            run(c, old, out, out + n, tmp, it);
            calls++;
            dt = now() - t0;
        } while (dt < 0.1);
        best = dt / calls < best ? dt / calls : best;
    }
    return best;
}

/* A Gram matrix of random rows: a kernel's Pi×Pi matrix (symmetric, PSD). */
static void random_kernel(double *M, int P, unsigned long long *s)
{
    enum { D = 6 };
    double *x = malloc(sizeof *x * (size_t)P * D);
    for (int k = 0; k < P * D; k++) { /* xorshift, uniform in [-1, 1) */
        *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
        x[k] = (double)(*s >> 11) / 4503599627370496.0 - 1.0;
    }
    for (int p = 0; p < P; p++)
        for (int q = 0; q < P; q++) {
            double g = 0.0;
            for (int d = 0; d < D; d++)
                g += x[p * D + d] * x[q * D + d];
            M[(size_t)p * P + q] = g / D;
        }
    free(x);
}

int main(void)
{
    unsigned long long seed = 88172645463325252ULL;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const Case *c = &cases[i];
        int Pi, Po, F, K;
        sizes(c, &Pi, &Po, &F, &K);
        size_t P = (size_t)(Pi > Po ? Pi : Po), n = P * P, taps = (size_t)F * (Po + 1) + 2 * (size_t)F * Po * K;
        double *S = malloc(sizeof *S * n), *T = malloc(sizeof *T * n), *old = malloc(sizeof *old * 2 * n),
               *new = malloc(sizeof *new * 2 * n), *tmp = malloc(sizeof *tmp * 2 * n);
        int *it = malloc(sizeof *it * taps);
        if (!S || !T || !old || !new || !tmp || !it) {
            fprintf(stderr, "bench_windows: out of memory\n");
            return 1;
        }
        random_kernel(S, Pi, &seed);
        random_kernel(T, Pi, &seed);
        double t_old = best_time(c, 1, S, T, n, old, tmp, it), t_new = best_time(c, 0, S, T, n, new, tmp, it);
        double err = 0.0, big = 0.0;
        for (size_t e = 0; e < (size_t)Po * Po; e++)
            for (int k = 0; k < 2; k++) {
                err = fmax(err, fabs(new[k * n + e] - old[k * n + e]));
                big = fmax(big, fabs(old[k * n + e]));
            }
        printf("windows_%s_old %.3g s\nwindows_%s_new %.3g s\nwindows_%s_speedup %.1f x\n", c->name, t_old, c->name,
               t_new, c->name, t_old / t_new);
        double terms = new_terms(c, it);
        printf("windows_%s_err %.2g rel\nwindows_%s_terms %.3g\nwindows_%s_ns_per_term %.2f ns\n", c->name,
               err / big, c->name, terms, c->name, 1e9 * t_new / terms);
        free(S), free(T), free(old), free(new), free(tmp), free(it);
    }
    return 0;
}
