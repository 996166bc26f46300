/* Emits the kernel of a net with attention as C99; the plan is described in
 * emit_attn.h. The per-entry function
 *   ntkcnet_NAME_entry(x1, x2, v1, v2, fill, ws, out)
 * computes out[0] = NNGP and out[1] = NTK of one pair from the prep records
 * v1, v2; with fill != NULL (x1 = x2, v1 = v2 = fill) it writes the record as
 * the computation reaches each part of it. */
#include "emit_attn.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "code.h"
#include "emit_attn_concat.h"
#include "emit_attn_resize.h"
#include "emit_attn_std.h"
#include "ir_args.h"
#include "emit_internal.h"
#include "emit_prims.h"
#include "emit_slots.h"
#include "kernel_text.h"


typedef struct Ea {
    const IrNet *net;
    Diag *err;
    StrBuf body, defs; /* the entry's body; duals and parameter arrays */
    EmitActSet duals;
    size_t nparams;
    size_t P;  /* pixels (of the current grid: a volume's windows may shrink it) */
    size_t P0; /* the input's: NTKC_P */
    int vec;   /* past the reduction to a vector: the slots hold one entry, positions are gone */
    int volume; /* input volume: windows in 3-D (ntkc_m_convv) */
    int unpadded; /* no input is padded (a volume not declared masked): no masks, no remasking */
    char np[32], npp[32]; /* the current P and P² as the C text says them */
    size_t gz, gh, gw;    /* the current grid: slices (a volume's, else 1), rows per slice, columns */
    size_t pmax;          /* the most positions a slot holds a side of (NTKC_PM): resizing may grow them */
    int resize_helper;    /* ntkc_m_axis_map written (emit_attn_resize.c) */
    int concat_helper;    /* ntkc_m_cat_block written (emit_attn_concat.c) */
    int resized;          /* past an image_resize: no padding, no remasking */
    size_t taps;          /* the most ints a window's tap table needs (NTKC_TAPS, attn_runtime.c) */
    EmitSlots slots; /* slots 0 and 1 are the matrix product's scratch (2·P²), 2 and 3 the inputs' */
    Code c; /* writes the entry function's body */
} Ea;

static int slot_new(Ea *e) { return emit_slot_new(&e->slots, e->err, "attention", e->net->name); }

static void slot_free(Ea *e, int k) { emit_slot_free(&e->slots, k); }

/* After a volume's window changed the grid to P positions. */
static void set_positions(Ea *e, size_t P)
{
    e->P = P;
    e->pmax = P > e->pmax ? P : e->pmax;
    snprintf(e->np, sizeof e->np, P == e->P0 ? "NTKC_P" : "%zu", P);
    snprintf(e->npp, sizeof e->npp, P == e->P0 ? "NTKC_PP" : "%zu", P * P);
}

/* A window of F taps onto Po positions: its tap table's ints (attn_runtime.c,
 * "Window tables"): F·(Po+1) + 2·F·Po·K, K the fold's positions per output. */
static void note_taps(Ea *e, size_t Po, size_t F, size_t K)
{
    size_t n = F * (Po + 1) + 2 * F * Po * K;
    e->taps = n > e->taps ? n : e->taps;
}

/* The activation's dual (once per net) and the name of its parameter array. */
static const char *act_setup(Ea *e, const IrAct *a, char *name, size_t size)
{
    if (emit_act_set_add(&e->duals, a->def, e->err, e->net->name))
        prim_emit_dual(&e->defs, a->def);
    return emit_act_param_array(&e->defs, a, &e->nparams, name, size);
}

/* ---- P×P matrices in slots pl[S], pl[T]; after the reduction, one entry ---- */

/* The entries of a kernel in a slot, and positions per side: P², P on the
 * pixels; 1 and 1 once the net is a vector (the same kernel-time functions
 * run on a 1×1 matrix). */
static const char *n_pairs(const Ea *e) { return e->vec ? "1" : e->npp; }
static const char *n_side(const Ea *e) { return e->vec ? "1" : e->np; }

static void emit_mat_ops(Ea *e, const IrOp *ops, size_t n, int *S, int *T);

/* Every branch starts from the fanout's P×P matrices and grid, and may
 * change the grid (windows, image_resize, a nested spatial concat); branches that
 * reduce the positions to a vector (global pooling, flatten, index inside
 * them) join as one entry each. */
static void emit_mat_fanout(Ea *e, const IrOp *op, int *S, int *T)
{
    const IrFanout *f = &op->u.fanout;
    int Sa = slot_new(e), Ta = slot_new(e), consumed = 0, vec_in = e->vec, vec_out = e->vec;
    size_t grid[3] = {e->gz, e->gh, e->gw}, P_in = e->P, out[3];
    code_line(&e->c, "/* %s: %zu branches */", f->residual ? "residual" : "fanout", f->nbranches);
    for (size_t b = 0; b < f->nbranches && e->err->code == DIAG_OK; b++) {
        const IrBranch *br = &f->branches[b];
        int Sb = *S, Tb = *T;
        e->vec = vec_in;
        e->gz = grid[0], e->gh = grid[1], e->gw = grid[2];
        set_positions(e, P_in);
        if (br->nops > 0 && b + 1 < f->nbranches) {
            Sb = slot_new(e), Tb = slot_new(e);
            code_line(&e->c, "ntkc_m_copy`(pl[%d], pl[%d], %s);", Sb, *S, n_pairs(e));
            code_line(&e->c, "ntkc_m_copy`(pl[%d], pl[%d], %s);", Tb, *T, n_pairs(e));
        }
        consumed |= br->nops > 0 && b + 1 == f->nbranches;
        emit_mat_ops(e, br->ops, br->nops, &Sb, &Tb);
        vec_out = e->vec; /* every branch ends alike (lowering checks the shapes) */
        size_t got[3] = {e->gz, e->gh, e->gw};
        if (!emit_attn_concat_spatial(f)) /* the branches end on one grid (lowering) */
            code_line(&e->c, "ntkc_m_fanin`(%d, %zu, %zu, %s, pl[%d], pl[%d], pl[%d], pl[%d], %s);", (int)f->mode, b,
                      f->nbranches, code_lit(br->scale * br->scale).s, Sa, Ta, Sb, Tb, n_pairs(e));
        else if (e->err->code == DIAG_OK && /* emit_attn_concat.c */
                 !emit_attn_concat_join(&e->c, &e->defs, &e->concat_helper, op, b, grid, got, Sa, Ta, Sb, Tb, *S, *T))
            diag_internal(e->err, "attention emitter: branch %zu of the fanout at line %d ends on a %zux%zux%zu grid, "
                          "not the one lowering gave it", b + 1, op->pos.line, got[0], got[1], got[2]);
        if (br->nops > 0) {
            slot_free(e, Sb);
            slot_free(e, Tb);
        }
    }
    e->vec = vec_out;
    if (emit_attn_concat_spatial(f)) { /* the branches' grids joined along the axis */
        emit_attn_concat_grid(op, out);
        e->gz = out[0], e->gh = out[1], e->gw = out[2];
        set_positions(e, out[0] * out[1] * out[2]);
    }
    if (!consumed) {
        slot_free(e, *S);
        slot_free(e, *T);
    }
    *S = Sa;
    *T = Ta;
}

/* After a layer on positions: padded ones back to 0 (their kernel rows and
 * columns). */
static void emit_remask(Ea *e, int S, int T)
{
    if (e->vec || e->unpadded || e->resized) /* ntkc_padding.c refuses masks on unmasked volumes */
        return;
    code_line(&e->c, "if (pad)");
    code_line(&e->c, "    ntkc_m_remask`(pl[%d], pl[%d], NTKC_P, m1, m2);", S, T);
}

/* Before an activation or layer_norm: the prep run records Σ(p, p) where
 * the record layout put the op's part (IrOp.rec, compiler/ir/ir_record.c). */
static void emit_fill_diag(Ea *e, const IrOp *op, int S)
{
    code_line(&e->c, "if (fill)");
    code_line(&e->c, "    ntkc_m_fill_diag`(fill + %zu, pl[%d], %s);", op->rec.at, S, n_side(e));
}

static void emit_mat_attention(Ea *e, const IrOp *op, int S, int T)
{
    const IrAttention *a = &op->u.attn;
    double ov = a->w_v * a->w_out, b2 = a->b_std * a->b_std;
    if (!a->linear) {
        double c = a->w_q * a->w_k * ov;
        code_line(&e->c, "/* attention (sqrt, identity), line %d */", op->pos.line);
        code_line(&e->c, "ntkc_m_attn_sqrt`(pl[%d], pl[%d], %s, %s, %s, %s, %s, %d, %d, m1, m2, pl[0]);", S, T, e->np,
                  code_lit(c * c).s, code_lit(b2).s, code_lit(a->kw).s, code_lit(a->pw).s, a->val_pos_emb,
                  a->pos_emb != 0 && !a->val_pos_emb);
        emit_remask(e, S, T);
        return;
    }
    code_line(&e->c, "if (fill) /* attention, line %d: the weights A_x */", op->pos.line);
    code_line(&e->c, "    ntkc_m_weights`(pl[%d], %s, %d, %s, %s, %s, m1, fill + %zu);", S, e->np, (int)a->mech,
              code_lit(a->w_q * a->w_k).s, code_lit(a->kw).s, code_lit(a->pw).s, op->rec.at);
    if (a->val_pos_emb) /* the values see the embedded input */
        code_line(&e->c, "ntkc_m_embed`(pl[%d], pl[%d], %s, m1, m2, %s, %s);", S, T, e->np, code_lit(a->kw).s,
                  code_lit(a->pw).s);
    code_line(&e->c, "ntkc_m_attn_linear`(v1 + %zu, v2 + %zu, pl[%d], pl[%d], %s, %s, %s, pl[0]);", op->rec.at,
              op->rec.at, S, T, e->np, code_lit(ov * ov).s, code_lit(b2).s);
    emit_remask(e, S, T);
}

/* The window of a conv or pool that keeps the grid (lowering checked it),
 * as the geometry array ntkc_m_tap reads: its name. */
static const char *window_def(Ea *e, const IrWindow *w, char *name, size_t size)
{
    code_format(name, size, "ntkc_g%zu", e->nparams++);
    note_taps(e, e->gh * e->gw, (size_t)w->kh * w->kw, 1);
    sb_printf(&e->defs, "static const int %s[9] = {%zu, %zu, %d, %d, %d, %d, %d, %d, %d};\n", name, e->gh, e->gw,
              w->kh, w->kw, w->pt, w->pl, w->dh, w->dw, w->pad == IR_PAD_CIRCULAR);
    return name;
}

/* A volume's window (ir.h: rows = slices × rows per slice) as the geometry
 * array ntkc_m_tapv reads, from the current grid to the op's output grid,
 * which becomes the current one: its name. */
static const char *volume_window_def(Ea *e, const IrOp *op, const IrWindow *w, char *name, size_t size)
{
    size_t zo = (size_t)w->zo, ho = op->out.h / zo, wo = op->out.w;
    snprintf(name, size, "ntkc_g%zu", e->nparams++);
    sb_printf(&e->defs, "static const int %s[19] = {%zu, %zu, %zu, %zu, %zu, %zu, %d, %d, %d, %d, %d, %d, %d, %d, %d, "
                        "%d, %d, %d, %d};\n",
              name, e->gz, e->gh, e->gw, zo, ho, wo, w->kd, w->kh, w->kw, w->sd, w->sh, w->sw, w->pf, w->pt, w->pl,
              w->dd, w->dh, w->dw, w->pad == IR_PAD_CIRCULAR);
    e->gz = zo, e->gh = ho, e->gw = wo;
    set_positions(e, zo * ho * wo);
    note_taps(e, zo * ho * wo, (size_t)w->kd * w->kh * w->kw, 1);
    return name;
}

static void emit_mat_volume_conv(Ea *e, const IrOp *op, int S, int T)
{
    char name[32], n_in[32];
    const IrConv *c = &op->u.conv;
    if (e->net->param == PARAM_STANDARD && !c->frozen) {
        snprintf(n_in, sizeof n_in, "%s", e->npp);
        const char *g = volume_window_def(e, op, &c->win, name, sizeof name);
        int U = slot_new(e);
        emit_attn_conv_std(&e->c, op, "ntkc_m_convv", g, (double)c->win.kd * c->win.kh * c->win.kw, S, T, U, n_in,
                           e->npp);
        slot_free(e, U);
        return;
    }
    code_line(&e->c, "ntkc_m_convv`(pl[%d], pl[%d], %s, %s, %s, %d, pl[0], it); /* conv, line %d */", S, T,
              volume_window_def(e, op, &c->win, name, sizeof name), code_lit(c->w_std * c->w_std).s,
              code_lit(c->b_std * c->b_std).s, c->frozen, op->pos.line);
}

static void emit_mat_volume_pool(Ea *e, const IrOp *op, int S, int T)
{
    char name[32];
    const IrWindow *w = &op->u.pool.win;
    double F = (double)w->kd * w->kh * w->kw, c = op->u.pool.average ? 1.0 / (F * F) : 1.0;
    int edges = op->u.pool.normalize_edges;
    const char *g = volume_window_def(e, op, w, name, sizeof name);
    code_line(&e->c, "ntkc_m_poolv`(pl[%d], pl[%d], %s, %s, pl[0], it); /* %s, line %d */", S, T, g,
              code_lit(edges ? 1.0 : c).s, op->u.pool.average ? "avg_pool" : "sum_pool", op->pos.line);
    if (edges) /* each output divides by its window's in-bounds taps */
        code_line(&e->c, "ntkc_m_pool_edgesv`(pl[%d], pl[%d], %s);", S, T, g);
}

/* conv_local after its conv: unshared weights make pairs of different
 * positions independent, bias and (param standard) fan-in term included. */
static void emit_local_off_diagonal(Ea *e, int S, int T)
{
    code_line(&e->c, "for (int p_ = 0; p_ < %s; p_++) /* unshared weights: other positions independent */", e->np);
    code_line(&e->c, "    for (int q_ = 0; q_ < %s; q_++)", e->np);
    code_line(&e->c, "        if (p_ != q_)");
    code_line(&e->c, "            pl[%d][p_ * %s + q_] = pl[%d][p_ * %s + q_] = 0.0;", S, e->np, T, e->np);
}

/* conv_local (neural-tangents' ConvLocal): the conv's kernel on equal
 * positions, 0 elsewhere; under param standard the conv's standard recursion
 * (emit_attn_std.c) on equal positions, as nt's kernel_fn adds the bias's 1
 * and b² on the spatial diagonal only. g: its window's geometry (made by
 * window_def or volume_window_def); n_in: the entries before it. */
static void emit_mat_local(Ea *e, const IrOp *op, const char *fn, const char *g, int S, int T, const char *n_in)
{
    const IrConv *c = &op->u.conv;
    const IrWindow *w = &c->win;
    if (e->net->param == PARAM_STANDARD && ir_arg(&op->args, "trainable", 1) != 0) {
        int U = slot_new(e);
        emit_attn_conv_std(&e->c, op, fn, g, (double)(w->kd ? w->kd : 1) * w->kh * w->kw, S, T, U, n_in, e->npp);
        slot_free(e, U);
        emit_local_off_diagonal(e, S, T); /* the bias's 1 was added to every entry */
        return;
    }
    /* fn computes equal positions only and sets the others to 0 (attn_runtime.c) */
    code_line(&e->c, "%s`(pl[%d], pl[%d], %s, %s, %s, %d, pl[0], it); /* conv_local, line %d */", fn, S, T, g,
              code_lit(c->w_std * c->w_std).s, code_lit(c->b_std * c->b_std).s, ir_arg(&op->args, "trainable", 1) == 0,
              op->pos.line);
}

/* A volume's conv_local. */
static void emit_mat_volume_local(Ea *e, const IrOp *op, int S, int T)
{
    char name[32], n_in[32];
    snprintf(n_in, sizeof n_in, "%s", e->npp);
    const char *g = volume_window_def(e, op, &op->u.conv.win, name, sizeof name);
    emit_mat_local(e, op, "ntkc_m_localv", g, S, T, n_in);
}

/* A volume's conv_transpose (ntkc_m_convtv): the geometry from the current
 * grid to the output, with the grid its taps are gathered on (a circular
 * transpose's valid output, folded; else the output). */
static void emit_mat_volume_transpose(Ea *e, const IrOp *op, int S, int T)
{
    const IrConv *c = &op->u.conv;
    const IrWindow *w = &c->win;
    if (!w->kd) { /* lowering refuses 2-D conv_transpose in the all-pairs back end */
        diag_internal(e->err, "attention emitter: conv_transpose at line %d is not on a volume", op->pos.line);
        return;
    }
    int fold = w->pad == IR_PAD_CIRCULAR;
    size_t zo = (size_t)w->zo, ho = op->out.h / zo, wo = op->out.w;
    size_t gz = fold ? c->fold_d : zo, gy = fold ? c->fold_h : ho, gx = fold ? c->fold_w : wo;
    char name[32];
    snprintf(name, sizeof name, "ntkc_g%zu", e->nparams++);
    sb_printf(&e->defs, "static const int %s[18] = {%zu, %zu, %zu, %zu, %zu, %zu, %d, %d, %d, %d, %d, %d, %d, %d, %d, "
                        "%zu, %zu, %zu};\n",
              name, e->gz, e->gh, e->gw, zo, ho, wo, w->kd, w->kh, w->kw, w->sd, w->sh, w->sw, w->pf, w->pt, w->pl, gz,
              gy, gx);
    char n_in[32];
    snprintf(n_in, sizeof n_in, "%s", e->npp);
    e->gz = zo, e->gh = ho, e->gw = wo;
    set_positions(e, zo * ho * wo);
    note_taps(e, zo * ho * wo, (size_t)w->kd * w->kh * w->kw, (gz + zo - 1) / zo * ((gy + ho - 1) / ho) * ((gx + wo - 1) / wo));
    if (e->net->param == PARAM_STANDARD && ir_arg(&op->args, "trainable", 1) != 0) { /* as a volume's conv */
        int U = slot_new(e);
        emit_attn_conv_std(&e->c, op, "ntkc_m_convtv", name, (double)w->kd * w->kh * w->kw, S, T, U, n_in, e->npp);
        slot_free(e, U);
        return;
    }
    code_line(&e->c, "ntkc_m_convtv`(pl[%d], pl[%d], %s, %s, %s, %d, pl[0], it); /* conv_transpose, line %d */", S, T, name,
              code_lit(c->w_std * c->w_std).s, code_lit(c->b_std * c->b_std).s, ir_arg(&op->args, "trainable", 1) == 0,
              op->pos.line);
}

/* Emits ops; past a reduction of the pixels to a vector (e->vec) only
 * vector layers follow. */
static void emit_mat_ops(Ea *e, const IrOp *ops, size_t n, int *S, int *T)
{
    char name[32];
    for (size_t i = 0; i < n && e->err->code == DIAG_OK; i++) {
        const IrOp *op = &ops[i];
        if (e->vec && op->kind != IR_DENSE && op->kind != IR_ACT && op->kind != IR_LAYER_NORM &&
            op->kind != IR_FANOUT && op->kind != IR_DROPOUT) {
            diag_internal(e->err, "attention emitter: op at line %d after the reduction is not a vector op",
                          op->pos.line);
            return;
        }
        switch (op->kind) {
        case IR_DENSE:
            if (e->net->param == PARAM_STANDARD && !op->u.dense.frozen) {
                emit_attn_dense_std(&e->c, op, *S, *T, n_pairs(e));
                emit_remask(e, *S, *T);
                break;
            }
            code_line(&e->c, "%s`(pl[%d], pl[%d], %s, %s, %s); /* dense, line %d */",
                      op->u.dense.frozen ? "ntkc_m_dense_frozen" : "ntkc_m_dense", *S, *T, n_pairs(e),
                      code_lit(op->u.dense.w_std * op->u.dense.w_std).s,
                      code_lit(op->u.dense.b_std * op->u.dense.b_std).s, op->pos.line);
            emit_remask(e, *S, *T);
            break;
        case IR_ACT: {
            if (e->c.single && op->u.act.def->sqrt_records) { /* float32 ReLU: its pair update */
                emit_fill_diag(e, op, *S);
                code_line(&e->c, "ntkc_m_relu`(pl[%d], pl[%d], %s, v1 + %zu, v2 + %zu, pl[0]); /* relu, line %d */", *S,
                          *T, n_side(e), op->rec.at, op->rec.at, op->pos.line);
                emit_remask(e, *S, *T);
                break;
            }
            const char *p = act_setup(e, &op->u.act, name, sizeof name);
            emit_fill_diag(e, op, *S);
            code_line(&e->c, "ntkc_m_act`(ntkc_dual_%s, %s, pl[%d], pl[%d], %s, v1 + %zu, v2 + %zu); /* line %d */",
                      code_ident(&e->c, op->u.act.def->name), p, *S, *T, n_side(e), op->rec.at, op->rec.at,
                      op->pos.line);
            emit_remask(e, *S, *T);
            break;
        }
        case IR_LAYER_NORM:
            emit_fill_diag(e, op, *S);
            if (op->u.ln.axes != IR_LN_CHANNELS && !e->vec) { /* the records become the group means */
                code_line(&e->c, "if (fill)");
                code_line(&e->c, "    ntkc_m_ln_groups`(fill + %zu, m1, %zu, %zu, %zu, %d);", op->rec.at, e->gz, e->gh,
                          e->gw, (int)op->u.ln.axes);
            }
            code_line(&e->c, "ntkc_m_ln`(pl[%d], pl[%d], %s, v1 + %zu, v2 + %zu, %s); /* layer_norm, line %d */", *S,
                      *T, n_side(e), op->rec.at, op->rec.at, code_lit(op->u.ln.eps).s, op->pos.line);
            emit_remask(e, *S, *T);
            break;
        case IR_ATTENTION:
            emit_mat_attention(e, op, *S, *T);
            break;
        case IR_CONV:
            if (op->u.conv.win.kd) {
                emit_mat_volume_conv(e, op, *S, *T);
                emit_remask(e, *S, *T);
                break;
            }
            if (e->net->param == PARAM_STANDARD && !op->u.conv.frozen) {
                int U = slot_new(e);
                emit_attn_conv_std(&e->c, op, "ntkc_m_conv", window_def(e, &op->u.conv.win, name, sizeof name),
                                   (double)op->u.conv.win.kh * op->u.conv.win.kw, *S, *T, U, e->npp, e->npp);
                slot_free(e, U);
                emit_remask(e, *S, *T);
                break;
            }
            code_line(&e->c, "ntkc_m_conv`(pl[%d], pl[%d], %s, %s, %s, %d, pl[0], it); /* conv, line %d */", *S, *T,
                      window_def(e, &op->u.conv.win, name, sizeof name),
                      code_lit(op->u.conv.w_std * op->u.conv.w_std).s, code_lit(op->u.conv.b_std * op->u.conv.b_std).s,
                      op->u.conv.frozen, op->pos.line);
            emit_remask(e, *S, *T);
            break;
        case IR_CONV_TRANSPOSE: /* volumes only */
            emit_mat_volume_transpose(e, op, *S, *T);
            break;
        case IR_CONV_LOCAL: /* neural-tangents' ConvLocal: the conv's kernel on equal positions, 0 elsewhere */
            if (op->u.conv.win.kd) {
                emit_mat_volume_local(e, op, *S, *T);
                emit_remask(e, *S, *T);
                break;
            }
            emit_mat_local(e, op, "ntkc_m_local", window_def(e, &op->u.conv.win, name, sizeof name), *S, *T, e->npp);
            emit_remask(e, *S, *T);
            break;
        case IR_POOL: {
            if (op->u.pool.win.kd) {
                emit_mat_volume_pool(e, op, *S, *T);
                emit_remask(e, *S, *T);
                break;
            }
            double F = (double)op->u.pool.win.kh * op->u.pool.win.kw, c = op->u.pool.average ? 1.0 / (F * F) : 1.0;
            code_line(&e->c, "ntkc_m_pool`(pl[%d], pl[%d], %s, %s, pl[0], it); /* %s, line %d */", *S, *T,
                      window_def(e, &op->u.pool.win, name, sizeof name), code_lit(c).s,
                      op->u.pool.average ? "avg_pool" : "sum_pool", op->pos.line);
            emit_remask(e, *S, *T);
            break;
        }
        case IR_DROPOUT: /* neural-tangents' _diag_mul: the same input at the same position */
            code_line(&e->c, "if (x1 == x2) /* dropout(rate=%s), line %d */", code_lit(op->u.dropout.keep).s,
                      op->pos.line);
            code_line(&e->c, "    for (int p_ = 0; p_ < %s; p_++) /* after the reduction: the one entry */", n_side(e));
            code_line(&e->c, "        pl[%d][p_ * %s + p_] *= %s, pl[%d][p_ * %s + p_] *= %s;", *S, n_side(e),
                      code_lit(1.0 / op->u.dropout.keep).s, *T, n_side(e), code_lit(1.0 / op->u.dropout.keep).s);
            break;
        case IR_FANOUT:
            emit_mat_fanout(e, op, S, T);
            break;
        case IR_IMAGE_RESIZE: { /* masked nets refuse it: no position is padding from here on */
            size_t span = emit_attn_resize_span(op, e->gz, e->gh, e->gw);
            e->pmax = span > e->pmax ? span : e->pmax;
            emit_attn_resize(&e->c, &e->defs, &e->nparams, &e->resize_helper, op, e->gz, e->gh, e->gw, *S, *T);
            e->gz = op->u.resize.zo ? (size_t)op->u.resize.zo : 1, e->gh = op->out.h / e->gz, e->gw = op->out.w;
            set_positions(e, e->gz * e->gh * e->gw);
            code_line(&e->c, "for (int p = 0; p < NTKC_PM; p++)");
            code_line(&e->c, "    m1[p] = m2[p] = 1.0;");
            e->resized = 1;
            break;
        }
        /* the reductions leave the vector's one entry in the first element of the same slots */
        case IR_GLOBAL_POOL:
            code_line(&e->c, "ntkc_m_global`(pl[%d], pl[%d], %s, %d, m1, m2, pl[%d], pl[%d]); /* %s, line %d */", *S,
                      *T, e->np, op->u.gpool.average, *S, *T, op->u.gpool.average ? "global_avg_pool" : "global_sum_pool",
                      op->pos.line);
            e->vec = 1;
            break;
        case IR_FLATTEN:
            code_line(&e->c, "ntkc_m_flatten`(pl[%d], pl[%d], %s, pl[%d], pl[%d]); /* flatten, line %d */", *S, *T, e->np,
                      *S, *T, op->pos.line);
            e->vec = 1;
            break;
        case IR_INDEX:
            code_line(&e->c, "pl[%d][0] = pl[%d][%zu], pl[%d][0] = pl[%d][%zu]; /* index(%zu), line %d */", *S, *S,
                      op->u.index.pos * e->P + op->u.index.pos, *T, *T, op->u.index.pos * e->P + op->u.index.pos,
                      op->u.index.pos, op->pos.line);
            e->vec = 1;
            break;
        default:
            diag_internal(e->err, "attention emitter: op at line %d has no matrix form", op->pos.line);
            return;
        }
    }
}

/* ---- the ABI functions ---------------------------------------------------- */

/* The ABI's functions: loops over inputs and pairs in kernel-time C
 * (ntkc_m_prep_all, ntkc_m_tile_all) around the entry. */
static void emit_functions(Code *c, const IrNet *net)
{
    code_line(c, "size_t $_prep_size(void) { return NTKC_RECORD; }");
    code_blank(c);
    code_line(c, "int $_uses_gram(void) { return 0; }");
    code_blank(c);
    code_line(c, "void $_prep(size_t n, const double *x, size_t dim, @ *prep)");
    code_open(c, "{");
    code_line(c, "@ *ws = malloc(NTKC_WS * sizeof(@));");
    code_line(c, "ntkc_m_prep_all`($_entry, n, x, dim, prep, NTKC_RECORD, ws);");
    code_line(c, "free(ws);");
    code_close(c, "");
    code_blank(c);
    code_line(c, "size_t $_tile(size_t rows, size_t cols, const double *x1, const @ *prep1, const double *x2,");
    code_line(c, "              const @ *prep2, size_t dim, const @ *gram, size_t ldg, @ *nngp,");
    code_line(c, "              @ *ntk, size_t ldo)");
    code_open(c, "{");
    code_line(c, "@ *ws = malloc(NTKC_WS * sizeof(@));");
    code_line(c, "size_t bad = ntkc_m_tile_all`($_entry, rows, cols, x1, prep1, x2, prep2, dim, NTKC_RECORD, ws, nngp, "
                 "ntk, ldo);");
    code_line(c, "(void)gram, (void)ldg;");
    code_line(c, "free(ws);");
    code_line(c, "return bad;");
    code_close(c, "");
    code_blank(c);
    emit_tile_standalone(c, net);
}

void emit_attn_host_source(StrBuf *sb)
{
    /* after emit_image_host_source, which defines NTKC_FN (external linkage) */
    sb_puts(sb, "\n/* Attention-kernel helpers (compiler/kernel_c/attn_runtime.c) */\n");
    sb_puts(sb, emit_attn_runtime_common);
    sb_puts(sb, emit_attn_runtime_functions);
    sb_puts(sb, emit_attn_runtime_common_f); /* and their float32 twins (attn_runtime_f.c) */
    sb_puts(sb, emit_attn_runtime_functions_f);
}

void emit_attn_host_table(StrBuf *sb)
{
    emit_host_table_rows(sb, emit_attn_runtime_names, emit_attn_runtime_count);
    emit_host_table_rows(sb, emit_attn_runtime_f_names, emit_attn_runtime_f_count);
}

char *emit_attn_c(const IrNet *net, const char *source_name, Diag *err)
{
    return emit_attn_c_prec(net, source_name, 0, err);
}

char *emit_attn_c_prec(const IrNet *net, const char *source_name, int single, Diag *err)
{
    if (net->input.kind != IR_INPUT_IMAGE) {
        diag_internal(err, "attention emitter: net '%s' does not take images or sequences", net->name);
        return NULL;
    }
    Ea e = {.net = net, .err = err, .P0 = net->input.h * net->input.w, .volume = net->input.depth != 0};
    e.unpadded = e.volume && !net->input.masked;
    set_positions(&e, e.P0);
    e.gz = e.volume ? net->input.depth : 1, e.gh = net->input.h / e.gz, e.gw = net->input.w;
    sb_init(&e.body);
    sb_init(&e.defs);
    code_init(&e.c, &e.body, net->name);
    e.c.depth = 1;
    e.c.single = single;
    emit_slots_init(&e.slots, 4);
    int S = 2, T = 3;
    if (e.unpadded) { /* no masks (emit_remask); all ones on every grid (conv_transpose grows it) */
        code_line(&e.c, "for (int p = 0; p < NTKC_PM; p++)");
        code_line(&e.c, "    m1[p] = m2[p] = 1.0;");
    } else {
        code_line(&e.c, "int pad = ntkc_m_mask`(x1, NTKC_P, %zu, m1) + ntkc_m_mask`(x2, NTKC_P, %zu, m2);", net->input.c,
                  net->input.c);
    }
    code_line(&e.c, "ntkc_m_load`(x1, x2, NTKC_P, %zu, m1, m2, pl[2], pl[3]);", net->input.c);
    emit_mat_ops(&e, net->ops, net->nops, &S, &T);
    if (err->code == DIAG_OK && !e.vec)
        diag_internal(err, "net '%s' does not reduce its pixels with global pooling or flatten", net->name);
    if (err->code == DIAG_OK && e.taps > (size_t)INT_MAX) /* the tables index with int */
        diag_at(err, net->input.pos, NULL, "net '%s': a window's tap table needs %zu ints, more than %d; use smaller "
                "windows or grids", net->name, e.taps, INT_MAX);
    if (err->code != DIAG_OK) {
        sb_free(&e.body);
        sb_free(&e.defs);
        return NULL;
    }
    StrBuf sb;
    Code c;
    emit_file_begin(&c, &sb, net, source_name, single);
    c.bad_name |= e.c.bad_name;
    /* positions; the entry's scratch: its slots of P² doubles, then the two
     * padding masks; the prep record: its parts, then K(x, x) */
    code_line(&c, "#define NTKC_P %zu", e.P0);
    code_line(&c, "#define NTKC_PP %zu", e.P0 * e.P0);
    code_line(&c, "#define NTKC_PM %zu /* the most positions of a side: the slots hold NTKC_PM² */", e.pmax);
    code_line(&c, "#define NTKC_TAPS %zu /* ints: the largest window's tap table */", e.taps);
    code_line(&c, "#define NTKC_WS ((size_t)%d * NTKC_PM * NTKC_PM + 2 * NTKC_PM + NTKC_TAPS)", e.slots.peak);
    code_line(&c, "#define NTKC_RECORD %zu", net->record + 2); /* IrNet.record: compiler/ir/ir_record.c */
    emit_runtime_kernels(&c, single ? &emit_attn_runtime_common_f_parts : &emit_attn_runtime_common_parts,
                         single ? &emit_attn_runtime_functions_f_parts : &emit_attn_runtime_functions_parts,
                         single ? &emit_attn_runtime_f_decls_parts : &emit_attn_runtime_decls_parts);
    code_text(&c, e.defs.data ? e.defs.data : "");
    code_blank(&c);
    code_line(&c, "/* One entry: out[0] = NNGP, out[1] = NTK of (x1, x2); v1, v2 their prep");
    code_line(&c, " * records; fill != NULL: the prep run on (x, x), writing the record. */");
    code_line(&c, "static void $_entry(const double *x1, const double *x2, const @ *v1, const @ *v2,");
    code_line(&c, "                   @ *fill, @ *ws, @ *out)");
    code_open(&c, "{");
    code_line(&c, "@ *pl[%d];", e.slots.peak);
    code_line(&c, "@ *m1 = ws + (size_t)%d * NTKC_PM * NTKC_PM, *m2 = m1 + NTKC_PM; /* padding masks */", e.slots.peak);
    code_line(&c, "int *it = (int *)(m2 + NTKC_PM); /* the windows' tap tables */");
    code_line(&c, "for (int k = 0; k < %d; k++)", e.slots.peak);
    code_line(&c, "    pl[k] = ws + k * (size_t)NTKC_PM * NTKC_PM;");
    code_line(&c, "(void)v1, (void)v2, (void)fill, (void)it;");
    code_text(&c, e.body.data);
    code_line(&c, "out[0] = pl[%d][0], out[1] = pl[%d][0];", S, T);
    code_close(&c, "");
    code_blank(&c);
    emit_functions(&c, net);
    sb_free(&e.body);
    sb_free(&e.defs);
    return emit_finish(&c, &sb, err);
}
