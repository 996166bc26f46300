#include "graph_inputs.h"

#include <stdio.h>

#include "input_kind.h"

ntkc_graphs *load_graphs(const char *path, const ntkc_net *net, int quiet, ntkc_error *err)
{
    if (check_input_kind(net, path, err) != 0)
        return NULL;
    ntkc_graphs *g = ntkc_graphs_read(path, ntkc_net_input_dim(net), err);
    if (g != NULL && !quiet && ntkc_graphs_warnings(g) != NULL)
        fputs(ntkc_graphs_warnings(g), stderr);
    return g;
}
