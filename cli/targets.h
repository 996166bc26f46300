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

/* Training targets for the `rows` inputs of x_path (unit names them in
 * messages: "inputs", "graphs"): 2-D (rows, k), or 1-D labels (k = largest
 * label + 1). Returns 0 or the error code. */
int targets_load_train(const char *path, size_t rows, const char *x_path, const char *unit, Targets *t,
                       ntkc_error *err);
/* Test targets shaped like the training ones: labels below train->k when the
 * training targets are labels, else (rows, train->k). */
int targets_load_test(const char *path, size_t rows, const char *x_path, const char *unit, const Targets *train,
                      Targets *t, ntkc_error *err);
/* Class labels given in memory, as a graph file's `n label` lines give them
 * (path names the file in messages): for training (train == NULL) k = largest
 * label + 1; for testing, labels below train->k. */
int targets_from_labels(const char *path, const double *labels, size_t rows, const Targets *train, Targets *t,
                        ntkc_error *err);
/* The index of the first label that is not a class below k (an integer in
 * [0, k)), or rows when all are. */
size_t targets_first_non_class(const double *labels, size_t rows, size_t k);
/* One line per time on stdout for the predicted means (ntimes × m × k) against
 * test targets: the MSE, and for labels the accuracy of the argmax. */
void targets_print_scores(const Targets *test, const double *mean, const double *times, size_t ntimes, size_t m);
void targets_free(Targets *t);

#endif
