/* A fanout's concat along depth, height or width in the all-pairs back end
 * (emit_attn.c; volumes, issue 21): neural-tangents' FanInConcat(axis) on a
 * spatial axis. Every branch keeps the grid (lowering, lower_volume.c), so the
 * output is nb times as long along the axis and branch b fills positions
 * b·n .. b·n + n − 1 of it. As on images (compiler/ir/ir_fanout.h): a pair of
 * positions from one branch takes that branch's kernel; from two identity
 * branches, the input's own kernel (the same field, copied twice); from two
 * other branches 0 (a branch ending in fresh weights is independent of every
 * other; neural-tangents writes these zero blocks). */
#ifndef NTKC_EMIT_ATTN_CONCAT_H
#define NTKC_EMIT_ATTN_CONCAT_H

#include <stddef.h>

#include "code.h"
#include "ir.h"
#include "strbuf.h"

/* 1 for a concat along a spatial axis. */
int emit_attn_concat_spatial(const IrFanout *f);

/* The output grid (slices, rows per slice, columns) from the input's. */
void emit_attn_concat_grid(const IrFanout *f, const size_t in[3], size_t out[3]);

/* Branch b's join: its kernels (slots Sb, Tb) into the accumulator (Sa, Ta;
 * cleared by branch 0), and for an identity branch its blocks with the
 * identity branches before it from the fanout's input (slots S, T, which no
 * branch has changed yet: only the last branch consumes them). The helper
 * is written into defs the first time (*helper == 0). */
void emit_attn_concat_join(Code *c, StrBuf *defs, int *helper, const IrFanout *f, size_t b, const size_t in[3],
                           int Sa, int Ta, int Sb, int Tb, int S, int T);

#endif
