/* jax.image.resize's weights along one axis (ir_resize.h). */
#include "ir_resize.h"

#include <float.h>
#include <math.h>
#include <string.h>

static void nearest(size_t n_in, size_t n_out, double *R)
{
    for (size_t j = 0; j < n_out; j++) /* ⌊(2j + 1)·n_in / (2·n_out)⌋ in integers: no rounding */
        R[j * n_in + (2 * j + 1) * n_in / (2 * n_out)] = 1.0;
}

static void linear(int antialias, size_t n_in, size_t n_out, double *R)
{
    double inv = (double)n_in / (double)n_out, k = antialias && inv > 1.0 ? inv : 1.0;
    for (size_t j = 0; j < n_out; j++) {
        double s = ((double)j + 0.5) * inv - 0.5, sum = 0.0;
        double *row = R + j * n_in;
        for (size_t i = 0; i < n_in; i++) {
            double w = 1.0 - fabs(s - (double)i) / k;
            row[i] = w > 0.0 ? w : 0.0;
            sum += row[i];
        }
        /* jax zeroes an output whose weights sum to (almost) nothing; with
         * translation 0 every sample lies inside the input, so it never does */
        for (size_t i = 0; i < n_in; i++)
            row[i] = fabs(sum) > 1000.0 * FLT_EPSILON ? row[i] / sum : 0.0;
    }
}

void ir_resize_weights(const IrResize *r, size_t n_in, size_t n_out, double *R)
{
    memset(R, 0, n_out * n_in * sizeof *R);
    if (n_in == n_out) { /* jax skips an axis that keeps its size */
        for (size_t i = 0; i < n_in; i++)
            R[i * n_in + i] = 1.0;
        return;
    }
    if (r->nearest)
        nearest(n_in, n_out, R);
    else
        linear(r->antialias, n_in, n_out, R);
}
