/* Prototypes of the generic block primitives (kernel_c/block_prims.c), for
 * the standalone check of that file and for the library's host copies. */
#ifndef NTKC_KERNEL_BLOCK_PRIMS_H
#define NTKC_KERNEL_BLOCK_PRIMS_H
#include <stddef.h>

void ntkc_block_load(size_t m, const double *restrict g, double dim, double *restrict s, double *restrict t);
void ntkc_block_dense_ntk(size_t m, double w2, double b2, double *restrict s, double *restrict t);
void ntkc_block_dense_std(size_t m, double w2, double b2, double fan_in, double bias, double *restrict s,
                          double *restrict t);
size_t ntkc_block_store(size_t m, const double *restrict s, const double *restrict t, double *restrict nngp,
                        double *restrict ntk);
void ntkc_block_records(size_t cols, size_t nvar, const double *restrict prep, double *restrict vt);
void ntkc_block_relu_qr(size_t m, double q1, double r1, const double *restrict q2, const double *restrict r2,
                        double *restrict s, double *restrict t);
/* float32 (block_prims_f.c) */
void ntkc_block_load_f(size_t m, const float *restrict g, float dim, float *restrict s, float *restrict t);
void ntkc_block_dense_ntk_f(size_t m, float w2, float b2, float *restrict s, float *restrict t);
void ntkc_block_dense_std_f(size_t m, float w2, float b2, float fan_in, float bias, float *restrict s,
                            float *restrict t);
size_t ntkc_block_store_f(size_t m, const float *restrict s, const float *restrict t, float *restrict nngp,
                          float *restrict ntk);
void ntkc_block_records_f(size_t cols, size_t nvar, const float *restrict prep, float *restrict vt);
void ntkc_block_relu_qr_f(size_t m, float q1, float r1, const float *restrict q2, const float *restrict r2,
                          float *restrict s, float *restrict t);
#endif
