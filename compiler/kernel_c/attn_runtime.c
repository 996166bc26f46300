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
/* A net's entry: out[0] = NNGP, out[1] = NTK of (x1, x2) from their prep
 * records v1, v2; with fill != NULL (x1 = x2, v1 = v2 = fill) it writes the
 * record as the computation reaches each part of it. ws: its scratch. */
typedef void (*ntkc_m_entry_fn)(const double *x1, const double *x2, const double *v1, const double *v2,
                                double *fill, double *ws, double *out);
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

/* The padding mask of an input (NHWC, C channels): m[p] = 0 when position p
 * is padding, 1 otherwise. The library marks padding by NaN in every channel
 * of the position (neural-tangents' mask_constant = NaN; ntkc_mask_inputs). */
NTKC_FN int ntkc_m_mask(const double *x, int P, int C, double *m)
{
    int padded = 0;
    for (int p = 0; p < P; p++) {
        m[p] = x[(size_t)p * C] == x[(size_t)p * C] ? 1.0 : 0.0;
        padded += m[p] == 0.0;
    }
    return padded;
}

/* The input kernel: S(p, q) = x1[p]·x2[q]/C (images NHWC), T = 0; padding
 * (m = 0) reads as zeros. */
NTKC_FN void ntkc_m_load(const double *x1, const double *x2, int P, int C, const double *m1, const double *m2,
                          double *S, double *T)
{
    double inv = 1.0 / C;
    for (int p = 0; p < P; p++)
        for (int q = 0; q < P; q++) {
            const double *a = x1 + (size_t)p * C, *b = x2 + (size_t)q * C;
            double g = 0.0;
            if (m1[p] != 0.0 && m2[q] != 0.0)
                for (int c = 0; c < C; c++)
                    g += a[c] * b[c];
            S[p * P + q] = g * inv;
            T[p * P + q] = 0.0;
        }
}

/* Padding stays out of every layer (neural-tangents' remask_kernel): both
 * kernels are 0 on every pair with a padded side, by assignment so that a
 * 0·∞ of a layer_norm with eps = 0 leaves no NaN behind. */
NTKC_FN void ntkc_m_remask(double *S, double *T, int P, const double *m1, const double *m2)
{
    for (int p = 0; p < P; p++)
        for (int q = 0; q < P; q++)
            if (m1[p] == 0.0 || m2[q] == 0.0)
                S[p * P + q] = T[p * P + q] = 0.0;
}

/* Positional embeddings (pos_emb=sum|concat): M ← kw·M + pw·R for both
 * kernels, R(p, q) = 1 when p = q and neither side is padding, else 0. */
NTKC_FN void ntkc_m_embed(double *S, double *T, int P, const double *m1, const double *m2, double kw, double pw)
{
    for (int p = 0; p < P; p++)
        for (int q = 0; q < P; q++) {
            double r = p == q && m1[p] != 0.0 && m2[q] != 0.0 ? pw : 0.0;
            S[p * P + q] = kw * S[p * P + q] + r;
            T[p * P + q] = kw * T[p * P + q] + r;
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

/* Convolution and pooling windows that keep the grid (stride 1, padding
 * same or circular), g = {H, W, kh, kw, pt, pl, dh, dw, circular}: the input
 * position tap (u, v) of output position o reads, or -1 outside the image. */
NTKC_FN int ntkc_m_tap(const int *g, int o, int u, int v)
{
    int y = o / g[1] + u * g[6] - g[4], x = o % g[1] + v * g[7] - g[5];
    if (g[8]) {
        y = ((y % g[0]) + g[0]) % g[0];
        x = ((x % g[1]) + g[1]) % g[1];
    }
    return y < 0 || y >= g[0] || x < 0 || x >= g[1] ? -1 : y * g[1] + x;
}

/* Volumes' windows (input volume(D, H, W, C)), which may change the grid:
 * g = {Zi, Hi, Wi, Zo, Ho, Wo, kd, kh, kw, sd, sh, sw, pf, pt, pl, dd, dh,
 * dw, circular}, positions row-major over (slice, row, column). The input
 * position tap f (row-major over kd×kh×kw) of output position o reads, or -1
 * in the zero padding. */
NTKC_FN int ntkc_m_tapv(const int *g, int o, int f)
{
    int ox = o % g[5], oy = o / g[5] % g[4], oz = o / (g[4] * g[5]);
    int ux = f % g[8], uy = f / g[8] % g[7], uz = f / (g[7] * g[8]);
    int z = oz * g[9] + uz * g[15] - g[12], y = oy * g[10] + uy * g[16] - g[13], x = ox * g[11] + ux * g[17] - g[14];
    if (g[18]) {
        z = ((z % g[0]) + g[0]) % g[0];
        y = ((y % g[1]) + g[1]) % g[1];
        x = ((x % g[2]) + g[2]) % g[2];
    }
    if (z < 0 || z >= g[0] || y < 0 || y >= g[1] || x < 0 || x >= g[2])
        return -1;
    return (z * g[1] + y) * g[2] + x;
}

/* conv_transpose on a volume (neural-tangents' ConvTranspose: lax's
 * conv_transpose, kernel not flipped): g = {Zi, Hi, Wi, Zo, Ho, Wo, kd, kh,
 * kw, sd, sh, sw, pf, pt, pl, Gz, Gy, Gx}. Taps are gathered on the G grid,
 * the output's, or a circular transpose's valid output, which is then folded
 * onto the output (along an axis of n, position i adds to (i − c) mod n,
 * c = (G − n)/2). Along an axis, tap u of gathered position i reads input
 * j/s of the input dilated by the stride, j = i + u − p, or nothing. */
NTKC_FN int ntkc_m_tapt_axis(int i, int u, int s, int p, int n)
{
    int j = i + u - p;
    return j < 0 || j % s != 0 || j / s >= n ? -1 : j / s;
}

/* The input position tap f (row-major over kd×kh×kw) of gathered position i
 * reads, or -1. */
NTKC_FN int ntkc_m_tapt(const int *g, int i, int f)
{
    int ix = i % g[17], iy = i / g[17] % g[16], iz = i / (g[16] * g[17]);
    int ux = f % g[8], uy = f / g[8] % g[7], uz = f / (g[7] * g[8]);
    int z = ntkc_m_tapt_axis(iz, uz, g[9], g[12], g[0]), y = ntkc_m_tapt_axis(iy, uy, g[10], g[13], g[1]);
    int x = ntkc_m_tapt_axis(ix, ux, g[11], g[14], g[2]);
    return z < 0 || y < 0 || x < 0 ? -1 : (z * g[1] + y) * g[2] + x;
}

/* Gathered positions folding onto output position o: the k-th (k below the
 * product over the axes of ⌈G/n⌉), or -1. Without a fold (G = the output)
 * k = 0 is o itself. */
NTKC_FN int ntkc_m_foldv(const int *g, int o, int k)
{
    int ox = o % g[5], oy = o / g[5] % g[4], oz = o / (g[4] * g[5]);
    int mx = (g[17] + g[5] - 1) / g[5], my = (g[16] + g[4] - 1) / g[4];
    int x = (ox + (g[17] - g[5]) / 2) % g[5] + k % mx * g[5];
    int y = (oy + (g[16] - g[4]) / 2) % g[4] + k / mx % my * g[4];
    int z = (oz + (g[15] - g[3]) / 2) % g[3] + k / (mx * my) * g[3];
    return x >= g[17] || y >= g[16] || z >= g[15] ? -1 : (z * g[16] + y) * g[17] + x;
}

/* ---- Window tables ----------------------------------------------------
 * A window layer reads, for output position o and tap f, the input position
 * a of that tap (none in the zero padding; several for a folded
 * conv_transpose). Each call lists them once in it, its tap table: the
 * entries of tap f and output o are e in [ptr[f·(Po+1) + o],
 * ptr[f·(Po+1) + o + 1]), ptr = it, each the pair (o, a) at
 * it + F·(Po+1) + 2e, ordered by f, then o. The sums below run over listed
 * pairs only: no index arithmetic in their inner loops (two tap positions
 * of integer divisions per term cost ~80 ns) and no term of a tap that
 * reads nothing (padding, a strided transpose's holes). Sizes F·(Po+1) +
 * 2·F·Po·K ints (K: the fold's positions per output, else 1). */

/* Entry n of a tap table: output o reads input a, if any (a >= 0); the
 * count after it. The builders below list an image's window (g as for the
 * 2-D taps), a volume's, and a volume's conv_transpose (k over the fold). */
NTKC_FN int ntkc_m_tab_add(int *ent, int n, int o, int a)
{
    if (a < 0)
        return n;
    ent[2 * (size_t)n] = o, ent[2 * (size_t)n + 1] = a;
    return n + 1;
}

NTKC_FN void ntkc_m_taps(int *it, const int *g)
{
    int P = g[0] * g[1], F = g[2] * g[3], n = 0, *ent = it + (size_t)F * (P + 1);
    for (int f = 0; f < F; f++)
        for (int o = 0; o <= P; o++) {
            it[(size_t)f * (P + 1) + o] = n;
            if (o < P)
                n = ntkc_m_tab_add(ent, n, o, ntkc_m_tap(g, o, f / g[3], f % g[3]));
        }
}

NTKC_FN void ntkc_m_tapsv(int *it, const int *g)
{
    int Po = g[3] * g[4] * g[5], F = g[6] * g[7] * g[8], n = 0, *ent = it + (size_t)F * (Po + 1);
    for (int f = 0; f < F; f++)
        for (int o = 0; o <= Po; o++) {
            it[(size_t)f * (Po + 1) + o] = n;
            if (o < Po)
                n = ntkc_m_tab_add(ent, n, o, ntkc_m_tapv(g, o, f));
        }
}

NTKC_FN void ntkc_m_tapstv(int *it, const int *g, int K)
{
    int Po = g[3] * g[4] * g[5], F = g[6] * g[7] * g[8], n = 0, *ent = it + (size_t)F * (Po + 1);
    for (int f = 0; f < F; f++)
        for (int o = 0; o <= Po; o++) {
            it[(size_t)f * (Po + 1) + o] = n;
            for (int k = 0; k < K && o < Po; k++) {
                int i = ntkc_m_foldv(g, o, k);
                n = ntkc_m_tab_add(ent, n, o, i < 0 ? -1 : ntkc_m_tapt(g, i, f));
            }
        }
}

/* M(p, q) = Σ_f Σ over the pairs (p, a), (q, b) of tap f in the table of
 * M0(a, b), from M0 (Pi×Pi) into M (Po×Po); local: p = q only (0
 * elsewhere). Row p of M gathers, for each tap f and each input a that p
 * reads through it, row a of M0 at the inputs every q reads through f: per
 * entry the terms in order of f (then the fold's), the definition's. */
NTKC_FN void ntkc_m_tap_sums(double *M, const double *M0, int Pi, int Po, int F, const int *it, int local)
{
    const int *ent = it + (size_t)F * (Po + 1);
    for (int p = 0; p < Po; p++) {
        double *m = M + (size_t)p * Po;
        for (int q = 0; q < Po; q++)
            m[q] = 0.0;
        for (int f = 0; f < F; f++) {
            const int *ptr = it + (size_t)f * (Po + 1);
            int lo = local ? ptr[p] : ptr[0], hi = local ? ptr[p + 1] : ptr[Po];
            for (int e = ptr[p]; e < ptr[p + 1]; e++) {
                const double *row = M0 + (size_t)ent[2 * (size_t)e + 1] * Pi;
                for (int j = lo; j < hi; j++)
                    m[ent[2 * (size_t)j]] += row[ent[2 * (size_t)j + 1]];
            }
        }
    }
}

/* The convolutions' kernels from their tap table (it, K over a fold):
 * Σ' = w2/F·Σ_f Σ(tap f, tap f) + b2, Θ' = Σ' + the same of Θ (without the
 * Σ' when frozen), the F taps' zeros of padding counted; local: the
 * entries p = q only, others 0 (conv_local). S and T may be one array when
 * frozen (then its two inputs are equal). tmp: 2·Pi². */
NTKC_FN void ntkc_m_conv_sums(double *S, double *T, int Pi, int Po, int F, const int *it, double w2, double b2,
                               int frozen, int local, double *tmp)
{
    double *S0 = tmp, *T0 = tmp + (size_t)Pi * Pi;
    ntkc_m_copy(S0, S, Pi * Pi);
    ntkc_m_copy(T0, T, Pi * Pi);
    ntkc_m_tap_sums(S, S0, Pi, Po, F, it, local);
    ntkc_m_tap_sums(T, T0, Pi, Po, F, it, local);
    for (int p = 0; p < Po; p++)
        for (int q = 0; q < Po; q++) {
            size_t e = (size_t)p * Po + q;
            double s = S[e], t = T[e];
            S[e] = local && p != q ? 0.0 : w2 * s / F + b2;
            T[e] = local && p != q ? 0.0 : (frozen ? 0.0 : S[e]) + w2 * t / F;
        }
}

/* Pooling from the tap table (one input per tap and output): M'(p, q) =
 * c·Σ over every tap pair M(tap of p, tap of q), rows (Po×Pi into tmp),
 * then columns (Po×Po back into M), each sum in order of the taps. */
NTKC_FN void ntkc_m_pool_sums(double *M, int Pi, int Po, int F, const int *it, double c, double *tmp)
{
    const int *ent = it + (size_t)F * (Po + 1);
    for (int p = 0; p < Po; p++) {
        double *t = tmp + (size_t)p * Pi;
        for (int q = 0; q < Pi; q++)
            t[q] = 0.0;
        for (int f = 0; f < F; f++) {
            const int *ptr = it + (size_t)f * (Po + 1);
            for (int e = ptr[p]; e < ptr[p + 1]; e++) {
                const double *row = M + (size_t)ent[2 * (size_t)e + 1] * Pi;
                for (int q = 0; q < Pi; q++)
                    t[q] += row[q];
            }
        }
    }
    for (int p = 0; p < Po; p++) {
        const double *t = tmp + (size_t)p * Pi;
        double *m = M + (size_t)p * Po;
        for (int q = 0; q < Po; q++)
            m[q] = 0.0;
        for (int f = 0; f < F; f++) {
            const int *ptr = it + (size_t)f * (Po + 1);
            for (int j = ptr[0]; j < ptr[Po]; j++)
                m[ent[2 * (size_t)j]] += t[ent[2 * (size_t)j + 1]];
        }
        for (int q = 0; q < Po; q++)
            m[q] *= c;
    }
}

/* conv: both copies read the same tap, averaged over the whole window
 * (zeros outside the image and at padding, as neural-tangents):
 * Σ' = w2·avg Σ + b2, Θ' = Σ' + w2·avg Θ (without the Σ' when the conv is
 * frozen: trainable=false). tmp: 2·P² scratch; it: the window's tap table
 * (F·(P+1) + 2·F·P ints). */
NTKC_FN void ntkc_m_conv(double *S, double *T, const int *g, double w2, double b2, int frozen, double *tmp, int *it)
{
    int P = g[0] * g[1], F = g[2] * g[3];
    ntkc_m_taps(it, g);
    ntkc_m_conv_sums(S, T, P, P, F, it, w2, b2, frozen, 0, tmp);
}

/* conv_local (neural-tangents' ConvLocal: unshared weights make other
 * positions independent): the conv's kernel on equal positions, 0 elsewhere. */
NTKC_FN void ntkc_m_local(double *S, double *T, const int *g, double w2, double b2, int frozen, double *tmp, int *it)
{
    int P = g[0] * g[1], F = g[2] * g[3];
    ntkc_m_taps(it, g);
    ntkc_m_conv_sums(S, T, P, P, F, it, w2, b2, frozen, 1, tmp);
}

/* conv on a volume: as the 2-D conv, from the Pi×Pi input grid's pairs to
 * the Po×Po output grid's (|F| = kd·kh·kw, zeros at padding counted). tmp:
 * 2·Pi²; it: F·(Po+1) + 2·F·Po ints. */
NTKC_FN void ntkc_m_convv(double *S, double *T, const int *g, double w2, double b2, int frozen, double *tmp, int *it)
{
    int Pi = g[0] * g[1] * g[2], Po = g[3] * g[4] * g[5], F = g[6] * g[7] * g[8];
    ntkc_m_tapsv(it, g);
    ntkc_m_conv_sums(S, T, Pi, Po, F, it, w2, b2, frozen, 0, tmp);
}

/* conv_local on a volume: the volume conv's kernel on equal positions. */
NTKC_FN void ntkc_m_localv(double *S, double *T, const int *g, double w2, double b2, int frozen, double *tmp, int *it)
{
    int Pi = g[0] * g[1] * g[2], Po = g[3] * g[4] * g[5], F = g[6] * g[7] * g[8];
    ntkc_m_tapsv(it, g);
    ntkc_m_conv_sums(S, T, Pi, Po, F, it, w2, b2, frozen, 1, tmp);
}

/* Σ' = w2/|F|·Σ_f over the fold's pairs of Σ(tap f of i, tap f of i') + b2,
 * Θ' = Σ' + the same of Θ (without the Σ' when frozen); |F| = kd·kh·kw,
 * zeros of the dilation and padding counted. tmp: 2·Pi²; it: F·(Po+1) +
 * 2·F·Po·K ints, K the fold's positions per output. */
NTKC_FN void ntkc_m_convtv(double *S, double *T, const int *g, double w2, double b2, int frozen, double *tmp, int *it)
{
    int Pi = g[0] * g[1] * g[2], Po = g[3] * g[4] * g[5], F = g[6] * g[7] * g[8];
    int K = (g[15] + g[3] - 1) / g[3] * ((g[16] + g[4] - 1) / g[4]) * ((g[17] + g[5] - 1) / g[5]);
    ntkc_m_tapstv(it, g, K);
    ntkc_m_conv_sums(S, T, Pi, Po, F, it, w2, b2, frozen, 0, tmp);
}

/* avg_pool(normalize_edges=true) on a volume, after ntkc_m_poolv with c = 1
 * (g as ntkc_m_tapv's): entry (p, q) divided by the in-bounds taps of both
 * windows, n(p)·n(q) (neural-tangents' AvgPool divides each output by its
 * own count; circular windows are whole). */
NTKC_FN int ntkc_m_inside(int o, int k, int s, int p, int n)
{
    int lo = o * s - p, hi = lo + k;
    lo = lo < 0 ? 0 : lo;
    hi = hi > n ? n : hi;
    return hi > lo ? hi - lo : 0;
}

NTKC_FN double ntkc_m_inside3(const int *g, int o)
{
    int ox = o % g[5], oy = o / g[5] % g[4], oz = o / (g[4] * g[5]);
    if (g[18])
        return (double)g[6] * g[7] * g[8];
    return (double)ntkc_m_inside(oz, g[6], g[9], g[12], g[0]) * ntkc_m_inside(oy, g[7], g[10], g[13], g[1]) *
           ntkc_m_inside(ox, g[8], g[11], g[14], g[2]);
}

NTKC_FN void ntkc_m_pool_edgesv(double *S, double *T, const int *g)
{
    int Po = g[3] * g[4] * g[5];
    for (int p = 0; p < Po; p++)
        for (int q = 0; q < Po; q++) {
            double c = ntkc_m_inside3(g, p) * ntkc_m_inside3(g, q);
            size_t e = (size_t)p * Po + q;
            S[e] = c > 0.0 ? S[e] / c : 0.0;
            T[e] = c > 0.0 ? T[e] / c : 0.0;
        }
}

/* Pooling on a volume: M'(p, q) = c·Σ over every tap pair (the pool
 * sums'). tmp: Po·Pi; it: F·(Po+1) + 2·F·Po ints. */
NTKC_FN void ntkc_m_poolv(double *S, double *T, const int *g, double c, double *tmp, int *it)
{
    int Pi = g[0] * g[1] * g[2], Po = g[3] * g[4] * g[5], F = g[6] * g[7] * g[8];
    ntkc_m_tapsv(it, g);
    ntkc_m_pool_sums(S, Pi, Po, F, it, c, tmp);
    ntkc_m_pool_sums(T, Pi, Po, F, it, c, tmp);
}

/* Pooling (a fixed linear map on each copy): M'(p, q) = c·Σ over every tap
 * pair M(tap of p, tap of q), c = 1/F² (avg_pool: divided by the whole
 * window) or 1 (sum_pool). tmp: P² scratch; it: F·(P+1) + 2·F·P ints. */
NTKC_FN void ntkc_m_pool(double *S, double *T, const int *g, double c, double *tmp, int *it)
{
    int P = g[0] * g[1], F = g[2] * g[3];
    ntkc_m_taps(it, g);
    ntkc_m_pool_sums(S, P, P, F, it, c, tmp);
    ntkc_m_pool_sums(T, P, P, F, it, c, tmp);
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

NTKC_FN void ntkc_m_relu(double *S, double *T, int P, const double *v1, const double *v2, double *tmp)
{
    /* ReLU through its branch-free pair update (which the optimiser
     * vectorises; the generic activation calls the dual pair by pair), from
     * the variances: the float32 kernels' ReLU (emit_attn.c), in float32
     * arithmetic as the image and fully connected ones. tmp: 2P. (The
     * comment sits inside: files without the function drop it; it names no
     * function, since the build's call graph reads names.) */
    double *q2 = tmp, *r2 = tmp + P;
    for (int q = 0; q < P; q++) {
        q2[q] = v2[q] > 0.0 ? sqrt(v2[q]) : 0.0;
        r2[q] = v2[q] > 0.0 ? 1.0 / q2[q] : 0.0;
    }
    for (int p = 0; p < P; p++) {
        double q1 = v1[p] > 0.0 ? sqrt(v1[p]) : 0.0, r1 = v1[p] > 0.0 ? 1.0 / q1 : 0.0;
        for (int q = 0; q < P; q++)
            ntkc_relu_qr(S + (size_t)p * P + q, T + (size_t)p * P + q, q1, r1, q2[q], r2[q]);
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

/* layer_norm over positions too (IrLnAxes: 1 height, 2 width, 3 all, 4 a
 * volume's depth, 5 depth and height, 6 depth and width, 7 height and
 * width), in the prep run: the variance record v (P values, written by
 * ntkc_m_fill_diag) becomes each position's mean over the unpadded positions
 * (m != 0) of its group, so ntkc_m_ln divides by the group's variance. The
 * grid: gz slices of gh rows of gw columns, p = (z·gh + y)·gw + x; a group is
 * the positions that share p's coordinates on the axes not normalised (its
 * column, row, line through the slices, plane, or all P), summed in the order
 * of p. A group of padding alone gets 0 (its positions are remasked after
 * the layer). */
NTKC_FN void ntkc_m_ln_groups(double *v, const double *m, int gz, int gh, int gw, int axes)
{
    int P = gz * gh * gw;
    int nz = axes == 3 || axes == 4 || axes == 5 || axes == 6; /* the axes normalised over */
    int ny = axes == 1 || axes == 3 || axes == 5 || axes == 7;
    int nx = axes == 2 || axes == 3 || axes == 6 || axes == 7;
    for (int p = 0; p < P; p++) {
        int z = p / (gh * gw), y = p / gw % gh, x = p % gw;
        if ((nz && z > 0) || (ny && y > 0) || (nx && x > 0)) /* each group once, from its first position */
            continue;
        int z1 = nz ? gz : z + 1, y1 = ny ? gh : y + 1, x1 = nx ? gw : x + 1;
        double sum = 0.0;
        int count = 0;
        for (int a = z; a < z1; a++)
            for (int b = y; b < y1; b++)
                for (int c = x; c < x1; c++) {
                    int q = (a * gh + b) * gw + c;
                    if (m[q] != 0.0)
                        sum += v[q], count++;
                }
        double mean = count > 0 ? sum / count : 0.0;
        for (int a = z; a < z1; a++)
            for (int b = y; b < y1; b++)
                for (int c = x; c < x1; c++)
                    v[(a * gh + b) * gw + c] = mean;
    }
}

/* The attention weights of one input from its self-kernel S = Σ(x, x) and
 * padding mask m: A(i, j) = mech(qk·(kw·S(i, j) + pw·R(i, j))) (R: the
 * positional embeddings' covariance, ntkc_m_embed); mech 0 softmax along j
 * (row maximum subtracted), 1 identity, 2 abs, 3 relu. Padded keys j get
 * weight 0 (neural-tangents: softmax logits -1e20, whose exp is 0). */
NTKC_FN void ntkc_m_weights(const double *S, int P, int mech, double qk, double kw, double pw, const double *m,
                             double *A)
{
    for (int i = 0; i < P; i++) {
        const double *s = S + (size_t)i * P;
        double *a = A + (size_t)i * P;
        for (int j = 0; j < P; j++) {
            double g = qk * (kw * s[j] + (i == j && m[i] != 0.0 ? pw : 0.0));
            a[j] = mech == 0 || mech == 1 ? g : mech == 2 ? fabs(g) : g > 0.0 ? g : 0.0;
        }
        if (mech == 0) {
            double mx = 0.0, z = 0.0;
            for (int j = 0, seen = 0; j < P; j++)
                if (m[j] != 0.0 && (!seen || a[j] > mx))
                    mx = a[j], seen = 1;
            for (int j = 0; j < P; j++)
                z += a[j] = m[j] != 0.0 ? exp(a[j] - mx) : 0.0;
            for (int j = 0; j < P; j++)
                a[j] = z > 0.0 ? a[j] / z : 0.0;
        } else {
            for (int j = 0; j < P; j++)
                a[j] = m[j] != 0.0 ? a[j] : 0.0;
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

/* Square-root scaling, identity mechanism. With the embedded input
 * Σ̃ = kw·Σ + pw·R, Θ̃ = kw·Θ + pw·R (ntkc_m_embed; none: kw = 1, pw = 0),
 * V = Σ̃ when the values see the embeddings (vp) else Σ, d = ⟨Σ̃, V⟩ over all
 * n pairs and e = 2⟨Σ̃, Θ̃⟩ (vp, or no embeddings: sep = 0) or
 * ⟨Σ̃, Θ⟩ + ⟨Σ, Θ̃⟩ (sep = 1): Σ' = c·d·Σ̃ + b2, Θ' = c·(e·Σ̃ + d·(Θ̃ + 4Σ̃)) + b2
 * (queries and keys read the input: e; the query, key, value and output
 * weights each add d·Σ̃). c = (w_q w_k w_v w_out)². tmp: 2n scratch. */
NTKC_FN void ntkc_m_attn_sqrt(double *S, double *T, int P, double c, double b2, double kw, double pw, int vp,
                               int sep, const double *m1, const double *m2, double *tmp)
{
    int n = P * P;
    double *Si = tmp, *Ti = tmp + n;
    double d = 0.0, e2 = 0.0; /* float64 sums over the n pairs, in the float32 runtime too */
    ntkc_m_copy(Si, S, n);
    ntkc_m_copy(Ti, T, n);
    ntkc_m_embed(Si, Ti, P, m1, m2, kw, pw);
    for (int e = 0; e < n; e++) {
        d += Si[e] * (vp ? Si[e] : S[e]);
        e2 += sep ? Si[e] * T[e] + S[e] * Ti[e] : Si[e] * Ti[e];
    }
    if (!sep)
        e2 *= 2.0;
    for (int e = 0; e < n; e++) {
        T[e] = c * (e2 * Si[e] + d * (Ti[e] + 4.0 * Si[e])) + b2;
        S[e] = c * d * Si[e] + b2;
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
    (void)nb; /* c: scale² (sum) or the branch's share of the units (concat), IrBranch.scale */
    for (int e = 0; e < n; e++) {
        S[e] = (k ? S[e] : 0.0) + c * Sb[e];
        T[e] = (k ? T[e] : 0.0) + c * Tb[e];
    }
}

/* Global pooling: the sum over all pairs (padding is 0), for the average
 * divided by the pairs of unpadded positions n1·n2 (neural-tangents'
 * GlobalAvgPool over unmasked positions). */
NTKC_FN void ntkc_m_global(const double *S, const double *T, int P, int average, const double *m1,
                            const double *m2, double *s, double *t)
{
    double a = 0.0, b = 0.0, n1 = 0.0, n2 = 0.0; /* float64 sums, in the float32 runtime too */
    for (int e = 0; e < P * P; e++)
        a += S[e], b += T[e];
    for (int p = 0; p < P; p++)
        n1 += m1[p], n2 += m2[p];
    double c2 = average ? 1.0 / (n1 * n2) : 1.0;
    *s = c2 * a, *t = c2 * b;
}

/* flatten: the mean over same-pixel pairs. */
NTKC_FN void ntkc_m_flatten(const double *S, const double *T, int P, double *s, double *t)
{
    double a = 0.0, b = 0.0; /* float64 sums, in the float32 runtime too */
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

/* The prep records of n inputs, ps doubles each (the record, then K(x, x):
 * NNGP and NTK). ws == NULL (no memory): the records are poisoned, so every
 * entry reports non-finite. */
NTKC_FN void ntkc_m_prep_all(ntkc_m_entry_fn entry, size_t n, const double *x, size_t dim, double *prep, size_t ps,
                              double *ws)
{
    double out[2];
    for (size_t i = 0; i < n; i++) {
        double *rec = prep + i * ps;
        if (!ws) {
            for (size_t k = 0; k < ps; k++)
                rec[k] = 0.0 / 0.0;
            continue;
        }
        entry(x + i * dim, x + i * dim, rec, rec, rec, ws, out);
        rec[ps - 2] = out[0], rec[ps - 1] = out[1];
    }
}

/* A rows×cols tile of the kernel (the tile ABI, kernel_abi.h); returns the
 * count of non-finite entries (all of them when ws == NULL: no memory). */
NTKC_FN size_t ntkc_m_tile_all(ntkc_m_entry_fn entry, size_t rows, size_t cols, const double *x1,
                                const double *prep1, const double *x2, const double *prep2, size_t dim, size_t ps,
                                double *ws, double *nngp, double *ntk, size_t ldo)
{
    double out[2];
    size_t bad = 0;
    if (!ws)
        return rows * cols;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            entry(x1 + i * dim, x2 + j * dim, prep1 + i * ps, prep2 + j * ps, 0, ws, out);
            bad += (size_t)ntkc_m_put(nngp, ntk, i * ldo + j, out[0], out[1]);
        }
    return bad;
}
/* @end */
