/* Lowering of dropout(rate, mode=train), neural-tangents' stax.Dropout: rate
 * is the probability of KEEPING a unit, as in neural-tangents (and jax's
 * example stax), in (0, 1]. mode=test is the identity. In train mode the
 * kernel of an input with itself is divided by the rate (ir.h, IrDropout),
 * and, on images, at the same position (neural-tangents' _diag_mul on every
 * spatial axis pair). Fully connected nets (emit.c), image nets
 * (emit_dropout.c: the plane at offset 0 of the lanes whose x1 and x2 are the
 * same row of the same array), attention nets (emit_attn.c: the diagonal
 * of the position-pair matrices when x1 is x2) and graph nets (emit_graph.c:
 * the diagonal of the node-pair matrix of a graph with itself, each node's
 * units having their own masks; after the readout, the graph's own entry)
 * compute it. */
#include "lower_internal.h"

static const char *const dropout_modes[] = {"train", "test", NULL};

enum { D_RATE, D_MODE, NDROPOUT };
static const ParamSpec dropout_spec[NDROPOUT] = {
    [D_RATE] = {"rate", 0, 0, 1, 0, 1, NULL},
    [D_MODE] = {"mode", 0, 0, 1, 1, 0, dropout_modes},
};

int lower_dropout(Lower *L, const Stmt *s)
{
    Bound b;
    if (!lower_bind_args(L, s, dropout_spec, NDROPOUT, &b))
        return 0;
    if (b.v[D_RATE] <= 0) {
        diag_at(L->err, b.pos[D_RATE], L->src,
                "'rate' of 'dropout' is the probability of keeping a unit (as in neural-tangents): it must be in "
                "(0, 1], got %g",
                b.v[D_RATE]);
        return 0;
    }
    if (b.v[D_MODE] == 1) /* test mode: the identity */
        return 1;
    if (L->nops == 0 && L->branch_depth == 0) {
        diag_at(L->err, s->pos, L->src,
                "'dropout' cannot be applied to the net's input (as in neural-tangents): put a layer before it");
        return 0;
    }
    IrOp *op = lower_push_op(L, IR_DROPOUT, s->pos);
    if (op == NULL)
        return 0;
    op->u.dropout.keep = b.v[D_RATE];
    /* neural-tangents sets is_gaussian=False after Dropout: the units' variances
     * differ between an input and its copy */
    lower_broke_gaussian(L, "dropout", s->pos,
                         " (dropout scales the variance of each input with itself only; a dense layer after it "
                         "makes a Gaussian again)");
    return 1;
}
