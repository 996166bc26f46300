#include "predict_data.h"

#include <stdio.h>
#include <string.h>

#include "data.h"
#include "graph_inputs.h"
#include "masks.h"

void predict_data_free(PredictData *d)
{
    npy_free(&d->x), npy_free(&d->xt);
    ntkc_graphs_free(d->g), ntkc_graphs_free(d->gt);
    targets_free(&d->y), targets_free(&d->yt);
    memset(d, 0, sizeof *d);
}

/* Image nets accept (n, H, W, C) arrays or rows already flattened to H·W·C values. */
static int load_matrices(const ntkc_net *net, const PredictPaths *p, PredictData *d, ntkc_error *err)
{
    if (load_net_inputs(net, p->train, &d->x, err) || load_net_inputs(net, p->test, &d->xt, err))
        return err->code;
    if (d->x.shape[1] != d->xt.shape[1]) {
        err_user(err, "%s has %zu features per row but the training inputs %s have %zu", p->test, d->xt.shape[1],
                  p->train, d->x.shape[1]);
        return err->code;
    }
    d->n = d->x.shape[0], d->m = d->xt.shape[0], d->dim = d->x.shape[1];
    if (apply_mask_file(net, &d->x, p->train, p->mask_train, p->lengths_train, err) ||
        apply_mask_file(net, &d->xt, p->test, p->mask_test, p->lengths_test, err))
        return err->code;
    return 0;
}

static int load_graph_sets(const ntkc_net *net, const PredictPaths *p, PredictData *d, ntkc_error *err)
{
    if ((d->g = load_graphs(p->train, net, p->quiet, err)) == NULL ||
        (d->gt = load_graphs(p->test, net, p->quiet, err)) == NULL)
        return err->code;
    d->n = ntkc_graphs_count(d->g), d->m = ntkc_graphs_count(d->gt);
    return 0;
}

/* The test file's labels are scored when every one is a training class; a
 * file whose labels are placeholders is predicted on without metrics. */
static int test_graph_labels(const PredictPaths *p, PredictData *d, ntkc_error *err)
{
    const double *labels = ntkc_graphs_labels(d->gt);
    size_t bad = targets_first_non_class(labels, d->m, d->y.k);
    if (bad == d->m)
        return targets_from_labels(p->test, labels, d->m, &d->y, &d->yt, err);
    if (!p->quiet)
        fprintf(stderr, "%s: note: graph %zu has label %g, not one of the training classes 0..%zu: no test metrics\n",
                p->test, bad + 1, labels[bad], d->y.k - 1);
    return 0;
}

static int load_targets(const ntkc_net *net, const PredictPaths *p, PredictData *d, ntkc_error *err)
{
    const char *unit = d->g ? "graphs" : "inputs";
    if (p->targets) {
        if (targets_load_train(p->targets, d->n, p->train, unit, &d->y, err))
            return err->code;
    } else if (d->g) {
        if (targets_from_labels(p->train, ntkc_graphs_labels(d->g), d->n, NULL, &d->y, err))
            return err->code;
        d->labels_from = p->train;
    } else {
        err_user(err, "missing --targets Y.npy: net '%s' takes arrays, which carry no labels (only the graph "
                       "files of a graph net do)", ntkc_net_name(net));
        return err->code;
    }
    if (p->test_targets)
        return targets_load_test(p->test_targets, d->m, p->test, unit, &d->y, &d->yt, err);
    return d->labels_from ? test_graph_labels(p, d, err) : 0;
}

int predict_data_load(const ntkc_net *net, const PredictPaths *p, PredictData *d, ntkc_error *err)
{
    memset(d, 0, sizeof *d);
    if ((p->mask_train && p->lengths_train) || (p->mask_test && p->lengths_test)) {
        err_user(err, "give --mask-%s or --lengths-%s, not both", p->mask_train && p->lengths_train ? "train" : "test",
                 p->mask_train && p->lengths_train ? "train" : "test");
        return err->code;
    }
    if (ntkc_net_takes_graphs(net) && (p->mask_train || p->lengths_train || p->mask_test || p->lengths_test)) {
        err_user(err, "net '%s' takes graphs: masks and lengths are for sequences and images", ntkc_net_name(net));
        return err->code;
    }
    int rc = ntkc_net_takes_graphs(net) ? load_graph_sets(net, p, d, err) : load_matrices(net, p, d, err);
    return rc ? rc : load_targets(net, p, d, err);
}
