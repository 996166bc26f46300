/* Kernel-time C: the block primitives of the fully connected tile function
 * (compiler/emit/emit_prims.h lists them). Each span is one function; the emitter
 * splits it at its first line "{" into declaration and body, prints them
 * static in every net's file (#ifndef NTKC_HOST_PRIMITIVES), and
 * tools/gen_host_prims compiles them into the library with gcc -O3.
 * Restrict-qualified pointers and branch-free bodies let gcc vectorise every
 * loop. Compiled on its own as a check (Makefile, kernel-c-check). */
#include <stddef.h>

#include "ntkc_math.h"
#include "block_prims.h"

/* s = Σ12 from the Gram block (divided by the input dimension), t = 0. */
/* @text kernel_prim_load */
void ntkc_block_load(size_t m, const double *restrict g, double dim,
    double *restrict s, double *restrict t)
{
    for (size_t j = 0; j < m; j++) {
        s[j] = g[j] / dim;
        t[j] = 0.0;
    }
}
/* @end */

/* Dense layer, NTK parameterization: Σ ← w²Σ + b², Θ ← Σ + w²Θ. */
/* @text kernel_prim_dense_ntk */
void ntkc_block_dense_ntk(size_t m, double w2, double b2,
    double *restrict s, double *restrict t)
{
    for (size_t j = 0; j < m; j++) {
        s[j] = w2 * s[j] + b2;
        t[j] = s[j] + w2 * t[j];
    }
}
/* @end */

/* Standard parameterization (neural-tangents): Θ ← fan_in·Σ_old (+1 with
 * a bias) + w²Θ, then Σ as usual. */
/* @text kernel_prim_dense_std */
void ntkc_block_dense_std(size_t m, double w2, double b2, double fan_in, double bias,
    double *restrict s, double *restrict t)
{
    for (size_t j = 0; j < m; j++) {
        t[j] = fan_in * s[j] + bias + w2 * t[j];
        s[j] = w2 * s[j] + b2;
    }
}
/* @end */

/* Copies the block out; returns how many of its entries are not finite. */
/* @text kernel_prim_store */
size_t ntkc_block_store(size_t m, const double *restrict s, const double *restrict t,
    double *restrict nngp, double *restrict ntk)
{
    size_t bad = 0;
    /* x - x is 0 exactly when x is finite. */
    for (size_t j = 0; j < m; j++)
        bad += (s[j] - s[j] != 0.0) | (t[j] - t[j] != 0.0);
    if (nngp)
        for (size_t j = 0; j < m; j++)
            nngp[j] = s[j];
    if (ntk)
        for (size_t j = 0; j < m; j++)
            ntk[j] = t[j];
    return bad;
}
/* @end */

/* The records of cols inputs (nvar each) slot by slot: vt[k·cols + j]. */
/* @text kernel_prim_records */
void ntkc_block_records(size_t cols, size_t nvar, const double *restrict prep,
    double *restrict vt)
{
    for (size_t j = 0; j < cols; j++)
        for (size_t k = 0; k < nvar; k++)
            vt[k * cols + j] = prep[j * nvar + k];
}
/* @end */

/* ReLU from records of √v and 1/√v (ntkc_relu_qr): no division per pair.
 * Columns go eight at a time, two vectors per iteration for the
 * out-of-order core to overlap (15% faster per pair than one). */
/* @text kernel_prim_relu_qr */
void ntkc_block_relu_qr(size_t m, double q1, double r1, const double *restrict q2,
    const double *restrict r2, double *restrict s, double *restrict t)
{
    size_t j = 0;
    for (; j + 8 <= m; j += 8)
        for (size_t l = 0; l < 8; l++)
            ntkc_relu_qr(s + j + l, t + j + l, q1, r1, q2[j + l], r2[j + l]);
    for (; j < m; j++)
        ntkc_relu_qr(s + j, t + j, q1, r1, q2[j], r2[j]);
}
/* @end */
