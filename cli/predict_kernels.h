/* `ntkc predict --k-train …`: prediction from precomputed kernels (no net),
 * as neural-tangents' gp_inference, gradient_descent_mse (from given initial
 * outputs) and gradient_descent (cross-entropy, momentum) take kernels. */
#ifndef NTKC_CLI_PREDICT_KERNELS_H
#define NTKC_CLI_PREDICT_KERNELS_H

/* 1 when argv names --k-train (so the net-less form is meant). */
int predict_kernels_requested(int argc, char **argv);
int cmd_predict_kernels(int argc, char **argv);

/* --reg R / --reg-abs R (at most one; either may be NULL) → reg and whether it
 * is absolute. Prints the error and returns 1 on junk or both given. */
int predict_parse_reg(const char *reg, const char *reg_abs, double *value, int *absolute);

#endif
