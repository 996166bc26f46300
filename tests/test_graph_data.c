/* The graph file reader: structure, features, repairs reported as warnings,
 * and errors that name the line and column. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "graph_data.h"
#include "graph_testutil.h"

Test(graph_data, reads_structure_labels_and_one_hot_tags)
{
    const char *text = "2\n"
                       "3 1\n"
                       "0 2 1 2\n"
                       "2 1 0\r\n"
                       "\n"
                       "1 1 0\n"
                       "1 -1\n"
                       "0 0\n";
    ntkc_graphs *g = graphs_or_fail(text, 0);
    cr_expect_eq(ntkc_graphs_count(g), 2);
    cr_expect_eq(ntkc_graphs_features(g), 3); /* largest tag + 1 */
    cr_expect_eq(ntkc_graphs_nodes(g, 0), 3);
    cr_expect_eq(ntkc_graphs_nodes(g, 1), 1);
    cr_expect_eq(ntkc_graphs_labels(g)[0], 1.0);
    cr_expect_eq(ntkc_graphs_labels(g)[1], -1.0);
    cr_expect_null(ntkc_graphs_warnings(g));
    const double want_x[] = {1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0};
    cr_expect_arr_eq(g->x, want_x, sizeof want_x);
    /* node 0: {1, 2}, node 1: {0}, node 2: {0} */
    cr_expect_eq(g->nbr_start[1] - g->nbr_start[0], 2);
    cr_expect_eq(g->nbr[g->nbr_start[1]], 0);
    cr_expect_eq(g->nbr_start[4] - g->nbr_start[3], 0);
    ntkc_graphs_free(g);
    g = graphs_or_fail(text, 5); /* the net's F wins over the data's */
    cr_expect_eq(ntkc_graphs_features(g), 5);
    ntkc_graphs_free(g);
}

Test(graph_data, reads_feature_values)
{
    ntkc_graphs *g = graphs_or_fail("1\n2 0\n7 1 1 0.5 -2\n7 1 0 1e-3 4\n", 2);
    const double want_x[] = {0.5, -2, 1e-3, 4};
    cr_expect_arr_eq(g->x, want_x, sizeof want_x);
    ntkc_graphs_free(g);
}

Test(graph_data, repairs_are_warnings)
{
    /* 0 lists 1 but 1 lists nobody; 2 lists itself; 3 lists 2 twice. */
    ntkc_graphs *g = graphs_or_fail("1\n4 0\n0 1 1\n0 0\n0 2 2 3\n0 3 2 2 2\n", 1);
    const char *w = ntkc_graphs_warnings(g);
    cr_assert_not_null(w);
    cr_expect(strstr(w, "test-graphs.txt:3: warning: a neighbour is listed on one side only (1 such edges") != NULL,
              "%s", w);
    cr_expect(strstr(w, "made symmetric") != NULL, "%s", w);
    cr_expect(strstr(w, "test-graphs.txt:5: warning: a node lists itself") != NULL, "%s", w);
    cr_expect(strstr(w, "test-graphs.txt:6: warning: a neighbour is listed twice (2 in the file)") != NULL, "%s", w);
    /* The repaired adjacency: 0–1 both ways, 2–3 once each way, no self-loop. */
    cr_expect_eq(g->nbr_start[2] - g->nbr_start[1], 1);
    cr_expect_eq(g->nbr_start[3] - g->nbr_start[2], 1);
    cr_expect_eq(g->nbr[g->nbr_start[2]], 3);
    cr_expect_eq(g->nbr_start[4] - g->nbr_start[3], 1);
    ntkc_graphs_free(g);
}

/* Arrays, not pointers: Criterion hands parameters to a re-executed worker. */
typedef struct BadFile {
    char name[32], text[48];
    size_t features;
    char where[48], what[96];
} BadFile;

static const BadFile bad_files[] = {
    {"neighbour_out_of_range", "1\n2 0\n0 1 2\n0 1 0\n", 0, ":3:5:", "must be in [0, 1], got 2"},
    {"negative_neighbour", "1\n2 0\n0 1 -1\n0 1 0\n", 0, ":3:5:", "got -1"},
    {"too_few_neighbours", "1\n2 0\n0 3 1\n0 1 0\n", 0, ":3:3:", "declares 3 neighbours but only 1 values follow"},
    {"too_few_graphs", "3\n1 0\n0 0\n", 0, ":3:1:", "the file ends after 1 graphs, but its first line announces 3"},
    {"too_few_nodes", "1\n3 0\n0 0\n", 0, ":3:1:", "the file ends inside graph 1: expected node 1 of its 3"},
    {"extra_content", "1\n1 0\n0 0\n1 0\n", 0, ":4:1:", "unexpected content after the 1 graphs announced on line 1"},
    {"bad_header", "1\n2 0 5\n", 0, ":2:1:", "expected the header 'n label' of graph 1"},
    {"zero_nodes", "1\n0 0\n", 0, ":2:1:", "the node count must be in [1,"},
    {"count_not_a_number", "two\n", 0, ":1:1:", "expected the number of graphs (a whole number), got 'two'"},
    {"count_line_two_values", "2 3\n", 0, ":1:3:", "expected only the number of graphs"},
    {"features_not_matching_net", "1\n1 0\n0 0 1.5 2.5\n", 3, ":3:5:", "has 2 feature values, but the net takes graph(3)"},
    {"features_inconsistent", "1\n2 0\n0 1 1 1.5\n0 1 0\n", 0, ":4:5:", "has 0 feature values after its neighbours, but line 3 has 1"},
    {"tag_too_large_for_one_hot", "1\n1 0\n4 0\n", 3, ":3:1:", "tag 4 of node 0 is not below 3"},
    {"negative_tag_one_hot", "1\n1 0\n-1 0\n", 0, ":3:1:", "tag -1 of node 0 is negative"},
    {"feature_not_a_number", "1\n1 0\n0 0 abc\n", 1, ":3:5:", "expected a node feature (a finite number), got 'abc'"},
    {"feature_not_finite", "1\n1 0\n0 0 inf\n", 1, ":3:5:", "a finite number"},
    {"label_not_a_number", "1\n1 x\n0 0\n", 0, ":2:3:", "expected the graph label"},
    {"empty_file", "\n\n", 0, "test-graphs.txt: the file is empty", "expected the number of graphs"},
};

ParameterizedTestParameters(graph_data, errors)
{
    return cr_make_param_array(BadFile, bad_files, sizeof bad_files / sizeof bad_files[0]);
}

ParameterizedTest(const BadFile *b, graph_data, errors)
{
    ntkc_error err = {0};
    ntkc_graphs *g = ntkc_graphs_parse(b->text, "test-graphs.txt", b->features, &err);
    cr_expect_null(g, "%s: should fail", b->name);
    ntkc_graphs_free(g);
    cr_expect_eq(err.code, 1, "%s: %s", b->name, err.message);
    cr_expect(strstr(err.message, b->where) != NULL, "%s: want '%s' in: %s", b->name, b->where, err.message);
    cr_expect(strstr(err.message, b->what) != NULL, "%s: want '%s' in: %s", b->name, b->what, err.message);
}

Test(graph_data, missing_file_is_an_error)
{
    ntkc_error err = {0};
    cr_expect_null(ntkc_graphs_read("/nonexistent/graphs.txt", 0, &err));
    cr_expect(strstr(err.message, "cannot open /nonexistent/graphs.txt") != NULL, "%s", err.message);
}
