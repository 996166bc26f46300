#include "targets.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntkc_tool.h"

void targets_free(Targets *t)
{
    free(t->y);
    free(t->labels);
    memset(t, 0, sizeof *t);
}

/* Reads the array and checks its row count and values; ndim is 1 or 2. */
static int read_rows(const char *path, size_t rows, const char *x_path, const char *unit, NpyArray *a,
                     ntkc_error *err)
{
    if (npy_read(path, a, err))
        return err->code;
    if (a->ndim != 1 && a->ndim != 2)
        err_file(err, path, "targets must be (n, k) values or (n,) class labels, got %zu dimensions", a->ndim);
    else if (a->shape[0] != rows)
        err_user(err, "%s has %zu target rows but %s has %zu %s; they must match row for row", path,
                  a->shape[0], x_path, rows, unit);
    else if (a->ndim == 2 && a->shape[1] == 0)
        err_file(err, path, "the targets have no columns (shape %zu × 0)", rows);
    else
        npy_check_finite(a, path, err);
    if (err->code)
        npy_free(a);
    return err->code;
}

/* A nested error's message without its "error: " prefix. */
static const char *reason(const ntkc_error *e)
{
    const char *prefix = "error: ";
    return strncmp(e->message, prefix, strlen(prefix)) == 0 ? e->message + strlen(prefix) : e->message;
}

/* Labels (malloc'd; t takes them) → one-hot rows of k, the label errors
 * prefixed with the file. */
static int encode_labels(const char *path, double *labels, size_t rows, size_t k, Targets *t, ntkc_error *err)
{
    ntkc_error e = {0};
    t->rows = rows, t->k = k, t->labels = labels;
    t->y = malloc((rows * k > 0 ? rows * k : 1) * sizeof *t->y);
    if (t->y == NULL)
        err_file(err, path, "out of memory for %zu × %zu one-hot targets", rows, k);
    else if (predict_one_hot(t->labels, rows, k, t->y, &e))
        err_file(err, path, "%s", reason(&e));
    if (err->code)
        targets_free(t);
    return err->code;
}

static void take_matrix(NpyArray *a, Targets *t)
{
    t->rows = a->shape[0], t->k = a->shape[1], t->y = a->data, t->labels = NULL;
    a->data = NULL;
}

int targets_load_train(const char *path, size_t rows, const char *x_path, const char *unit, Targets *t,
                       ntkc_error *err)
{
    memset(t, 0, sizeof *t);
    NpyArray a;
    if (read_rows(path, rows, x_path, unit, &a, err))
        return err->code;
    if (a.ndim == 2) {
        take_matrix(&a, t);
        return 0;
    }
    ntkc_error e = {0};
    size_t k;
    if (predict_class_count(a.data, rows, &k, &e))
        err_file(err, path, "1-D targets are class labels, but %s (give regression targets the shape (n, 1))", reason(&e));
    else
        encode_labels(path, a.data, rows, k, t, err), a.data = NULL;
    npy_free(&a);
    return err->code;
}

int targets_load_test(const char *path, size_t rows, const char *x_path, const char *unit, const Targets *train,
                      Targets *t, ntkc_error *err)
{
    memset(t, 0, sizeof *t);
    NpyArray a;
    if (read_rows(path, rows, x_path, unit, &a, err))
        return err->code;
    if (train->labels && a.ndim != 1)
        err_file(err, path, "the training targets are class labels, so the test targets must be labels too "
                       "(shape (%zu,)), not %zu × %zu", rows, a.shape[0], a.shape[1]);
    else if (!train->labels && (a.ndim != 2 || a.shape[1] != train->k))
        err_file(err, path, "the test targets must have the training targets' shape (%zu, %zu)", rows,
                  train->k);
    else if (train->labels)
        encode_labels(path, a.data, rows, train->k, t, err), a.data = NULL;
    else
        take_matrix(&a, t);
    npy_free(&a);
    return err->code;
}

size_t targets_first_non_class(const double *labels, size_t rows, size_t k)
{
    for (size_t i = 0; i < rows; i++)
        if (!(labels[i] >= 0 && labels[i] < (double)k && labels[i] == floor(labels[i])))
            return i;
    return rows;
}

int targets_from_labels(const char *path, const double *labels, size_t rows, const Targets *train, Targets *t,
                        ntkc_error *err)
{
    memset(t, 0, sizeof *t);
    size_t k = train ? train->k : PREDICT_MAX_CLASSES, bad = targets_first_non_class(labels, rows, k);
    if (bad < rows) {
        err_file(err, path, "graph %zu has label %g, but the labels of the graphs are %s class labels: integers "
                       "from 0 to %zu%s", bad + 1, labels[bad], train ? "scored as" : "trained on as", k - 1,
                  train ? "" : " (or give targets with --targets Y.npy; regression targets as (n, 1))");
        return err->code;
    }
    if (train == NULL) {
        double max = 0;
        for (size_t i = 0; i < rows; i++)
            max = labels[i] > max ? labels[i] : max;
        k = (size_t)max + 1;
    }
    double *copy = malloc((rows > 0 ? rows : 1) * sizeof *copy);
    if (copy == NULL) {
        err_file(err, path, "out of memory for %zu labels", rows);
        return err->code;
    }
    memcpy(copy, labels, rows * sizeof *copy);
    return encode_labels(path, copy, rows, k, t, err);
}

void targets_print_scores(const Targets *test, const double *mean, const double *times, size_t ntimes, size_t m)
{
    size_t k = test->k;
    for (size_t t = 0; t < ntimes; t++) {
        const double *mt = mean + t * m * k;
        printf("  t = %-10g test MSE %.6g", times[t], predict_mse(mt, test->y, m, k));
        if (test->labels) {
            double acc = predict_accuracy(mt, test->labels, m, k);
            printf("  accuracy %.2f%% (%.0f/%zu)", 100 * acc, acc * (double)m, m);
        }
        putchar('\n');
    }
}
