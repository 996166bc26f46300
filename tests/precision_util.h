/* What the float32 tests share (test_precision*.c): float32's unit
 * roundoff, a net compiled in a given precision on a given back end, and the
 * error measure every bound in docs/precision.md is stated in. */
#ifndef NTKC_PRECISION_UTIL_H
#define NTKC_PRECISION_UTIL_H

#include <stddef.h>

#include "ntkc.h"

#define UNIT_ROUNDOFF_F32 5.9604644775390625e-08 /* 2^-24 */

/* source compiled as name in precision on backend; a failure fails the test. */
ntkc_net *compile_prec(const char *source, const char *name, ntkc_precision precision, ntkc_backend backend);

/* max |a − b| / max |a| over count entries (a: float64, b: float32). */
double rel_to_largest(const double *a, const float *b, size_t count);

#endif
