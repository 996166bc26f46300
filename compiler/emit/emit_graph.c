/* Emits the generated part of a graph net's kernel (ABI: compiler/abi/kernel_abi.h): the
 * plan of structural steps, and one function per segment of elementwise ops
 * (dense, activation) between them. Within a segment every layer is one call
 * of the vector tile's block primitives (emit_prims.h) on one row of node
 * pairs, layers outside the column loop: vectorised code under both back
 * ends; formula activations have a block function of their own in the file.
 *
 * Under `--precision single` the segments run in float32 (the block
 * primitives' _f twins; ReLU by ntkc_block_relu_qr_f from √v and 1/√v, other
 * activations by their float64 dual per pair, as the fully connected tile),
 * each activation's slot k of the float64 layout becomes three float slots
 * 3k, 3k + 1, 3k + 2 (v, √v, 1/√v), and the standalone entry is
 * graph_entry.c's float32 twin. */
#include <stdlib.h>

#include "emit_internal.h"
#include "emit_prims.h"
#include "kernel_abi.h"
#include "kernel_text.h"

static int is_elementwise(const IrOp *op)
{
    return op->kind == IR_DENSE || op->kind == IR_ACT || op->kind == IR_DROPOUT;
}

/* Ops [lo, hi) of a segment: the maximal elementwise run starting at lo. */
static size_t segment_end(const IrNet *net, size_t lo)
{
    while (lo < net->nops && is_elementwise(&net->ops[lo]))
        lo++;
    return lo;
}

static const char *const gop_names[] = {"NTKC_GOP_END", "NTKC_GOP_INPUT", "NTKC_GOP_SEG", "NTKC_GOP_AGG",
                                         "NTKC_GOP_READOUT"};

static void emit_plan(Code *c, const IrNet *net)
{
    code_line(c, "const int *$_graph_plan(void)");
    code_open(c, "{");
    code_open(c, "static const int plan[] = {");
    code_line(c, "%s, %zu, %d, /* input graph(%zu)%s */", gop_names[NTKC_GOP_INPUT], net->input.dim,
              net->input.raw_gram, net->input.dim, net->input.raw_gram ? ", x.x' not divided by F" : "");
    int k = 0;
    for (size_t i = 0; i < net->nops;) {
        const IrOp *op = &net->ops[i];
        if (is_elementwise(op)) {
            size_t end = segment_end(net, i);
            code_line(c, "%s, %d, 0, /* segment: lines %d-%d */", gop_names[NTKC_GOP_SEG], k++, op->pos.line,
                      net->ops[end - 1].pos.line);
            i = end;
        } else if (op->kind == IR_AGGREGATE) {
            const IrAggregate *g = &op->u.aggregate;
            code_line(c, "%s, %d, %d, /* aggregate(scale=%s, self_loops=%s) at line %d */", gop_names[NTKC_GOP_AGG],
                      g->degree, g->self_loops, g->degree ? "degree" : "uniform", g->self_loops ? "true" : "false",
                      op->pos.line);
            i++;
        } else {
            const IrReadout *r = &op->u.readout;
            code_line(c, "%s, %d, %d, /* readout(%s, jk=%s) at line %d */", gop_names[NTKC_GOP_READOUT], r->mean,
                      r->jk, r->mean ? "mean" : "sum", r->jk ? "true" : "false", op->pos.line);
            i++;
        }
    }
    code_line(c, "%s, 0, 0};", gop_names[NTKC_GOP_END]);
    c->depth--;
    code_line(c, "return plan;");
    code_close(c, "");
    code_blank(c);
}

/* The float32 layout's first slot of an activation at float64 slot k. */
static size_t slot_f(size_t k) { return 3 * k; }

static void emit_dense_row(Code *c, const IrDense *d)
{
    const char *sfx = code_prim_suffix(c);
    if (d->frozen) /* trainable=false: Θ ← w²Θ (the standard primitive without its gradient terms) */
        code_line(c, "ntkc_block_dense_std%s(n2, %s, %s, %s, %s, si, ti);", sfx, code_rlit(c, d->w_std * d->w_std).s,
                  code_rlit(c, d->b_std * d->b_std).s, code_rlit(c, 0.0).s, code_rlit(c, 0.0).s);
    else
        code_line(c, "ntkc_block_dense_ntk%s(n2, %s, %s, si, ti);", sfx, code_rlit(c, d->w_std * d->w_std).s,
                  code_rlit(c, d->b_std * d->b_std).s);
}

/* float32: ReLU from its √v, 1/√v slots; any other activation's float64
 * dual per pair, on Σ snapped to ±√(v1·v2) near correlation ±1 (ntkc_snap_f,
 * as the fully connected tile), rounded once per layer. */
static void emit_act_row_f(Code *c, const IrNet *net, size_t i)
{
    size_t k = slot_f(net->ops[i].rec.at);
    char p[EMIT_PARAM_REF_MAX];
    if (prim_graph_uses_relu_qr_f(&net->ops[i])) {
        code_line(c, "ntkc_block_relu_qr_f(n2, var1[%zu * n1 + i], var1[%zu * n1 + i], var2 + %zu * n2, "
                     "var2 + %zu * n2, si, ti);",
                  k + 1, k + 2, k + 1, k + 2);
        return;
    }
    code_open(c, "for (size_t j = 0; j < n2; j++) {");
    code_line(c, "double T, Td;");
    code_line(c, "ntkc_dual_%s(%s, var1[%zu * n1 + i], ntkc_snap_f(si[j], var1[%zu * n1 + i], var2[%zu * n2 + j]), "
                 "var2[%zu * n2 + j], &T, &Td);",
              code_ident(c, net->ops[i].u.act.def->name), emit_param_ref(net, i, p), k, k, k, k);
    code_line(c, "si[j] = T;");
    code_line(c, "ti[j] *= Td;");
    code_close(c, "");
}

/* The activation's block function on one row (emit_prims.c). */
static void emit_act_row(Code *c, const IrNet *net, size_t i)
{
    if (c->single) {
        emit_act_row_f(c, net, i);
        return;
    }
    size_t slot = net->ops[i].rec.at;
    char p[EMIT_PARAM_REF_MAX];
    code_line(c, "ntkc_block_act_%s(%s, n2, var1[%zu * n1 + i], var2 + %zu * n2, si, ti);",
              code_ident(c, net->ops[i].u.act.def->name), emit_param_ref(net, i, p), slot, slot);
}

/* The diagonal's record of an activation: v (float64: its slot; float32:
 * v, then √v and 1/√v for ReLU, each rounded from the float64 chain as the
 * fully connected prep rounds them). */
static void emit_diag_record(Code *c, const IrOp *op)
{
    if (!c->single) {
        code_line(c, "var[%zu * n + u] = s;", op->rec.at);
        return;
    }
    size_t k = slot_f(op->rec.at);
    code_line(c, "var[%zu * n + u] = (float)s;", k);
    if (prim_graph_uses_relu_qr_f(op)) {
        code_line(c, "var[%zu * n + u] = s > 0.0 ? (float)sqrt(s) : 0.0f;", k + 1);
        code_line(c, "var[%zu * n + u] = s > 0.0 ? (float)(1.0 / var[%zu * n + u]) : 0.0f;", k + 2, k + 1);
    }
}

/* dropout(rate) in train mode: every unit of every node (after the readout,
 * of every graph) has its own mask, so only the entries of a graph with
 * itself at the same node share one and are divided by the rate — the
 * diagonal of the node-pair matrix of a graph with itself (neural-tangents'
 * Dropout, its _diag_mul over the node axis). The runtimes hand a segment
 * the same record pointer on both sides exactly when the two graphs are one
 * graph of one set (the prep, and the symmetric kernel's diagonal pairs), as
 * the vector tile compares row pointers; the matrix is then square and row i
 * holds the diagonal entry at column i. */
static void emit_dropout_row(Code *c, const IrDropout *d)
{
    CodeLit f = code_lit(1.0 / d->keep);
    code_line(c, "if (var1 == var2 && n1 == n2)");
    code_line(c, "    si[i] *= %s, ti[i] *= %s;", f.s, f.s);
}

/* Segment k = ops [lo, hi): the node-pair version and the diagonal version. */
static void emit_segment(Code *c, const IrNet *net, int k, size_t lo, size_t hi)
{
    code_line(c, "static void $_seg%d(size_t n1, size_t n2, const @ *var1, const @ *var2,", k);
    code_line(c, "    @ *s, @ *t, size_t ld)");
    code_open(c, "{");
    code_line(c, "(void)var1, (void)var2;");
    code_open(c, "for (size_t i = 0; i < n1; i++) {");
    code_line(c, "@ *si = s + i * ld, *ti = t + i * ld;");
    for (size_t i = lo; i < hi; i++) {
        emit_op_comment(c, &net->ops[i]);
        if (net->ops[i].kind == IR_DENSE)
            emit_dense_row(c, &net->ops[i].u.dense);
        else if (net->ops[i].kind == IR_DROPOUT)
            emit_dropout_row(c, &net->ops[i].u.dropout);
        else
            emit_act_row(c, net, i);
    }
    code_close(c, "");
    code_close(c, "");
    code_blank(c);
    code_line(c, "static void $_segd%d(size_t n, const @ *d, size_t ldd, @ *var)", k);
    code_open(c, "{");
    code_open(c, "for (size_t u = 0; u < n; u++) {");
    code_line(c, "double s = d[u * ldd];");
    for (size_t i = lo; i < hi; i++) {
        const IrOp *op = &net->ops[i];
        emit_op_comment(c, op);
        if (op->kind == IR_DENSE) {
            emit_diag_dense(c, &op->u.dense);
        } else if (op->kind == IR_DROPOUT) { /* a node with itself: its own mask */
            code_line(c, "s *= %s;", code_lit(1.0 / op->u.dropout.keep).s);
        } else {
            emit_diag_record(c, op);
            emit_diag_act(c, net, i);
        }
    }
    code_line(c, "(void)s, (void)var;");
    code_close(c, "");
    code_close(c, "");
    code_blank(c);
}

/* A dispatcher's body: switch (k) over segments 0..nseg, each case one call
 * (a format with %d for the segment). */
static void emit_switch(Code *c, int nseg, const char *call)
{
    code_open(c, "{");
    code_open(c, "switch (k) {");
    for (int k = 0; k < nseg; k++) {
        code_line(c, "case %d:", k);
        code_line(c, call, k);
        code_line(c, "    break;");
    }
    code_line(c, "default:");
    code_line(c, "    break;");
    code_close(c, "");
    code_close(c, "");
    code_blank(c);
}

/* The two exported dispatchers over segments 0..nseg. */
static void emit_dispatch(Code *c, int nseg)
{
    code_line(c, "void $_graph_seg(int k, size_t n1, size_t n2, const @ *var1, const @ *var2,");
    code_line(c, "    @ *s, @ *t, size_t ld)");
    emit_switch(c, nseg, "    $_seg%d(n1, n2, var1, var2, s, t, ld);");
    code_line(c, "void $_graph_seg_diag(int k, size_t n, const @ *d, size_t ldd, @ *var)");
    emit_switch(c, nseg, "    $_segd%d(n, d, ldd, var);");
}

/* The standalone entry: the kernel-time driver (kernel_c/graph_entry.c) run
 * with this net's plan and segments. */
static void emit_graph_entry(Code *c)
{
    code_line(c, "int $(const struct ntkc_graph_set *g1, const struct ntkc_graph_set *g2,");
    code_line(c, "    @ *nngp, @ *ntk)");
    code_open(c, "{");
    code_line(c, "struct ntkc_gnet%s net;", code_prim_suffix(c));
    code_line(c, "net.plan = $_graph_plan();");
    code_line(c, "net.nvar = $_graph_nvar();");
    code_line(c, "net.seg = $_graph_seg;");
    code_line(c, "net.segd = $_graph_seg_diag;");
    code_line(c, "return ntkc_graph_kernel%s(&net, g1, g2, nngp, ntk);", code_prim_suffix(c));
    code_close(c, "");
}

char *emit_graph_c(const IrNet *net, const char *source_name, Diag *err)
{
    return emit_graph_c_prec(net, source_name, 0, err);
}

char *emit_graph_c_prec(const IrNet *net, const char *source_name, int single, Diag *err)
{
    for (size_t i = 0; i < net->nops; i++) {
        IrOpKind kind = net->ops[i].kind;
        if (kind != IR_DENSE && kind != IR_ACT && kind != IR_DROPOUT && kind != IR_AGGREGATE && kind != IR_READOUT) {
            diag_internal(err, "graph emitter: op %zu of net '%s' has an unknown kind", i, net->name);
            return NULL;
        }
    }
    StrBuf sb;
    Code c;
    emit_file_begin(&c, &sb, net, source_name, single);
    code_line(&c, "/* Graph net: the plan of structural steps and the elementwise segments of");
    code_line(&c, " * the node-pair recursion (the ABI of compiler/abi/kernel_abi.h, which the");
    code_line(&c, " * runtime drives), and a standalone entry driving them itself. */");
    code_blank(&c);
    emit_dual_functions(&c, net);
    emit_param_arrays(&c, net);
    code_blank(&c);
    prim_emit_for_net(c.sb, net, single);
    code_kernel(&c, single ? &kernel_graph_entry_f_parts : &kernel_graph_entry_parts);
    code_blank(&c);
    emit_plan(&c, net);
    size_t nvar = net->record ? net->record : 1;
    code_line(&c, "size_t $_graph_nvar(void) { return %zu; }", single ? slot_f(nvar) : nvar);
    code_blank(&c);
    int nseg = 0;
    for (size_t i = 0; i < net->nops;) {
        if (!is_elementwise(&net->ops[i])) {
            i++;
            continue;
        }
        size_t end = segment_end(net, i);
        emit_segment(&c, net, nseg++, i, end);
        i = end;
    }
    emit_dispatch(&c, nseg);
    emit_graph_entry(&c);
    return emit_finish(&c, &sb, err);
}
