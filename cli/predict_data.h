/* The data of `ntkc predict`: inputs as the net takes them (arrays, or graph
 * files for a net declaring `input graph(F)`) and targets (arrays, or the
 * class labels a graph file carries), checked against each other. */
#ifndef NTKC_CLI_PREDICT_DATA_H
#define NTKC_CLI_PREDICT_DATA_H

#include "ntkc_tool.h"
#include "ntkc.h"
#include "targets.h"

/* The files named on the command line; targets and test_targets may be NULL. */
typedef struct PredictPaths {
    const char *train, *targets, *test, *test_targets;
    int quiet; /* no reader warnings or notes on stderr */
    /* padding of variable-length inputs (masks.h), each may be NULL: mask
     * and lengths of the training inputs, then of the test inputs */
    const char *mask_train, *lengths_train, *mask_test, *lengths_test;
} PredictPaths;

typedef struct PredictData {
    NpyArray x, xt;          /* training and test rows (matrix nets) */
    ntkc_graphs *g, *gt;     /* training and test graphs (graph nets), else NULL */
    size_t n, m, dim;        /* training and test inputs; dim: values per row (0 for graphs) */
    Targets y, yt;           /* yt.y == NULL: no test metrics */
    const char *labels_from; /* the graph file whose labels are the targets, or NULL */
} PredictData;

/* Training targets: targets when given, else (graph nets only) the training
 * file's labels as classes. Test targets: test_targets when given; else, when
 * the training labels came from the file, the test file's labels if all are
 * training classes (otherwise a note on stderr, and no metrics). Returns 0 or
 * the error code; d is to be freed either way. */
int predict_data_load(const ntkc_net *net, const PredictPaths *p, PredictData *d, ntkc_error *err);
void predict_data_free(PredictData *d);

#endif
