/* The finite-width reference for a compiled net (ntkc_tool.h): the runtime,
 * not its caller, picks the reference, by the net's row of the family table
 * (runtime/api/family.c), so `ntkc check` needs neither the IR nor the
 * references' headers. */
#include "family.h"
#include "net_internal.h"
#include "ntkc_err.h"

static FiniteNetOptions finite_options(const ntkc_finite_options *o)
{
    return (FiniteNetOptions){.width = o->width, .samples = o->samples, .seed = o->seed};
}

int ntkc_finite_kernels(const ntkc_net *net, size_t n, const double *x, size_t dim, const ntkc_finite_options *opts,
                        double *nngp, double *ntk, ntkc_error *err)
{
    FiniteNetOptions fo = finite_options(opts);
    NetData in = {.n = n, .x = x, .dim = dim};
    return ntkc_net_finite_kernels(net, &in, &fo, nngp, ntk, err);
}

int ntkc_finite_kernels_graphs(const ntkc_net *net, const ntkc_graphs *g, const ntkc_finite_options *opts,
                               double *nngp, double *ntk, ntkc_error *err)
{
    FiniteNetOptions fo = finite_options(opts);
    NetData in = {.n = ntkc_graphs_count(g), .graphs = g};
    return ntkc_net_finite_kernels(net, &in, &fo, nngp, ntk, err);
}
