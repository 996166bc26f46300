/* Graph data sets in the text format of the GIN and GNTK reference code:
 *
 *   N                          number of graphs
 *   n label                    per graph: its node count and label
 *   tag k v1 ... vk [f1 ... fF]   per node: tag, k neighbours (0-based node
 *                                 indices within the graph), optional features
 *
 * Node features are the F values when given (every node of the file then has
 * exactly F), else one-hot from the tags (0 <= tag < F). Blank lines are
 * ignored. Adjacency is made symmetric: a neighbour listed on one side only
 * adds the missing direction (as the reference loader's undirected graphs do),
 * a node listing itself or a neighbour twice is taken once; each of these is
 * reported in the set's warnings rather than failing the read. Everything else
 * malformed is an error naming the file, line and column. */
#ifndef NTKC_GRAPH_DATA_H
#define NTKC_GRAPH_DATA_H

#include <stddef.h>

#include "diag.h"
#include "ntkc.h"

struct ntkc_graphs {
    size_t count;        /* graphs */
    size_t features;     /* F: features per node */
    size_t *first;       /* first[g] = index of graph g's first node; first[count] = all nodes */
    double *x;           /* node features, all nodes × F, row-major */
    size_t *nbr_start;   /* CSR over all nodes: neighbours of node v are */
    unsigned *nbr;       /* nbr[nbr_start[v] .. nbr_start[v+1]), local indices, sorted */
    double *labels;      /* one per graph */
    char *warnings;      /* NULL when the file was clean */
};

/* Parses text (named name in messages). features: F the net takes, or 0 to
 * take it from the data (the feature count, else the largest tag + 1). */
ntkc_graphs *graph_data_parse(const char *text, const char *name, size_t features, ntkc_error *err);

#endif
