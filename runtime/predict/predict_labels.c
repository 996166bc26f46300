/* Class labels → one-hot targets, and the metrics of a prediction. */
#include "predict.h"

#include <math.h>
#include <string.h>

static int check_label(const double *labels, size_t i, double limit, ntkc_error *err)
{
    double v = labels[i];
    if (!isfinite(v) || v < 0 || v != floor(v)) {
        diag_user(err, "label %zu is %g: class labels must be integers >= 0", i, v);
        return err->code;
    }
    if (v >= limit) {
        diag_user(err, "label %zu is %g: at most %.0f classes (labels 0..%.0f)", i, v, limit, limit - 1);
        return err->code;
    }
    return NTKC_OK;
}

int predict_class_count(const double *labels, size_t n, size_t *k_out, ntkc_error *err)
{
    double max = -1;
    for (size_t i = 0; i < n; i++) {
        if (check_label(labels, i, PREDICT_MAX_CLASSES, err))
            return err->code;
        if (labels[i] > max)
            max = labels[i];
    }
    if (n == 0) {
        diag_user(err, "no labels: cannot count classes");
        return err->code;
    }
    *k_out = (size_t)max + 1;
    return NTKC_OK;
}

int predict_one_hot(const double *labels, size_t n, size_t k, double *y, ntkc_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (check_label(labels, i, (double)k, err))
            return err->code;
    memset(y, 0, n * k * sizeof *y);
    for (size_t i = 0; i < n; i++)
        y[i * k + (size_t)labels[i]] = 1.0;
    return NTKC_OK;
}

double predict_accuracy(const double *mean, const double *labels, size_t m, size_t k)
{
    if (m == 0 || k == 0)
        return 0.0;
    size_t hits = 0;
    for (size_t i = 0; i < m; i++) {
        size_t best = 0;
        for (size_t j = 1; j < k; j++)
            if (mean[i * k + j] > mean[i * k + best])
                best = j;
        hits += (double)best == labels[i];
    }
    return (double)hits / (double)m;
}

double predict_mse(const double *mean, const double *y, size_t m, size_t k)
{
    if (m == 0 || k == 0)
        return 0.0;
    double sum = 0;
    for (size_t i = 0; i < m * k; i++) {
        double d = mean[i] - y[i];
        sum += d * d;
    }
    return sum / (double)(m * k);
}
