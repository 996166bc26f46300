/* The recursion IR as text (`ntkc ir`): one line per op, QBE-style values,
 * nested branches indented, with each op's position, output shape,
 * Gaussianity and the per-input record it reads. */
#ifndef NTKC_IR_PRINT_H
#define NTKC_IR_PRINT_H

#include "ir.h"
#include "strbuf.h"

/* The layer name an op was written as ("relu", "avg_pool", "residual"). */
const char *ir_op_name(const IrOp *op);

/* Appends the dump of net to sb. */
void ir_print(StrBuf *sb, const IrNet *net);

#endif
