/* Fuzz target: the graph-file reader (runtime/io/graph_data.h), with and without
 * a feature count imposed by the net. Oracles (each an abort):
 *  - a rejection is a user error naming the file;
 *  - an accepted set is consistent: every graph has nodes, the CSR adjacency
 *    is in range, sorted, free of duplicates and symmetric, features and
 *    labels are finite, and an imposed feature count is honoured;
 *  - reading the same text twice gives the same set. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_data.h"

#define FUZZ_NAME "fuzz.graph"

static void graph_fuzz_fail(const char *what, const char *message, const char *text)
{
    fprintf(stderr, "fuzz_graph: %s\n--- message ---\n%s\n--- text ---\n%s\n", what, message, text);
    abort();
}

static int has_neighbour(const ntkc_graphs *g, size_t v, unsigned u)
{
    for (size_t e = g->nbr_start[v]; e < g->nbr_start[v + 1]; e++)
        if (g->nbr[e] == u)
            return 1;
    return 0;
}

static void check_graphs(const ntkc_graphs *g, size_t features, const char *text)
{
    if (features != 0 && g->features != features)
        graph_fuzz_fail("the imposed feature count was not honoured", "", text);
    if (g->first[0] != 0)
        graph_fuzz_fail("first[0] is not 0", "", text);
    for (size_t i = 0; i < g->count; i++) {
        size_t v0 = g->first[i], n = g->first[i + 1] - v0;
        if (g->first[i + 1] <= v0)
            graph_fuzz_fail("a graph without nodes was accepted", "", text);
        if (!isfinite(g->labels[i]))
            graph_fuzz_fail("a label is not finite", "", text);
        for (size_t v = v0; v < v0 + n; v++) {
            if (g->nbr_start[v + 1] < g->nbr_start[v])
                graph_fuzz_fail("CSR offsets decrease", "", text);
            for (size_t e = g->nbr_start[v]; e < g->nbr_start[v + 1]; e++) {
                unsigned u = g->nbr[e];
                if (u >= n)
                    graph_fuzz_fail("a neighbour index is outside its graph", "", text);
                if (e > g->nbr_start[v] && g->nbr[e - 1] >= u)
                    graph_fuzz_fail("neighbours not sorted or repeated", "", text);
                if (!has_neighbour(g, v0 + u, (unsigned)(v - v0)))
                    graph_fuzz_fail("adjacency not symmetric", "", text);
            }
            for (size_t f = 0; f < g->features; f++)
                if (!isfinite(g->x[v * g->features + f]))
                    graph_fuzz_fail("a node feature is not finite", "", text);
        }
    }
}

static int same_graphs(const ntkc_graphs *a, const ntkc_graphs *b)
{
    size_t nodes = a->first[a->count];
    return a->count == b->count && a->features == b->features && nodes == b->first[b->count] &&
           memcmp(a->first, b->first, (a->count + 1) * sizeof *a->first) == 0 &&
           memcmp(a->nbr_start, b->nbr_start, (nodes + 1) * sizeof *a->nbr_start) == 0 &&
           memcmp(a->nbr, b->nbr, a->nbr_start[nodes] * sizeof *a->nbr) == 0 &&
           memcmp(a->x, b->x, nodes * a->features * sizeof *a->x) == 0 &&
           memcmp(a->labels, b->labels, a->count * sizeof *a->labels) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 14))
        return 0;
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    static const size_t imposed[] = {0, 3};
    for (size_t k = 0; k < sizeof imposed / sizeof imposed[0]; k++) {
        ntkc_error err = {0};
        ntkc_graphs *g = graph_data_parse(text, FUZZ_NAME, imposed[k], &err);
        if (g == NULL) {
            if (err.code != NTKC_EUSER || strstr(err.message, FUZZ_NAME) == NULL)
                graph_fuzz_fail("rejection is not a user error naming the file", err.message, text);
            continue;
        }
        check_graphs(g, imposed[k], text);
        ntkc_error err2 = {0};
        ntkc_graphs *again = graph_data_parse(text, FUZZ_NAME, imposed[k], &err2);
        if (again == NULL || !same_graphs(g, again))
            graph_fuzz_fail("reading the same text twice differs", err2.message, text);
        ntkc_graphs_free(again);
        ntkc_graphs_free(g);
    }
    free(text);
    return 0;
}
