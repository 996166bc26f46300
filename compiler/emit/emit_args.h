/* The arguments of the image family's kernel-time calls, written through the
 * code builder (CodeArgs). A call is the kernel-time function's fixed
 * arguments — arrays, the plane's geometry, the window (emit_window_args) —
 * then the op's descriptor (emit_row_args): the rows of its lowering table
 * that IrArgs.kernel names, in that order, then its scalars (scales, bias).
 * So a new argument of an op is a row in its table, its name in the row's
 * descriptor and a parameter of the kernel-time function; no emitter line. */
#ifndef NTKC_EMIT_ARGS_H
#define NTKC_EMIT_ARGS_H

#include "code.h"
#include "diag.h"
#include "ir.h"

/* kh, kw, sh, sw, then (dilated: conv) dh, dw, then pt, pl. */
void emit_window_args(CodeArgs *a, const IrWindow *w, int dilated);
/* Each row the op's descriptor names: an integer row as an int, another as
 * an exact literal. 0, or -1 with an internal error when the descriptor
 * names a row the table lacks (ntkc's bug). An op without a table (a dense
 * the emitter runs as a 1×1 conv) adds nothing, so a function taking row
 * arguments is called only for ops that carry their table. */
int emit_row_args(CodeArgs *a, const IrOp *op, Diag *err);

#endif
