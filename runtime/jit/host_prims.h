/* The block primitives compiled into the library (see compiler/emit/emit_prims.h):
 * build/gen/host_prims.c, generated at build time by tools/gen_host_prims,
 * defines them and this table, which the libtcc back end registers so that
 * JIT code runs gcc-optimised, vectorised inner loops. */
#ifndef NTKC_HOST_PRIMS_H
#define NTKC_HOST_PRIMS_H

#include <stddef.h>

typedef void (*HostFn)(void); /* the real signatures are in emit_prims.h */

typedef struct HostPrimitive {
    const char *name;
    HostFn fn;
} HostPrimitive;

extern const HostPrimitive ntkc_host_primitives[];
extern const size_t ntkc_host_primitive_count;

/* The generated code's ntkc_acos and ntkc_asin, for the tests. */
double ntkc_host_acos(double x);
double ntkc_host_asin(double x);
/* The float32 tile's snap of a pair's covariance before a float64 dual (ntkc_math_f.h). */
double ntkc_host_snap_f(float s12, float v1, float v2);

#endif
