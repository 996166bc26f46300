/* Widths and fan-ins under param standard (neural-tangents'
 * parameterization='standard'), where the NTK of a dense or conv layer grows
 * with its fan-in: the channels it reads. Lowering tracks them through the
 * net: an image starts with its declared channels, every dense or conv
 * declares its output width, flatten multiplies the channels by the pixels
 * and global pooling keeps them. */
#include "ir_print.h"
#include "lower_internal.h"

long lower_fan_in(Lower *L)
{
    if (L->prev_width > 0)
        return L->prev_width;
    return L->input.kind == IR_INPUT_IMAGE ? (long)L->input.c : 0;
}

/* width=N declares a layer's output channels, which only the standard
 * parameterization's kernel depends on: under param ntk it is an error. */
int lower_width_allowed(Lower *L, const Bound *b, int width_arg)
{
    if (!b->given[width_arg] || L->param == PARAM_STANDARD)
        return 1;
    diag_at(L->err, b->pos[width_arg], L->src,
            "'width' only applies to 'param standard' (net '%s' uses param ntk, where the kernel does not depend on "
            "widths)",
            L->net->name);
    return 0;
}

/* A fan-in made of a product (channels × pixels, width × branches) is
 * refused past the bound on a declared width: the product of two admitted
 * numbers can leave a long. */
static int fan_in_product(Lower *L, const Stmt *s, long width, double times, const char *what, long *out)
{
    if ((double)width * times > SHOWN_MAX) {
        diag_at(L->err, s->pos, L->src,
                "under param standard '%s' gives the next layer a fan-in of %ld × %.0f %s = %g, too large (at most "
                "%g)",
                s->u.layer.name, width, times, what, (double)width * times, SHOWN_MAX);
        return 0;
    }
    *out = width * (long)times;
    return 1;
}

int lower_std_to_vector(Lower *L, const Stmt *s, int flatten)
{
    if (L->param != PARAM_STANDARD)
        return 1;
    double pixels = (double)L->shape.h * (double)L->shape.w;
    return fan_in_product(L, s, lower_fan_in(L), flatten ? pixels : 1, "channels × pixels", &L->prev_width);
}

/* The output width an affine op (dense, conv, attention) declares (0: none;
 * -1: not an affine op). */
static long width_of(const IrOp *op)
{
    if (op->kind == IR_DENSE)
        return op->u.dense.width;
    if (op->kind == IR_ATTENTION)
        return op->u.attn.width;
    return op->kind == IR_CONV || op->kind == IR_CONV_TRANSPOSE || op->kind == IR_CONV_LOCAL ? op->u.conv.width : -1;
}

static const char *affine_name(const IrOp *op)
{
    return op->kind == IR_DENSE ? "dense" : op->kind == IR_ATTENTION ? "attention" : ir_op_name(op);
}

/* Inside branches every affine layer needs its width: none is the readout
 * (nested blocks checked their own branches already). */
static int branch_widths(Lower *L, const IrOp *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (width_of(&ops[i]) == 0) {
            diag_at(L->err, ops[i].pos, L->src,
                    "missing required argument 'width' for '%s': under param standard every dense or conv layer "
                    "inside a residual or fanout block needs width=N; so does attention (its n_chan_out)",
                    affine_name(&ops[i]));
            return 0;
        }
    }
    return 1;
}

int lower_std_fanin(Lower *L, const Stmt *s, long in, const long *widths, const IrBranch *br, size_t n,
                    int channel_concat)
{
    if (L->param != PARAM_STANDARD)
        return 1;
    for (size_t b = 0; b < n; b++)
        if (!branch_widths(L, br[b].ops, br[b].nops))
            return 0;
    if (in == 0) {
        diag_at(L->err, s->pos, L->src,
                "'%s' on the net's vector input under param standard: its width is the data's, unknown here; put a "
                "dense(width=N) before the block",
                s->u.layer.name);
        return 0;
    }
    for (size_t b = 1; b < n; b++)
        if (widths[b] != widths[0]) {
            diag_at(L->err, s->pos, L->src,
                    "under param standard the branches of this '%s' must end with equal widths (the input's for an "
                    "identity branch): branch 1 has %ld, branch %zu has %ld",
                    s->u.layer.name, widths[0], b + 1, widths[b]);
            return 0;
        }
    return fan_in_product(L, s, widths[0], channel_concat ? (double)n : 1, "channels × branches", &L->prev_width);
}

/* Only known once the whole net is unrolled: which affine layer is the last. */
int lower_check_widths(Lower *L)
{
    size_t last = L->nops;
    for (size_t i = 0; i < L->nops; i++)
        if (width_of(&L->ops[i]) >= 0)
            last = i;
    for (size_t i = 0; i < last; i++)
        if (width_of(&L->ops[i]) == 0) {
            diag_at(L->err, L->ops[i].pos, L->src,
                    "missing required argument 'width' for '%s': under param standard every dense or conv layer "
                    "except the last needs width=N (its output %s); so does attention (its n_chan_out)",
                    affine_name(&L->ops[i]), L->ops[i].kind == IR_DENSE ? "width" : "channels");
            return 0;
        }
    return 1;
}
