/* The library's side of the family table (compiler/ir/families.h): for each
 * family, the engine that runs its emitted code — the ABI whose symbols are
 * bound after JIT compilation and the kind of inputs it takes — its
 * finite-width reference and whether ntkc train covers it. The compiler's
 * columns (lowering check, emitter) are expanded in compiler/ir/lower.c and
 * compiler/emit/emit.c; this is the layer that may see every column, so the
 * rest of the runtime and the CLI look families up here. */
#ifndef NTKC_FAMILY_H
#define NTKC_FAMILY_H

#include <stddef.h>

#include "finite_net.h"
#include "graph_data.h"
#include "ir.h"
#include "jit.h"
#include "kernel_abi.h"
#include "ntkc.h"

typedef enum NetInputs { NET_MATRICES, NET_GRAPHS } NetInputs;

/* One symbol of an ABI: NTKC_NET_PREFIX NAME SUFFIX goes to offset in the
 * engine's function struct (kernel_abi.h lists them). */
typedef struct AbiSymbol {
    const char *suffix;
    size_t offset;
    int required;
} AbiSymbol;

/* The functions of a compiled net, in the struct of its engine's ABI. */
typedef union NetFns {
    NtkcTileFns tile;
    NtkcGraphFns graph;
} NetFns;

typedef struct NetEngine {
    const char *name;
    NetInputs inputs;
    const AbiSymbol *symbols;
    size_t nsymbols;
} NetEngine;

typedef int (*FiniteMatrixFn)(const IrNet *net, size_t n, const double *x, size_t dim, const FiniteNetOptions *opts,
                              double *nngp, double *ntk, ntkc_error *err);
typedef int (*FiniteGraphFn)(const IrNet *net, const ntkc_graphs *g, const FiniteNetOptions *opts, double *nngp,
                             double *ntk, ntkc_error *err);

typedef struct NetFamily {
    const char *name;
    const NetEngine *engine;
    FiniteMatrixFn finite_matrix; /* engine->inputs == NET_MATRICES */
    FiniteGraphFn finite_graphs;  /* engine->inputs == NET_GRAPHS */
    int trains;
} NetFamily;

/* The row of net's family (lowering decided it). */
const NetFamily *net_family(const IrNet *net);

/* Binds NTKC_NET_PREFIX "<name>" suffix for every symbol of engine's ABI into
 * fns from the JIT-compiled module; a missing required symbol
 * is an internal error naming it. */
int family_bind(const NetEngine *engine, const char *name, JitModule *module, NetFns *fns, ntkc_error *err);

/* The finite-width Monte Carlo reference of net's family on in (matrices or
 * graphs, as the family's engine takes): n×n NNGP and NTK, either may be NULL.
 * ntkc_finite_kernels (ntkc_tool.h) is this for a compiled net. */
int family_finite_kernels(const IrNet *net, const ntkc_finite_input *in, const FiniteNetOptions *opts, double *nngp,
                          double *ntk, ntkc_error *err);

#endif
