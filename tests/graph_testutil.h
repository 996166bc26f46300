/* Graph data sets and graph nets for the graph tests. */
#ifndef NTKC_GRAPH_TESTUTIL_H
#define NTKC_GRAPH_TESTUTIL_H

#include <stddef.h>

#include "ntkc.h"

/* A growing graph file in the GIN text format (the graph count is filled in at the end). */
typedef struct GraphText {
    char *buf;
    size_t len, cap;
    size_t count;
} GraphText;

/* Appends a graph of n nodes with label `label`: edges as (u, v) pairs listed
 * on both sides, node tags given (NULL: all 0). */
void gt_add(GraphText *t, size_t n, const unsigned (*edges)[2], size_t nedges, const int *tags, int label);
/* The finished file text (malloc'd; frees t's buffer). */
char *gt_finish(GraphText *t);
/* Xorshift, for graphs that are the same on every run. */
typedef struct Rand {
    unsigned long long s;
} Rand;
/* A number below bound. */
unsigned gt_next(Rand *r, unsigned bound);

/* Appends count graphs of 8–20 nodes: cycles (label 0), paths (1) and stars
 * (2), graph i of class i % 3 in a shuffled order, all nodes tagged 0 (only
 * the structure tells them apart; one feature). labels[k] = the label of the
 * k-th graph appended. */
void gt_add_cycles_paths_stars(GraphText *t, Rand *r, size_t count, int *labels);
/* Parses text with F features, failing the test on error. */
ntkc_graphs *graphs_or_fail(const char *text, size_t features);

#endif
