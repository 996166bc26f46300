/* The one place that counts record slots (ir_record.h). */
#include "ir_record.h"

/* What one input's record holds for op: the variances Σ(x, x) entering an
 * activation or layer_norm, one per pixel (or per node, or one for a
 * vector); for attention with scaling linear its weights A_x, one per
 * pixel pair. Other ops read nothing. */
static size_t record_values(const IrOp *op)
{
    size_t pixels = op->out.spatial ? op->out.h * op->out.w : 1;
    switch (op->kind) {
    case IR_ACT:
    case IR_LAYER_NORM:
        return pixels;
    case IR_ATTENTION:
        return op->u.attn.linear ? pixels * pixels : 0;
    default:
        return 0;
    }
}

/* An activation whose table row asks for √Σ and 1/√Σ (ActDef.sqrt_records,
 * ReLU) gets them where a kernel-time function reads them: the FC tile
 * (ntkc_block_relu_qr) and an image net's planes (ntkc_relu_plane). Graph
 * segments, lane vectors of image nets and the attention emitter call the
 * plain dual on Σ. */
static int record_sqrt(IrFamily family, const IrOp *op)
{
    if (op->kind != IR_ACT || !op->u.act.def->sqrt_records)
        return 0;
    return family == IR_FAMILY_FC || (family == IR_FAMILY_IMAGE && op->out.spatial);
}

static size_t layout_ops(IrFamily family, IrOp *ops, size_t n, size_t at)
{
    for (size_t i = 0; i < n; i++) {
        IrOp *op = &ops[i];
        op->rec.at = at;
        op->rec.n = record_values(op);
        op->rec.sqrt = record_sqrt(family, op);
        at += op->rec.n * (op->rec.sqrt ? 2 : 1);
        if (op->kind == IR_FANOUT)
            for (size_t b = 0; b < op->u.fanout.nbranches; b++)
                at = layout_ops(family, op->u.fanout.branches[b].ops, op->u.fanout.branches[b].nops, at);
    }
    return at;
}

void ir_record_layout(IrNet *net) { net->record = layout_ops(net->family, net->ops, net->nops, 0); }
