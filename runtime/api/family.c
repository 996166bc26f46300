/* The library's columns of the family table: engines, ABI binding, finite
 * references (family.h; the rows are compiler/ir/families.h). */
#include "family.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_text.h"
#include "finite_conv.h"
#include "finite_graph.h"
#include "net_internal.h"

#define SYMBOL_ROW(field, suffix, required) {suffix, offsetof(NtkcTileFns, field), required},
static const AbiSymbol tile_symbols[] = {NTKC_TILE_SYMBOLS(SYMBOL_ROW)};
#undef SYMBOL_ROW
#define SYMBOL_ROW(field, suffix, required) {suffix, offsetof(NtkcGraphFns, field), required},
static const AbiSymbol graph_symbols[] = {NTKC_GRAPH_SYMBOLS(SYMBOL_ROW)};
#undef SYMBOL_ROW

/* The engines of the ENGINE column: runtime/engine/engine.c (tiles of a
 * matrix of inputs) and runtime/engine/graph_kernel.c (pairs of graphs). */
static const NetEngine tile_engine = {"tile", NET_MATRICES, tile_symbols, sizeof tile_symbols / sizeof *tile_symbols};
static const NetEngine graph_engine = {"graph", NET_GRAPHS, graph_symbols,
                                       sizeof graph_symbols / sizeof *graph_symbols};

/* A finite reference goes to the slot its engine's inputs call for. */
#define FINITE_SLOT_tile_engine(f) .finite_matrix = f
#define FINITE_SLOT_graph_engine(f) .finite_graphs = f
#define FAMILY_ROW(id, name_, lower, emit, engine_, finite, trains_)                                          \
    [IR_FAMILY_##id] = {.name = name_, .engine = &engine_, FINITE_SLOT_##engine_(finite), .trains = trains_},
static const NetFamily families[IR_NFAMILIES] = {NTKC_FAMILIES(FAMILY_ROW)};
#undef FAMILY_ROW

const NetFamily *net_family(const IrNet *net)
{
    return (unsigned)net->family < IR_NFAMILIES ? &families[net->family] : NULL;
}

int family_bind(const NetEngine *engine, const char *name, JitModule *module, NetFns *fns, ntkc_error *err)
{
    memset(fns, 0, sizeof *fns);
    for (size_t i = 0; i < engine->nsymbols; i++) {
        const AbiSymbol *s = &engine->symbols[i];
        /* Net names have no length limit, so neither has the symbol. */
        size_t len = strlen(NTKC_NET_PREFIX) + strlen(name) + strlen(s->suffix) + 1;
        char *symbol = malloc(len);
        if (symbol == NULL) {
            err_internal(err, "out of memory");
            return err->code;
        }
        snprintf(symbol, len, NTKC_NET_PREFIX "%s%s", name, s->suffix);
        void *p = jit_symbol(module, symbol);
        if (p == NULL && s->required)
            err_internal(err, "generated code lacks the symbol %s", symbol);
        free(symbol);
        if (p == NULL && s->required)
            return err->code;
        /* dlsym/tcc_get_symbol hand back object pointers; the field is a
         * function pointer of the ABI's type (kernel_abi.h). */
        if (p != NULL)
            memcpy((char *)fns + s->offset, &p, sizeof p);
    }
    return NTKC_OK;
}

int family_finite_kernels(const IrNet *net, const ntkc_finite_input *in, const FiniteNetOptions *opts, double *nngp,
                          double *ntk, ntkc_error *err)
{
    const NetFamily *f = net_family(net);
    if (f == NULL) {
        err_internal(err, "net '%s' has no family", net->name);
        return err->code;
    }
    if (f->engine->inputs == NET_GRAPHS) {
        if (in->graphs == NULL) {
            err_user(err, "net '%s' takes graphs (input graph): its finite-width check needs a graph file",
                      net->name);
            return err->code;
        }
        return f->finite_graphs(net, in->graphs, opts, nngp, ntk, err);
    }
    if (in->graphs != NULL) {
        err_user(err, "net '%s' does not take graphs", net->name);
        return err->code;
    }
    return f->finite_matrix(net, in->n, in->x, in->dim, opts, nngp, ntk, err);
}

int ntkc_finite_kernels(const ntkc_net *net, const ntkc_finite_input *in, const ntkc_finite_options *opts,
                        double *nngp, double *ntk, ntkc_error *err)
{
    return family_finite_kernels(ntkc_net_ir(net), in, opts, nngp, ntk, err);
}
