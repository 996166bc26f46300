/* Targets for `ntkc predict`: (n, k) float arrays, or (n,) integer class
 * labels that are trained on as one-hot rows. */
#ifndef NTKC_CLI_TARGETS_H
#define NTKC_CLI_TARGETS_H

#include <stddef.h>

#include "ntkc.h"

typedef struct Targets {
    double *y;      /* rows × k, one-hot rows for labels (malloc'd) */
    double *labels; /* rows class labels, or NULL for (n, k) targets (malloc'd) */
    size_t rows, k;
} Targets;

/* Training targets for the `rows` rows of x_path: 2-D (rows, k), or 1-D
 * labels (k = largest label + 1). Returns 0 or the error code. */
int targets_load_train(const char *path, size_t rows, const char *x_path, Targets *t, ntkc_error *err);
/* Test targets shaped like the training ones: labels below train->k when the
 * training targets are labels, else (rows, train->k). */
int targets_load_test(const char *path, size_t rows, const char *x_path, const Targets *train, Targets *t,
                      ntkc_error *err);
void targets_free(Targets *t);

#endif
