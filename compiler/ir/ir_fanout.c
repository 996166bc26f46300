/* Which fanouts run on pixel-pair arrays or reduce to vectors, which
 * branches are fresh (ir_fanout.h). */
#include "ir_fanout.h"

static int changes_grid(const IrOp *op)
{
    return op->kind == IR_POOL || op->kind == IR_CONV_TRANSPOSE || op->kind == IR_CONV_LOCAL ||
           op->kind == IR_IMAGE_RESIZE;
}

static int ops_on_pairs(const IrOp *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (changes_grid(&ops[i]))
            return 1;
        if (ops[i].kind == IR_FANOUT && ir_fanout_on_pairs(&ops[i].u.fanout))
            return 1;
    }
    return 0;
}

int ir_fanout_on_pairs(const IrFanout *f)
{
    if (f->mode == IR_FANIN_CONCAT && f->axis != IR_CONCAT_CHANNELS)
        return 1;
    for (size_t b = 0; b < f->nbranches; b++)
        if (ops_on_pairs(f->branches[b].ops, f->branches[b].nops))
            return 1;
    return 0;
}

/* Linear maps of one input's field, with no weights of their own: a fresh
 * branch may end in them (pooling, resizing, reductions to a vector). */
static int linear_tail(IrOpKind k)
{
    return k == IR_POOL || k == IR_IMAGE_RESIZE || k == IR_GLOBAL_POOL || k == IR_FLATTEN || k == IR_INDEX;
}

static int is_affine(IrOpKind k)
{
    return k == IR_DENSE || k == IR_CONV || k == IR_ATTENTION || k == IR_CONV_TRANSPOSE || k == IR_CONV_LOCAL;
}

int ir_branch_fresh(const IrBranch *b)
{
    size_t i = b->nops;
    while (i > 0 && linear_tail(b->ops[i - 1].kind))
        i--;
    return i > 0 && is_affine(b->ops[i - 1].kind);
}

int ir_ops_reduce(const IrOp *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        IrOpKind k = ops[i].kind;
        if (k == IR_GLOBAL_POOL || k == IR_FLATTEN || k == IR_INDEX)
            return 1;
        if (k == IR_FANOUT && ir_fanout_reduces(&ops[i].u.fanout))
            return 1;
    }
    return 0;
}

int ir_fanout_reduces(const IrFanout *f)
{
    for (size_t b = 0; b < f->nbranches; b++)
        if (ir_ops_reduce(f->branches[b].ops, f->branches[b].nops))
            return 1;
    return 0;
}

int ir_branch_adapts(const IrBranch *b)
{
    size_t i = b->nops;
    while (i > 0 && b->ops[i - 1].kind == IR_POOL)
        i--;
    return i > 0 && is_affine(b->ops[i - 1].kind);
}
