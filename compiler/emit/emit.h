/* The C emitter: walks the recursion IR and writes standalone C99.
 *
 * emit_net_c picks the emitter from the net's family (the EMIT column of
 * compiler/ir/families.h: emit.c for fully connected nets, emit_image.c,
 * emit_graph.c). Every emitted net exports the ABI of its family's engine,
 * documented once in compiler/abi/kernel_abi.h (symbols, types, NTKC_LANES,
 * graph plan opcodes), which the runtime includes too.
 *
 * The fully connected tile calls block primitives (emit_prims.h), defined in
 * the file unless NTKC_HOST_PRIMITIVES is defined: then the compiler links
 * them (the libtcc back end binds ntkc's gcc-optimised copies).
 */
#ifndef NTKC_EMIT_H
#define NTKC_EMIT_H

#include "diag.h"
#include "ir.h"

/* The whole translation unit for net; malloc'd (caller frees) or NULL with err set.
 * source_name is the file the net came from, quoted in comments. */
char *emit_net_c(const IrNet *net, const char *source_name, Diag *err);
/* The same with single != 0: float32 blocks, records and outputs (the tile
 * ABI with float in place of double for prep, gram, nngp and ntk; inputs stay
 * double). Fully connected nets only: others are a user error naming why. */
char *emit_net_c_prec(const IrNet *net, const char *source_name, int single, Diag *err);
/* The header for that file: the prototypes of what it exports (and, for a
 * graph net, struct ntkc_graph_set); malloc'd or NULL with err set. */
char *emit_net_h(const IrNet *net, const char *source_name, Diag *err);
/* The same for a net emitted with single = 1 (emit_net_c_prec): float prototypes. */
char *emit_net_h_prec(const IrNet *net, const char *source_name, int single, Diag *err);

#endif
