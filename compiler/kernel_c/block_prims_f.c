/* Kernel-time C: the block primitives of the fully connected tile in float32
 * (`--precision single`): block_prims.c's loops with float blocks, twice the
 * lanes per vector. Named with the suffix _f; printed like the float64 ones
 * (compiler/emit/emit_prims.c) into single-precision files and into the
 * library's host copies. Compiled on its own as a check. */
#include <stddef.h>

#include "ntkc_math_f.h"
#include "block_prims.h"

/* @text kernel_prim_f_load */
void ntkc_block_load_f(size_t m, const float *restrict g, float dim,
    float *restrict s, float *restrict t)
{
    for (size_t j = 0; j < m; j++) {
        s[j] = g[j] / dim;
        t[j] = 0.0f;
    }
}
/* @end */

/* @text kernel_prim_f_dense_ntk */
void ntkc_block_dense_ntk_f(size_t m, float w2, float b2,
    float *restrict s, float *restrict t)
{
    for (size_t j = 0; j < m; j++) {
        s[j] = w2 * s[j] + b2;
        t[j] = s[j] + w2 * t[j];
    }
}
/* @end */

/* @text kernel_prim_f_dense_std */
void ntkc_block_dense_std_f(size_t m, float w2, float b2, float fan_in, float bias,
    float *restrict s, float *restrict t)
{
    for (size_t j = 0; j < m; j++) {
        t[j] = fan_in * s[j] + bias + w2 * t[j];
        s[j] = w2 * s[j] + b2;
    }
}
/* @end */

/* @text kernel_prim_f_store */
size_t ntkc_block_store_f(size_t m, const float *restrict s, const float *restrict t,
    float *restrict nngp, float *restrict ntk)
{
    size_t bad = 0;
    /* x - x is 0 exactly when x is finite. */
    for (size_t j = 0; j < m; j++)
        bad += (s[j] - s[j] != 0.0f) | (t[j] - t[j] != 0.0f);
    if (nngp)
        for (size_t j = 0; j < m; j++)
            nngp[j] = s[j];
    if (ntk)
        for (size_t j = 0; j < m; j++)
            ntk[j] = t[j];
    return bad;
}
/* @end */

/* @text kernel_prim_f_records */
void ntkc_block_records_f(size_t cols, size_t nvar, const float *restrict prep,
    float *restrict vt)
{
    for (size_t j = 0; j < cols; j++)
        for (size_t k = 0; k < nvar; k++)
            vt[k * cols + j] = prep[j * nvar + k];
}
/* @end */

/* Sixteen columns at a time: two vectors of eight floats (AVX2), as the
 * float64 version's eight are two of four. */
/* @text kernel_prim_f_relu_qr */
void ntkc_block_relu_qr_f(size_t m, float q1, float r1, const float *restrict q2,
    const float *restrict r2, float *restrict s, float *restrict t)
{
    size_t j = 0;
    for (; j + 16 <= m; j += 16)
        for (size_t l = 0; l < 16; l++)
            ntkc_relu_qr_f(s + j + l, t + j + l, q1, r1, q2[j + l], r2[j + l]);
    for (; j < m; j++)
        ntkc_relu_qr_f(s + j, t + j, q1, r1, q2[j], r2[j]);
}
/* @end */
