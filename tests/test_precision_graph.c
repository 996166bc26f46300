/* --precision single for graph nets (docs/precision.md, "Graph nets"):
 * float32 kernels of every graph net of examples/ and of nets with the other
 * activations, degree scaling, a mean readout, layers after the readout, a
 * frozen layer, dense graphs (aggregation by sgemm) and wide features (the
 * input Gram by dgemm), against float64 ones, symmetric and cross, on both
 * back ends; a duplicated graph's entries; prediction; the written file's
 * standalone entry against the engine, bit for bit; the C API's precision
 * checks; the CLI's float32 output.
 *
 * The error bound, relative to the largest entry of the float64 kernel:
 *     (1 + Σ_aggregate (2·Δ + 4) + 32·L + 2)·u,   u = 2^-24,
 * 1 for the input Gram (its dot products summed in float64, rounded once);
 * per aggregation two sums of at most Δ terms each (Δ the largest row of Â,
 * the degree plus the self-loop: Higham's γ_Δ per side, relative to the sum
 * of the terms' sizes, which is the entry itself once the entries are
 * non-negative) plus the degree scale (the two 1/deg rounded, their product,
 * the multiplication); 32 ulps per other op (dense, activation), as in the
 * fully connected bound (test_precision.c); 2 for the readout (its sum is
 * float64: n₁·n₂·2^-53 <= u for fewer than 2^29 node pairs, then rounded
 * once). Every count is read from the net's IR (ntkc_ir) and Δ from the
 * graphs, not written here. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph_data.h"
#include "graph_testutil.h"
#include "ntkc.h"
#include "precision_util.h"
#include "util.h"

static const double unit_roundoff = UNIT_ROUNDOFF_F32;

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char *text = calloc(1, 1 << 16);
    size_t len = fread(text, 1, (1 << 16) - 1, f);
    fclose(f);
    text[len] = 0;
    return text;
}

/* The largest row of Â over both sets: the most neighbours of a node (+ 1
 * with self-loops, added by the caller). */
static size_t max_degree(const ntkc_graphs *g)
{
    size_t d = 0, nodes = g->first[g->count];
    for (size_t u = 0; u < nodes; u++)
        d = g->nbr_start[u + 1] - g->nbr_start[u] > d ? g->nbr_start[u + 1] - g->nbr_start[u] : d;
    return d;
}

/* The bound above, counted on the IR of source. */
static double graph_bound(const char *source, const char *name, size_t degree)
{
    ntkc_error err = {0};
    char *ir = ntkc_ir(source, name, NULL, &err);
    cr_assert_not_null(ir, "%s", err.message);
    double agg = 0, other = 0, readouts = 0;
    for (char *line = strtok(ir, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        const char *p = line + strspn(line, " ");
        const char *eq = strstr(p, " = ");
        if (*p != '%' || eq == NULL)
            continue;
        const char *op = eq + 3;
        if (strncmp(op, "aggregate ", 10) == 0)
            agg += 2.0 * (double)(degree + (strstr(op, "self_loops true") != NULL)) + 4;
        else if (strncmp(op, "readout ", 8) == 0)
            readouts += 1;
        else if (strncmp(op, "input", 5) != 0)
            other += 1;
    }
    ntkc_free(ir);
    cr_assert_eq(readouts, 1, "%s: one readout expected in its IR", name);
    cr_assert_gt(other, 0, "%s: no ops in its IR", name);
    return (1 + agg + 32 * other + 2) * unit_roundoff;
}

/* Appends printf output to the growing string *buf (length *len, capacity *cap). */
static void put(char **buf, size_t *len, size_t *cap, const char *fmt, double v)
{
    char piece[64];
    int k = snprintf(piece, sizeof piece, fmt, v);
    if (*len + (size_t)k + 1 > *cap) {
        *cap = 2 * (*cap + (size_t)k + 64);
        *buf = realloc(*buf, *cap);
        cr_assert_not_null(*buf);
    }
    memcpy(*buf + *len, piece, (size_t)k + 1);
    *len += (size_t)k;
}

/* count random graphs of lo..hi nodes (a random tree plus each other pair
 * with probability 2/n), tags uniform in [0, 7); with features > 0, each node
 * also carries that many values in [-1, 1]; graph 0 repeated last when dup. */
static char *random_graphs(unsigned long long seed, size_t count, unsigned lo, unsigned hi, size_t features, int dup)
{
    Rand r = {seed};
    size_t len = 0, cap = 0;
    char *buf = NULL;
    unsigned char *adj = malloc(hi * hi);
    int *tags = malloc(hi * sizeof *tags);
    double *x = malloc(hi * (features + 1) * sizeof *x);
    cr_assert(adj && tags && x);
    put(&buf, &len, &cap, "%.0f\n", (double)(count + (dup != 0)));
    unsigned long long first_state = r.s;
    for (size_t g = 0; g < count + (dup != 0); g++) {
        if (g == count) /* the duplicate: graph 0 drawn again */
            r.s = first_state;
        unsigned n = lo + gt_next(&r, hi - lo + 1);
        memset(adj, 0, hi * hi);
        for (unsigned v = 1; v < n; v++) {
            unsigned u = gt_next(&r, v);
            adj[u * n + v] = adj[v * n + u] = 1;
        }
        for (unsigned u = 0; u < n; u++)
            for (unsigned v = u + 1; v < n; v++)
                if (gt_next(&r, n) < 2)
                    adj[u * n + v] = adj[v * n + u] = 1;
        for (unsigned u = 0; u < n; u++) {
            tags[u] = (int)gt_next(&r, 7);
            for (size_t k = 0; k < features; k++)
                x[u * features + k] = (double)gt_next(&r, 2001) / 1000.0 - 1.0;
        }
        put(&buf, &len, &cap, "%.0f", (double)n);
        put(&buf, &len, &cap, " %.0f\n", (double)(g % 2));
        for (unsigned u = 0; u < n; u++) {
            unsigned k = 0;
            for (unsigned v = 0; v < n; v++)
                k += adj[u * n + v];
            put(&buf, &len, &cap, "%.0f", (double)tags[u]);
            put(&buf, &len, &cap, " %.0f", (double)k);
            for (unsigned v = 0; v < n; v++)
                if (adj[u * n + v])
                    put(&buf, &len, &cap, " %.0f", (double)v);
            for (size_t f = 0; f < features; f++)
                put(&buf, &len, &cap, " %.3f", x[u * features + f]);
            put(&buf, &len, &cap, "\n", 0.0);
        }
    }
    free(adj), free(tags), free(x);
    return buf;
}

/* source's float32 kernels against float64 on g1 with itself (g2 NULL) or
 * against g2, within the bound; a duplicate of graph 0 (last of g1 when dup)
 * gets graph 0's entries exactly. Returns the NTK's error (for the tables). */
static double compare(const char *source, const char *name, ntkc_backend backend, const ntkc_graphs *g1,
                      const ntkc_graphs *g2, int dup)
{
    ntkc_net *n64 = compile_prec(source, name, NTKC_PRECISION_DOUBLE, backend);
    ntkc_net *n32 = compile_prec(source, name, NTKC_PRECISION_SINGLE, backend);
    size_t n1 = ntkc_graphs_count(g1), cols = g2 ? ntkc_graphs_count(g2) : n1, count = n1 * cols;
    double *k64 = malloc(2 * count * sizeof *k64);
    float *k32 = malloc(2 * count * sizeof *k32);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel_graphs(n64, g1, g2, k64, k64 + count, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel_graphs_f32(n32, g1, g2, k32, k32 + count, NULL, &err), 0, "%s", err.message);
    size_t degree = max_degree(g1);
    if (g2 && max_degree(g2) > degree)
        degree = max_degree(g2);
    double bound = graph_bound(source, name, degree);
    double e_nngp = rel_to_largest(k64, k32, count), e_ntk = rel_to_largest(k64 + count, k32 + count, count);
    cr_expect_gt(e_nngp + e_ntk, 0, "%s: float32 equals float64: the float32 path did not run", name);
    cr_expect_leq(e_nngp, bound, "%s NNGP (%zu x %zu): float32 error %.3g above the bound %.3g", name, n1, cols,
                  e_nngp, bound);
    cr_expect_leq(e_ntk, bound, "%s NTK (%zu x %zu): float32 error %.3g above the bound %.3g", name, n1, cols,
                  e_ntk, bound);
    if (!g2) {
        for (size_t i = 0; i < n1; i++)
            for (size_t j = 0; j < i; j++)
                cr_assert_eq(k32[i * n1 + j], k32[j * n1 + i], "%s: not symmetric at %zu, %zu", name, i, j);
        if (dup)
            for (size_t o = 0; o < 2 * count; o += count) {
                cr_expect_eq(k32[o + (n1 - 1) * n1], k32[o], "%s: a duplicate graph's entry with graph 0", name);
                cr_expect_eq(k32[o + (n1 - 1) * n1 + n1 - 1], k32[o], "%s: a duplicate graph with itself", name);
            }
    }
    free(k64);
    free(k32);
    ntkc_net_free(n64);
    ntkc_net_free(n32);
    return e_ntk;
}

/* Degree scaling without self-loops, erf and gelu (their float64 duals per
 * pair), a mean readout followed by a ReLU layer (segments on 1×1); a
 * frozen layer, leaky_relu and a dense layer before the first aggregation,
 * on the raw input Gram. */
static const char *const other_nets[] = {
    "net gm { input graph(7); aggregate(scale=degree); dense(1.5, 0.1); erf; aggregate(self_loops=false);\n"
    "  dense(1.4, 0.2); gelu; readout(mean); dense(1.2, 0.1); relu; dense(1) }",
    "net gf { input graph(7, normalize=false); dense(1.3); relu; aggregate; dense(1.4, trainable=false);\n"
    "  leaky_relu(alpha=0.2); aggregate(scale=degree, self_loops=false); dense(1.4, 0.1); relu; readout(sum, jk=true);\n"
    "  dense }",
};

/* Every graph net of examples/ (7 node tags, as MUTAG). */
static const char *const graph_examples[] = {"examples/gntk.ntk", "examples/gnn_dropout.ntk"};

static void compare_all(ntkc_backend backend)
{
    char *t1 = random_graphs(11, 18, 3, 14, 0, 1), *t2 = random_graphs(12, 7, 3, 14, 0, 0);
    ntkc_graphs *g1 = graphs_or_fail(t1, 7), *g2 = graphs_or_fail(t2, 7);
    for (size_t e = 0; e < sizeof graph_examples / sizeof *graph_examples; e++) {
        char *text = read_text(graph_examples[e]);
        /* dropout scales a graph with itself, not with a copy: no duplicate check there */
        compare(text, graph_examples[e], backend, g1, NULL, strstr(text, "dropout") == NULL);
        compare(text, graph_examples[e], backend, g1, g2, 0);
        free(text);
    }
    for (size_t i = 0; i < sizeof other_nets / sizeof *other_nets; i++) {
        compare(other_nets[i], "other.ntk", backend, g1, NULL, 1);
        compare(other_nets[i], "other.ntk", backend, g1, g2, 0);
    }
    ntkc_graphs_free(g1);
    ntkc_graphs_free(g2);
    free(t1);
    free(t2);
}

Test(precision_graph, examples_within_bound_of_float64_tcc, .timeout = TIMEOUT(300)) { compare_all(NTKC_BACKEND_TCC); }

Test(precision_graph, examples_within_bound_of_float64_cc, .timeout = TIMEOUT(600)) { compare_all(NTKC_BACKEND_CC); }

/* Dense graphs of 24 nodes and more (aggregation by sgemm) and 33 node
 * features (the input Gram by dgemm, then rounded). */
Test(precision_graph, dense_graphs_and_wide_features, .timeout = TIMEOUT(300))
{
    GraphText t = {0};
    Rand r = {5};
    unsigned(*edges)[2] = malloc(30 * 30 * sizeof *edges);
    cr_assert_not_null(edges);
    for (size_t g = 0; g < 6; g++) {
        unsigned n = 24 + gt_next(&r, 6);
        size_t ne = 0;
        for (unsigned u = 0; u < n; u++)
            for (unsigned v = u + 1; v < n; v++)
                if (gt_next(&r, 10) < 6) /* 60 % of the pairs: dense enough for BLAS */
                    edges[ne][0] = u, edges[ne][1] = v, ne++;
        int tags[30];
        for (unsigned u = 0; u < n; u++)
            tags[u] = (int)gt_next(&r, 7);
        gt_add(&t, n, (const unsigned(*)[2])edges, ne, tags, 0);
    }
    free(edges);
    char *text = gt_finish(&t);
    ntkc_graphs *g = graphs_or_fail(text, 7);
    const char *net = "net gd { input graph(7); aggregate(scale=degree); dense(1.4, 0.1); relu; aggregate; dense(1.4);\n"
                      "  relu; readout(mean, jk=true); dense }";
    compare(net, "dense.ntk", NTKC_BACKEND_TCC, g, NULL, 0);
    ntkc_graphs_free(g);
    free(text);

    char *wide = random_graphs(21, 9, 3, 10, 33, 0);
    ntkc_graphs *gw = graphs_or_fail(wide, 33);
    compare("net gw { input graph(33); aggregate; dense(1.5, 0.1); relu; dense(1.3); erf; readout(sum); dense }",
            "wide.ntk", NTKC_BACKEND_TCC, gw, NULL, 0);
    ntkc_graphs_free(gw);
    free(wide);
}

/* Prediction from float32 graph kernels (solved in float64) against float64,
 * within 2·κ₂·n·ε (test_precision.c, predict_float32_within_condition_bound):
 * ε the entrywise bound above. */
Test(precision_graph, predict_within_condition_bound, .timeout = TIMEOUT(300))
{
    enum { N = 16, M = 7 };
    char *t1 = random_graphs(31, N, 3, 12, 0, 0), *t2 = random_graphs(32, M, 3, 12, 0, 0);
    ntkc_graphs *g1 = graphs_or_fail(t1, 7), *g2 = graphs_or_fail(t2, 7);
    char *text = read_text("examples/gntk.ntk");
    ntkc_net *n64 = compile_prec(text, "examples/gntk.ntk", NTKC_PRECISION_DOUBLE, NTKC_BACKEND_TCC);
    ntkc_net *n32 = compile_prec(text, "examples/gntk.ntk", NTKC_PRECISION_SINGLE, NTKC_BACKEND_TCC);
    size_t degree = max_degree(g1) > max_degree(g2) ? max_degree(g1) : max_degree(g2);
    double eps = graph_bound(text, "examples/gntk.ntk", degree);
    free(text);
    double y[N], m64[M], m32[M], k[N * N];
    fill_random(y, N, 19);
    ntkc_predict_options po = {.reg = 1e-3};
    ntkc_error err = {0};
    cr_assert_eq(ntkc_predict_graphs(n64, g1, y, 1, g2, NULL, 0, &po, m64, NULL, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_predict_graphs(n32, g1, y, 1, g2, NULL, 0, &po, m32, NULL, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel_graphs(n64, g1, NULL, NULL, k, NULL, &err), 0, "%s", err.message);
    double trace = 0, worst = 0, big = 0;
    for (size_t i = 0; i < N; i++)
        trace += k[i * N + i];
    for (size_t i = 0; i < N; i++) /* the regulariser the prediction adds: reg × the mean diagonal */
        k[i * N + i] += 1e-3 * trace / N;
    double kappa = (trace * (1 + 1e-3)) / min_eigenvalue(k, N);
    for (size_t i = 0; i < M; i++) {
        worst = fmax(worst, fabs(m64[i] - m32[i]));
        big = fmax(big, fabs(m64[i]));
    }
    cr_expect_gt(worst, 0, "float32 and float64 predictions identical: the float32 path did not run");
    cr_expect_leq(worst / big, 2 * kappa * N * eps, "mean error %.3g, bound %.3g (κ₂ <= %.3g)", worst / big,
                  2 * kappa * N * eps, kappa);
    ntkc_net_free(n64);
    ntkc_net_free(n32);
    ntkc_graphs_free(g1);
    ntkc_graphs_free(g2);
    free(t1);
    free(t2);
}

/* Each kernel function refuses a net of the other precision, by name. */
Test(precision_graph, api_refuses_the_other_precision)
{
    char *t1 = random_graphs(41, 3, 3, 6, 0, 0);
    ntkc_graphs *g = graphs_or_fail(t1, 7);
    char *text = read_text("examples/gntk.ntk");
    ntkc_net *n64 = compile_prec(text, "gntk.ntk", NTKC_PRECISION_DOUBLE, NTKC_BACKEND_TCC);
    ntkc_net *n32 = compile_prec(text, "gntk.ntk", NTKC_PRECISION_SINGLE, NTKC_BACKEND_TCC);
    double k[9];
    float kf[9];
    ntkc_error err = {0};
    cr_expect_eq(ntkc_kernel_graphs(n32, g, NULL, k, NULL, NULL, &err), NTKC_EUSER);
    cr_expect(strstr(err.message, "compiled for single precision: use ntkc_kernel_graphs_f32") != NULL, "%s",
              err.message);
    cr_expect_eq(ntkc_kernel_graphs_f32(n64, g, NULL, kf, NULL, NULL, &err), NTKC_EUSER);
    cr_expect(strstr(err.message, "compiled for double precision: use ntkc_kernel_graphs") != NULL, "%s",
              err.message);
    cr_expect_eq(ntkc_net_precision(n32), NTKC_PRECISION_SINGLE);
    ntkc_net_free(n64);
    ntkc_net_free(n32);
    ntkc_graphs_free(g);
    free(text);
    free(t1);
}

/* The written file's graph set (kernel_c/graph_entry.c). */
struct ntkc_graph_set {
    size_t count, features;
    const size_t *first;
    const double *x;
    const size_t *nbr_start;
    const unsigned *nbr;
};

/* `ntkc emit --precision single` of a graph net: the written file's entry
 * (graph_entry.c's float32 twin) against the engine's float32 kernel, bit
 * for bit (graphs under 24 nodes: sparse aggregation in both, the same order
 * of every sum), symmetric and cross; and the file with its header compiles
 * under the flags `ntkc emit` promises. */
Test(precision_graph, written_file_entry_matches_engine, .timeout = TIMEOUT(120))
{
    const char *nets[] = {"examples/gntk.ntk", NULL};
    char dir[256], cmd[2048], errs[4096], path[512], other[512];
    make_temp_dir(dir, sizeof dir);
    snprintf(other, sizeof other, "%s/other.ntk", dir);
    FILE *f = fopen(other, "w");
    cr_assert_not_null(f);
    fputs(other_nets[0], f);
    fclose(f);
    nets[1] = other;
    const char *symbols[] = {"ntkcnet_gntk", "ntkcnet_gm"};
    char *t1 = random_graphs(51, 9, 3, 14, 0, 1), *t2 = random_graphs(52, 5, 3, 14, 0, 0);
    ntkc_graphs *g1 = graphs_or_fail(t1, 7), *g2 = graphs_or_fail(t2, 7);
    for (size_t k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd, "%s emit %s --precision single -o %s/k.c -H %s/k.h", ntkc_bin(), nets[k], dir, dir);
        cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "%s: %s", nets[k], errs);
        snprintf(cmd, sizeof cmd,
                 "cc -std=c99 -pedantic -Wall -Wextra -Wmissing-prototypes -Werror -include %s/k.h -c %s/k.c -o %s/k.o",
                 dir, dir, dir);
        cr_expect_eq(run_command(cmd, errs, sizeof errs), 0, "%s: %s", nets[k], errs);
        snprintf(path, sizeof path, "%s/k.c", dir);
        char *text = read_text(path);
        cr_assert(strstr(text, "float *nngp, float *ntk") != NULL, "the entry does not write floats");
        typedef int (*Entry)(const struct ntkc_graph_set *, const struct ntkc_graph_set *, float *, float *);
        void *fn;
        void *h = load_emitted_c(text, symbols[k], &fn);
        Entry entry;
        memcpy(&entry, &fn, sizeof entry);
        ntkc_compile_options o = {.backend = NTKC_BACKEND_TCC, .precision = NTKC_PRECISION_SINGLE};
        ntkc_error err = {0};
        ntkc_net *net = ntkc_compile_file(nets[k], &o, &err);
        cr_assert_not_null(net, "%s", err.message);
        for (int sym = 1; sym >= 0; sym--) {
            const ntkc_graphs *b = sym ? NULL : g2;
            size_t n1 = g1->count, n2 = sym ? n1 : g2->count;
            float *a = malloc(2 * n1 * n2 * sizeof *a), *w = malloc(2 * n1 * n2 * sizeof *w);
            cr_assert_eq(ntkc_kernel_graphs_f32(net, g1, b, a, a + n1 * n2, NULL, &err), 0, "%s", err.message);
            struct ntkc_graph_set s1 = {g1->count, g1->features, g1->first, g1->x, g1->nbr_start, g1->nbr};
            struct ntkc_graph_set s2 = {g2->count, g2->features, g2->first, g2->x, g2->nbr_start, g2->nbr};
            cr_assert_eq(entry(&s1, sym ? NULL : &s2, w, w + n1 * n2), 0);
            for (size_t i = 0; i < 2 * n1 * n2; i++)
                cr_assert_eq(a[i], w[i], "%s (%s) entry %zu: engine %.9g, written file %.9g", nets[k],
                             sym ? "symmetric" : "cross", i, (double)a[i], (double)w[i]);
            free(a);
            free(w);
        }
        dlclose(h);
        ntkc_net_free(net);
        free(text);
    }
    ntkc_graphs_free(g1);
    ntkc_graphs_free(g2);
    free(t1);
    free(t2);
    const char *names[] = {"k.c", "k.h", "k.o", "other.ntk"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* The CLI: `ntkc kernel` of a graph net with --precision single writes
 * float32 .npy files ('<f4'), symmetric with a positive diagonal, within the
 * bound of the float64 run's. */
Test(precision_graph, cli_writes_float32_npy, .timeout = TIMEOUT(120))
{
    char dir[256], cmd[4096], path[512], errs[2048];
    make_temp_dir(dir, sizeof dir);
    char *text = random_graphs(61, 12, 3, 12, 0, 0);
    snprintf(path, sizeof path, "%s/g.txt", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    ntkc_graphs *g = graphs_or_fail(text, 7);
    char *src = read_text("examples/gntk.ntk");
    double bound = graph_bound(src, "examples/gntk.ntk", max_degree(g));
    free(src);
    ntkc_graphs_free(g);
    free(text);
    snprintf(cmd, sizeof cmd,
             "%s kernel examples/gntk.ntk %s --ntk %s/k.npy --precision single --quiet && "
             "%s kernel examples/gntk.ntk %s --ntk %s/k64.npy --quiet",
             ntkc_bin(), path, dir, ntkc_bin(), path, dir);
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import numpy as np; k = np.load('%s/k.npy'); r = np.load('%s/k64.npy'); "
             "assert k.dtype == np.dtype('<f4'), k.dtype; "
             "assert k.shape == (12, 12) and np.array_equal(k, k.T) and (np.diag(k) > 0).all(); "
             "e = np.abs(k - r).max() / np.abs(r).max(); assert 0 < e <= %.17g, e\"",
             dir, dir, bound);
    cr_expect_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
    const char *names[] = {"k.npy", "k64.npy", "g.txt"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}
