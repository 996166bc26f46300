/* A fanout's concat along depth, height or width in the all-pairs back end
 * (emit_attn.c; volumes, issue 21): neural-tangents' FanInConcat(axis) on a
 * spatial axis. Every branch starts from the fanout's grid and may change it
 * (image_resize, a nested concat; lowering, lower_branch.c, checks that the
 * other axes agree), so branch b fills the positions after the branches
 * before it along the axis. As on images (compiler/ir/ir_fanout.h): a pair of
 * positions from one branch takes that branch's kernel; from two identity
 * branches, the input's own kernel (the same field, copied twice); from two
 * other branches 0 (lowering lets only an independent branch, ending in
 * fresh weights, beside any other: neural-tangents writes these zero
 * blocks). A concat nested in a branch computes its own blocks by the same
 * rule from its own input; the outer one sees that branch as one kernel. */
#ifndef NTKC_EMIT_ATTN_CONCAT_H
#define NTKC_EMIT_ATTN_CONCAT_H

#include <stddef.h>

#include "code.h"
#include "ir.h"
#include "strbuf.h"

/* 1 for a concat along a spatial axis. */
int emit_attn_concat_spatial(const IrFanout *f);

/* The output grid (slices, rows per slice, columns) of the fanout op. */
void emit_attn_concat_grid(const IrOp *op, size_t out[3]);

/* Branch b's join: its kernels (slots Sb, Tb; on the grid got, which must be
 * the one lowering gave its end, else 0 is returned and nothing written)
 * into the accumulator (Sa, Ta; cleared by branch 0), and for an identity
 * branch its blocks with the identity branches before it from the fanout's
 * input (grid in, slots S, T, which no branch has changed yet: only the last
 * branch consumes them). The helper is written into defs the first time
 * (*helper == 0). */
int emit_attn_concat_join(Code *c, StrBuf *defs, int *helper, const IrOp *op, size_t b, const size_t in[3],
                          const size_t got[3], int Sa, int Ta, int Sb, int Tb, int S, int T);

#endif
