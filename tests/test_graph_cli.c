/* `ntkc kernel` on graph files: outputs of the right shape matching the
 * library, warnings on stderr, and line-numbered errors with exit code 1. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "graph_testutil.h"
#include "npy.h"
#include "util.h"

static const char net_src[] = "net g { input graph(2)\n"
                              "  repeat 2 { aggregate(scale=degree); dense(1.4, 0.1); relu }\n"
                              "  readout(sum, jk=true); dense(1) }\n";
/* Three graphs; node 0 of graph 1 lists node 1, which does not list it back (line 3). */
static const char graphs_src[] = "3\n2 0\n0 1 1\n1 0\n3 1\n0 2 1 2\n1 2 0 2\n1 2 0 1\n1 0\n1 0\n";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static void read_npy_or_fail(const char *path, NpyArray *out)
{
    ntkc_error err = {0};
    cr_assert_eq(npy_read(path, out, &err), 0, "%s", err.message);
}

Test(graph_cli, kernel_on_graph_files)
{
    char dir[256], net[300], graphs[300], cmd[2048], errs[4096], k[300], s[300], k12[300];
    make_temp_dir(dir, sizeof dir);
    snprintf(net, sizeof net, "%s/g.ntk", dir);
    snprintf(graphs, sizeof graphs, "%s/graphs.txt", dir);
    snprintf(k, sizeof k, "%s/K.npy", dir);
    snprintf(s, sizeof s, "%s/S.npy", dir);
    snprintf(k12, sizeof k12, "%s/K12.npy", dir);
    write_file(net, net_src);
    write_file(graphs, graphs_src);
    snprintf(cmd, sizeof cmd, "%s kernel %s %s --ntk %s --nngp %s", ntkc_bin(), net, graphs, k, s);
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
    cr_expect(strstr(errs, "graphs.txt:3: warning: a neighbour is listed on one side only") != NULL, "%s", errs);
    NpyArray K, S;
    read_npy_or_fail(k, &K);
    read_npy_or_fail(s, &S);
    cr_assert_eq(K.ndim, 2);
    cr_expect_eq(K.shape[0], 3);
    cr_expect_eq(K.shape[1], 3);
    /* The same numbers as the library. */
    ntkc_net *n = compile_or_fail(net_src, NTKC_BACKEND_TCC);
    ntkc_graphs *g = graphs_or_fail(graphs_src, 2);
    double want_k[9], want_s[9];
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel_graphs(n, g, NULL, want_s, want_k, NULL, &err), 0, "%s", err.message);
    cr_expect_lt(max_rel_diff(K.data, want_k, 9), 1e-15);
    cr_expect_lt(max_rel_diff(S.data, want_s, 9), 1e-15);
    /* Cross kernel: 3 × 3 file against itself as a second input. */
    snprintf(cmd, sizeof cmd, "%s kernel %s %s %s --ntk %s --quiet", ntkc_bin(), net, graphs, graphs, k12);
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
    cr_expect_eq(errs[0], '\0', "--quiet prints nothing: %s", errs);
    NpyArray K12;
    read_npy_or_fail(k12, &K12);
    cr_expect_lt(max_rel_diff(K12.data, want_k, 9), 1e-13);
    npy_free(&K), npy_free(&S), npy_free(&K12);
    ntkc_graphs_free(g);
    ntkc_net_free(n);
}

Test(graph_cli, malformed_graph_file_fails_with_its_line)
{
    char dir[256], net[300], graphs[300], cmd[2048], errs[4096], k[300];
    make_temp_dir(dir, sizeof dir);
    snprintf(net, sizeof net, "%s/g.ntk", dir);
    snprintf(graphs, sizeof graphs, "%s/bad.txt", dir);
    snprintf(k, sizeof k, "%s/K.npy", dir);
    write_file(net, net_src);
    write_file(graphs, "1\n2 0\n0 1 1\n1 1 5\n");
    snprintf(cmd, sizeof cmd, "%s kernel %s %s --ntk %s", ntkc_bin(), net, graphs, k);
    cr_expect_eq(run_command(cmd, errs, sizeof errs), 1, "%s", errs);
    cr_expect(strstr(errs, "bad.txt:4:5: error: a neighbour of node 1 (graph 1 has 2 nodes) must be in [0, 1], got 5") !=
                  NULL,
              "%s", errs);
    cr_expect(!file_exists(k), "no output after an error");
    write_file(graphs, "1\n1 0\n0 0 0.5 0.5 0.5\n");
    cr_expect_eq(run_command(cmd, errs, sizeof errs), 1, "%s", errs);
    cr_expect(strstr(errs, "bad.txt:3:5: error: node 0 of graph 1 has 3 feature values, but the net takes graph(2)") !=
                  NULL,
              "%s", errs);
}

/* `ntkc check` on a graph net compares with finite graph networks: errors
 * measured 0.2–1.1 % over seeds 1–4 at this width and sample count. */
Test(graph_cli, check_on_graph_files)
{
    char dir[256], net[300], graphs[300], cmd[2048], errs[4096];
    make_temp_dir(dir, sizeof dir);
    snprintf(net, sizeof net, "%s/g.ntk", dir);
    snprintf(graphs, sizeof graphs, "%s/graphs.txt", dir);
    write_file(net, net_src);
    write_file(graphs, graphs_src);
    snprintf(cmd, sizeof cmd, "%s check %s %s --width 1024 --samples 48 --tol 0.05", ntkc_bin(), net, graphs);
    cr_expect_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
}
