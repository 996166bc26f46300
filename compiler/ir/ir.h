/* The recursion IR: what the emitter and the finite-width checker walk.
 * The AST is lowered to this after all checks pass, so every op here is valid:
 * variances non-negative, parameters in range, and every op that needs a
 * Gaussian input (activations, layer_norm, fanout … prod) has one — see
 * `gaussian` below and docs/gaussianity.md.
 * A new kind of layer adds an op kind here. Branching nets are structured
 * (IR_FANOUT holds its branches' op lists), not a general DAG. */
#ifndef NTKC_IR_H
#define NTKC_IR_H

#include <stddef.h>

#include "act.h"
#include "diag.h"
#include "families.h"
#include "ir_args.h"

typedef enum Parameterization { PARAM_NTK, PARAM_STANDARD } Parameterization;

typedef enum IrInputKind { IR_INPUT_VECTOR, IR_INPUT_IMAGE, IR_INPUT_GRAPH } IrInputKind;

/* Images are NHWC: an input row holds h·w·c values, pixel by pixel, channels
 * innermost. `input sequence(L, C)` is image(1, L, C) with every window 1×k.
 * `input volume(D, H, W, C)` (NDHWC) is an IR_INPUT_IMAGE whose rows stack
 * its D slices (h = D·H, depth = D): every op that sees positions only as a
 * count (activations, dense, pooling to a vector, records) is unchanged, and
 * windows split the rows into (slice, row) (IrWindow's depth fields). */
typedef struct IrInput {
    IrInputKind kind;
    size_t dim;     /* features per input (h·w·c for images, per node for graphs); 0 = any */
    size_t h, w, c; /* IR_INPUT_IMAGE */
    int raw_gram;   /* IR_INPUT_GRAPH: input kernel x·x' as in Du et al. instead of x·x'/dim */
    int sequence;   /* declared as `input sequence(L, C)` */
    int masked;     /* `masked=true`: padded inputs allowed; computed by the attention family's back end */
    size_t depth;   /* `input volume(D, H, W, C)`: D slices; 0 otherwise. h then counts the rows of every
                     * slice, D·H (positions row-major over (d, h, w) = over (D·H, W)); see IrShape */
    SrcPos pos;     /* of the `input` statement; line 0 when none was written */
} IrInput;

typedef enum IrOpKind {
    IR_DENSE, /* Σ ← w²Σ + b²;  Θ ← Σ_new + w²Θ  (NTK parameterization); on
               * images it acts on the channels pixel by pixel */
    IR_ACT,   /* Σ ← T(Σ);  Θ ← Θ·Ṫ(Σ), on every pixel pair with that pair's variances */
    /* Image ops (see "Images" below). */
    IR_CONV,        /* Σ'(p,q) = w²/|F| Σ_δ Σ(sp+δ, sq+δ) + b²;  Θ' = w²/|F| Σ_δ Θ(..) + Σ'  (δ = (dh·u, dw·v)) */
    IR_POOL,        /* Σ'(p,q) = c² Σ_{u,v ∈ window} Σ(sp+u, sq+v), c = 1/|F| (avg) or 1 (sum); Θ alike */
    IR_GLOBAL_POOL, /* Σ' = c² Σ_{p,q} Σ(p,q), c = 1/P (avg) or 1 (sum): image → vector */
    IR_FLATTEN,     /* Σ' = (1/P) Σ_p Σ(p,p): image → vector */
    IR_LAYER_NORM,  /* over channels: Σ'(p,q) = Σ(p,q)/√((Σ11(p,p)+ε)(Σ22(q,q)+ε)), Θ alike (IrLayerNorm) */
    IR_FANOUT,      /* branches on copies of the input, then a fan-in (residual is one) */
    IR_ATTENTION,   /* global self-attention over all pixels (IrAttention): mixes every pixel pair */
    IR_CONV_TRANSPOSE, /* IrConv: Σ'(p,q) = w²/|F| Σ_u Σ̃(p+u−pt, q+u−pt) + b², Σ̃ the input dilated by the
                        * stride (zero off its grid); circular folds the valid output (ir_conv_variants below) */
    IR_CONV_LOCAL,     /* IrConv, no weight sharing: Σ'(p,q) = δ_pq·(conv's Σ'(p,p)), bias on the diagonal */
    /* Graph ops (input graph): Σ, Θ are node-pair matrices until the readout. */
    IR_AGGREGATE, /* Σ, Θ ← C ∘ (Â₁ (·) Â₂ᵀ), Â = A (+ I), C per IrAggregate */
    IR_READOUT,   /* node pairs → graph pair: sum (or mean) over all pairs */
    /* Vector nets (IrDropout): Σ, Θ of an input with itself ← /keep; other pairs unchanged. */
    IR_DROPOUT,
    /* index(k): image → vector, the input's position k (a token of a sequence, pixel k of an image in
     * row-major order): Σ' = Σ(k, k) of the pair, Θ alike (IrIndex); computed by the all-pairs
     * (attention family's) back end */
    IR_INDEX,
    /* image_resize(h, w): jax.image.resize of the positions by a fixed linear map R = Rh ⊗ Rw
     * (ir_resize.h): Σ'(p,q) = Σ_{a,b} R[p,a] R[q,b] Σ(a,b), Θ alike (IrResize) */
    IR_IMAGE_RESIZE
} IrOpKind;

/* neural-tangents' ImageResize with a linear method: nearest or linear
 * (triangle), antialias as jax.image.resize; the output grid is op->out. */
typedef struct IrResize {
    int nearest;   /* 1: nearest, 0: linear */
    int antialias; /* linear only: widen the triangle when downsampling */
    int zi, zo;    /* volumes: slices in and out (ir_resize.h); 0 on images */
} IrResize;

/* neural-tangents' Dropout(rate, mode='train'), rate being the probability of
 * keeping a unit: a unit's mask m ~ Bernoulli(keep), output m·z/keep. Masks of
 * different inputs are independent, so only the entries of an input with
 * itself (the same row of the same array: the diagonal of a kernel of a set
 * with itself) are scaled, Σ(x,x) and Θ(x,x) ← ·/keep. mode='test' is the
 * identity and lowers to nothing. */
typedef struct IrDropout {
    double keep;
} IrDropout;

typedef struct IrAggregate {
    int degree;     /* C_uv = 1/(deg₁(u)·deg₂(v)) with degrees of Â; else C = 1 */
    int self_loops; /* Â = A + I */
} IrAggregate;

typedef struct IrReadout {
    int mean; /* mean over node pairs instead of the sum */
    int jk;   /* jumping knowledge: add the readout of the state entering every aggregate */
} IrReadout;

typedef struct IrDense {
    double w_std, b_std;
    int has_bias; /* b_std given explicitly (standard parameterization adds +1 to Θ) */
    long width;   /* output width; only meaningful with param standard, 0 = unspecified */
    long fan_in;  /* input width for param standard (0 = the data dimension) */
    int frozen;   /* trainable=false: Σ as above, Θ ← w²Θ (its parameters add no gradient) */
} IrDense;

typedef struct IrAct {
    const ActDef *def;
    double p[ACT_MAX_PARAMS]; /* def->nparams values, defaults filled in */
} IrAct;

/* ---- Images ----------------------------------------------------------
 * Kernels on images are indexed by pixel pairs (p of x1, q of x2); every op
 * knows the spatial shape it outputs. Padding follows neural-tangents: SAME
 * pads (k-1)-ish zeros split low/high (low = total/2) and keeps ceil(n/s)
 * outputs; VALID pads nothing; CIRCULAR pads like SAME but wraps around. Zero
 * padding counts in |F| (the conv and average pool divide by the full window). */
typedef enum IrPadding { IR_PAD_SAME, IR_PAD_VALID, IR_PAD_CIRCULAR } IrPadding;

/* A window along both spatial axes: size, stride, padding before the first
 * pixel, dilation. A dilated window (neural-tangents' rhs_dilation) has its
 * kh×kw taps dh, dw pixels apart: it spans (kh−1)·dh+1 rows, which is what
 * the padding and the output size count; |F| stays kh·kw. Pools are never
 * dilated (dh = dw = 1). */
typedef struct IrWindow {
    int kh, kw, sh, sw;
    int pt, pl; /* rows/columns padded before the image (SAME and CIRCULAR) */
    IrPadding pad;
    int dh, dw; /* dilation: tap u of a row at dh·u */
    /* Volumes (3-D windows; kd = 0 on images): kd taps along the depth, stride
     * sd, pf slices padded in front, dilation dd; zi, zo the slices of the
     * input and output grids, whose rows (IrShape.h) are zi·(rows per slice)
     * and zo·(...). A row tap u < kd·kh is depth tap u / kh, row tap u % kh;
     * |F| = kd·kh·kw. */
    int kd, sd, pf, dd;
    int zi, zo;
} IrWindow;

/* Under param standard (neural-tangents' Conv(parameterization='standard')),
 * with C = fan_in input channels:
 *   Σ' = w²/|F| Σ_δ Σ + b²,  Θ' = C·Σ_δ Σ + w²/|F| Σ_δ Θ (+1 with a bias),
 * i.e. nt's fan_in·conv_unscaled(Σ) with fan_in = C·|F|. */
typedef struct IrConv {
    double w_std, b_std;
    IrWindow win;
    int frozen; /* trainable=false: Θ' = w²/|F| Σ_δ Θ(..) without the + Σ' */
    /* conv_transpose with padding=circular: the valid output's length along
     * each axis, folded onto the output (pixel i adds to (i − c) mod n,
     * c = (fold − n)/2), as neural-tangents does; 0 otherwise. On a volume
     * fold_h is per slice and fold_d the depth's. */
    size_t fold_h, fold_w, fold_d;
    int has_bias; /* param standard: b_std given explicitly (+1 to Θ) */
    long width;   /* param standard: output channels (0 = the last layer's, unspecified) */
    long fan_in;  /* param standard: input channels */
} IrConv;

typedef struct IrPool {
    IrWindow win;
    int average; /* avg_pool (1) or sum_pool (0) */
    /* avg_pool(normalize_edges=true), neural-tangents' AvgPool option: each
     * output pixel divides by the count of its window's in-bounds entries
     * instead of |F| (differs only at the edges under padding=same); the
     * kernel entry (p, q) then divides by n(p)·n(q), n separable by axis. */
    int normalize_edges;
} IrPool;

typedef struct IrIndex {
    size_t pos; /* the position read, row-major over the current H×W */
} IrIndex;

typedef struct IrGlobalPool {
    int average; /* global_avg_pool (1) or global_sum_pool (0) */
} IrGlobalPool;

/* The axes a layer_norm normalises over besides the channels (neural-tangents'
 * LayerNorm(axis=...), which needs the channel axis among them): none, the
 * rows' axis (height), the columns' (width), all positions, or a volume's
 * slices' axis (depth; height and width are then those of each slice), or
 * two of a volume's three axes (the positions sharing the third: its
 * column's plane through the slices, its row's, its slice). The variance a
 * position divides by is the mean of Σ(p', p') over the unpadded positions
 * p' normalised together with it (its column, its row, the image, its line
 * through the slices, its plane): the empirical variance over infinitely
 * many channels and those positions. */
typedef enum IrLnAxes {
    IR_LN_CHANNELS,
    IR_LN_HEIGHT,
    IR_LN_WIDTH,
    IR_LN_ALL,
    IR_LN_DEPTH,
    IR_LN_DEPTH_HEIGHT, /* volumes: neural-tangents' LayerNorm(axis=(1, 2, -1)) on NDHWC */
    IR_LN_DEPTH_WIDTH,  /* (1, 3, -1) */
    IR_LN_HEIGHT_WIDTH  /* (2, 3, -1): each slice */
} IrLnAxes;

typedef struct IrLayerNorm {
    double eps; /* added to the variances, as neural-tangents does (1e-12) */
    IrLnAxes axes;
} IrLayerNorm;

/* Fan-in of a fanout (neural-tangents' FanInSum/FanInProd/FanInConcat):
 *   sum:    Σ = Σ_b s_b²Σ_b,  Θ = Σ_b s_b²Θ_b   (s_b = the branch scale)
 *   prod:   Σ = Π_b Σ_b,      Θ = Σ_b Θ_b Π_{c≠b} Σ_c
 *   concat: Σ = mean_b Σ_b,   Θ = mean_b Θ_b    (along channels)
 * Sum and product assume independent branches: lowering checks that every
 * branch ends in an affine layer, except at most one identity branch. */
typedef enum IrFanIn { IR_FANIN_SUM, IR_FANIN_PROD, IR_FANIN_CONCAT } IrFanIn;
/* concat along height or width: Σ is block-structured over pixel pairs, the
 * branch's own kernel where both pixels come from one branch (ir_fanout.h). */
typedef enum IrConcatAxis { IR_CONCAT_CHANNELS, IR_CONCAT_HEIGHT, IR_CONCAT_WIDTH, IR_CONCAT_DEPTH } IrConcatAxis;

/* Global self-attention (neural-tangents' GlobalSelfAttention, Hron et al.
 * 2020), kernels on full pixel-pair matrices (P = H·W pixels):
 *   scaling linear (keys and queries tied, logits / d_key): per input x,
 *     A_x = mech(w_q·w_k·Σ_xx) (softmax along the key axis, row by row);
 *     Σ' = w_v²w_out²·A₁ Σ A₂ᵀ + b²,  Θ' = w_v²w_out²·(A₁ Θ A₂ᵀ + 2·A₁ Σ A₂ᵀ) + b²
 *   scaling sqrt, mechanism identity (independent Q and K, logits / √d_key),
 *     with c = (w_q w_k w_v w_out)² and ⟨M, N⟩ = Σ_{p,q} M(p,q)·N(p,q):
 *     Σ' = c·⟨Σ,Σ⟩·Σ + b²,  Θ' = c·(2⟨Σ,Θ⟩·Σ + ⟨Σ,Σ⟩·(Θ + 4Σ)) + b²
 * Other combinations have no closed form; lowering refuses them. `heads`
 * only shapes the finite-width network (the kernel does not depend on it). */
typedef enum IrAttnMech { IR_ATTN_SOFTMAX, IR_ATTN_IDENTITY, IR_ATTN_ABS, IR_ATTN_RELU } IrAttnMech;

typedef struct IrAttention {
    int heads;
    int linear; /* scaling=linear (1) or sqrt (0) */
    IrAttnMech mech;
    double w_q, w_k, w_v, w_out, b_std;
    int pos_emb;         /* positional embeddings: 0 none, 1 sum, 2 concat */
    double w_pos;        /* their standard deviation */
    double pos_channels; /* concat: embedding channels per input channel */
    int val_pos_emb;     /* the values see the embeddings too */
    /* The embedded input's kernels are kw·Σ + pw·R (docs/attention.md):
     * none kw = 1, pw = 0; sum kw = 1, pw = w_pos²; concat
     * kw = 1/(1 + r), pw = w_pos²·r/(1 + r), r = pos_channels. */
    double kw, pw;
    long width; /* param standard: output channels (n_chan_out; 0 = unspecified, the last layer) */
} IrAttention;

typedef struct IrOp IrOp;

typedef struct IrBranch {
    IrOp *ops; /* nops == 0: the identity */
    size_t nops;
    double scale; /* sum: residual(alpha) is branches {identity, 1} and {body, alpha}; concat along the
                   * channels: √(the branch's share of the units), lower_branch.c; the kernels join by scale² */
} IrBranch;

typedef struct IrFanout {
    IrFanIn mode;
    IrBranch *branches;
    size_t nbranches;
    int residual; /* written as `residual`, for messages */
    IrConcatAxis axis; /* concat only: channels, or a spatial axis (ir_fanout.h) */
} IrFanout;

/* Spatial shape of an op's output: an h×w grid of channel vectors, or a vector. */
typedef struct IrShape {
    size_t h, w;
    int spatial; /* 0 = vector (vector nets, and after flatten / global pooling) */
    size_t d;    /* volumes: slices, h = d·(rows per slice); 0 on images */
} IrShape;

/* What the op reads from each input's record (compiler/ir/ir_record.c, the
 * one place that counts it): n values from double `at` on — the variances
 * Σ(x, x) entering an activation or layer_norm, one per pixel or node, or an
 * attention's weights —; with sqrt, 2n doubles: √Σ, then 1/√Σ. */
typedef struct IrRecord {
    size_t at, n;
    int sqrt;
} IrRecord;

struct IrOp {
    IrOpKind kind;
    SrcPos pos;
    union {
        IrDense dense;
        IrAct act;
        IrConv conv;
        IrPool pool;
        IrGlobalPool gpool;
        IrLayerNorm ln;
        IrFanout fanout;
        IrAttention attn;
        IrAggregate aggregate;
        IrReadout readout;
        IrDropout dropout;
        IrIndex index;
        IrResize resize;
    } u;
    IrShape out; /* filled by lowering for every op */
    /* The op's output is a centred Gaussian field whose channels are i.i.d.
     * with the kernel the IR carries — what the dual kernel T(Σ) of an
     * activation assumes of its input. Filled by lowering for every op by the
     * rules in docs/gaussianity.md: dense and conv set it; activations and
     * fanout … prod clear it (and need it of their inputs); flatten and
     * fanout … concat clear it (their units have different kernels); other
     * linear maps keep it when every input has it. */
    int gaussian;
    IrRecord rec; /* filled by lowering for every op */
    IrArgs args;  /* the image family's ops: the arguments as their row bound them (ir_args.h) */
};

typedef struct IrNet {
    const char *name;
    SrcPos pos;
    IrFamily family; /* decided once by lowering; stages look it up in families.h */
    Parameterization param;
    IrInput input;
    IrOp *ops; /* repeat blocks are unrolled; fanout branches nest */
    size_t nops;
    size_t record; /* doubles of one input's record (IrOp.rec): their sum */
} IrNet;

#endif
