/* Hand-built IR nets for the finite-width network tests. */
#ifndef NTKC_FINITE_TEST_NETS_H
#define NTKC_FINITE_TEST_NETS_H

#include <criterion/criterion.h>
#include <string.h>

#include "act.h"
#include "ir.h"

enum { TEST_MAX_OPS = 16 };

typedef struct TestNet {
    IrOp ops[TEST_MAX_OPS];
    IrNet net;
} TestNet;

static inline IrOp test_dense(double w_std, double b_std, int has_bias, long width)
{
    IrOp op;
    memset(&op, 0, sizeof op);
    op.kind = IR_DENSE;
    op.pos = (SrcPos){"test.ntk", 1, 1};
    op.u.dense = (IrDense){.w_std = w_std, .b_std = b_std, .has_bias = has_bias, .width = width};
    return op;
}

/* An activation with its default parameters. */
static inline IrOp test_act(const char *name)
{
    IrOp op;
    memset(&op, 0, sizeof op);
    op.kind = IR_ACT;
    op.pos = (SrcPos){"test.ntk", 1, 1};
    op.u.act.def = act_lookup(name);
    cr_assert_not_null(op.u.act.def, "activation %s missing from the table", name);
    for (int i = 0; i < op.u.act.def->nparams; i++)
        op.u.act.p[i] = op.u.act.def->params[i].def;
    return op;
}

static inline void test_net(TestNet *t, Parameterization param, const IrOp *ops, size_t nops)
{
    cr_assert_leq(nops, (size_t)TEST_MAX_OPS);
    memset(t, 0, sizeof *t);
    memcpy(t->ops, ops, nops * sizeof *ops);
    t->net = (IrNet){.name = "t", .pos = {"test.ntk", 1, 1}, .param = param, .ops = t->ops, .nops = nops};
}

#endif
