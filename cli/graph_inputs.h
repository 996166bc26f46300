/* Graph data sets for the commands whose net declares `input graph(F)`. */
#ifndef NTKC_CLI_GRAPH_INPUTS_H
#define NTKC_CLI_GRAPH_INPUTS_H

#include "ntkc.h"

/* Reads a graph file for net (its F), printing the reader's warnings
 * (symmetrised adjacency, ...) to stderr unless quiet; a .npy array is
 * refused as such (input_kind.h). NULL with err set. */
ntkc_graphs *load_graphs(const char *path, const ntkc_net *net, int quiet, ntkc_error *err);

#endif
