/* Pieces shared by the three emitters, which emit_net_c (emit.c) picks
 * between: vector (emit.c), image (emit_image.c: the prelude only) and graph
 * (emit_graph.c). */
#ifndef NTKC_EMIT_INTERNAL_H
#define NTKC_EMIT_INTERNAL_H

#include "diag.h"
#include "ir.h"
#include "strbuf.h"

/* Header comment, libm prototypes, NTKC_PI and NTKC_BLOCK. */
void emit_prelude(StrBuf *sb, const IrNet *net, const char *source_name);
/* One ntkc_dual_<name> definition per activation the net uses. */
void emit_dual_functions(StrBuf *sb, const IrNet *net);
/* static const double ntkc_p<i>[] for every activation op i with parameters. */
void emit_param_arrays(StrBuf *sb, const IrNet *net);
/* The expression naming activation op i's parameter array. */
void emit_param_ref(StrBuf *sb, const IrNet *net, size_t i);
/* A comment naming a dense or activation op and its source line. */
void emit_op_comment(StrBuf *sb, const IrOp *op, const char *indent);

/* In a prep loop, the variance s of an input with itself through dense op d
 * (s = w²·s + b²) and through activation op i (s = T(s, s, s)). */
void emit_diag_dense(StrBuf *sb, const IrDense *d);
void emit_diag_act(StrBuf *sb, const IrNet *net, size_t i);

/* The graph variant (compiler/emit/graph_abi.h documents its ABI). */
char *emit_graph_c(const IrNet *net, const char *source_name, ntkc_error *err);

#endif
