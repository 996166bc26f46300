/* The C emitter: walks the recursion IR and writes standalone C99.
 *
 * Every emitted net NAME exports this ABI (the runtime looks the symbols up
 * after JIT compilation; `ntkc emit` users call the last one directly). The
 * prefix ntkcnet_ (NTKC_NET_PREFIX, c_text.h) is used by nothing else, so no
 * net name clashes with a helper of the generated code, libm or libntkc:
 *
 *   size_t ntkcnet_NAME_prep_size(void);
 *       doubles of per-input precomputed data (e.g. the variance before every
 *       activation), computed once per input and reused across a row.
 *   void   ntkcnet_NAME_prep(size_t n, const double *x, size_t dim, double *prep);
 *   int    ntkcnet_NAME_uses_gram(void);
 *       1 when the tile wants gram[i*ldg+j] = x1[i]·x2[j] (the runtime gets it
 *       from BLAS); 0 when the tile reads x1/x2 itself.
 *   size_t ntkcnet_NAME_tile(size_t rows, size_t cols,
 *                         const double *x1, const double *prep1,
 *                         const double *x2, const double *prep2, size_t dim,
 *                         const double *gram, size_t ldg,
 *                         double *nngp, double *ntk, size_t ldo);
 *       fills a rows×cols tile (either output may be NULL; gram may alias
 *       nngp or ntk with ldg == ldo) and returns how many entries are not
 *       finite.
 *   size_t ntkcnet_NAME_tri(size_t n, const double *x, const double *prep, size_t dim,
 *                        double *nngp, double *ntk, size_t ldo);
 *       optional (image nets, whose entries are costly and computed eight
 *       at a time): the upper triangle i <= j of the kernel of x with itself,
 *       every pass full; returns the non-finite count. Absent, the runtime
 *       calls the tile row by row.
 *   int    ntkcnet_NAME(size_t n1, const double *x1, size_t n2, const double *x2,
 *                    size_t dim, double *nngp, double *ntk);
 *       self-contained: 0 on success, 1 when dim does not fit the net, 2 when
 *       memory runs out, 3 when a result is not finite.
 *
 * The tile function calls block primitives (emit_prims.h), defined in the
 * file unless NTKC_HOST_PRIMITIVES is defined: then the compiler links them
 * (the libtcc back end binds ntkc's gcc-optimised copies).
 */
#ifndef NTKC_EMIT_H
#define NTKC_EMIT_H

#include "diag.h"
#include "ir.h"

/* The whole translation unit for net; malloc'd (caller frees) or NULL with err set.
 * source_name is the file the net came from, quoted in comments. */
char *emit_net_c(const IrNet *net, const char *source_name, ntkc_error *err);

#endif
