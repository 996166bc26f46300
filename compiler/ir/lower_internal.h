/* Shared between the statement walker (lower.c) and the files that lower one
 * kind of statement each (lower_input.c: the input declaration; lower_image.c:
 * convolutions, pooling, flatten, layer_norm; lower_branch.c: residual and
 * fanout; lower_graph.c: aggregate, readout). Not a public interface. */
#ifndef NTKC_LOWER_INTERNAL_H
#define NTKC_LOWER_INTERNAL_H

#include "act_formula.h"
#include "arena.h"
#include "ast.h"
#include "diag.h"
#include "ir.h"
#include "ir_args.h"
#include "name_table.h"

/* Unrolled nets longer than this are almost surely a typo in a repeat count. */
enum { MAX_OPS = 100000 };

typedef struct Const {
    const char *name;
    double value;
    SrcPos pos;
} Const;

typedef struct Scope {
    Const *v;
    size_t n, cap;
    NameTable index; /* name -> position in v */
} Scope;

/* An op as messages name it: "relu at 2:12"; name NULL = the net's input. */
typedef struct OpRef {
    const char *name;
    SrcPos pos;
} OpRef;

/* What lowering knows of the value the next layer reads (docs/gaussianity.md). */
typedef struct Stream {
    int gaussian; /* a centred Gaussian field, channels i.i.d. (IrOp.gaussian) */
    OpRef from;   /* the op that produced it */
    OpRef cause;  /* not Gaussian: the op that made it so (from itself, or earlier) */
    const char *why; /* what cause did, for messages ("" for a nonlinearity) */
} Stream;

typedef struct Lower {
    Arena *a;
    const Program *prog;
    const NetDecl *net;
    Diag *err;
    const char *src;
    Scope file, local;
    Parameterization param;
    int param_given;
    SrcPos param_pos;
    int seen_layer;  /* any layer lowered (param and input must precede it) */
    long prev_width; /* output width of the previous dense or conv (param standard; lower_standard.c) */
    IrOp *ops;       /* the op list being filled: the net's, or a branch's */
    size_t nops, cap;
    size_t total_ops; /* over all lists, against MAX_OPS */
    /* Shapes (lower_input.c, lower_image.c, lower_branch.c). */
    IrInput input;
    int input_given;
    IrShape shape;      /* output shape of the last op lowered */
    Stream stream;      /* Gaussianity of that output and where it comes from */
    Stream agg_in;      /* the first non-Gaussian stream entering an aggregate (jk readouts sum them);
                         * .gaussian = 1 while there is none */
    SrcPos vector_pos;  /* where an image net became a vector (flatten, global pooling) */
    const char *vector_by;
    int branch_depth;   /* > 0 inside residual/fanout blocks */
    double units;       /* units of the stream per unit of width (lower_branch.c, lower_count_units) */
    int raw_input;      /* no affine layer on the stream yet: the net's input, finitely many channels */
    const IrOp *readout; /* a graph net's readout once lowered */
    FormulaCache formulas; /* formula activations instantiated so far */
} Lower;

/* Arguments matched to a layer's ParamSpecs: one slot per spec row, sized by
 * lower_bind_args from the layer's own table (in the compilation's arena), so
 * a layer may take any number of arguments. */
typedef struct Bound {
    double *v;
    int *given;
    SrcPos *pos;
} Bound;

/* Upper bounds this large only keep values representable; they are not shown. */
#define SHOWN_MAX 1e15
/* Scales (w_std, b_std, alpha) are squared into the generated code: beyond
 * this bound the square is no longer a finite double (sqrt(DBL_MAX) ~ 1.3e154)
 * and would be emitted as 'inf', which no C compiler accepts. */
#define STD_MAX 1e150

const char *lower_pos_str(Lower *L, SrcPos p);
int lower_bind_args(Lower *L, const Stmt *s, const ParamSpec *spec, int n, Bound *b);
/* The bound arguments as the op's table (IrOp.args, ir_args.h); kernel: the
 * rows its kernel-time function takes (NULL-terminated; NULL: none). */
IrArgs lower_args(const ParamSpec *spec, int n, const Bound *b, const char *const *kernel);
IrOp *lower_push_op(Lower *L, IrOpKind kind, SrcPos pos);
/* The Gaussianity rules (docs/gaussianity.md): the stream after a layer whose
 * output is Gaussian (dense, conv); or not, because of the layer `name` at pos
 * (why: what it did, for messages; "" for a nonlinearity). */
const char *lower_op_label(Lower *L, const IrOp *op); /* "relu", "fanout … prod" */
void lower_made_gaussian(Lower *L);
void lower_broke_gaussian(Lower *L, const char *name, SrcPos pos, const char *why);
/* 1 when the stream is Gaussian; else an error: `what` at pos needs a
 * Gaussian input, with where the input comes from. */
int lower_need_gaussian(Lower *L, const char *what, SrcPos pos, const Stream *in, const char *input_of);
int lower_block(Lower *L, const Block *b, int depth);

/* lower_branch.c: the stream's units after an op of this kind is pushed (an
 * affine layer: 1; flatten: times the pixels it reads; ir_fanout.h). */
void lower_count_units(Lower *L, IrOpKind kind);

/* lower_input.c */
/* 1 when the stream is an image (or sequence); else an error naming why not. */
int lower_need_image(Lower *L, const Stmt *s);
int lower_input(Lower *L, const Stmt *s, int depth);

/* lower_image.c */
/* "3×4", or "length 4" for a sequence. */
const char *lower_shape_text(Lower *L, IrShape s);
int lower_conv(Lower *L, const Stmt *s);
int lower_avg_pool(Lower *L, const Stmt *s);
int lower_sum_pool(Lower *L, const Stmt *s);
int lower_global_avg_pool(Lower *L, const Stmt *s);
int lower_global_sum_pool(Lower *L, const Stmt *s);
int lower_index(Lower *L, const Stmt *s);
int lower_flatten(Lower *L, const Stmt *s);
int lower_layer_norm(Lower *L, const Stmt *s);
/* Checks that need the whole net (it must end on a vector), for every net. */
int lower_check_image_net(Lower *L);
/* The image family's check (families.h): image inputs need param ntk. */
int lower_check_image_family(Lower *L);

/* The rows of one axis of a window: output size and padding before the first
 * pixel, or an error at `at` (lax's SAME/VALID; circular pads as SAME). */
int lower_window_axis(Lower *L, const Stmt *s, const char *axis, size_t n, int taps, int dil, int stride,
                      IrPadding pad, SrcPos at, size_t *out, int *lo);

/* lower_volume.c: 3-D windows on `input volume(D, H, W, C)` */
int lower_volume_conv(Lower *L, const Stmt *s);
int lower_volume_pool(Lower *L, const Stmt *s, int average);
/* Volume nets take the layers the all-pairs back end computes on them. */
int lower_check_volume_net(Lower *L);
/* lower_volume_masks.c: masked volumes take windows that keep the grid only. */
int lower_check_masked_volume(Lower *L);
/* lower_attention.c: image_resize on a masked input, refused by name (0). */
int lower_refuse_masked_resize(Lower *L, const IrOp *op);

/* lower_conv_variants.c */
int lower_conv_transpose(Lower *L, const Stmt *s);
int lower_conv_local(Lower *L, const Stmt *s);
/* One axis of conv_local (the conv's windows) and of conv_transpose (lax's
 * conv_transpose padding; circular: *fold, the valid length folded onto the
 * output): output size and padding before the first pixel, or an error. */
int lower_local_axis(Lower *L, const Stmt *s, const char *axis, size_t n, int k, int *stride, IrPadding pad,
                     size_t *out, int *lo);
int lower_transpose_axis(Lower *L, const Stmt *s, const char *axis, size_t n, int k, int stride, IrPadding pad,
                         size_t *out, int *lo, size_t *fold);
/* lower_volume_variants.c: conv_transpose and conv_local (kind) on a volume */
int lower_volume_variant(Lower *L, const Stmt *s, IrOpKind kind);
/* lower_resize.c */
int lower_image_resize(Lower *L, const Stmt *s);
/* lower_standard.c: widths and fan-ins under param standard */
/* The channels the next affine layer reads: the previous affine layer's
 * width, else the image's channels; 0 = the data's dimension (vectors). */
long lower_fan_in(Lower *L);
/* 0 with an error at the argument when width=N is given under param ntk. */
int lower_width_allowed(Lower *L, const Bound *b, int width_arg);
/* After flatten (channels × pixels) or global pooling (channels); 0 with an
 * error at s when the product is too large. */
int lower_std_to_vector(Lower *L, const Stmt *s, int flatten);
/* Every dense or conv but the last needs width=N under param standard. */
int lower_check_widths(Lower *L);
/* Under param standard, every affine layer of the branches br declares its
 * width, and a fanout's output width follows from its branches' (widths[b],
 * the input's for an identity): equal for sum, prod and spatial concat, the
 * total for a channel concat of equal widths; 0 with an error. in: the
 * fanout's input width (0: the data's, unknown here: refused). */
int lower_std_fanin(Lower *L, const Stmt *s, long in, const long *widths, const IrBranch *br, size_t n,
                    int channel_concat);

/* lower_branch.c */
int lower_residual(Lower *L, const Stmt *s);
int lower_fanout(Lower *L, const Stmt *s);

/* lower_attention.c */
int lower_attention(Lower *L, const Stmt *s);
/* A net with attention uses only the layers its kernel back end computes. */
int lower_check_attention_net(Lower *L);
/* The ATTENTION row's lower check: lower_check_image_family, then lower_check_attention_net. */
int lower_check_attention_family(Lower *L);

/* lower_dropout.c */
int lower_dropout(Lower *L, const Stmt *s);

/* lower_graph.c */
extern const char *const lower_bool_names[]; /* false, true */
int lower_aggregate(Lower *L, const Stmt *s);
int lower_readout(Lower *L, const Stmt *s);
/* A graph net pools exactly once, under param ntk, with graph layers only. */
int lower_check_graph_net(Lower *L);

#endif
