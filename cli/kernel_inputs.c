#include "kernel_inputs.h"

#include "data.h"
#include "graph_inputs.h"

static int load_matrices(const ntkc_net *net, const char *const paths[2], KernelInputs *in, ntkc_error *err)
{
    int rc = load_net_inputs(net, paths[0], &in->x1, err);
    if (rc == 0 && paths[1])
        rc = load_net_inputs(net, paths[1], &in->x2, err);
    if (rc == 0 && paths[1] && in->x1.shape[1] != in->x2.shape[1])
        err_user(err, "%s has %zu features per row but %s has %zu", paths[0], in->x1.shape[1], paths[1],
                  in->x2.shape[1]),
            rc = err->code;
    if (rc == 0) {
        in->n1 = in->x1.shape[0];
        in->n2 = paths[1] ? in->x2.shape[0] : in->n1;
    }
    return rc;
}

static int load_graph_sets(const ntkc_net *net, const char *const paths[2], int quiet, KernelInputs *in,
                           ntkc_error *err)
{
    if ((in->g1 = load_graphs(paths[0], net, quiet, err)) == NULL)
        return err->code;
    if (paths[1] && (in->g2 = load_graphs(paths[1], net, quiet, err)) == NULL)
        return err->code;
    in->n1 = ntkc_graphs_count(in->g1);
    in->n2 = in->g2 ? ntkc_graphs_count(in->g2) : in->n1;
    return 0;
}

int kernel_inputs_load(const ntkc_net *net, const char *const paths[2], int quiet, KernelInputs *in,
                       ntkc_error *err)
{
    in->second = paths[1] != NULL;
    return ntkc_net_takes_graphs(net) ? load_graph_sets(net, paths, quiet, in, err)
                                      : load_matrices(net, paths, in, err);
}

void kernel_inputs_free(KernelInputs *in)
{
    npy_free(&in->x1);
    npy_free(&in->x2);
    ntkc_graphs_free(in->g1);
    ntkc_graphs_free(in->g2);
}
