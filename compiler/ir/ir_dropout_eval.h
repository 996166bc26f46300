/* The eval-mode twin of a net with dropout: the same IR with every
 * train-mode dropout at rate 1 (the identity, as dropout(rate, mode=test)),
 * so that the same emitter writes the recursion of the net evaluated without
 * dropout while every record keeps its place (a dropout holds no record). The
 * runtime pairs the twin's per-input records (an input in eval mode) with
 * the net's (an input under its masks): the mixed kernel of `ntkc train`'s
 * dropout reference (runtime/dynamics/train_dropout.c). */
#ifndef NTKC_IR_DROPOUT_EVAL_H
#define NTKC_IR_DROPOUT_EVAL_H

#include "arena.h"
#include "ir.h"

/* 1 when net (branches included) has a train-mode dropout. */
int ir_has_dropout(const IrNet *net);

/* A copy of net in arena whose dropouts keep every unit (keep = 1); the ops
 * and branches are copied, everything they point to is shared (read only). */
IrNet *ir_dropout_eval_copy(Arena *arena, const IrNet *net);

#endif
