/* Emits the kernel of an image net (or a branching vector net) as C99; the
 * plan is described in emit_image.h. The per-entry function
 *   ntkcnet_NAME_entry(x1, x2, v1, v2, bc, fill, dim, ws, out)
 * computes out[0] = NNGP and out[1] = NTK of one pair from the prep records
 * v1, v2; with fill != NULL it runs on (x, x) and writes the prep record. */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit_image.h"
#include "emit_internal.h"
#include "kernel_abi.h"
#include "kernel_text.h"
#include "emit_prims.h"
#include "code.h"
#include "emit_conv_variants.h"
#include "emit_slots.h"
#include "emit_args.h"
#include "ir_fanout.h"
#include "emit_dropout.h"

enum { LANES = NTKC_LANES };

/* A run of plane-wise ops and what ends it. */
typedef enum SegEnd { END_POOL, END_COPY, END_GLOBAL, END_FLATTEN, END_PAIRS, END_REDUCE } SegEnd;

typedef struct Segment {
    const IrOp *ops;   /* the op list: the net's, or a branch's (END_PAIRS) */
    size_t begin, end; /* ops [begin, end) */
    SegEnd kind;
    const IrOp *term; /* the pool or head op; NULL for END_COPY */
    int ch0, cw0;     /* circular axes at the start */
    int che, cwe;     /* and at the end (a strided circular conv can end them) */
    size_t h0, w0;    /* grid at the start */
    size_t he, we;    /* grid at the end */
    long th, tw;      /* product of the strides inside */
} Segment;

typedef struct Em {
    const IrNet *net;
    Diag *err;
    StrBuf body, defs; /* the entry function's body; dual functions and parameter arrays */
    EmitActSet duals;
    EmitActSet planes; /* activations with their ntkc_act_plane_NAME emitted */
    size_t nparams; /* parameter arrays emitted */
    EmitSlots slots; /* plane slots (slot 0 is the conv scratch) */
    size_t plane;   /* doubles per plane slot */
    size_t big;     /* doubles per pixel-pair array (pooling) */
    size_t x2_at;   /* where the workspace holds the x2s lane by lane; 0: no image input */
    int pairs_depth, pairs_levels; /* fanouts on pixel-pair arrays: nesting now, most ever */
    /* Plane state while emitting a segment. */
    const Segment *seg;
    size_t h, w;    /* current grid */
    int ch, cw;     /* its circular axes */
    long sh, sw;    /* strides applied so far in the segment */
    Code c;         /* writes the entry function's body */
} Em;

/* ---- plane slots and activations (emit_slots.h) --------------------------- */

static int slot_new(Em *e) { return emit_slot_new(&e->slots, e->err, "image", e->net->name); }

static void slot_free(Em *e, int k) { emit_slot_free(&e->slots, k); }

static void need_dual(Em *e, const ActDef *def)
{
    if (emit_act_set_add(&e->duals, def, e->err, e->net->name))
        prim_emit_dual(&e->defs, def);
}

/* A built-in activation's plane function (after its dual). */
static void need_act_plane(Em *e, const ActDef *def)
{
    need_dual(e, def);
    if (emit_act_set_add(&e->planes, def, e->err, e->net->name))
        prim_emit_act_plane(&e->defs, def);
}

/* The name of the op's parameter array ("(const double *)0" when it has none). */
static const char *act_params(Em *e, const IrAct *a, char *name, size_t size)
{
    return emit_act_param_array(&e->defs, a, &e->nparams, name, size);
}

/* ---- the vector part: scalars s, t ----------------------------------------- */

static void emit_vec_ops(Em *e, const IrOp *ops, size_t n);
static void emit_dense_call(Em *e, const IrOp *op, const char *S, const char *T, const char *geom);
static void emit_act_call(Em *e, const IrOp *op, const char *S, const char *T, const char *geom);

/* A vector's lanes s, t are a 1×1 plane: its layers call the plane functions. */
static const char vec_geom[] = "1, 1, 0, 0, 0, 0";

/* The vector fan-in of branch b's lanes s, t into s_acc, t_acc (ntkc_fanin),
 * and the accumulator back into s, t: how the branches of a fanout on
 * vectors join, and those of one that reduces an image to vectors. */
static void emit_vec_fanin(Em *e, const IrFanout *f, size_t b)
{
    code_line(&e->c, "ntkc_fanin`(%d, %zu, %zu, %s, s_acc, t_acc, s, t, NTKC_LANES);", (int)f->mode, b, f->nbranches,
              code_lit(f->branches[b].scale * f->branches[b].scale).s);
}

static void emit_vec_fanin_end(Em *e)
{
    code_line(&e->c, "ntkc_copy`(s, s_acc, NTKC_LANES);");
    code_line(&e->c, "ntkc_copy`(t, t_acc, NTKC_LANES);");
}

static void emit_vec_fanout(Em *e, const IrFanout *f)
{
    code_line(&e->c, "{ /* %s */", f->residual ? "residual" : "fanout");
    e->c.depth++;
    code_line(&e->c, "@ s_in[NTKC_LANES], t_in[NTKC_LANES], s_acc[NTKC_LANES], t_acc[NTKC_LANES];");
    code_line(&e->c, "ntkc_copy`(s_in, s, NTKC_LANES);");
    code_line(&e->c, "ntkc_copy`(t_in, t, NTKC_LANES);");
    for (size_t b = 0; b < f->nbranches; b++) {
        const IrBranch *br = &f->branches[b];
        if (b > 0) {
            code_line(&e->c, "ntkc_copy`(s, s_in, NTKC_LANES);");
            code_line(&e->c, "ntkc_copy`(t, t_in, NTKC_LANES);");
        }
        emit_vec_ops(e, br->ops, br->nops);
        emit_vec_fanin(e, f, b);
    }
    emit_vec_fanin_end(e);
    e->c.depth--;
    code_line(&e->c, "}");
}

static void emit_vec_ops(Em *e, const IrOp *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const IrOp *op = &ops[i];
        switch (op->kind) {
        case IR_DENSE:
            if (e->net->param == PARAM_STANDARD && !op->u.dense.frozen) {
                /* as ntkc_block_dense_std: fan-in × Σ enters Θ */
                double w2 = op->u.dense.w_std * op->u.dense.w_std, b2 = op->u.dense.b_std * op->u.dense.b_std;
                char fan_in[64] = "(double)dim"; /* 0: the data's dimension */
                if (op->u.dense.fan_in > 0)
                    code_format(fan_in, sizeof fan_in, "%s", code_lit((double)op->u.dense.fan_in).s);
                code_line(&e->c, "for (int l = 0; l < NTKC_LANES; l++) { /* dense, line %d */", op->pos.line);
                code_line(&e->c, "    t[l] = %s * s[l] + %s + %s * t[l];", fan_in, op->u.dense.has_bias ? "1.0" : "0.0",
                          code_lit(w2).s);
                code_line(&e->c, "    s[l] = %s * s[l] + %s;", code_lit(w2).s, code_lit(b2).s);
                code_line(&e->c, "}");
                break;
            }
            emit_dense_call(e, op, "s", "t", vec_geom);
            break;
        case IR_ACT:
            code_line(&e->c, "if (fill)");
            code_line(&e->c, "    ntkc_fill`(fill, v1, v2, s, %zu, 1);", op->rec.at);
            emit_act_call(e, op, "s", "t", vec_geom);
            break;
        case IR_LAYER_NORM:
            code_line(&e->c, "if (fill) /* layer_norm, line %d */", op->pos.line);
            code_line(&e->c, "    ntkc_fill`(fill, v1, v2, s, %zu, 1);", op->rec.at);
            code_line(&e->c, "ntkc_ln_row`(1, s, t, v1 + %zu * v1s, bc, v2 + %zu, %s);", op->rec.at, op->rec.at * LANES,
                 code_lit(op->u.ln.eps).s);
            break;
        case IR_FANOUT:
            emit_vec_fanout(e, &op->u.fanout);
            break;
        case IR_DROPOUT: /* emit_dropout.c */
            emit_dropout(&e->c, op, "s", "t", vec_geom, NULL, NULL);
            break;
        default:
            diag_internal(e->err, "image emitter: op at line %d is not a vector op", op->pos.line);
            return;
        }
    }
}

/* ---- the image part: planes ------------------------------------------------ */

/* How the planes of a segment hold each axis: AX_TORUS for a circular axis
 * (offsets taken modulo the size, every pixel paired), AX_LINEAR for an
 * ordinary one; AX_OPEN while nothing has fixed it. */
enum { AX_OPEN = -1, AX_LINEAR = 0, AX_TORUS = 1 };

/* What a conv (window k, stride s) needs of its input along an axis:
 * nothing when it is 1 wide with stride 1, else a circular axis or not. */
static int conv_axis_need(int k, int s, IrPadding pad)
{
    return k == 1 && s == 1 ? AX_OPEN : pad == IR_PAD_CIRCULAR ? AX_TORUS : AX_LINEAR;
}

/* The axis a conv outputs from an axis held as `in` of size n: a circular
 * conv keeps it circular only when its stride divides n; otherwise output
 * pixels p and p + a read input pixels s·a apart, which is not an offset
 * modulo the output size (ntkc_conv_plane). */
static int conv_axis_out(int in, int k, int s, IrPadding pad, size_t n)
{
    int need = conv_axis_need(k, s, pad);
    if (need == AX_OPEN)
        return in;
    return need == AX_TORUS && n % (size_t)s == 0 ? AX_TORUS : AX_LINEAR;
}

/* The offset of the current plane along one axis, as a C expression: the
 * end's offset times the strides still to come, wrapped on a circular axis
 * when the segment ends on an ordinary one (its offsets are then signed). */
static void offset_expr(char *buf, size_t size, const char *end, long strides, int cyc, int cyc_end, size_t n)
{
    if (cyc && !cyc_end)
        code_format(buf, size, "((%s * %ld %% %zu + %zu) %% %zu)", end, strides, n, n, n);
    else
        code_format(buf, size, "%s * %ld", end, strides);
}

static void offsets(const Em *e, char *a, char *b, size_t size)
{
    offset_expr(a, size, "ae", e->seg->th / e->sh, e->ch, e->seg->che, e->h);
    offset_expr(b, size, "be", e->seg->tw / e->sw, e->cw, e->seg->cwe, e->w);
}

/* "H, W, a, b, ch, cw" of the current plane. */
static const char *geom(const Em *e, char *buf, size_t size)
{
    char a[80], b[80];
    offsets(e, a, b, sizeof a);
    code_format(buf, size, "%zu, %zu, %s, %s, %d, %d", e->h, e->w, a, b, e->ch, e->cw);
    return buf;
}

static void emit_plane_ops(Em *e, const IrOp *ops, size_t n, int *S, int *T);

/* ntkc_conv_plane(in, tmp, out, H, W, Ho, Wo, ao, bo, chi, cwi, cho, cwo,
 * window, descriptor rows, scale, addc, add): the part between the arrays and
 * the scalars, for an input plane h×wd with circular axes ch, cw into the
 * current one (e->h, e->w, offsets a, b). */
static void conv_plane_args(Em *e, const IrOp *op, CodeArgs *ca, size_t h, size_t wd, int ch, int cw, const char *a,
                            const char *b)
{
    code_arg_size(ca, h);
    code_arg_size(ca, wd);
    code_arg_size(ca, e->h);
    code_arg_size(ca, e->w);
    code_arg(ca, a);
    code_arg(ca, b);
    code_arg_int(ca, ch);
    code_arg_int(ca, cw);
    code_arg_int(ca, e->ch);
    code_arg_int(ca, e->cw);
    emit_window_args(ca, &op->u.conv.win, 1);
    emit_row_args(ca, op, e->err);
}

static void emit_plane_conv(Em *e, const IrOp *op, int *S, int *T)
{
    const IrConv *c = &op->u.conv;
    const IrWindow *w = &c->win;
    int S2 = slot_new(e), T2 = slot_new(e);
    size_t h = e->h, wd = e->w;
    int ch = e->ch, cw = e->cw;
    e->h = op->out.h;
    e->w = op->out.w;
    e->sh *= w->sh;
    e->sw *= w->sw;
    e->ch = conv_axis_out(ch, w->kh, w->sh, w->pad, h);
    e->cw = conv_axis_out(cw, w->kw, w->sw, w->pad, wd);
    char a[80], b[80];
    offsets(e, a, b, sizeof a); /* of the output plane */
    double scale = c->w_std * c->w_std / ((double)w->kh * w->kw);
    CodeArgs ca;
    code_args_init(&ca);
    conv_plane_args(e, op, &ca, h, wd, ch, cw, a, b);
    CodeArgs cs; /* then the scale */
    code_args_init(&cs);
    code_arg(&cs, code_args_text(&ca));
    code_arg_lit(&cs, scale);
    const char *geo = code_args_text(&ca), *args = code_args_text(&cs);
    if (w->dh != 1 || w->dw != 1)
        code_line(&e->c, "/* conv %dx%d stride %dx%d dilation %dx%d, line %d */", w->kh, w->kw, w->sh, w->sw, w->dh,
                  w->dw, op->pos.line);
    else
        code_line(&e->c, "/* conv %dx%d stride %dx%d, line %d */", w->kh, w->kw, w->sh, w->sw, op->pos.line);
    if (e->net->param == PARAM_STANDARD && !c->frozen) { /* Θ' = C·Σ_δ Σ + w²/|F| Σ_δ Θ (+1): ir.h, IrConv */
        int U = slot_new(e);
        /* the bias's 1 rides on U: with an `add` plane ntkc_conv_plane adds that instead of addc */
        code_line(&e->c, "ntkc_conv_plane`(pl[%d], pl[0], pl[%d], %s, %s, %s, 0);", *S, U, geo,
                  code_lit((double)c->fan_in).s, c->has_bias ? "1.0" : "0.0");
        code_line(&e->c, "ntkc_conv_plane`(pl[%d], pl[0], pl[%d], %s, 0.0, pl[%d]);", *T, T2, args, U);
        slot_free(e, U);
    }
    code_line(&e->c, "ntkc_conv_plane`(pl[%d], pl[0], pl[%d], %s, %s, 0);", *S, S2, args, code_lit(c->b_std * c->b_std).s);
    if (c->frozen) /* trainable=false: Θ without the layer's own Σ' */
        code_line(&e->c, "ntkc_conv_plane`(pl[%d], pl[0], pl[%d], %s, 0.0, 0);", *T, T2, args);
    else if (e->net->param != PARAM_STANDARD)
        code_line(&e->c, "ntkc_conv_plane`(pl[%d], pl[0], pl[%d], %s, 0.0, pl[%d]);", *T, T2, args, S2);
    code_args_free(&ca);
    code_args_free(&cs);
    slot_free(e, *S);
    slot_free(e, *T);
    *S = S2;
    *T = T2;
}

/* Before an activation or layer_norm: the prep run stores the same-pixel
 * plane (ReLU: its √ and 1/√, ntkc_fill_relu). */
static void emit_fill(Em *e, const IrOp *op, int S, const char *fill_fn)
{
    code_line(&e->c, "if (fill && pi == 0)");
    code_line(&e->c, "    %s`(fill, v1, v2, pl[%d], %zu, %zu);", fill_fn, S, op->rec.at, op->rec.n);
}

/* dense on every pixel pair of a plane, or on a vector's lanes (geom: "H, W,
 * a, b, ch, cw"): ntkc_dense_plane holds the recursion. */
static void emit_dense_call(Em *e, const IrOp *op, const char *S, const char *T, const char *geom)
{
    code_line(&e->c, "%s`(%s, %s, %s, %s, %s); /* dense, line %d */",
              op->u.dense.frozen ? "ntkc_dense_frozen_plane" : "ntkc_dense_plane", S, T, geom,
              code_lit(op->u.dense.w_std * op->u.dense.w_std).s, code_lit(op->u.dense.b_std * op->u.dense.b_std).s,
              op->pos.line);
}

/* An activation on a plane or a vector's lanes, reading its record
 * (IrOp.rec): ReLU from √v records, a built-in's own plane function (a
 * library copy for libtcc), else the generic one with the dual. */
static void emit_act_call(Em *e, const IrOp *op, const char *S, const char *T, const char *geom)
{
    const ActDef *def = op->u.act.def;
    size_t at = op->rec.at;
    char name[32];
    if (op->rec.sqrt) {
        code_line(&e->c, "ntkc_relu_plane`(%s, %s, %s, v1 + %zu * v1s, bc, v2 + %zu); /* line %d */", S, T, geom, at,
                  at * LANES, op->pos.line);
        return;
    }
    const char *p = act_params(e, &op->u.act, name, sizeof name);
    int own = prim_act_has_block(def) && !e->c.single; /* float32: the generic plane, float64 duals */
    if (own)
        need_act_plane(e, def);
    else
        need_dual(e, def);
    const char *id = code_ident(&e->c, def->name);
    if (own)
        code_line(&e->c, "ntkc_act_plane_%s(%s, %s, %s, %s, v1 + %zu * v1s, bc, v2 + %zu); /* %s, line %d */", id, p, S,
                  T, geom, at, at * LANES, id, op->pos.line);
    else
        code_line(&e->c, "ntkc_act_plane`(ntkc_dual_%s, %s, %s, %s, %s, v1 + %zu * v1s, bc, v2 + %zu); /* %s, line %d */",
                  id, p, S, T, geom, at, at * LANES, id, op->pos.line);
}

static void emit_plane_act(Em *e, const IrOp *op, int S, int T)
{
    char g[256], s[16], t[16];
    emit_fill(e, op, S, op->rec.sqrt ? "ntkc_fill_relu" : "ntkc_fill");
    code_format(s, sizeof s, "pl[%d]", S);
    code_format(t, sizeof t, "pl[%d]", T);
    emit_act_call(e, op, s, t, geom(e, g, sizeof g));
}

/* Each branch works on a copy of the input, except the last, which takes
 * the input itself; an identity branch adds the input directly. */
static void emit_plane_fanout(Em *e, const IrFanout *f, int *S, int *T)
{
    int Sa = slot_new(e), Ta = slot_new(e), consumed = 0;
    char g[256];
    geom(e, g, sizeof g);
    size_t h0 = e->h, w0 = e->w;
    long sh0 = e->sh, sw0 = e->sw;
    int ch0 = e->ch, cw0 = e->cw;
    code_line(&e->c, "/* %s: %zu branches */", f->residual ? "residual" : "fanout", f->nbranches);
    for (size_t b = 0; b < f->nbranches; b++) {
        const IrBranch *br = &f->branches[b];
        int Sb = *S, Tb = *T;
        e->h = h0, e->w = w0, e->sh = sh0, e->sw = sw0, e->ch = ch0, e->cw = cw0;
        if (br->nops > 0 && b + 1 < f->nbranches) {
            Sb = slot_new(e), Tb = slot_new(e);
            code_line(&e->c, "ntkc_copy`(pl[%d], pl[%d], ntkc_area`(%s) * NTKC_LANES);", Sb, *S, g);
            code_line(&e->c, "ntkc_copy`(pl[%d], pl[%d], ntkc_area`(%s) * NTKC_LANES);", Tb, *T, g);
        }
        consumed |= br->nops > 0 && b + 1 == f->nbranches;
        emit_plane_ops(e, br->ops, br->nops, &Sb, &Tb);
        char go[256];
        code_line(&e->c, "ntkc_fanin`(%d, %zu, %zu, %s, pl[%d], pl[%d], pl[%d], pl[%d], ntkc_area`(%s) * NTKC_LANES);",
             (int)f->mode, b, f->nbranches, code_lit(br->scale * br->scale).s, Sa, Ta, Sb, Tb, geom(e, go, sizeof go));
        if (br->nops > 0) {
            slot_free(e, Sb);
            slot_free(e, Tb);
        }
    }
    if (!consumed) {
        slot_free(e, *S);
        slot_free(e, *T);
    }
    *S = Sa;
    *T = Ta;
}

static void emit_plane_ops(Em *e, const IrOp *ops, size_t n, int *S, int *T)
{
    char g[256];
    for (size_t i = 0; i < n && e->err->code == DIAG_OK; i++) {
        const IrOp *op = &ops[i];
        switch (op->kind) {
        case IR_CONV:
            emit_plane_conv(e, op, S, T);
            break;
        case IR_DENSE: {
            if (e->net->param == PARAM_STANDARD && !op->u.dense.frozen) { /* a 1×1 conv (fan-in × Σ enters Θ) */
                IrOp as_conv = *op;
                const IrDense *d = &op->u.dense;
                as_conv.kind = IR_CONV;
                as_conv.u.conv = (IrConv){.w_std = d->w_std, .b_std = d->b_std, .has_bias = d->has_bias,
                                          .width = d->width, .fan_in = d->fan_in,
                                          .win = {.kh = 1, .kw = 1, .sh = 1, .sw = 1, .pad = IR_PAD_VALID,
                                                  .dh = 1, .dw = 1}};
                as_conv.out = (IrShape){e->h, e->w, 1, 0};
                emit_plane_conv(e, &as_conv, S, T);
                break;
            }
            char s[16], t[16];
            code_format(s, sizeof s, "pl[%d]", *S);
            code_format(t, sizeof t, "pl[%d]", *T);
            emit_dense_call(e, op, s, t, geom(e, g, sizeof g));
            break;
        }
        case IR_ACT:
            emit_plane_act(e, op, *S, *T);
            break;
        case IR_LAYER_NORM:
            if (op->u.ln.axes >= IR_LN_DEPTH) { /* volumes run on the all-pairs back end (lowering) */
                diag_internal(e->err, "image emitter: a volume's layer_norm axes at line %d", op->pos.line);
                return;
            }
            emit_fill(e, op, *S, "ntkc_fill");
            if (op->u.ln.axes != IR_LN_CHANNELS) { /* the records become the group means */
                code_line(&e->c, "if (fill && pi == 0)");
                code_line(&e->c, "    ntkc_fill_ln_axes`(fill, v1, v2, %zu, %zu, %zu, %d);", op->rec.at, e->h, e->w,
                          (int)op->u.ln.axes);
            }
            code_line(&e->c, "ntkc_ln_plane`(pl[%d], pl[%d], %s, v1 + %zu * v1s, bc, v2 + %zu, %s); /* layer_norm, line %d */",
                 *S, *T, geom(e, g, sizeof g), op->rec.at, op->rec.at * LANES, code_lit(op->u.ln.eps).s, op->pos.line);
            break;
        case IR_FANOUT:
            emit_plane_fanout(e, &op->u.fanout, S, T);
            break;
        case IR_DROPOUT: { /* emit_dropout.c: the plane at offset (0, 0) */
            char s[16], t[16], a[80], b[80];
            snprintf(s, sizeof s, "pl[%d]", *S);
            snprintf(t, sizeof t, "pl[%d]", *T);
            offsets(e, a, b, sizeof a);
            emit_dropout(&e->c, op, s, t, geom(e, g, sizeof g), a, b);
            break;
        }
        default:
            diag_internal(e->err, "image emitter: op at line %d is not plane-wise", op->pos.line);
            return;
        }
    }
}

/* ---- segments ----------------------------------------------------------- */

static void strides(const IrOp *ops, size_t n, long *sh, long *sw)
{
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind == IR_CONV) {
            *sh *= ops[i].u.conv.win.sh;
            *sw *= ops[i].u.conv.win.sw;
        } else if (ops[i].kind == IR_FANOUT) {
            const IrBranch *b = &ops[i].u.fanout.branches[0];
            strides(b->ops, b->nops, sh, sw);
        }
    }
}

/* One axis of a segment while planning it: how the planes hold it where the
 * segment starts and at the current op (AX_OPEN there: as at the start). */
typedef struct Axis {
    int start, cur;
} Axis;

static int axis_now(const Axis *x) { return x->cur != AX_OPEN ? x->cur : x->start; }

/* A conv along one axis (window k, stride s, input size n): 0 when the
 * planes cannot hold its input as they are, else the axis updated. */
static int plan_conv_axis(Axis *x, int k, int s, IrPadding pad, size_t n)
{
    int need = conv_axis_need(k, s, pad);
    if (need == AX_OPEN)
        return 1;
    int now = axis_now(x);
    if (now != AX_OPEN && now != need)
        return 0;
    if (x->start == AX_OPEN)
        x->start = need;
    x->cur = conv_axis_out(need, k, s, pad, n);
    return 1;
}

static int plan_ops(const IrOp *ops, size_t n, size_t h, size_t w, Axis ax[2]);

/* Every branch starts from the fanout's state and they must end alike. The
 * first pass lets any branch fix how the segment starts; the second walks
 * every branch from that start, so their ends compare. */
static int plan_fanout(const IrFanout *f, size_t h, size_t w, Axis ax[2])
{
    Axis in[2] = {ax[0], ax[1]}, first[2] = {ax[0], ax[1]};
    for (int pass = 0; pass < 2; pass++)
        for (size_t b = 0; b < f->nbranches; b++) {
            Axis bx[2] = {{ax[0].start, in[0].cur}, {ax[1].start, in[1].cur}};
            if (!plan_ops(f->branches[b].ops, f->branches[b].nops, h, w, bx))
                return 0;
            ax[0].start = bx[0].start, ax[1].start = bx[1].start;
            if (pass == 0)
                continue;
            if (b == 0)
                first[0] = bx[0], first[1] = bx[1];
            else if (axis_now(&bx[0]) != axis_now(&first[0]) || axis_now(&bx[1]) != axis_now(&first[1]))
                return 0;
        }
    ax[0].cur = first[0].cur, ax[1].cur = first[1].cur;
    return 1;
}

/* Walks ops on an h×w input from the axes' state; 0 when a conv needs its
 * input held another way than the planes hold it there. */
static int plan_ops(const IrOp *ops, size_t n, size_t h, size_t w, Axis ax[2])
{
    for (size_t i = 0; i < n; i++) {
        const IrOp *op = &ops[i];
        if (op->kind == IR_CONV) {
            const IrWindow *win = &op->u.conv.win;
            if (!plan_conv_axis(&ax[0], win->kh, win->sh, win->pad, h) ||
                !plan_conv_axis(&ax[1], win->kw, win->sw, win->pad, w))
                return 0;
        } else if (op->kind == IR_FANOUT && !plan_fanout(&op->u.fanout, h, w, ax)) {
            return 0;
        }
        if (op->out.spatial)
            h = op->out.h, w = op->out.w;
    }
    return 1;
}

/* Splits the image part of the net into segments; returns their count or 0.
 * A segment ends at a pool, at the head, or before an op whose convs need
 * an axis held the other way (circular or not) than the planes hold it. */
static size_t plan_segments(Em *e, const IrOp *ops, size_t nops, size_t h, size_t w, int branch, Segment *segs,
                            size_t cap)
{
    const IrNet *net = e->net;
    size_t nseg = 0, start = 0;
    Axis ax[2] = {{AX_OPEN, AX_OPEN}, {AX_OPEN, AX_OPEN}};
    for (size_t i = 0; i <= nops; i++) {
        const IrOp *op = i < nops ? &ops[i] : NULL;
        SegEnd kind = END_COPY;
        Axis before[2] = {ax[0], ax[1]};
        if (op && (op->kind == IR_POOL || emit_is_conv_variant(op))) {
            kind = END_POOL; /* conv_transpose, conv_local: emit_conv_variants.c */
        } else if (op && op->kind == IR_FANOUT && ir_fanout_reduces(&op->u.fanout)) {
            kind = END_REDUCE; /* emit_reduce_fanout: the image part ends in its branches */
        } else if (op && op->kind == IR_FANOUT && ir_fanout_on_pairs(&op->u.fanout)) {
            kind = END_PAIRS; /* emit_pairs_fanout */
        } else if (op && (op->kind == IR_GLOBAL_POOL || op->kind == IR_FLATTEN)) {
            kind = op->kind == IR_FLATTEN ? END_FLATTEN : END_GLOBAL;
        } else if (op) {
            size_t hi = i > start ? ops[i - 1].out.h : h, wi = i > start ? ops[i - 1].out.w : w;
            if (plan_ops(op, 1, hi, wi, ax))
                continue;
            Axis fresh[2] = {{AX_OPEN, AX_OPEN}, {AX_OPEN, AX_OPEN}};
            if (i == start || !plan_ops(op, 1, hi, wi, fresh)) {
                diag_at(e->err, op->pos, NULL,
                        "net '%s': inside one residual/fanout block, a conv with padding=circular follows a conv "
                        "with other padding (or the other way round), or follows a strided circular conv whose "
                        "stride does not divide the image size: not supported yet",
                        net->name);
                return 0;
            }
            ax[0] = before[0], ax[1] = before[1];
        } else if (branch && start < nops) { /* a branch's last plane-wise ops */
            kind = END_COPY;
        } else {
            break;
        }
        if (nseg == cap) {
            diag_at(e->err, op ? op->pos : ops[0].pos, NULL, "net '%s' has too many pooling layers for the image emitter",
                    net->name);
            return 0;
        }
        Segment *s = &segs[nseg++];
        *s = (Segment){.ops = ops, .begin = start, .end = i, .kind = kind, .term = kind == END_COPY ? NULL : op,
                       .ch0 = ax[0].start == AX_TORUS, .cw0 = ax[1].start == AX_TORUS,
                       .che = axis_now(&ax[0]) == AX_TORUS, .cwe = axis_now(&ax[1]) == AX_TORUS,
                       .h0 = h, .w0 = w, .th = 1, .tw = 1};
        strides(ops + start, i - start, &s->th, &s->tw);
        s->he = i > start ? ops[i - 1].out.h : h;
        s->we = i > start ? ops[i - 1].out.w : w;
        if (kind == END_GLOBAL || kind == END_FLATTEN || kind == END_REDUCE || op == NULL)
            return nseg;
        int past = kind == END_POOL || kind == END_PAIRS; /* the op ends this segment and starts none */
        h = past ? op->out.h : s->he;
        w = past ? op->out.w : s->we;
        start = past ? i + 1 : i;
        ax[0] = ax[1] = (Axis){AX_OPEN, AX_OPEN};
        if (kind == END_COPY)
            i--; /* the op that forced the split starts the next segment */
    }
    if (branch)
        return nseg; /* the branch ended on a pool or pairs fanout (or is empty) */
    diag_internal(e->err, "net '%s' does not end its image part with flatten or global pooling", net->name);
    return 0;
}

/* Pixel-pair arrays are needed only where segments meet. */
static void track_big(Em *e, size_t h, size_t w)
{
    /* saturated (grids of up to 1e12 pixels square past size_t): the
     * workspace sum then exceeds INT_MAX and the layout refuses the net */
    size_t p = h * w, n = p > 0 && p > (SIZE_MAX >> 12) / p ? SIZE_MAX >> 12 : p * p * LANES;
    e->big = n > e->big ? n : e->big;
}

/* The pool ending segment s, on its pixel-pair arrays: ntkc_pool4(X, Y, t1,
 * t2, H, W, Ho, Wo, window, circular, descriptor, row scale, column scale),
 * then for normalize_edges ntkc_pool4_edges(Y, the same geometry). */
static void emit_pool(Em *e, const Segment *s)
{
    const IrOp *op = s->term;
    const IrWindow *w = &op->u.pool.win;
    int avg = op->u.pool.average;
    int edges = avg && op->u.pool.normalize_edges; /* divide by the in-bounds counts after summing */
    track_big(e, op->out.h, op->out.w);
    code_line(&e->c, "/* %s %dx%d stride %dx%d, line %d */", avg ? "avg_pool" : "sum_pool", w->kh, w->kw, w->sh, w->sw,
              op->pos.line);
    CodeArgs ga;
    code_args_init(&ga);
    code_arg_size(&ga, s->he);
    code_arg_size(&ga, s->we);
    code_arg_size(&ga, op->out.h);
    code_arg_size(&ga, op->out.w);
    emit_window_args(&ga, w, 0);
    code_arg_int(&ga, w->pad == IR_PAD_CIRCULAR);
    emit_row_args(&ga, op, e->err);
    for (int k = 0; k < 2; k++) {
        code_line(&e->c, "ntkc_pool4`(%s, %s, t1, t2, %s, %s, %s);", k ? "bT" : "bS", k ? "inT" : "inS",
                  code_args_text(&ga), code_lit(avg && !edges ? 1.0 / w->kh : 1.0).s,
                  code_lit(avg && !edges ? 1.0 / w->kw : 1.0).s);
        if (edges)
            code_line(&e->c, "ntkc_pool4_edges`(%s, %s);", k ? "inT" : "inS", code_args_text(&ga));
    }
    code_args_free(&ga);
}

typedef struct BranchJoin BranchJoin;
static const BranchJoin *segment_join(SegEnd kind);
static void emit_pairs_branches(Em *e, const IrOp *op, size_t h0, size_t w0, SegEnd kind);

/* The plane loop of one segment; `from` is "x" or the 4-D arrays to load. */
static void emit_segment(Em *e, const Segment *s, size_t index, int from_x)
{
    if (segment_join(s->kind) && s->begin == s->end && !from_x) { /* inS, inT hold its input already */
        emit_pairs_branches(e, s->term, s->h0, s->w0, s->kind);
        return;
    }
    e->seg = s;
    e->h = s->h0, e->w = s->w0, e->sh = 1, e->sw = 1, e->ch = s->ch0, e->cw = s->cw0;
    size_t na = s->kind == END_FLATTEN ? 1 : s->che ? s->he : 2 * s->he - 1;
    size_t nb = s->kind == END_FLATTEN ? 1 : s->cwe ? s->we : 2 * s->we - 1;
    code_line(&e->c, "/* segment %zu: %zux%zu -> %zux%zu, %zu plane%s%s */", index, s->h0, s->w0, s->he, s->we, na * nb,
         na * nb == 1 ? " (same-pixel pairs only)" : "s", s->ch0 || s->cw0 ? ", circular" : "");
    code_line(&e->c, "for (int l = 0; l < NTKC_LANES; l++)");
    code_line(&e->c, "    as[l] = 0.0, at[l] = 0.0;");
    code_line(&e->c, "for (int pi = 0; pi < %zu; pi++) {", na * nb);
    e->c.depth++;
    code_line(&e->c, "int ae = ntkc_offset`(pi / %zu, %d), be = ntkc_offset`(pi %% %zu, %d);", nb, s->che, nb, s->cwe);
    code_line(&e->c, "(void)ae, (void)be;");

    int S = slot_new(e), T = slot_new(e);
    char a[80], b[80];
    offsets(e, a, b, sizeof a);
    if (from_x) {
        code_line(&e->c, "ntkc_load_x`(X1r, bc, X2, %zu, %zu, %zu, %s, %s, %d, %d, pl[%d], pl[%d]);", s->h0, s->w0, e->net->input.c,
             a, b, s->ch0, s->cw0, S, T);
    } else {
        code_line(&e->c, "ntkc_load_plane`(inS, pl[%d], %zu, %zu, %s, %s, %d, %d);", S, s->h0, s->w0, a, b, s->ch0, s->cw0);
        code_line(&e->c, "ntkc_load_plane`(inT, pl[%d], %zu, %zu, %s, %s, %d, %d);", T, s->h0, s->w0, a, b, s->ch0, s->cw0);
    }
    emit_plane_ops(e, s->ops + s->begin, s->end - s->begin, &S, &T);
    if (s->kind == END_POOL || s->kind == END_COPY || segment_join(s->kind)) {
        code_line(&e->c, "ntkc_store_plane`(bS, pl[%d], %zu, %zu, ae, be, %d, %d);", S, s->he, s->we, s->che, s->cwe);
        code_line(&e->c, "ntkc_store_plane`(bT, pl[%d], %zu, %zu, ae, be, %d, %d);", T, s->he, s->we, s->che, s->cwe);
        track_big(e, s->he, s->we);
    } else {
        char g[256];
        geom(e, g, sizeof g);
        code_line(&e->c, "ntkc_sum`(pl[%d], ntkc_area`(%s), as);", S, g);
        code_line(&e->c, "ntkc_sum`(pl[%d], ntkc_area`(%s), at);", T, g);
    }
    slot_free(e, S);
    slot_free(e, T);
    e->c.depth--;
    code_line(&e->c, "}");
    double P = (double)(s->he * s->we);
    if (s->kind == END_POOL && emit_is_conv_variant(s->term)) {
        size_t gh, gw;
        emit_conv_variant(&e->c, s->term, e->net->param == PARAM_STANDARD, s->he, s->we, &gh, &gw, e->err);
        track_big(e, gh, gw);
    } else if (s->kind == END_POOL) {
        emit_pool(e, s);
    } else if (s->kind == END_COPY || segment_join(s->kind)) {
        code_line(&e->c, "ntkc_copy`(inS, bS, %zu * NTKC_LANES);", s->he * s->he * s->we * s->we);
        code_line(&e->c, "ntkc_copy`(inT, bT, %zu * NTKC_LANES);", s->he * s->he * s->we * s->we);
        if (s->kind != END_COPY)
            emit_pairs_branches(e, s->term, s->he, s->we, s->kind);
    } else if (s->kind == END_FLATTEN) {
        code_line(&e->c, "for (int l = 0; l < NTKC_LANES; l++) /* flatten, line %d */", s->term->pos.line);
        code_line(&e->c, "    s[l] = as[l] / %s, t[l] = at[l] / %s;", code_lit(P).s, code_lit(P).s);
    } else {
        double c = s->term->u.gpool.average ? 1.0 / (P * P) : 1.0;
        code_line(&e->c, "for (int l = 0; l < NTKC_LANES; l++) /* global pooling, line %d */", s->term->pos.line);
        code_line(&e->c, "    s[l] = as[l] * %s, t[l] = at[l] * %s;", code_lit(c).s, code_lit(c).s);
    }
}

/* ---- fanouts whose branches start from pixel-pair arrays ------------------ */

/* One such fanout: its op, the grid of its input inS, inT (h0×h0×w0×w0,
 * n0 pixel pairs) and its nesting level among them (each level has its own
 * saved input and accumulator past t1, t2). */
typedef struct PairsFanout {
    const IrOp *op;
    const IrFanout *f;
    size_t h0, w0, n0;
    int level;
} PairsFanout;

/* How the branches' outputs join: one of these a kind (the segment end that
 * plan_segments gives the fanout). The walker (emit_pairs_branches) saves the
 * input, runs each branch as segments of its own from it, and calls `join`
 * after each; `open` declares the accumulator, `close` makes it the output. */
struct BranchJoin {
    const char *what; /* the block's comment: "on pixel-pair arrays", "to vectors" */
    void (*open)(Em *e, const PairsFanout *p);
    void (*join)(Em *e, const PairsFanout *p, size_t b, const Segment *segs, size_t nseg);
    void (*close)(Em *e, const PairsFanout *p);
};

/* Branches that change the grid or a concatenation along a spatial axis
 * (ir_fanout.h): each output joins the accumulator acS, acT by its pixel
 * pairs (ntkc_fanin4). */
static size_t concat_offset(const IrFanout *f, size_t upto, int axis, size_t h0, size_t w0)
{
    size_t off = 0;
    for (size_t b = 0; b < upto; b++) {
        const IrBranch *br = &f->branches[b];
        off += axis == 1 ? (br->nops ? br->ops[br->nops - 1].out.h : h0) : (br->nops ? br->ops[br->nops - 1].out.w : w0);
    }
    return off;
}

static int concat_axis(const IrFanout *f) { return f->mode != IR_FANIN_CONCAT ? 0 : (int)f->axis; }

static void pairs_open(Em *e, const PairsFanout *p)
{
    track_big(e, p->op->out.h, p->op->out.w);
    code_line(&e->c, "@ *svS = t2 + $_BIG * %d, *svT = svS + $_BIG, *acS = svT + $_BIG, *acT = acS + $_BIG;",
              1 + 4 * p->level);
}

static void pairs_join(Em *e, const PairsFanout *p, size_t b, const Segment *segs, size_t nseg)
{
    (void)segs, (void)nseg;
    const IrFanout *f = p->f;
    const IrBranch *br = &f->branches[b];
    size_t hb = br->nops ? br->ops[br->nops - 1].out.h : p->h0, wb = br->nops ? br->ops[br->nops - 1].out.w : p->w0;
    int axis = concat_axis(f);
    code_line(&e->c, "ntkc_fanin4`(%d, %d, %zu, %zu, %s, acS, acT, inS, inT, %zu, %zu, %zu, %zu, %zu);", (int)f->mode,
              axis, b, f->nbranches, code_lit(br->scale * br->scale).s, p->op->out.h, p->op->out.w, hb, wb,
              axis ? concat_offset(f, b, axis, p->h0, p->w0) : 0);
}

static void pairs_close(Em *e, const PairsFanout *p)
{
    const IrFanout *f = p->f;
    size_t ho = p->op->out.h, wo = p->op->out.w;
    int axis = concat_axis(f);
    for (size_t i = 0; axis && i < f->nbranches; i++) /* identity × identity: ir_fanout.h */
        for (size_t j = 0; j < f->nbranches; j++)
            if (i != j && f->branches[i].nops == 0 && f->branches[j].nops == 0)
                code_line(&e->c, "ntkc_cross4`(%d, acS, acT, svS, svT, %zu, %zu, %zu, %zu, %zu, %zu);", axis, ho, wo,
                          p->h0, p->w0, concat_offset(f, i, axis, p->h0, p->w0), concat_offset(f, j, axis, p->h0, p->w0));
    code_line(&e->c, "ntkc_copy`(inS, acS, %zu * NTKC_LANES);", ho * ho * wo * wo);
    code_line(&e->c, "ntkc_copy`(inT, acT, %zu * NTKC_LANES);", ho * ho * wo * wo);
}

/* Branches that reduce the image to vectors (global pooling, flatten;
 * ir_fanout.h): each reduces to the scalars s, t, runs its vector layers,
 * and joins s_acc, t_acc as a vector fanout's branches do. */
static void reduce_open(Em *e, const PairsFanout *p)
{
    code_line(&e->c, "@ *svS = t2 + $_BIG * %d, *svT = svS + $_BIG;", 1 + 4 * p->level);
    code_line(&e->c, "@ s_acc[NTKC_LANES], t_acc[NTKC_LANES];");
}

static void reduce_join(Em *e, const PairsFanout *p, size_t b, const Segment *segs, size_t nseg)
{
    const IrBranch *br = &p->f->branches[b];
    if (nseg == 0 || (segs[nseg - 1].kind != END_GLOBAL && segs[nseg - 1].kind != END_FLATTEN &&
                      segs[nseg - 1].kind != END_REDUCE)) {
        if (e->err->code == DIAG_OK)
            diag_internal(e->err, "image emitter: branch %zu of the fanout at line %d does not reduce to a vector",
                          b + 1, p->op->pos.line);
        return;
    }
    size_t first_vec = segs[nseg - 1].end + 1;
    emit_vec_ops(e, br->ops + first_vec, br->nops - first_vec);
    emit_vec_fanin(e, p->f, b);
}

static void reduce_close(Em *e, const PairsFanout *p)
{
    (void)p;
    emit_vec_fanin_end(e);
}

static const BranchJoin join_on_pairs = {"on pixel-pair arrays", pairs_open, pairs_join, pairs_close};
static const BranchJoin join_to_vectors = {"to vectors", reduce_open, reduce_join, reduce_close};

/* The join of a segment that ends on a fanout of this kind, or NULL. */
static const BranchJoin *segment_join(SegEnd kind)
{
    return kind == END_PAIRS ? &join_on_pairs : kind == END_REDUCE ? &join_to_vectors : NULL;
}

/* The fanout ending a segment of kind `kind`, on the pixel-pair arrays inS,
 * inT (h0×h0×w0×w0): every branch from a saved copy of the input. */
static void emit_pairs_branches(Em *e, const IrOp *op, size_t h0, size_t w0, SegEnd kind)
{
    const BranchJoin *j = segment_join(kind);
    const IrFanout *f = &op->u.fanout;
    PairsFanout p = {op, f, h0, w0, h0 * h0 * w0 * w0, e->pairs_depth++};
    e->pairs_levels = e->pairs_depth > e->pairs_levels ? e->pairs_depth : e->pairs_levels;
    code_line(&e->c, "{ /* %s %s: %zu branches, line %d */", f->residual ? "residual" : "fanout", j->what,
              f->nbranches, op->pos.line);
    e->c.depth++;
    j->open(e, &p);
    code_line(&e->c, "ntkc_copy`(svS, inS, %zu * NTKC_LANES);", p.n0);
    code_line(&e->c, "ntkc_copy`(svT, inT, %zu * NTKC_LANES);", p.n0);
    for (size_t b = 0; b < f->nbranches && e->err->code == DIAG_OK; b++) {
        const IrBranch *br = &f->branches[b];
        code_line(&e->c, "/* branch %zu */", b + 1);
        if (b > 0) {
            code_line(&e->c, "ntkc_copy`(inS, svS, %zu * NTKC_LANES);", p.n0);
            code_line(&e->c, "ntkc_copy`(inT, svT, %zu * NTKC_LANES);", p.n0);
        }
        Segment segs[64];
        size_t nseg = plan_segments(e, br->ops, br->nops, h0, w0, 1, segs, sizeof segs / sizeof segs[0]);
        for (size_t k = 0; k < nseg && e->err->code == DIAG_OK; k++)
            emit_segment(e, &segs[k], k, 0);
        j->join(e, &p, b, segs, nseg);
    }
    j->close(e, &p);
    e->c.depth--;
    code_line(&e->c, "}");
    e->pairs_depth--;
}

/* Sizes the plane slots for every grid, those inside branches included. */
static void widest_plane(Em *e, const IrOp *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ops[i].out.spatial && ops[i].out.h * ops[i].out.w * LANES > e->plane)
            e->plane = ops[i].out.h * ops[i].out.w * LANES;
        if (ops[i].kind == IR_FANOUT)
            for (size_t b = 0; b < ops[i].u.fanout.nbranches; b++)
                widest_plane(e, ops[i].u.fanout.branches[b].ops, ops[i].u.fanout.branches[b].nops);
    }
}

/* Emits the whole entry body; returns the index of the first vector op. */
static size_t emit_image_part(Em *e)
{
    Segment segs[256];
    size_t nseg = plan_segments(e, e->net->ops, e->net->nops, e->net->input.h, e->net->input.w, 0, segs,
                                sizeof segs / sizeof segs[0]);
    if (nseg == 0)
        return 0;
    e->plane = e->net->input.h * e->net->input.w * LANES;
    widest_plane(e, e->net->ops, e->net->nops);
    code_line(&e->c, "double as[NTKC_LANES], at[NTKC_LANES];");
    for (size_t k = 0; k < nseg && e->err->code == DIAG_OK; k++)
        emit_segment(e, &segs[k], k, k == 0);
    const Segment *last = &segs[nseg - 1];
    return last->end + 1;
}

/* ---- the translation unit ------------------------------------------------- */

/* The image runtime's macros and types, after the lane width of the ABI
 * (kernel_abi.h), which the runtime text uses but does not define. */
static void put_runtime_common(StrBuf *sb)
{
    sb_printf(sb, "#define NTKC_LANES %d /* kernel entries per pass: compiler/abi/kernel_abi.h */\n\n", NTKC_LANES);
    sb_puts(sb, emit_image_runtime_common);
}

void emit_image_host_source(StrBuf *sb)
{
    sb_puts(sb, "\n/* Image-kernel helpers (compiler/kernel_c/image_runtime.c) */\n#define NTKC_FN\n");
    put_runtime_common(sb);
    sb_puts(sb, emit_image_runtime_functions);
    /* and their float32 twins (image_runtime_f.c); their options pushed
     * again are popped here, the float64 ones at the end of the file */
    sb_puts(sb, emit_image_runtime_common_f);
    sb_puts(sb, emit_image_runtime_functions_f);
    sb_puts(sb, emit_image_runtime_end_f);
}

void emit_image_host_table(StrBuf *sb)
{
    emit_host_table_rows(sb, emit_image_runtime_names, emit_image_runtime_count);
    emit_host_table_rows(sb, emit_image_runtime_f_names, emit_image_runtime_f_count);
}

void emit_host_table_rows(StrBuf *sb, const char *const *names, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        sb_printf(sb, "    {\"%s\", (HostFn)%s},\n", names[i], names[i]);
}

/* The caller's half of an entry over an image input: its x2s lane by lane
 * (`xs`, an array of NTKC_LANES pointers) where the entry reads them. */
static void lanes_line(Code *c, const Em *e, const char *xs)
{
    if (e->x2_at)
        code_line(c, "ntkc_lanes`(%s, $_DIM, ws + $_X2_AT);", xs);
}

/* The sizes and offsets the functions below share, by name. */
static int emit_layout(Code *c, const Em *e, size_t ws)
{
    /* the records, then K(x, x), NNGP and NTK: the prep run computes the
     * whole entry (x, x) anyway, in the same operations as any other pair,
     * so duplicated inputs still get bit-identical entries */
    size_t ps = e->net->record + 2, lane_rec = ps * LANES;
    int bad = 0;
    code_enum_begin(c, "the layout of records and workspaces, in doubles");
    bad |= code_enum_item(c, "RECORD", ps);       /* one input's prep record */
    bad |= code_enum_item(c, "RECORD_NNGP", ps - 2);
    bad |= code_enum_item(c, "RECORD_NTK", ps - 1);
    bad |= code_enum_item(c, "LANE_RECORD", lane_rec); /* a record lane-expanded */
    bad |= code_enum_item(c, "WS_ENTRY", ws);     /* the entry's own workspace */
    /* then v1 and v2 (lane-expanded records), then scratch records for the
     * lanes past the end of a prep batch */
    bad |= code_enum_item(c, "WS_PREP", ws + 3 * lane_rec);
    bad |= code_enum_item(c, "WS_TILE", ws + lane_rec);
    bad |= code_enum_item(c, "WS_PAIRS", ws + 2 * lane_rec);
    if (e->plane) {
        size_t px = e->net->input.dim * LANES, off = (size_t)e->slots.peak * e->plane;
        bad |= code_enum_item(c, "DIM", e->net->input.dim);
        bad |= code_enum_item(c, "PLANES", (size_t)e->slots.peak);
        bad |= code_enum_item(c, "PLANE", e->plane);
        bad |= code_enum_item(c, "X1_AT", off);
        bad |= code_enum_item(c, "X2_AT", off + px);
        if (e->big) {
            bad |= code_enum_item(c, "BIG_AT", off + 2 * px);
            bad |= code_enum_item(c, "BIG", e->big);
        }
    }
    code_enum_end(c);
    code_blank(c);
    return bad;
}

static void emit_prep_fn(Code *c, const Em *e)
{
    code_line(c, "size_t $_prep_size(void) { return $_RECORD; }");
    code_blank(c);
    code_line(c, "int $_uses_gram(void) { return 0; }");
    code_blank(c);
    code_line(c, "void $_prep(size_t n, const double *x, size_t dim, @ *prep)");
    code_open(c, "{");
    code_line(c, "@ *ws = malloc($_WS_PREP * sizeof(@)), out[2 * NTKC_LANES];");
    code_line(c, "@ *v1, *v2, *spare;");
    code_open(c, "if (!ws) { /* no memory: poison the records so every entry reports non-finite */");
    code_line(c, "for (size_t k = 0; k < n * $_RECORD; k++)");
    code_line(c, "    prep[k] = 0.0 / 0.0;");
    code_line(c, "return;");
    code_close(c, "");
    code_line(c, "v1 = ws + $_WS_ENTRY, v2 = v1 + $_LANE_RECORD, spare = v2 + $_LANE_RECORD;");
    code_open(c, "for (size_t i0 = 0; i0 < n; i0 += NTKC_LANES) {");
    code_line(c, "const double *xl[NTKC_LANES];");
    code_line(c, "@ *rec[NTKC_LANES];");
    code_open(c, "for (int l = 0; l < NTKC_LANES; l++) {");
    code_line(c, "int real = i0 + l < n;");
    code_line(c, "xl[l] = x + (real ? i0 + l : i0) * dim;");
    code_line(c, "rec[l] = real ? prep + (i0 + l) * $_RECORD : spare + l * $_RECORD;");
    code_close(c, "");
    lanes_line(c, e, "xl");
    code_line(c, "$_entry(xl, xl, v1, v2, 0, rec, dim, ws, out);");
    code_line(c, "for (int l = 0; l < NTKC_LANES; l++)");
    code_line(c, "    rec[l][$_RECORD_NNGP] = out[l], rec[l][$_RECORD_NTK] = out[NTKC_LANES + l];");
    code_close(c, "");
    code_line(c, "free(ws);");
    code_close(c, "");
    code_blank(c);
}

static void emit_cols_fn(Code *c, const Em *e)
{
    code_line(c, "/* Rows x1 against columns x2, 8 columns (lanes) at a time: each group's");
    code_line(c, " * records (and inputs) are lane-expanded once and serve every row. */");
    code_line(c, "static size_t $_cols(size_t rows, size_t cols,");
    code_line(c, "    const double *x1, const @ *prep1,");
    code_line(c, "    const double *x2, const @ *prep2, size_t dim,");
    code_line(c, "    @ *nngp, @ *ntk, size_t ldo, @ *ws)");
    code_open(c, "{");
    code_line(c, "@ out[2 * NTKC_LANES], *v2 = ws + $_WS_ENTRY;");
    code_line(c, "size_t bad = 0;");
    code_open(c, "for (size_t j0 = 0; j0 < cols; j0 += NTKC_LANES) {");
    code_line(c, "size_t m = cols - j0 < NTKC_LANES ? cols - j0 : NTKC_LANES;");
    if (c->single) { /* the inputs stay double (kernel_abi.h) */
        code_line(c, "const double *x1l[NTKC_LANES], *x2l[NTKC_LANES];");
        code_line(c, "const float *r2[NTKC_LANES];");
    } else
        code_line(c, "const double *x1l[NTKC_LANES], *x2l[NTKC_LANES], *r2[NTKC_LANES];");
    code_open(c, "for (size_t l = 0; l < NTKC_LANES; l++) {");
    code_line(c, "size_t j = j0 + (l < m ? l : m - 1);");
    code_line(c, "x2l[l] = x2 + j * dim;");
    code_line(c, "r2[l] = prep2 + j * $_RECORD;");
    code_close(c, "");
    code_line(c, "ntkc_expand`(v2, r2, $_RECORD);");
    lanes_line(c, e, "x2l");
    code_open(c, "for (size_t i = 0; i < rows; i++) {");
    code_line(c, "for (int l = 0; l < NTKC_LANES; l++)");
    code_line(c, "    x1l[l] = x1 + i * dim;");
    code_line(c, "$_entry(x1l, x2l, (@ *)(prep1 + i * $_RECORD), v2, 1, 0, dim, ws, out);");
    code_line(c, "for (size_t l = 0; l < m; l++)");
    code_line(c, "    bad += ntkc_put`(nngp, ntk, i * ldo + j0 + l, out[l], out[NTKC_LANES + l]);");
    code_close(c, "");
    code_close(c, "");
    code_line(c, "return bad;");
    code_close(c, "");
    code_blank(c);
}

static void emit_tile_fn(Code *c)
{
    emit_tile_signature(c, "");
    code_open(c, "{");
    code_line(c, "@ *ws = malloc($_WS_TILE * sizeof(@));");
    code_line(c, "size_t bad;");
    code_line(c, "(void)gram, (void)ldg;");
    code_line(c, "if (!ws)");
    code_line(c, "    return rows * cols;");
    code_line(c, "bad = $_cols(rows, cols, x1, prep1, x2, prep2, dim, nngp, ntk, ldo, ws);");
    code_line(c, "free(ws);");
    code_line(c, "return bad;");
    code_close(c, "");
    code_blank(c);
}

static void emit_pairs_fn(Code *c, const Em *e)
{
    code_line(c, "/* np <= NTKC_LANES entries (pi[l], pj[l]) of one input set in one pass,");
    code_line(c, " * both sides' records lane-expanded: how the triangle's diagonal blocks");
    code_line(c, " * fill every lane. */");
    code_line(c, "static size_t $_pairs(int np, const size_t *pi, const size_t *pj, const double *x,");
    code_line(c, "    const @ *prep, size_t dim, @ *nngp, @ *ntk, size_t ldo,");
    code_line(c, "    @ *ws)");
    code_open(c, "{");
    code_line(c, "@ out[2 * NTKC_LANES], *v1 = ws + $_WS_ENTRY, *v2 = v1 + $_LANE_RECORD;");
    if (c->single) {
        code_line(c, "const double *x1l[NTKC_LANES], *x2l[NTKC_LANES];");
        code_line(c, "const float *r1[NTKC_LANES], *r2[NTKC_LANES];");
    } else
        code_line(c, "const double *x1l[NTKC_LANES], *x2l[NTKC_LANES], *r1[NTKC_LANES], *r2[NTKC_LANES];");
    code_line(c, "size_t bad = 0;");
    code_open(c, "for (int l = 0; l < NTKC_LANES; l++) {");
    code_line(c, "size_t i = pi[l < np ? l : np - 1], j = pj[l < np ? l : np - 1];");
    code_line(c, "x1l[l] = x + i * dim, x2l[l] = x + j * dim;");
    code_line(c, "r1[l] = prep + i * $_RECORD, r2[l] = prep + j * $_RECORD;");
    code_close(c, "");
    code_line(c, "ntkc_expand`(v1, r1, $_RECORD);");
    code_line(c, "ntkc_expand`(v2, r2, $_RECORD);");
    lanes_line(c, e, "x2l");
    code_line(c, "$_entry(x1l, x2l, v1, v2, 0, 0, dim, ws, out);");
    code_line(c, "for (int l = 0; l < np; l++)");
    code_line(c, "    bad += ntkc_put`(nngp, ntk, pi[l] * ldo + pj[l], out[l], out[NTKC_LANES + l]);");
    code_line(c, "return bad;");
    code_close(c, "");
    code_blank(c);
}

static void emit_tri_fn(Code *c)
{
    code_line(c, "/* The upper triangle (i <= j) of the kernel of x with itself: the diagonal");
    code_line(c, " * from the records, above the 8x8 diagonal blocks by column groups, the");
    code_line(c, " * blocks' other 28 entries each packed 8 to a pass. */");
    code_line(c, "size_t $_tri(size_t n, const double *x, const @ *prep, size_t dim,");
    code_line(c, "    @ *nngp, @ *ntk, size_t ldo)");
    code_open(c, "{");
    code_line(c, "@ *ws = malloc($_WS_PAIRS * sizeof(@));");
    code_line(c, "size_t bad = 0, pi[NTKC_LANES], pj[NTKC_LANES];");
    code_line(c, "int np = 0;");
    code_line(c, "if (!ws)");
    code_line(c, "    return n * n;");
    code_line(c, "for (size_t j0 = NTKC_LANES; j0 < n; j0 += NTKC_LANES)");
    code_line(c, "    bad += $_cols(j0, n - j0 < NTKC_LANES ? n - j0 : NTKC_LANES, x, prep, x + j0 * dim,");
    code_line(c, "        prep + j0 * $_RECORD, dim, nngp ? nngp + j0 : 0, ntk ? ntk + j0 : 0, ldo, ws);");
    code_line(c, "for (size_t i = 0; i < n; i++) /* K(x, x), computed by the prep run */");
    code_line(c, "    bad += ntkc_put`(nngp, ntk, i * ldo + i, prep[i * $_RECORD + $_RECORD_NNGP],");
    code_line(c, "                    prep[i * $_RECORD + $_RECORD_NTK]);");
    code_open(c, "for (size_t b0 = 0; b0 < n; b0 += NTKC_LANES) {");
    code_line(c, "size_t b1 = n - b0 < NTKC_LANES ? n : b0 + NTKC_LANES;");
    code_line(c, "for (size_t i = b0; i < b1; i++)");
    code_open(c, "    for (size_t j = i + 1; j < b1; j++) {");
    code_line(c, "    pi[np] = i, pj[np] = j;");
    code_open(c, "    if (++np == NTKC_LANES) {");
    code_line(c, "    bad += $_pairs(np, pi, pj, x, prep, dim, nngp, ntk, ldo, ws);");
    code_line(c, "    np = 0;");
    code_close(c, "");
    code_close(c, "");
    code_close(c, "");
    code_line(c, "if (np)");
    code_line(c, "    bad += $_pairs(np, pi, pj, x, prep, dim, nngp, ntk, ldo, ws);");
    code_line(c, "free(ws);");
    code_line(c, "return bad;");
    code_close(c, "");
    code_blank(c);
}

static void emit_functions(Code *c, const Em *e)
{
    emit_prep_fn(c, e);
    emit_cols_fn(c, e);
    emit_tile_fn(c);
    emit_pairs_fn(c, e);
    emit_tri_fn(c);
    emit_tile_standalone(c, e->net);
}

/* The per-entry function: its head, the plane pointers, then the body the
 * walk over the ops wrote. */
static void emit_entry_head(Code *c, const Em *e)
{
    code_line(c, "/* NTKC_LANES entries (x1[l], x2[l]) at once. v2: the lane-expanded prep");
    code_line(c, " * records of the x2s; v1: the record of x1, the same in every lane (bc = 1)");
    code_line(c, " * or lane-expanded too (bc = 0). An image input's x2s are in the workspace");
    code_line(c, " * lane by lane already (the caller's ntkc_lanes). With fill != NULL (the prep");
    code_line(c, " * run, x1 = x2 lane by lane, bc = 0) the records are written into fill[l] and");
    code_line(c, " * into v1 = v2 as the computation reaches them. out: NNGP of each lane, then");
    code_line(c, " * NTK. */");
    code_line(c, "static void $_entry(const double *const *x1, const double *const *x2, @ *v1, @ *v2,");
    code_line(c, "    int bc, @ *const *fill, size_t dim, @ *ws, @ *out)");
    code_open(c, "{");
    code_line(c, "@ s[NTKC_LANES] = {0}, t[NTKC_LANES] = {0};");
    code_line(c, "size_t v1s = bc ? 1 : NTKC_LANES;");
    if (e->plane) {
        code_line(c, "@ *pl[$_PLANES];");
        /* X2 is filled by the caller, once per column group; x1 needs lanes
         * of its own only when they differ (bc = 0) and are not x2's (prep) */
        code_line(c, "@ *X1 = ws + $_X1_AT, *X2 = ws + $_X2_AT;");
        code_line(c, "const @ *X1r;");
        if (e->big) {
            code_line(c, "@ *bS = ws + $_BIG_AT, *bT = bS + $_BIG, *inS = bT + $_BIG, *inT = inS + $_BIG;");
            code_line(c, "@ *t1 = inT + $_BIG, *t2 = t1 + $_BIG;");
            code_line(c, "(void)bS, (void)bT, (void)inS, (void)inT, (void)t1, (void)t2;");
        }
    }
    code_line(c, "(void)x1, (void)x2, (void)v1, (void)v2, (void)fill, (void)dim, (void)ws, (void)bc, (void)v1s;");
    if (e->plane) {
        code_line(c, "for (int k = 0; k < $_PLANES; k++)");
        code_line(c, "    pl[k] = ws + k * $_PLANE;");
        code_line(c, "if (!bc && x1 != x2)");
        code_line(c, "    ntkc_lanes`(x1, $_DIM, X1);");
        if (c->single) { /* the runtime reads a shared x1 as it is: in float, in X1 (free when bc) */
            code_line(c, "if (bc)");
            code_line(c, "    for (int k = 0; k < $_DIM; k++)");
            code_line(c, "        X1[k] = (float)x1[0][k];");
            code_line(c, "X1r = bc || x1 != x2 ? X1 : X2;");
        } else {
            code_line(c, "X1r = bc ? x1[0] : x1 == x2 ? X2 : X1;");
        }
    }
}

char *emit_image_c(const IrNet *net, const char *source_name, Diag *err)
{
    return emit_image_c_prec(net, source_name, 0, err);
}

char *emit_image_c_prec(const IrNet *net, const char *source_name, int single, Diag *err)
{
    Em e = {.net = net, .err = err};
    emit_slots_init(&e.slots, 1);
    sb_init(&e.body);
    sb_init(&e.defs);
    code_init(&e.c, &e.body, net->name);
    e.c.single = single;
    e.c.depth = 1;
    size_t first_vec = 0;
    if (net->input.kind == IR_INPUT_IMAGE) {
        first_vec = emit_image_part(&e);
    } else {
        code_line(&e.c, "for (int l = 0; l < NTKC_LANES; l++) { /* the input kernel x1·x2/d */");
        code_line(&e.c, "    double g = 0.0;");
        code_line(&e.c, "    for (size_t k = 0; k < dim; k++)");
        code_line(&e.c, "        g += x1[l][k] * x2[l][k];");
        code_line(&e.c, "    s[l] = g / (double)dim, t[l] = 0.0;");
        code_line(&e.c, "}");
    }
    if (err->code == DIAG_OK)
        emit_vec_ops(&e, net->ops + first_vec, net->nops - first_vec);
    if (err->code != DIAG_OK) {
        sb_free(&e.body);
        sb_free(&e.defs);
        return NULL;
    }
    size_t ws = (size_t)e.slots.peak * e.plane + (e.plane ? 2 * net->input.dim * LANES : 0) + (e.big ? (6 + 4 * (size_t)e.pairs_levels) * e.big : 0) + 1;
    if (e.plane)
        e.x2_at = (size_t)e.slots.peak * e.plane + net->input.dim * LANES;
    StrBuf sb;
    Code c;
    emit_file_begin(&c, &sb, net, source_name, single);
    c.bad_name |= e.c.bad_name;
    code_line(&c, "#define NTKC_LANES %d /* kernel entries per pass: compiler/abi/kernel_abi.h */", NTKC_LANES);
    code_blank(&c);
    emit_runtime_kernels(&c, single ? &emit_image_runtime_common_f_parts : &emit_image_runtime_common_parts,
                         single ? &emit_image_runtime_functions_f_parts : &emit_image_runtime_functions_parts,
                         single ? &emit_image_runtime_f_decls_parts : &emit_image_runtime_decls_parts);
    code_text(&c, e.defs.data ? e.defs.data : "");
    code_blank(&c);
    if (emit_layout(&c, &e, ws) != 0) {
        diag_at(err, net->input.pos, NULL,
                "net '%s': one kernel entry needs more than %d doubles of workspace; use smaller images", net->name,
                INT_MAX);
        sb_free(&sb);
        sb_free(&e.body);
        sb_free(&e.defs);
        return NULL;
    }
    emit_entry_head(&c, &e);
    code_text(&c, e.body.data ? e.body.data : "");
    code_line(&c, "ntkc_copy`(out, s, NTKC_LANES);");
    code_line(&c, "ntkc_copy`(out + NTKC_LANES, t, NTKC_LANES);");
    code_close(&c, "");
    code_blank(&c);
    emit_functions(&c, &e);
    code_text(&c, single ? emit_image_runtime_end_f : emit_image_runtime_end);
    sb_free(&e.body);
    sb_free(&e.defs);
    return emit_finish(&c, &sb, err);
}
