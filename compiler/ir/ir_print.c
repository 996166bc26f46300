/* The IR dump of `ntkc ir`. Every op's output is a value %k (the input is
 * %0); an op reads the value before it, and a fanout's branches read the
 * fanout's input. The columns after '#' are what lowering decided: where the
 * op was written, the shape it outputs, whether that output is Gaussian
 * (docs/gaussianity.md), and its record. */
#include <math.h>

#include "ir_print.h"

#include <stdio.h>
#include <string.h>

const char *ir_op_name(const IrOp *op)
{
    switch (op->kind) {
    case IR_DENSE: return "dense";
    case IR_ACT: return op->u.act.def->name;
    case IR_CONV: return "conv";
    case IR_CONV_TRANSPOSE: return "conv_transpose";
    case IR_CONV_LOCAL: return "conv_local";
    case IR_POOL: return op->u.pool.average ? "avg_pool" : "sum_pool";
    case IR_GLOBAL_POOL: return op->u.gpool.average ? "global_avg_pool" : "global_sum_pool";
    case IR_FLATTEN: return "flatten";
    case IR_INDEX: return "index";
    case IR_LAYER_NORM: return "layer_norm";
    case IR_FANOUT: return op->u.fanout.residual ? "residual" : "fanout";
    case IR_ATTENTION: return "attention";
    case IR_AGGREGATE: return "aggregate";
    case IR_READOUT: return "readout";
    case IR_DROPOUT: return "dropout";
    case IR_IMAGE_RESIZE: return "image_resize";
    }
    return "?";
}

typedef struct Printer {
    StrBuf *sb;
    const IrNet *net;
    int next;   /* the next value number */
    int pooled; /* a graph net's readout printed: values are per graph, not per node */
} Printer;

enum { TEXT_COLUMN = 56 };

static const char *const padding_names[] = {"same", "valid", "circular"};
static const char *const fanin_names[] = {"sum", "prod", "concat"};

/* seq: the net takes sequences, whose windows are 1-D (kh = sh = dh = 1). */
static void window_args(StrBuf *sb, const IrWindow *w, int seq)
{
    if (seq) {
        sb_printf(sb, ", window %d, stride %d, padding %s", w->kw, w->sw, padding_names[w->pad]);
        if (w->dw != 1)
            sb_printf(sb, ", dilation %d", w->dw);
        return;
    }
    if (w->kd) { /* a volume's window (ir.h) */
        sb_printf(sb, ", window %dx%dx%d, stride %dx%dx%d, padding %s", w->kd, w->kh, w->kw, w->sd, w->sh, w->sw,
                  padding_names[w->pad]);
        if (w->dd != 1 || w->dh != 1 || w->dw != 1)
            sb_printf(sb, ", dilation %dx%dx%d", w->dd, w->dh, w->dw);
        return;
    }
    sb_printf(sb, ", window %dx%d, stride %dx%d, padding %s", w->kh, w->kw, w->sh, w->sw, padding_names[w->pad]);
    if (w->dh != 1 || w->dw != 1)
        sb_printf(sb, ", dilation %dx%d", w->dh, w->dw);
}

/* The rows a window summarises (window_args prints them as lowering
 * resolved them). */
static int window_row(const char *name)
{
    static const char *const rows[] = {"size", "kd", "kh", "kw", "stride", "sd", "sh", "sw", "padding", "dilation", "dh",
                                       "dw"};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (strcmp(rows[i], name) == 0)
            return 1;
    return 0;
}

/* Appends ", name value" for every argument of the op's table (IrOp.args)
 * that was written or is not at its row's default, options by name: what a
 * new row shows without a line here. */
static void table_args(StrBuf *sb, const IrArgs *a)
{
    for (int k = 0; k < a->n; k++) {
        const ParamSpec *p = &a->spec[k];
        double v = a->v[k];
        if (window_row(p->name) || (!a->given[k] && v == p->def))
            continue;
        if (p->options != NULL)
            sb_printf(sb, ", %s %s", p->name, p->options[(int)v]);
        else if (p->integer)
            sb_printf(sb, ", %s %ld", p->name, (long)v);
        else
            sb_printf(sb, ", %s %g", p->name, v);
    }
}

/* The op's arguments after its operand, as written or defaulted; appended
 * to sb whatever their length (an activation's parameters are named by the
 * user). */
static void op_args(StrBuf *sb, const IrOp *op, Parameterization param, int seq)
{
    switch (op->kind) {
    case IR_DENSE:
        sb_printf(sb, ", w_std %g, b_std %g", op->u.dense.w_std, op->u.dense.b_std);
        if (param == PARAM_STANDARD) {
            if (op->u.dense.width) /* width 0: the last layer; fan_in 0: the first */
                sb_printf(sb, ", width %ld", op->u.dense.width);
            if (op->u.dense.fan_in)
                sb_printf(sb, ", fan_in %ld", op->u.dense.fan_in);
            else
                sb_puts(sb, ", fan_in data");
        }
        if (op->u.dense.frozen)
            sb_puts(sb, ", frozen");
        break;
    case IR_ACT:
        for (int k = 0; k < op->u.act.def->nparams; k++)
            sb_printf(sb, ", %s %g", op->u.act.def->params[k].name, op->u.act.p[k]);
        break;
    case IR_CONV:
    case IR_CONV_TRANSPOSE:
    case IR_CONV_LOCAL:
        window_args(sb, &op->u.conv.win, seq);
        table_args(sb, &op->args);
        if (param == PARAM_STANDARD) /* lowering's, not an argument */
            sb_printf(sb, ", fan_in %ld", op->u.conv.fan_in);
        break;
    case IR_POOL:
        window_args(sb, &op->u.pool.win, seq);
        table_args(sb, &op->args);
        break;
    case IR_LAYER_NORM:
        sb_printf(sb, ", eps %g%s", op->u.ln.eps,
                  op->u.ln.axes == IR_LN_ALL      ? ", over channels and pixels"
                  : op->u.ln.axes == IR_LN_HEIGHT ? ", over channels and height"
                  : op->u.ln.axes == IR_LN_WIDTH  ? ", over channels and width"
                  : op->u.ln.axes == IR_LN_DEPTH  ? ", over channels and depth"
                  : op->u.ln.axes == IR_LN_DEPTH_HEIGHT ? ", over channels, depth and height"
                  : op->u.ln.axes == IR_LN_DEPTH_WIDTH  ? ", over channels, depth and width"
                  : op->u.ln.axes == IR_LN_HEIGHT_WIDTH ? ", over channels, height and width"
                                                  : "");
        break;
    case IR_AGGREGATE:
        sb_printf(sb, ", scale %s, self_loops %s", op->u.aggregate.degree ? "degree" : "uniform",
                  op->u.aggregate.self_loops ? "true" : "false");
        break;
    case IR_READOUT:
        sb_printf(sb, ", pool %s%s", op->u.readout.mean ? "mean" : "sum", op->u.readout.jk ? ", jk" : "");
        break;
    case IR_DROPOUT:
        sb_printf(sb, ", keep %g, train", op->u.dropout.keep);
        break;
    case IR_FANOUT: /* residual(alpha) is the sum of the identity and alpha·body: the scales below */
        if (!op->u.fanout.residual)
            sb_printf(sb, " %s%s", fanin_names[op->u.fanout.mode],
                      op->u.fanout.axis == IR_CONCAT_HEIGHT  ? " along height"
                      : op->u.fanout.axis == IR_CONCAT_WIDTH ? " along width"
                      : op->u.fanout.axis == IR_CONCAT_DEPTH ? " along depth"
                                                             : "");
        break;
    case IR_ATTENTION: {
        const IrAttention *a = &op->u.attn;
        static const char *const mech[] = {"softmax", "identity", "abs", "relu"};
        static const char *const pos[] = {"none", "sum", "concat"};
        sb_printf(sb, ", heads %d, scaling %s, mechanism %s, w_q %g, w_k %g, w_v %g, w_out %g, b_std %g", a->heads,
                  a->linear ? "linear" : "sqrt", mech[a->mech], a->w_q, a->w_k, a->w_v, a->w_out, a->b_std);
        if (a->pos_emb)
            sb_printf(sb, ", pos_emb %s, w_pos %g, pos_channels %g%s", pos[a->pos_emb], a->w_pos,
                      a->pos_emb == 2 ? a->pos_channels : 0.0, a->val_pos_emb ? ", val_pos_emb" : "");
        break;
    }
    case IR_INDEX:
        sb_printf(sb, ", position %zu", op->u.index.pos);
        break;
    case IR_IMAGE_RESIZE:
        sb_printf(sb, ", method %s%s", op->u.resize.nearest ? "nearest" : "linear",
                  op->u.resize.nearest || op->u.resize.antialias ? "" : ", antialias false");
        break;
    case IR_GLOBAL_POOL:
    case IR_FLATTEN:
        break;
    }
}

static void print_ops(Printer *p, const IrOp *ops, size_t n, int in, int depth);

static void print_op(Printer *p, const IrOp *op, int in, int depth)
{
    int v = p->next++;
    size_t start = p->sb->len;
    sb_printf(p->sb, "%*s%%%d = %s %%%d", 4 * (depth + 1), "", v, ir_op_name(op), in);
    op_args(p->sb, op, p->net->param, p->net->input.sequence);
    sb_puts(p->sb, op->kind == IR_FANOUT ? " {" : "");
    size_t len = p->sb->len - start;
    char shape[64];
    if (op->out.spatial && op->out.d)
        snprintf(shape, sizeof shape, "%zux%zux%zu", op->out.d, op->out.h / op->out.d, op->out.w);
    else if (op->out.spatial && p->net->input.sequence)
        snprintf(shape, sizeof shape, "L=%zu", op->out.w);
    else if (op->out.spatial)
        snprintf(shape, sizeof shape, "%zux%zu", op->out.h, op->out.w);
    int graph = p->net->input.kind == IR_INPUT_GRAPH;
    p->pooled |= op->kind == IR_READOUT;
    if (!op->out.spatial)
        snprintf(shape, sizeof shape, "%s", !graph ? "vector" : p->pooled ? "graph" : "nodes");
    char pos[32];
    snprintf(pos, sizeof pos, "%d:%d", op->pos.line, op->pos.col);
    sb_printf(p->sb, "%*s # %-7s %-7s %s", len < TEXT_COLUMN ? (int)(TEXT_COLUMN - len) : 0, "", pos, shape,
              op->gaussian ? "gaussian" : "not gaussian");
    if (op->rec.n)
        sb_printf(p->sb, "%*srecord %zu%s%s at %zu", op->gaussian ? 6 : 2, "", op->rec.n,
                  graph && !p->pooled ? " per node" : "", op->rec.sqrt ? " as √ and 1/√" : "", op->rec.at);
    sb_puts(p->sb, "\n");
    if (op->kind != IR_FANOUT)
        return;
    const IrFanout *f = &op->u.fanout;
    for (size_t b = 0; b < f->nbranches; b++) {
        const IrBranch *br = &f->branches[b];
        sb_printf(p->sb, "%*sbranch %zu", 4 * (depth + 2), "", b + 1);
        if (f->mode == IR_FANIN_SUM)
            sb_printf(p->sb, ", scale %g", br->scale);
        else if (f->mode == IR_FANIN_CONCAT && f->axis == IR_CONCAT_CHANNELS &&
                 fabs(br->scale * br->scale * (double)f->nbranches - 1.0) > 1e-12)
            sb_printf(p->sb, ", share of the units %g", br->scale * br->scale); /* lower_branch.c */
        sb_puts(p->sb, br->nops ? ":\n" : ": identity\n");
        print_ops(p, br->ops, br->nops, in, depth + 2);
    }
    sb_printf(p->sb, "%*s}\n", 4 * (depth + 1), "");
}

static void print_ops(Printer *p, const IrOp *ops, size_t n, int in, int depth)
{
    for (size_t i = 0; i < n; i++) {
        int v = p->next;
        print_op(p, &ops[i], in, depth);
        in = v;
    }
}

static void print_input(StrBuf *sb, const IrInput *in)
{
    switch (in->kind) {
    case IR_INPUT_VECTOR:
        if (in->dim)
            sb_printf(sb, "vector(%zu)", in->dim);
        else
            sb_puts(sb, "vector (any dimension)");
        break;
    case IR_INPUT_IMAGE:
        if (in->depth)
            sb_printf(sb, "volume(%zu, %zu, %zu, %zu%s)", in->depth, in->h / in->depth, in->w, in->c,
                      in->masked ? ", masked=true" : "");
        else if (in->sequence)
            sb_printf(sb, "sequence(%zu, %zu%s)", in->w, in->c, in->masked ? ", masked=true" : "");
        else
            sb_printf(sb, "image(%zu, %zu, %zu%s)", in->h, in->w, in->c, in->masked ? ", masked=true" : "");
        break;
    case IR_INPUT_GRAPH:
        sb_printf(sb, "graph(%zu%s)", in->dim, in->raw_gram ? ", normalize=false" : "");
        break;
    }
}

static int has_attention(const IrOp *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind == IR_ATTENTION)
            return 1;
        for (size_t b = 0; ops[i].kind == IR_FANOUT && b < ops[i].u.fanout.nbranches; b++)
            if (has_attention(ops[i].u.fanout.branches[b].ops, ops[i].u.fanout.branches[b].nops))
                return 1;
    }
    return 0;
}

void ir_print(StrBuf *sb, const IrNet *net)
{
    sb_printf(sb, "# net %s (%d:%d), param %s\n", net->name, net->pos.line, net->pos.col,
              net->param == PARAM_NTK ? "ntk" : "standard");
    sb_puts(sb, "# each op: %value = op %operand, arguments  # position, output shape, Gaussian or not,\n"
                "# record N = the variances Σ(x, x) per input it reads (one per pixel or node), computed\n"
                "# once per input into its record (as √ and 1/√: 2N doubles) at that double of it\n");
    if (has_attention(net->ops, net->nops))
        sb_puts(sb, "# (attention with scaling linear: record N = its attention weights A_x, position by position)\n");
    sb_printf(sb, "# record: %zu doubles per input%s\n", net->record,
              net->input.kind == IR_INPUT_GRAPH ? " per node (and per graph after the readout)" : "");
    sb_puts(sb, "    %0 = input ");
    print_input(sb, &net->input);
    sb_puts(sb, "  # not gaussian\n");
    Printer p = {sb, net, 1, 0};
    print_ops(&p, net->ops, net->nops, 0, 0);
}
