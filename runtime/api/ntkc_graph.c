/* The library's graph entry points: graph files in, graph kernels out. */
#include <stdlib.h>
#include <string.h>

#include "graph_data.h"
#include "graph_kernel.h"
#include "net_internal.h"
#include "ntkc.h"
#include "ntkc_err.h"

ntkc_graphs *ntkc_graphs_parse(const char *text, const char *name, size_t features, ntkc_error *err)
{
    err_clear(err);
    return graph_data_parse(text, name, features, err);
}

ntkc_graphs *ntkc_graphs_read(const char *path, size_t features, ntkc_error *err)
{
    err_clear(err);
    char *text = ntkc_read_text_file_max(path, NTKC_GRAPH_FILE_MAX, "graph files", err);
    if (text == NULL)
        return NULL;
    ntkc_graphs *g = graph_data_parse(text, path, features, err);
    free(text);
    return g;
}

size_t ntkc_graphs_count(const ntkc_graphs *graphs) { return graphs->count; }
size_t ntkc_graphs_features(const ntkc_graphs *graphs) { return graphs->features; }
size_t ntkc_graphs_nodes(const ntkc_graphs *graphs, size_t i)
{
    return i < graphs->count ? graphs->first[i + 1] - graphs->first[i] : 0;
}
const double *ntkc_graphs_labels(const ntkc_graphs *graphs) { return graphs->labels; }
const char *ntkc_graphs_warnings(const ntkc_graphs *graphs) { return graphs->warnings; }

/* What ntkc_kernel_graphs and ntkc_kernel_graphs_f32 check first. */
static int check_graph_net(const ntkc_net *net, int single, ntkc_error *err)
{
    err_clear(err);
    if (!ntkc_net_takes_graphs(net)) {
        err_user(err, "net '%s' does not take graphs: declare 'input graph(F)' in it, or use ntkc_kernel",
                  ntkc_net_name(net));
        return err->code;
    }
    if (ntkc_net_is_single(net) != single) {
        err_user(err, "net '%s' was compiled for %s precision: use %s", ntkc_net_name(net),
                 single ? "double" : "single", single ? "ntkc_kernel_graphs" : "ntkc_kernel_graphs_f32");
        return err->code;
    }
    return NTKC_OK;
}

int ntkc_kernel_graphs(const ntkc_net *net, const ntkc_graphs *g1, const ntkc_graphs *g2, double *nngp,
                       double *ntk, const ntkc_eval_options *opts, ntkc_error *err)
{
    if (check_graph_net(net, 0, err) != NTKC_OK)
        return err->code;
    return graph_kernel(ntkc_net_graph_fns(net), g1, g2, nngp, ntk, opts, GRAPH_AGG_AUTO, err);
}

int ntkc_kernel_graphs_f32(const ntkc_net *net, const ntkc_graphs *g1, const ntkc_graphs *g2, float *nngp,
                           float *ntk, const ntkc_eval_options *opts, ntkc_error *err)
{
    if (check_graph_net(net, 1, err) != NTKC_OK)
        return err->code;
    return graph_kernel_f32(ntkc_net_graph_fns(net), g1, g2, nngp, ntk, opts, GRAPH_AGG_AUTO, err);
}

int ntkc_kernel_graphs_dropout_mixed_twin(const ntkc_net *net, const ntkc_net *twin, const ntkc_graphs *g1,
                                     const ntkc_graphs *g2, double *nngp, double *ntk, const ntkc_eval_options *opts,
                                     ntkc_error *err)
{
    if (check_graph_net(net, 0, err) != NTKC_OK)
        return err->code;
    if (!ntkc_net_is_twin_of(twin, net) || g1 == NULL || g2 == NULL) {
        err_internal(err, "ntkc_kernel_graphs_dropout_mixed_twin: needs a net, its eval-mode twin and two graph sets");
        return err->code;
    }
    return graph_kernel_rows_by(ntkc_net_graph_fns(net), ntkc_net_graph_fns(twin), g1, g2, nngp, ntk, opts, err);
}
