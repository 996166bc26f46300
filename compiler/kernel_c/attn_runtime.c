/* Kernel-time C: the helpers of kernels of nets with attention (emitted by
 * compiler/emit_attn.c). Attention mixes every pixel pair, so these kernels
 * hold the full pixel-pair matrices of one pair of inputs: S = Σ(x1, x2) and
 * T = Θ(x1, x2), P×P row-major, S[p·P + q] for pixel p of x1 and q of x2,
 * P = H·W. Per-input records hold the variances Σ(x, x)(p, p) before every
 * activation and layer_norm, and the attention weights A_x (P×P) of every
 * linear-scaling attention layer. Every emitted attention kernel carries this
 * text (tools/embed_text); compiled on its own as a check (NTKC_KERNEL_CHECK). */
#ifdef NTKC_KERNEL_CHECK
#include <stddef.h>
#include "ntkc_math.h"
#endif
/* @text emit_attn_runtime_common */
/* ---- ntkc attention-kernel helpers (P×P pixel-pair matrices) ----------
 * NTKC_FN: static inline in a net's file; external in the library's copies,
 * which the libtcc back end binds (tools/gen_host_prims, NTKC_HOST_PRIMITIVES). */
typedef void (*ntkc_m_dual_fn)(const double *p, double s11, double s12, double s22, double *T, double *Td);
/* @end */
#ifdef NTKC_KERNEL_CHECK
#define NTKC_FN static inline
#endif
/* @text emit_attn_runtime_functions @fns emit_attn_runtime */

NTKC_FN void ntkc_m_copy(double *restrict dst, const double *restrict src, int n)
{
    for (int e = 0; e < n; e++)
        dst[e] = src[e];
}

/* The input kernel: S(p, q) = x1[p]·x2[q]/C (images NHWC), T = 0. */
NTKC_FN void ntkc_m_load(const double *x1, const double *x2, int P, int C, double *S, double *T)
{
    double inv = 1.0 / C;
    for (int p = 0; p < P; p++)
        for (int q = 0; q < P; q++) {
            const double *a = x1 + (size_t)p * C, *b = x2 + (size_t)q * C;
            double g = 0.0;
            for (int c = 0; c < C; c++)
                g += a[c] * b[c];
            S[p * P + q] = g * inv;
            T[p * P + q] = 0.0;
        }
}

/* dense on every pixel: Σ ← w²Σ + b², Θ ← Σ_new + w²Θ. */
NTKC_FN void ntkc_m_dense(double *S, double *T, int n, double w2, double b2)
{
    for (int e = 0; e < n; e++) {
        S[e] = w2 * S[e] + b2;
        T[e] = w2 * T[e] + S[e];
    }
}

/* dense(trainable=false): its parameters add no gradient, Θ ← w2·Θ. */
NTKC_FN void ntkc_m_dense_frozen(double *S, double *T, int n, double w2, double b2)
{
    for (int e = 0; e < n; e++) {
        S[e] = w2 * S[e] + b2;
        T[e] = w2 * T[e];
    }
}

/* The prep run (x1 = x2 = x): the variances Σ(p, p), clipped at 0. */
NTKC_FN void ntkc_m_fill_diag(double *rec, const double *S, int P)
{
    for (int p = 0; p < P; p++) {
        double v = S[p * P + p];
        rec[p] = v > 0.0 ? v : 0.0;
    }
}

/* An activation through its dual on every pair, with the pair's variances. */
NTKC_FN void ntkc_m_act(ntkc_m_dual_fn f, const double *prm, double *S, double *T, int P, const double *v1,
                         const double *v2)
{
    for (int p = 0; p < P; p++)
        for (int q = 0; q < P; q++) {
            double Tv, Td;
            f(prm, v1[p], S[p * P + q], v2[q], &Tv, &Td);
            S[p * P + q] = Tv;
            T[p * P + q] *= Td;
        }
}

/* layer_norm over channels: both kernels divided by √((v1+ε)(v2+ε)). */
NTKC_FN void ntkc_m_ln(double *S, double *T, int P, const double *v1, const double *v2, double eps)
{
    for (int p = 0; p < P; p++)
        for (int q = 0; q < P; q++) {
            double r = 1.0 / sqrt((v1[p] + eps) * (v2[q] + eps));
            S[p * P + q] *= r;
            T[p * P + q] *= r;
        }
}

/* The attention weights of one input from its self-kernel S = Σ(x, x):
 * A(i, j) = mech(qk·S(i, j)); mech 0 softmax along j (row maximum
 * subtracted), 1 identity, 2 abs, 3 relu. */
NTKC_FN void ntkc_m_weights(const double *S, int P, int mech, double qk, double *A)
{
    for (int i = 0; i < P; i++) {
        const double *s = S + (size_t)i * P;
        double *a = A + (size_t)i * P;
        if (mech == 0) {
            double m = qk * s[0], z = 0.0;
            for (int j = 1; j < P; j++)
                m = qk * s[j] > m ? qk * s[j] : m;
            for (int j = 0; j < P; j++)
                z += a[j] = exp(qk * s[j] - m);
            for (int j = 0; j < P; j++)
                a[j] /= z;
        } else {
            for (int j = 0; j < P; j++) {
                double g = qk * s[j];
                a[j] = mech == 1 ? g : mech == 2 ? fabs(g) : g > 0.0 ? g : 0.0;
            }
        }
    }
}

/* M ← A1·M·A2ᵀ (tmp: 2·P² scratch). Both products as row updates
 * (row i of the result += a scalar times a row), the second through A2ᵀ:
 * loops the optimiser vectorises without reordering any sum. */
NTKC_FN void ntkc_m_mix(const double *A1, const double *A2, double *M, int P, double *tmp)
{
    double *A2t = tmp + (size_t)P * P;
    for (int i = 0; i < P; i++)
        for (int j = 0; j < P; j++)
            A2t[j * P + i] = A2[i * P + j];
    for (int i = 0; i < P * P; i++)
        tmp[i] = 0.0;
    for (int i = 0; i < P; i++)
        for (int k = 0; k < P; k++) {
            double a = A1[i * P + k];
            const double *m = M + (size_t)k * P;
            double *t = tmp + (size_t)i * P;
            for (int j = 0; j < P; j++)
                t[j] += a * m[j];
        }
    for (int i = 0; i < P * P; i++)
        M[i] = 0.0;
    for (int i = 0; i < P; i++)
        for (int k = 0; k < P; k++) {
            double a = tmp[i * P + k];
            const double *b = A2t + (size_t)k * P;
            double *m = M + (size_t)i * P;
            for (int j = 0; j < P; j++)
                m[j] += a * b[j];
        }
}

/* Linear-scaling attention with weights A1 (of x1) and A2 (of x2):
 * Σ' = ov2·A1ΣA2ᵀ + b2, Θ' = ov2·(A1ΘA2ᵀ + 2·A1ΣA2ᵀ) + b2 (the value and
 * output weights each add A1ΣA2ᵀ; the query/key weights add nothing in the
 * limit). ov2 = (w_v·w_out)². */
NTKC_FN void ntkc_m_attn_linear(const double *A1, const double *A2, double *S, double *T, int P, double ov2,
                                 double b2, double *tmp)
{
    ntkc_m_mix(A1, A2, S, P, tmp);
    ntkc_m_mix(A1, A2, T, P, tmp);
    for (int e = 0; e < P * P; e++) {
        T[e] = ov2 * (T[e] + 2.0 * S[e]) + b2;
        S[e] = ov2 * S[e] + b2;
    }
}

/* Square-root scaling, identity mechanism, with d = ⟨Σ, Σ⟩ and e = ⟨Σ, Θ⟩
 * over all n pairs: Σ' = c·d·Σ + b2, Θ' = c·(2e·Σ + d·(Θ + 4Σ)) + b2
 * (queries and keys read the input twice: 2e; the query, key, value and
 * output weights each add d·Σ). c = (w_q w_k w_v w_out)². */
NTKC_FN void ntkc_m_attn_sqrt(double *S, double *T, int n, double c, double b2)
{
    double d = 0.0, e2 = 0.0;
    for (int e = 0; e < n; e++)
        d += S[e] * S[e], e2 += S[e] * T[e];
    for (int e = 0; e < n; e++) {
        T[e] = c * (2.0 * e2 * S[e] + d * (T[e] + 4.0 * S[e])) + b2;
        S[e] = c * d * S[e] + b2;
    }
}

/* Fan-in of branch k of nb into the accumulator (mode 0 sum with c = the
 * branch scale², 1 product, 2 concat: the mean). */
NTKC_FN void ntkc_m_fanin(int mode, int k, int nb, double c, double *S, double *T, const double *Sb,
                           const double *Tb, int n)
{
    if (mode == 1) {
        for (int e = 0; e < n; e++) {
            if (k == 0) {
                S[e] = Sb[e], T[e] = Tb[e];
            } else {
                T[e] = T[e] * Sb[e] + S[e] * Tb[e];
                S[e] *= Sb[e];
            }
        }
        return;
    }
    if (mode == 2)
        c = 1.0 / nb;
    for (int e = 0; e < n; e++) {
        S[e] = (k ? S[e] : 0.0) + c * Sb[e];
        T[e] = (k ? T[e] : 0.0) + c * Tb[e];
    }
}

/* Global pooling: c2 times the sum over all pairs (c2 = 1/P² for the average). */
NTKC_FN void ntkc_m_global(const double *S, const double *T, int n, double c2, double *s, double *t)
{
    double a = 0.0, b = 0.0;
    for (int e = 0; e < n; e++)
        a += S[e], b += T[e];
    *s = c2 * a, *t = c2 * b;
}

/* flatten: the mean over same-pixel pairs. */
NTKC_FN void ntkc_m_flatten(const double *S, const double *T, int P, double *s, double *t)
{
    double a = 0.0, b = 0.0;
    for (int p = 0; p < P; p++)
        a += S[p * P + p], b += T[p * P + p];
    *s = a / P, *t = b / P;
}

/* One entry into the outputs present; 1 when either value is not finite. */
NTKC_FN int ntkc_m_put(double *nngp, double *ntk, size_t at, double s, double t)
{
    if (nngp)
        nngp[at] = s;
    if (ntk)
        ntk[at] = t;
    return !(s - s == 0.0 && t - t == 0.0);
}
/* @end */
