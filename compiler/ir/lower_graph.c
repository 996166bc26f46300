/* Lowering of the graph layers (aggregate, readout) and the checks a graph
 * net needs as a whole. `input graph(F)` itself is an input kind (lower_input.c). */
#include <string.h>

#include "lower_internal.h"

const char *const lower_bool_names[] = {"false", "true", NULL};
static const char *const scale_names[] = {"uniform", "degree", NULL};
static const char *const pool_names[] = {"sum", "mean", NULL};

/* Graph layers need graph inputs, and must precede the readout. */
static int graph_layer_ok(Lower *L, const Stmt *s)
{
    const char *name = s->u.layer.name;
    if (L->input.kind != IR_INPUT_GRAPH) {
        diag_at(L->err, s->pos, L->src,
                "'%s' needs graph inputs: declare 'input graph(F)' (F node features) before the first layer of "
                "net '%s'",
                name, L->net->name);
        return 0;
    }
    if (L->readout != NULL) {
        diag_at(L->err, s->pos, L->src, "'%s' after 'readout' (at %s): the node pairs are already pooled", name,
                lower_pos_str(L, L->readout->pos));
        return 0;
    }
    return 1;
}

enum { AGG_SCALE, AGG_SELF };
static const ParamSpec aggregate_spec[] = {
    [AGG_SCALE] = {"scale", 0, 0, 1, 1, 0, scale_names},
    [AGG_SELF] = {"self_loops", 1, 0, 1, 1, 0, lower_bool_names},
};

int lower_aggregate(Lower *L, const Stmt *s)
{
    Bound b;
    if (!graph_layer_ok(L, s) || !lower_bind_args(L, s, aggregate_spec, 2, &b))
        return 0;
    IrOp *op = lower_push_op(L, IR_AGGREGATE, s->pos);
    if (op == NULL)
        return 0;
    op->u.aggregate = (IrAggregate){.degree = b.v[AGG_SCALE] == 1, .self_loops = b.v[AGG_SELF] == 1};
    /* A weighted sum over neighbours keeps Gaussianity (docs/gaussianity.md). */
    if (!L->stream.gaussian && L->agg_in.gaussian)
        L->agg_in = L->stream;
    return 1;
}

enum { READOUT_POOL, READOUT_JK };
static const ParamSpec readout_spec[] = {
    [READOUT_POOL] = {"pool", 0, 0, 1, 1, 0, pool_names},
    [READOUT_JK] = {"jk", 0, 0, 1, 1, 0, lower_bool_names},
};

int lower_readout(Lower *L, const Stmt *s)
{
    if (L->readout != NULL) {
        diag_at(L->err, s->pos, L->src, "'readout' given twice in net '%s' (first at %s)", L->net->name,
                lower_pos_str(L, L->readout->pos));
        return 0;
    }
    Bound b;
    if (!graph_layer_ok(L, s) || !lower_bind_args(L, s, readout_spec, 2, &b))
        return 0;
    IrOp *op = lower_push_op(L, IR_READOUT, s->pos);
    if (op == NULL)
        return 0;
    op->u.readout = (IrReadout){.mean = b.v[READOUT_POOL] == 1, .jk = b.v[READOUT_JK] == 1};
    L->readout = op;
    /* A sum over node pairs keeps Gaussianity; with jk it also sums the
     * states entering every aggregate, so each of them must be Gaussian too. */
    if (op->u.readout.jk && L->stream.gaussian && !L->agg_in.gaussian)
        L->stream = L->agg_in;
    return 1;
}

int lower_check_graph_net(Lower *L)
{
    for (size_t i = 0; i < L->nops; i++) {
        IrOpKind k = L->ops[i].kind;
        if (k != IR_DENSE && k != IR_ACT && k != IR_DROPOUT && k != IR_AGGREGATE && k != IR_READOUT) {
            diag_at(L->err, L->ops[i].pos, L->src,
                    "graph net '%s' takes dense layers, activations, 'dropout', 'aggregate' and 'readout' only",
                    L->net->name);
            return 0;
        }
    }
    if (L->readout == NULL) {
        diag_at(L->err, L->net->pos, L->src,
                "graph net '%s' has no 'readout': add 'readout(sum)' or 'readout(mean)' to pool its node pairs "
                "into one kernel entry per pair of graphs",
                L->net->name);
        return 0;
    }
    if (L->param == PARAM_STANDARD) {
        diag_at(L->err, L->param_pos, L->src, "graph net '%s': 'param standard' is not supported for graphs",
                L->net->name);
        return 0;
    }
    return 1;
}
