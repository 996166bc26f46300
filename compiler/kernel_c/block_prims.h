/* Prototypes of the generic block primitives (kernel_c/block_prims.c), for
 * the standalone check of that file. The float32 ones (block_prims_f.h) are
 * made from this file by make (float.sed). */
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
#endif
