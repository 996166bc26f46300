/* ir_dropout_eval.h: the eval-mode twin of a net with dropout. */
#include "ir_dropout_eval.h"

#include <string.h>

static int ops_have_dropout(const IrOp *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind == IR_DROPOUT)
            return 1;
        if (ops[i].kind == IR_FANOUT)
            for (size_t b = 0; b < ops[i].u.fanout.nbranches; b++)
                if (ops_have_dropout(ops[i].u.fanout.branches[b].ops, ops[i].u.fanout.branches[b].nops))
                    return 1;
    }
    return 0;
}

int ir_has_dropout(const IrNet *net) { return ops_have_dropout(net->ops, net->nops); }

static IrOp *copy_ops(Arena *arena, const IrOp *ops, size_t n)
{
    if (n == 0)
        return NULL;
    IrOp *out = arena_alloc(arena, n * sizeof *out);
    memcpy(out, ops, n * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        if (out[i].kind == IR_DROPOUT)
            out[i].u.dropout.keep = 1.0;
        if (out[i].kind != IR_FANOUT)
            continue;
        IrFanout *f = &out[i].u.fanout;
        IrBranch *br = arena_alloc(arena, (f->nbranches ? f->nbranches : 1) * sizeof *br);
        for (size_t b = 0; b < f->nbranches; b++) {
            br[b] = f->branches[b];
            br[b].ops = copy_ops(arena, f->branches[b].ops, f->branches[b].nops);
        }
        f->branches = br;
    }
    return out;
}

IrNet *ir_dropout_eval_copy(Arena *arena, const IrNet *net)
{
    IrNet *copy = arena_alloc(arena, sizeof *copy);
    *copy = *net;
    copy->ops = copy_ops(arena, net->ops, net->nops);
    return copy;
}
