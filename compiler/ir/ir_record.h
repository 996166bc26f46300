/* The per-input record: the doubles every input keeps for the kernel-time
 * code, computed once per input (the "prep" run) and read by every pair it
 * is in. One walk (ir_record_layout) decides, for every op, how many it
 * reads and where they sit; the emitters, `ntkc ir` and the tests read
 * IrOp.rec and IrNet.record and count nothing themselves. */
#ifndef NTKC_IR_RECORD_H
#define NTKC_IR_RECORD_H

#include "ir.h"

/* Fills op->rec of every op (branches included, depth first, in the order
 * the emitters walk them) and net->record. Run by lowering once the family
 * is known (whether an activation keeps √Σ depends on it). */
void ir_record_layout(IrNet *net);

#endif
