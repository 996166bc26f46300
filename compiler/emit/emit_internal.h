/* Pieces shared by the emitters — vector (emit.c), image (emit_image.c),
 * attention (emit_attn.c) and graph (emit_graph.c) — all writing through the
 * code builder (code.h). */
#ifndef NTKC_EMIT_INTERNAL_H
#define NTKC_EMIT_INTERNAL_H

#include "diag.h"
#include "ir.h"
#include "code.h"
#include "kernel_text.h"
#include "strbuf.h"

/* Header comment, libm prototypes, NTKC_PI and NTKC_BLOCK. */
void emit_prelude(Code *c, const IrNet *net, const char *source_name);
/* The prototypes of every function the net's file exports, as the file and
 * `ntkc emit -H` write them (emit_api.c; the family decides which). */
void emit_api_prototypes(Code *c, const IrNet *net);
/* The first lines of a net's file into sb (initialised here), written
 * through c: code_init (single: float32), emit_prelude, emit_api_prototypes. */
void emit_file_begin(Code *c, StrBuf *sb, const IrNet *net, const char *source_name, int single);
/* The signatures of the tile ABI's $_tile and of the standalone entry $,
 * ending in `end` (";" for a prototype, "" before a body). */
void emit_tile_signature(Code *c, const char *end);
void emit_entry_signature(Code *c, const char *end);
/* In a standalone entry: return 1 when dim does not fit the net. */
void emit_entry_check_dim(Code *c, const IrNet *net);
/* A kernel-time runtime: its common part (types, macros), then its functions,
 * static inline in the file, or under NTKC_HOST_PRIMITIVES only declared (the
 * libtcc back end binds the library's optimised copies: runtime/jit/host_prims.h). */
void emit_runtime_kernels(Code *c, const KernelText *common, const KernelText *functions, const KernelText *decls);
/* Rows {"name", (HostFn)name} of the libtcc back end's table of host
 * copies (emit_image_host_table, emit_attn_host_table), one a name. */
void emit_host_table_rows(StrBuf *sb, const char *const *names, unsigned count);
/* The standalone entry ntkcnet_NAME of an image or attention net (emit_api.c):
 * prep both inputs' records, one tile, the ABI's return codes. */
void emit_tile_standalone(Code *c, const IrNet *net);
/* One ntkc_dual_<name> definition per activation the net uses. */
void emit_dual_functions(Code *c, const IrNet *net);
/* static const double ntkc_p<i>[] for every activation op i with parameters. */
void emit_param_arrays(Code *c, const IrNet *net);
/* The expression naming activation op i's parameter array (in buf or constant). */
enum { EMIT_PARAM_REF_MAX = 32 };
const char *emit_param_ref(const IrNet *net, size_t i, char buf[EMIT_PARAM_REF_MAX]);
/* A comment naming a dense or activation op and its source line. */
void emit_op_comment(Code *c, const IrOp *op);

/* In a prep loop, the variance s of an input with itself through dense op d
 * (s = w²·s + b²) and through activation op i (s = T(s, s, s)). */
void emit_diag_dense(Code *c, const IrDense *d);
void emit_diag_act(Code *c, const IrNet *net, size_t i);

/* The file sb holds, taken (malloc'd); NULL with err set when a name that is
 * not an identifier reached c (ntkc's bug), sb freed. */
char *emit_finish(Code *c, StrBuf *sb, Diag *err);

/* The graph variant (compiler/abi/kernel_abi.h documents its ABI). */
char *emit_graph_c(const IrNet *net, const char *source_name, Diag *err);
/* single: the float32 file of `--precision single` (emit_graph.c). */
char *emit_graph_c_prec(const IrNet *net, const char *source_name, int single, Diag *err);

#endif
