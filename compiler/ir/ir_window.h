/* Which windows keep their input's grid: the convs and local pooling the
 * all-pairs back end (emit_attn.c) computes inside nets with attention or
 * masked inputs, and inside the branches of a fanout on a volume, where every
 * kernel holds every pair of the input's positions. */
#ifndef NTKC_IR_WINDOW_H
#define NTKC_IR_WINDOW_H

#include "ir.h"

/* Stride 1 on every axis, and padding same or circular — or valid on a
 * window one tap wide on every axis: its one tap is the pixel itself under
 * every padding (lower_window_axis pads it by 0 either way), so the kernel is
 * the padding=same one exactly. A wider valid window shrinks the grid. */
static inline int ir_window_keeps_grid(const IrWindow *w)
{
    int one_tap = w->kd <= 1 && w->kh == 1 && w->kw == 1;
    return (w->kd == 0 || w->sd == 1) && w->sh == 1 && w->sw == 1 && (w->pad != IR_PAD_VALID || one_tap);
}

/* The window of a conv, conv_local or local pool (NULL for other layers;
 * conv_transpose, which every caller treats on its own, included). */
static inline const IrWindow *ir_op_window(const IrOp *op)
{
    switch (op->kind) {
    case IR_CONV:
    case IR_CONV_LOCAL:
    case IR_CONV_TRANSPOSE:
        return &op->u.conv.win;
    case IR_POOL:
        return &op->u.pool.win;
    default:
        return NULL;
    }
}

#endif
