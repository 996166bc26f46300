/* The finite-width references build networks from φ and φ'; an activation
 * that is only a kernel map (act_kernel_only) has neither, and neither has
 * neural-tangents (its ExpNormalized apply_fn raises). */
#include "finite_refuse.h"
#include "ntkc_err.h"

static const IrOp *find_kernel_only(const IrOp *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind == IR_ACT && act_kernel_only(ops[i].u.act.def))
            return &ops[i];
        if (ops[i].kind == IR_FANOUT)
            for (size_t b = 0; b < ops[i].u.fanout.nbranches; b++) {
                const IrOp *k = find_kernel_only(ops[i].u.fanout.branches[b].ops, ops[i].u.fanout.branches[b].nops);
                if (k != NULL)
                    return k;
            }
    }
    return NULL;
}

int finite_refuse_kernel_only(const IrNet *net, ntkc_error *err)
{
    const IrOp *op = find_kernel_only(net->ops, net->nops);
    if (op == NULL)
        return NTKC_OK;
    err_at(err, op->pos, NULL,
           "net '%s': '%s' is a kernel map without an elementwise function (as neural-tangents' ExpNormalized, "
           "whose finite network is not defined either): no finite-width network computes it, so 'ntkc check' "
           "and 'ntkc train' cannot use this net",
           net->name ? net->name : "<net>", op->u.act.def->name);
    return err->code;
}
