/* Emits the generated part of a graph net's kernel (ABI: graph_abi.h): the
 * plan of structural steps, and one function per segment of elementwise ops
 * (dense, activation) between them. Within a segment every layer is one call
 * of the vector tile's block primitives (emit_prims.h) on one row of node
 * pairs, layers outside the column loop: vectorised code under both back
 * ends. Activations without a primitive (formulas) loop over their dual. */
#include <stdlib.h>

#include "emit_internal.h"
#include "emit_prims.h"
#include "graph_abi.h"

/* Activation slots: op i's slot is the number of activations before it. */
static size_t act_slot(const IrNet *net, size_t i)
{
    size_t slot = 0;
    for (size_t j = 0; j < i; j++)
        slot += net->ops[j].kind == IR_ACT;
    return slot;
}

static int is_elementwise(const IrOp *op) { return op->kind == IR_DENSE || op->kind == IR_ACT; }

/* Ops [lo, hi) of a segment: the maximal elementwise run starting at lo. */
static size_t segment_end(const IrNet *net, size_t lo)
{
    while (lo < net->nops && is_elementwise(&net->ops[lo]))
        lo++;
    return lo;
}

static void emit_plan(StrBuf *sb, const IrNet *net)
{
    sb_printf(sb, "const int *ntkcnet_%s_graph_plan(void)\n{\n    static const int plan[] = {\n", net->name);
    sb_printf(sb, "        %d, %zu, %d, /* input graph(%zu)%s */\n", NTKC_GOP_INPUT, net->input.dim,
              net->input.raw_gram, net->input.dim, net->input.raw_gram ? ", x.x' not divided by F" : "");
    int k = 0;
    for (size_t i = 0; i < net->nops;) {
        const IrOp *op = &net->ops[i];
        if (is_elementwise(op)) {
            size_t end = segment_end(net, i);
            sb_printf(sb, "        %d, %d, 0, /* segment: lines %d-%d */\n", NTKC_GOP_SEG, k++, op->pos.line,
                      net->ops[end - 1].pos.line);
            i = end;
        } else if (op->kind == IR_AGGREGATE) {
            sb_printf(sb, "        %d, %d, %d, /* aggregate(scale=%s, self_loops=%s) at line %d */\n",
                      NTKC_GOP_AGG, op->u.aggregate.degree, op->u.aggregate.self_loops,
                      op->u.aggregate.degree ? "degree" : "uniform", op->u.aggregate.self_loops ? "true" : "false",
                      op->pos.line);
            i++;
        } else {
            sb_printf(sb, "        %d, %d, %d, /* readout(%s, jk=%s) at line %d */\n", NTKC_GOP_READOUT,
                      op->u.readout.mean, op->u.readout.jk, op->u.readout.mean ? "mean" : "sum",
                      op->u.readout.jk ? "true" : "false", op->pos.line);
            i++;
        }
    }
    sb_printf(sb, "        %d, 0, 0};\n    return plan;\n}\n\n", NTKC_GOP_END);
}

static void emit_dense_row(StrBuf *sb, const IrDense *d)
{
    sb_puts(sb, "        ntkc_block_dense_ntk(n2, ");
    sb_double(sb, d->w_std * d->w_std);
    sb_puts(sb, ", ");
    sb_double(sb, d->b_std * d->b_std);
    sb_puts(sb, ", si, ti);\n");
}

static void emit_act_row(StrBuf *sb, const IrNet *net, size_t i)
{
    size_t slot = act_slot(net, i);
    const ActDef *def = net->ops[i].u.act.def;
    if (prim_act_has_block(def)) {
        sb_printf(sb, "        ntkc_block_act_%s(", def->name);
        emit_param_ref(sb, net, i);
        sb_printf(sb, ", n2, var1[%zu * n1 + i], var2 + %zu * n2, si, ti);\n", slot, slot);
        return;
    }
    sb_printf(sb,
              "        {\n"
              "            const double v1 = var1[%zu * n1 + i], *v2 = var2 + %zu * n2;\n"
              "            for (size_t j = 0; j < n2; j++) {\n"
              "                double T, Td;\n"
              "                ntkc_dual_%s(",
              slot, slot, net->ops[i].u.act.def->name);
    emit_param_ref(sb, net, i);
    sb_puts(sb, ", v1, si[j], v2[j], &T, &Td);\n"
                "                si[j] = T;\n"
                "                ti[j] *= Td;\n"
                "            }\n"
                "        }\n");
}

/* Segment k = ops [lo, hi): the node-pair version and the diagonal version. */
static void emit_segment(StrBuf *sb, const IrNet *net, int k, size_t lo, size_t hi)
{
    const char *n = net->name;
    sb_printf(sb,
              "static void ntkcnet_%s_seg%d(size_t n1, size_t n2, const double *var1, const double *var2,\n"
              "                          double *s, double *t, size_t ld)\n"
              "{\n"
              "    (void)var1, (void)var2;\n"
              "    for (size_t i = 0; i < n1; i++) {\n"
              "        double *si = s + i * ld, *ti = t + i * ld;\n",
              n, k);
    for (size_t i = lo; i < hi; i++) {
        emit_op_comment(sb, &net->ops[i], "        ");
        if (net->ops[i].kind == IR_DENSE)
            emit_dense_row(sb, &net->ops[i].u.dense);
        else
            emit_act_row(sb, net, i);
    }
    sb_puts(sb, "    }\n}\n\n");
    sb_printf(sb,
              "static void ntkcnet_%s_segd%d(size_t n, const double *d, size_t ldd, double *var)\n"
              "{\n"
              "    for (size_t u = 0; u < n; u++) {\n"
              "        double s = d[u * ldd];\n",
              n, k);
    for (size_t i = lo; i < hi; i++) {
        const IrOp *op = &net->ops[i];
        emit_op_comment(sb, op, "        ");
        if (op->kind == IR_DENSE) {
            emit_diag_dense(sb, &op->u.dense);
        } else {
            sb_printf(sb, "        var[%zu * n + u] = s;\n", act_slot(net, i));
            emit_diag_act(sb, net, i);
        }
    }
    sb_puts(sb, "        (void)s, (void)var;\n    }\n}\n\n");
}

/* The two exported dispatchers over segments 0..nseg. */
static void emit_dispatch(StrBuf *sb, const IrNet *net, int nseg)
{
    const char *n = net->name;
    sb_printf(sb,
              "void ntkcnet_%s_graph_seg(int k, size_t n1, size_t n2, const double *var1, const double *var2,\n"
              "                     double *s, double *t, size_t ld)\n"
              "{\n"
              "    switch (k) {\n",
              n);
    for (int k = 0; k < nseg; k++)
        sb_printf(sb, "    case %d:\n        ntkcnet_%s_seg%d(n1, n2, var1, var2, s, t, ld);\n        break;\n", k, n, k);
    sb_puts(sb, "    default:\n        break;\n    }\n}\n\n");
    sb_printf(sb,
              "void ntkcnet_%s_graph_seg_diag(int k, size_t n, const double *d, size_t ldd, double *var)\n"
              "{\n"
              "    switch (k) {\n",
              n);
    for (int k = 0; k < nseg; k++)
        sb_printf(sb, "    case %d:\n        ntkcnet_%s_segd%d(n, d, ldd, var);\n        break;\n", k, n, k);
    sb_puts(sb, "    default:\n        break;\n    }\n}\n");
}

char *emit_graph_c(const IrNet *net, const char *source_name, ntkc_error *err)
{
    for (size_t i = 0; i < net->nops; i++) {
        IrOpKind kind = net->ops[i].kind;
        if (kind != IR_DENSE && kind != IR_ACT && kind != IR_AGGREGATE && kind != IR_READOUT) {
            diag_internal(err, "graph emitter: op %zu of net '%s' has an unknown kind", i, net->name);
            return NULL;
        }
    }
    size_t nvar = act_slot(net, net->nops);
    StrBuf sb;
    sb_init(&sb);
    emit_prelude(&sb, net, source_name);
    sb_puts(&sb, "/* Graph net: the elementwise segments of the node-pair recursion; the runtime\n"
                 " * performs the input Gram, aggregation and readout (compiler/emit/graph_abi.h). */\n\n");
    emit_dual_functions(&sb, net);
    emit_param_arrays(&sb, net);
    sb_puts(&sb, "\n");
    prim_emit_for_net(&sb, net);

    sb_puts(&sb, "\n");
    emit_plan(&sb, net);
    sb_printf(&sb, "size_t ntkcnet_%s_graph_nvar(void) { return %zu; }\n\n", net->name, nvar ? nvar : 1);
    int nseg = 0;
    for (size_t i = 0; i < net->nops;) {
        if (!is_elementwise(&net->ops[i])) {
            i++;
            continue;
        }
        size_t end = segment_end(net, i);
        emit_segment(&sb, net, nseg++, i, end);
        i = end;
    }
    emit_dispatch(&sb, net, nseg);
    return sb_take(&sb);
}
