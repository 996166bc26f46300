/* The recursion IR: what the emitter and the finite-width checker walk.
 * The AST is lowered to this after all checks pass, so every op here is valid:
 * variances non-negative, parameters in range, an affine op before any act.
 * Later capabilities (convolutions, pooling, graphs) add op kinds here. */
#ifndef NTKC_IR_H
#define NTKC_IR_H

#include <stddef.h>

#include "act.h"
#include "diag.h"

typedef enum Parameterization { PARAM_NTK, PARAM_STANDARD } Parameterization;

typedef enum IrInputKind { IR_INPUT_VECTOR, IR_INPUT_GRAPH } IrInputKind;

typedef struct IrInput {
    IrInputKind kind;
    size_t dim;    /* features per input (per node for graphs); 0 = any (taken from the data) */
    int raw_gram;  /* graphs: input kernel x·x' as in Du et al. instead of x·x'/dim */
} IrInput;

typedef enum IrOpKind {
    IR_DENSE, /* Σ ← w²Σ + b²;  Θ ← Σ_new + w²Θ  (NTK parameterization) */
    IR_ACT,   /* Σ ← T(Σ);  Θ ← Θ·Ṫ(Σ) */
    /* Graph nets (input graph): Σ, Θ are node-pair matrices until the readout. */
    IR_AGGREGATE, /* Σ, Θ ← C ∘ (Â₁ (·) Â₂ᵀ), Â = A (+ I), C per IrAggregate */
    IR_READOUT    /* node pairs → graph pair: sum (or mean) over all pairs */
} IrOpKind;

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
} IrDense;

typedef struct IrAct {
    const ActDef *def;
    double p[ACT_MAX_PARAMS]; /* def->nparams values, defaults filled in */
} IrAct;

typedef struct IrOp {
    IrOpKind kind;
    SrcPos pos;
    union {
        IrDense dense;
        IrAct act;
        IrAggregate aggregate;
        IrReadout readout;
    } u;
} IrOp;

typedef struct IrNet {
    const char *name;
    SrcPos pos;
    Parameterization param;
    IrInput input;
    IrOp *ops; /* repeat blocks are unrolled */
    size_t nops;
} IrNet;

#endif
