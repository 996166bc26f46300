/* The image finite net's layout and passes, shared by finite_conv.c (the
 * Monte Carlo kernels) and finite_conv_train.c (the training interface of
 * finite_model.h). Not part of any other file's interface. */
#ifndef NTKC_FINITE_CONV_INTERNAL_H
#define NTKC_FINITE_CONV_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "finite_attn.h"
#include "ir.h"
#include "rng.h"
#include "ntkc.h"

typedef struct Node Node;

typedef struct Branch {
    Node *nodes;
    size_t n;
} Branch;

struct Node {
    const IrOp *op;
    size_t hi, wi, ci; /* input grid and channels */
    size_t ho, wo, co; /* output */
    /* affine layers */
    IrWindow win;
    double ws, bs; /* forward multipliers of W and β */
    double w_init, b_init; /* deviations W and β are drawn with */
    int has_b;
    int frozen;    /* trainable=false: W and β get no gradient and no tangent */
    size_t k;      /* rows of W: kh·kw·ci */
    size_t w_off, b_off;
    double *cols;  /* im2col of the last input, ho·wo × k */
    double *gcols;
    /* buffers for one input */
    const double *in; /* the input of the last forward pass */
    double *out, *g;  /* output and ∂f/∂output */
    double *t;        /* the output's forward tangent (jvp) */
    double *tmp;      /* fanout: gradient scratch of input size */
    Branch *br;
    size_t nbr;
    FiniteAttn *attn; /* attention layers */
    size_t drop_id;   /* dropout layers: their number in the net (finite_conv_dropout.c) */
};

typedef struct Fc {
    const IrNet *net;
    ntkc_error *err;
    size_t width;
    const IrOp *readout; /* the last top-level affine layer */
    size_t nout;         /* its output channels for training (0: the width) */
    int mup;             /* μP scalings (finite_net.h) instead of NTK */
    Node *top;
    size_t ntop;
    size_t nparams;
    double *params, *grad;
    size_t out_units;
    /* Padding of the input being run (finite_conv_kernels; docs/attention.md
     * "Masking"): mask[p] = 0 at padded positions, NULL without padding. */
    const double *mask;
    size_t npos; /* the input's positions */
    /* Dropout (finite_conv_dropout.c): the layers' count, this sample's mask
     * seed and the input being run (each input draws its own masks). */
    size_t ndrop;
    uint64_t drop_seed;
    size_t row;
    int drop_eval; /* eval mode: dropout layers are the identity (ntkc train's predictions) */
} Fc;

/* The two sides of a linear pooling step. */
typedef struct PoolIo {
    const double *in;
    double *out;
} PoolIo;

size_t fconv_len_out(const Node *nd);
/* Lays the net out for inputs of dim values: hidden layers `width` wide, the
 * readout nout (0: the width) wide; mup: μP scalings (finite_net.h). */
int fconv_new(Fc *f, const IrNet *net, size_t dim, size_t width, size_t nout, int mup, ntkc_error *err);
void fconv_free(Fc *f);
void fconv_init_list(Fc *f, Node *nodes, size_t n, Rng *r);
/* One input through the nodes; every node keeps its input and output. */
void fconv_forward_list(Fc *f, Node *nodes, size_t n, const double *in);
/* From the last node's g (set by the caller) back to the parameters' f->grad
 * and, unless NULL, the input's gradient gin. */
void fconv_backward_list(Fc *f, Node *nodes, size_t n, const double *gout, double *gin);
void fconv_im2col(const Node *nd, const double *in, double *cols);
void fconv_pool_visit(const Node *nd, void (*fn)(const Node *, size_t o, size_t i, void *), void *ctx);
/* pool_visit's step for a PoolIo: out += c·in over the window. */
void fconv_pool_fwd(const Node *nd, size_t o, size_t i, void *ctx);
/* finite_conv_ln.c: the layer norm over the channels and the positions its
 * axes name (IrLnAxes; the unpadded ones of f->mask), forward into nd->out,
 * and gin = J·gout for its (symmetric) Jacobian at the last forward. */
void fconv_layer_norm_fwd(const Fc *f, Node *nd, const double *in);
void fconv_layer_norm_jac(const Fc *f, const Node *nd, const double *gout, double *gin);
/* finite_conv_std.c: an affine node's channels and multipliers under param
 * standard (its width from the IR; W drawn with w_std/√fan-in, β with b_std,
 * both used as they are). Called after the NTK layout set nd->co and nd->k. */
void fconv_standard_scales(Node *nd);

/* fanout … concat along height or width (finite_conv_concat.c): 1 for such
 * a fanout node; branch b's block of the whole output copied from `part`
 * (to_whole) or into it. */
int fconv_spatial_concat(const Node *nd);
void fconv_concat_block(const Node *nd, size_t b, double *whole, double *part, int to_whole);

/* finite_conv_variants.c: conv_transpose and conv_local nodes. */
int fcv_is_variant(const IrOp *op);
int fcv_lay(Fc *f, Node *nd, size_t co); /* co: output channels, 0 = the width */
size_t fcv_weights(const Node *nd);
size_t fcv_biases(const Node *nd);
void fcv_forward(const Fc *f, Node *nd, const double *in);
/* From nd->g into the parameters' f->grad and, unless NULL, the input's gin. */
void fcv_backward(Fc *f, Node *nd, double *gin);
/* nd->t from the input's tangent tin (NULL: zero) and the parameters' v. */
void fcv_tangent(const Fc *f, Node *nd, const double *tin, const double *v);

#endif
