/* `ntkc predict --k-train …`: prediction from precomputed kernels (no net),
 * as neural-tangents' gp_inference, gradient_descent_mse (from given initial
 * outputs) and gradient_descent (cross-entropy, momentum) take kernels. */
#ifndef NTKC_CLI_PREDICT_KERNELS_H
#define NTKC_CLI_PREDICT_KERNELS_H

#include <stddef.h>

#include "ntkc_tool.h"

/* 1 when argv names --k-train (so the net-less form is meant). */
int predict_kernels_requested(int argc, char **argv);
int cmd_predict_kernels(int argc, char **argv);

/* A kernel file (opt names it in messages: "--k-train"): 2-D, rows × cols
 * (0 = any), finite; symmetric when asked for (|K_ij − K_ji| <=
 * 1e-6·√(|K_ii|·|K_jj|), float32 kernels pass). Also ntkc-mpi's. */
int predict_load_kernel(const char *opt, const char *path, size_t rows, size_t cols, int symmetric, NpyArray *a,
                        ntkc_error *err);

#endif
