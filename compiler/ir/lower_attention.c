/* Lowering of `attention(...)`: global self-attention over all pixels of an
 * image (or all positions of a sequence), as neural-tangents'
 * GlobalSelfAttention. Its arguments, the combinations with an exact
 * infinite-width kernel (ir.h, IrAttention), and the layers a net with
 * attention may use (those its kernel back end, emit_attn.c, computes). */
#include <string.h>

#include "ir_fanout.h"
#include "ir_print.h"
#include "ir_window.h"
#include "lower_internal.h"

static const char *const scaling_names[] = {"linear", "sqrt", NULL};
static const char *const mech_names[] = {"softmax", "identity", "abs", "relu", NULL};
static const char *const pos_emb_names[] = {"none", "sum", "concat", NULL};

enum { A_HEADS, A_SCALING, A_MECH, A_WQ, A_WK, A_WV, A_WOUT, A_B, A_POS, A_WPOS, A_PCH, A_VPOS, A_WIDTH, NATTN };
static const ParamSpec attn_spec[NATTN] = {
    [A_HEADS] = {"heads", 1, 1, 1e6, 1, 0, NULL},
    [A_SCALING] = {"scaling", 0, 0, 1, 1, 0, scaling_names},
    [A_MECH] = {"mechanism", IR_ATTN_SOFTMAX, 0, 3, 1, 0, mech_names},
    [A_WQ] = {"w_q", 1.0, 0.0, STD_MAX, 0, 0, NULL},
    [A_WK] = {"w_k", 1.0, 0.0, STD_MAX, 0, 0, NULL},
    [A_WV] = {"w_v", 1.0, 0.0, STD_MAX, 0, 0, NULL},
    [A_WOUT] = {"w_out", 1.0, 0.0, STD_MAX, 0, 0, NULL},
    [A_B] = {"b_std", 0.0, 0.0, STD_MAX, 0, 0, NULL},
    [A_POS] = {"pos_emb", 0, 0, 2, 1, 0, pos_emb_names},
    [A_WPOS] = {"w_pos", 1.0, 0.0, STD_MAX, 0, 0, NULL},
    [A_PCH] = {"pos_channels", 1.0, 1e-6, 1e6, 0, 0, NULL},
    [A_VPOS] = {"val_pos_emb", 0, 0, 1, 1, 0, NULL},
    [A_WIDTH] = {"width", 0.0, 1.0, SHOWN_MAX, 1, 0, NULL}, /* param standard: n_chan_out */
};

/* The logits w_q·w_k·Σ enter exp() (softmax) or are squared into the
 * kernel: beyond this product the attention weights overflow. */
#define QK_MAX 1e150
/* Its kernels hold every position pair (P² doubles per matrix, int-indexed,
 * and P² per input in the prep record of every attention layer). */
#define MAX_POSITIONS 4096

/* Under param standard (neural-tangents' GlobalSelfAttention has no
 * parameterization argument: its query, key, value and output layers are
 * always in the NTK parameterization) the kernel is the same; only the
 * layers after it see its output channels as their fan-in, so it declares
 * them as dense and conv do (width=N, its n_chan_out). */
static int attn_width(Lower *L, const Bound *b) { return lower_width_allowed(L, b, A_WIDTH); }

int lower_attention(Lower *L, const Stmt *s)
{
    Bound b;
    if (!lower_need_image(L, s) || !lower_bind_args(L, s, attn_spec, NATTN, &b) || !attn_width(L, &b))
        return 0;
    if (L->shape.h * L->shape.w > MAX_POSITIONS) {
        diag_at(L->err, s->pos, L->src,
                "'attention' over %zu positions: its kernel holds every pair of positions, at most %d positions "
                "(nets with attention cannot pool yet: use smaller inputs)",
                L->shape.h * L->shape.w, MAX_POSITIONS);
        return 0;
    }
    int linear = b.v[A_SCALING] == 0;
    IrAttnMech mech = (IrAttnMech)(int)b.v[A_MECH];
    if (!linear && mech != IR_ATTN_IDENTITY) {
        diag_at(L->err, b.pos[b.given[A_MECH] ? A_MECH : A_SCALING], L->src,
                "'attention' with scaling=sqrt and mechanism=%s has no closed-form infinite-width kernel "
                "(the logits stay Gaussian and %s of a Gaussian has no known expectation over the keys; "
                "neural-tangents raises NotImplementedError too): use scaling=linear (keys and queries tied, "
                "logits divided by their width), or mechanism=identity",
                mech_names[mech], mech_names[mech]);
        return 0;
    }
    int pos = (int)b.v[A_POS];
    if (pos != 2 && b.given[A_PCH]) {
        diag_at(L->err, b.pos[A_PCH], L->src, "'attention': pos_channels applies to pos_emb=concat only");
        return 0;
    }
    if (pos == 0 && (b.given[A_WPOS] || b.given[A_VPOS])) {
        int k = b.given[A_WPOS] ? A_WPOS : A_VPOS;
        diag_at(L->err, b.pos[k], L->src, "'attention': %s needs positional embeddings (pos_emb=sum or concat)",
                attn_spec[k].name);
        return 0;
    }
    if (b.v[A_WQ] * b.v[A_WK] > QK_MAX) {
        diag_at(L->err, b.pos[b.given[A_WQ] ? A_WQ : A_WK], L->src,
                "'attention': w_q·w_k = %g is too large (at most %g)", b.v[A_WQ] * b.v[A_WK], QK_MAX);
        return 0;
    }
    IrOp *op = lower_push_op(L, IR_ATTENTION, s->pos);
    if (op == NULL)
        return 0;
    op->u.attn = (IrAttention){.heads = (int)b.v[A_HEADS], .linear = linear, .mech = mech, .w_q = b.v[A_WQ],
                               .w_k = b.v[A_WK], .w_v = b.v[A_WV], .w_out = b.v[A_WOUT], .b_std = b.v[A_B],
                               .pos_emb = pos, .w_pos = b.v[A_WPOS], .pos_channels = b.v[A_PCH],
                               .val_pos_emb = (int)b.v[A_VPOS], .kw = 1.0, .pw = 0.0,
                               .width = (long)b.v[A_WIDTH]};
    if (L->param == PARAM_STANDARD)
        L->prev_width = op->u.attn.width;
    double w2 = b.v[A_WPOS] * b.v[A_WPOS], r = b.v[A_PCH];
    if (pos == 1)
        op->u.attn.pw = w2;
    if (pos == 2)
        op->u.attn.kw = 1.0 / (1.0 + r), op->u.attn.pw = w2 * r / (1.0 + r);
    /* Its output is a sum over fresh value and output weights: Gaussian from
     * any input (the attention weights are deterministic at infinite width,
     * and the sqrt-identity logits only need the input's second moments);
     * neural-tangents sets is_gaussian=True. docs/gaussianity.md */
    lower_made_gaussian(L);
    return 1;
}

/* The first attention (or index) op, which puts the net in this family. */
static const IrOp *find_attention(const IrOp *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind == IR_ATTENTION || ops[i].kind == IR_INDEX)
            return &ops[i];
        if (ops[i].kind == IR_FANOUT)
            for (size_t b = 0; b < ops[i].u.fanout.nbranches; b++) {
                const IrOp *a = find_attention(ops[i].u.fanout.branches[b].ops, ops[i].u.fanout.branches[b].nops);
                if (a)
                    return a;
            }
    }
    return NULL;
}

/* image_resize in a net with attention: a fixed map of the positions
 * (emit_attn_resize.c), exact without masks; with them a resized position
 * mixes padded and valid ones, which neural-tangents' ImageResize does not
 * define (it takes no mask). */
int lower_refuse_masked_resize(Lower *L, const IrOp *op)
{
    diag_at(L->err, op->pos, L->src,
            "'image_resize' in net '%s', whose input is masked (masked=true at %s): a resized position mixes "
            "padded and valid ones, and neither neural-tangents' ImageResize nor ntkc defines a mask for it; "
            "resize the data before padding it",
            L->net->name, lower_pos_str(L, L->input.pos));
    return 0;
}

static int resize_ok(Lower *L, const IrOp *op, const char *why)
{
    if (L->input.masked)
        return lower_refuse_masked_resize(L, op);
    if (op->out.h * op->out.w > MAX_POSITIONS) {
        diag_at(L->err, op->pos, L->src,
                "'image_resize' to %zu positions in net '%s', %s: its kernels hold every pair of positions, at "
                "most %d positions",
                op->out.h * op->out.w, L->net->name, why, MAX_POSITIONS);
        return 0;
    }
    return 1;
}

/* why: the reason the net is computed by the all-pairs back end, for messages. */
static int refuse_ops(Lower *L, const IrOp *ops, size_t n, const char *why)
{
    for (size_t i = 0; i < n; i++) {
        const IrOp *op = &ops[i];
        if (op->kind == IR_CONV_TRANSPOSE) {
            diag_at(L->err, op->pos, L->src,
                    "'%s' in net '%s', %s: nets with attention or masked inputs take conv, conv_local and local "
                    "pooling that keep the grid, not conv_transpose",
                    ir_op_name(op), L->net->name, why);
            return 0;
        }
        if (op->kind == IR_IMAGE_RESIZE && !resize_ok(L, op, why))
            return 0;
        const IrWindow *w = ir_op_window(op); /* conv_transpose refused above */
        if (w && !ir_window_keeps_grid(w)) {
            diag_at(L->err, op->pos, L->src,
                    "'%s' in net '%s', %s: in nets with attention or masked inputs, convolutions and "
                    "local pooling must keep the grid (stride 1, padding same or circular, or valid on a 1x1 "
                    "window): their kernels hold every pair of the input's positions",
                    ir_op_name(op), L->net->name, why);
            return 0;
        }
        if (op->kind == IR_FANOUT && ir_fanout_on_pairs(&op->u.fanout)) {
            diag_at(L->err, op->pos, L->src,
                    "this fanout in net '%s' (%s) pools, changes the grid or concatenates along a spatial axis "
                    "inside its branches: nets with attention or masked inputs take fanouts that keep the grid",
                    L->net->name, why);
            return 0;
        }
        if (op->kind == IR_FANOUT)
            for (size_t b = 0; b < op->u.fanout.nbranches; b++)
                if (!refuse_ops(L, op->u.fanout.branches[b].ops, op->u.fanout.branches[b].nops, why))
                    return 0;
    }
    return 1;
}

int lower_check_attention_net(Lower *L)
{
    if (L->input.depth) /* volumes: lower_volume.c */
        return lower_check_volume_net(L) && lower_check_masked_volume(L);
    const IrOp *attn = find_attention(L->ops, L->nops);
    if (attn == NULL && !L->input.masked)
        return 1;
    const char *why = attn ? arena_printf(L->a, "which has %s (at %s)", attn->kind == IR_INDEX ? "an index readout" : "attention",
                                          lower_pos_str(L, attn->pos))
                           : arena_printf(L->a, "whose input is masked (masked=true at %s)",
                                          lower_pos_str(L, L->input.pos));
    return refuse_ops(L, L->ops, L->nops, why);
}

/* The first op whose output grid has more positions than the all-pairs
 * kernels hold, in branches too; NULL if none. */
static const IrOp *first_too_many_positions(const IrOp *ops, size_t n, size_t cap)
{
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind == IR_FANOUT) /* the layer in a branch that grew the grid, not the fanout */
            for (size_t b = 0; b < ops[i].u.fanout.nbranches; b++) {
                const IrBranch *br = &ops[i].u.fanout.branches[b];
                const IrOp *op = first_too_many_positions(br->ops, br->nops, cap);
                if (op)
                    return op;
            }
        if (ops[i].out.spatial && ops[i].out.h * ops[i].out.w > cap)
            return &ops[i];
    }
    return NULL;
}

/* The all-pairs back end holds every pair of positions (P² doubles a slot,
 * int-indexed): the input and every op's grid are held to a cap, whatever
 * made them (a large volume, a conv_transpose's upsampling), so that no net
 * runs out of index range or into a workspace no machine has at kernel
 * time. Volumes keep the cap of their concats and resizes (lower_volume.c);
 * 2-D nets without attention (masked, index) may go to 128×128 pixels, where
 * one P×P matrix is 2 GiB. The layers' own checks name the usual causes
 * first. */
enum { MAX_VOLUME_POSITIONS = 4096, MAX_MASKED_POSITIONS = 16384 };

static int positions_fit(Lower *L)
{
    size_t cap = L->input.depth ? MAX_VOLUME_POSITIONS : MAX_MASKED_POSITIONS;
    size_t P = L->input.h * L->input.w;
    if (P > cap) {
        diag_at(L->err, L->input.pos, L->src,
                "net '%s' takes inputs of %zu positions: its kernels hold every pair of positions (%s), at most %zu "
                "positions",
                L->net->name, P, L->input.depth ? "volumes" : "index or masked inputs", cap);
        return 0;
    }
    const IrOp *op = first_too_many_positions(L->ops, L->nops, cap);
    if (op == NULL)
        return 1;
    diag_at(L->err, op->pos, L->src,
            "'%s' in net '%s' outputs %zu positions: the kernels hold every pair of positions (%s), at most %zu "
            "positions",
            ir_op_name(op), L->net->name, op->out.h * op->out.w, L->input.depth ? "volumes" : "index or masked inputs",
            cap);
    return 0;
}

/* The attention family's check (families.h): the image family's (image
 * inputs need param ntk), then the layers the attention back end computes. */
int lower_check_attention_family(Lower *L)
{
    return lower_check_image_family(L) && lower_check_attention_net(L) && positions_fit(L);
}
