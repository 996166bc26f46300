/* `ntkc predict --k-train …`: prediction from precomputed kernels (no net),
 * as neural-tangents' gp_inference, gradient_descent_mse (from given initial
 * outputs) and gradient_descent (cross-entropy, momentum) take kernels. */
#ifndef NTKC_CLI_PREDICT_KERNELS_H
#define NTKC_CLI_PREDICT_KERNELS_H

/* 1 when argv names --k-train (so the net-less form is meant). */
int predict_kernels_requested(int argc, char **argv);
int cmd_predict_kernels(int argc, char **argv);

#endif
