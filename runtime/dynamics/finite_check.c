/* The finite-width reference for a compiled net (ntkc_tool.h): the runtime,
 * not its caller, picks the network family that matches the net, so `ntkc
 * check` needs neither the IR nor the references' headers. */
#include "finite_conv.h"
#include "finite_graph.h"
#include "finite_net.h"
#include "net_internal.h"
#include "ntkc_err.h"

static FiniteNetOptions finite_options(const ntkc_finite_options *o)
{
    return (FiniteNetOptions){.width = o->width, .samples = o->samples, .seed = o->seed};
}

int ntkc_finite_kernels(const ntkc_net *net, size_t n, const double *x, size_t dim, const ntkc_finite_options *opts,
                        double *nngp, double *ntk, ntkc_error *err)
{
    const IrNet *ir = ntkc_net_ir(net);
    FiniteNetOptions fo = finite_options(opts);
    if (ntkc_net_takes_graphs(net)) {
        err_internal(err, "ntkc_finite_kernels called for graph net '%s'", ntkc_net_name(net));
        return err->code;
    }
    return (finite_conv_needed(ir) ? finite_conv_kernels : finite_net_kernels)(ir, n, x, dim, &fo, nngp, ntk, err);
}

int ntkc_finite_kernels_graphs(const ntkc_net *net, const ntkc_graphs *g, const ntkc_finite_options *opts,
                               double *nngp, double *ntk, ntkc_error *err)
{
    FiniteNetOptions fo = finite_options(opts);
    return finite_graph_kernels(ntkc_net_ir(net), g, &fo, nngp, ntk, err);
}
