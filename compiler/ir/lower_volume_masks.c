/* Masked volumes: `input volume(D, H, W, C, masked=true)` (issue 21). Padded
 * positions are left out of every layer as on masked images and sequences
 * (docs/attention.md, "Masking"): the all-pairs back end zeroes their rows
 * and columns after every layer on positions and global pooling averages
 * over the valid ones. That holds exactly while every window keeps the grid,
 * so a padded position stays the same position; the windows that move or
 * grow the grid, image_resize and concat along a spatial axis are refused
 * here by name, as on masked images. */
#include "ir_print.h"
#include "ir_window.h"
#include "lower_internal.h"

static int refuse_masked_volume_ops(Lower *L, const IrOp *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const IrOp *op = &ops[i];
        if (op->kind == IR_CONV_TRANSPOSE) {
            diag_at(L->err, op->pos, L->src,
                    "'conv_transpose' in net '%s', whose input is masked (masked=true at %s): masked volumes take "
                    "conv, conv_local and local pooling that keep the grid, not conv_transpose (its outputs mix "
                    "padded and valid positions; neural-tangents masks every output a padded input reaches)",
                    L->net->name, lower_pos_str(L, L->input.pos));
            return 0;
        }
        if (op->kind == IR_IMAGE_RESIZE) /* as on masked images */
            return lower_refuse_masked_resize(L, op);
        if (op->kind == IR_FANOUT && op->u.fanout.mode == IR_FANIN_CONCAT && op->u.fanout.axis != IR_CONCAT_CHANNELS) {
            diag_at(L->err, op->pos, L->src,
                    "this fanout in net '%s', whose input is masked (masked=true at %s), concatenates along a spatial "
                    "axis: the joined grid's mask is not defined (neural-tangents' FanInConcat takes none along "
                    "space); on masked volumes fanouts join their branches along the channels",
                    L->net->name, lower_pos_str(L, L->input.pos));
            return 0;
        }
        const IrWindow *w = ir_op_window(op); /* conv_transpose refused above */
        if (w && !ir_window_keeps_grid(w)) {
            diag_at(L->err, op->pos, L->src,
                    "'%s' in net '%s', whose input is masked (masked=true at %s): on masked volumes, convolutions "
                    "and local pooling must keep the grid (stride 1 on every axis; padding same or circular, or "
                    "valid on a 1x1x1 window), as on masked images: a window that moves or shrinks the grid mixes "
                    "padded and valid positions",
                    ir_op_name(op), L->net->name, lower_pos_str(L, L->input.pos));
            return 0;
        }
        if (op->kind == IR_FANOUT)
            for (size_t b = 0; b < op->u.fanout.nbranches; b++)
                if (!refuse_masked_volume_ops(L, op->u.fanout.branches[b].ops, op->u.fanout.branches[b].nops))
                    return 0;
    }
    return 1;
}

int lower_check_masked_volume(Lower *L)
{
    if (L->input.depth == 0 || !L->input.masked)
        return 1;
    return refuse_masked_volume_ops(L, L->ops, L->nops);
}
