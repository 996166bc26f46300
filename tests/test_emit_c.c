/* Emitted C a user would vendor: for every net in examples/, `ntkc emit`'s
 * file and its -H header compile cleanly under gcc and clang with
 * -std=c99 -pedantic -Wall -Wextra -Wmissing-prototypes -Werror, a small C
 * driver calls the standalone entry (ntkcnet_NAME), and its kernels are
 * compared with the library's cc back end on the same inputs.
 * make test builds and runs the driver with gcc (the cc back end's compiler)
 * and has clang check the file and header (-fsyntax-only: clang's warnings
 * come from its front end); the clang -O3 build and run, compared bit for
 * bit too, is suite emit_c_long (make check-long): a few seconds of CPU per
 * example that make test spends once.
 *
 * The driver is compiled with the cc back end's code-generation flags
 * (runtime/jit/jit_cc.c: -O3 -march=native -fno-math-errno
 * -fno-trapping-math -ffp-contract=off), so both run the same C with no
 * contraction, and every entry must be bit-identical: vector and image nets
 * run the same prep and tile functions (the library is given x1 twice for
 * the symmetric case: its own symmetric path mirrors one triangle); graph
 * nets' kernel_c/graph_entry.c follows runtime/engine/graph_kernel.c step by
 * step for graphs aggregated by sparse row sums (all graphs here: under 24
 * nodes); vector nets differ only in the input Gram (BLAS in the engine, an
 * index-order sum in the file), which integer inputs make exact in both. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph_data.h"
#include "net_internal.h"
#include "ntkc.h"
#include "util.h"

static const char driver_src[] =
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include \"net.h\"\n"
    "static void *load(FILE *f, size_t size)\n"
    "{\n"
    "    void *p = malloc(size ? size : 1);\n"
    "    if (!p || fread(p, 1, size, f) != size)\n"
    "        exit(10);\n"
    "    return p;\n"
    "}\n"
    "#ifdef GRAPH\n"
    "static void load_set(FILE *f, struct ntkc_graph_set *g)\n"
    "{\n"
    "    size_t *h = load(f, 4 * sizeof(size_t));\n"
    "    g->count = h[0], g->features = h[1];\n"
    "    g->first = load(f, (h[0] + 1) * sizeof(size_t));\n"
    "    g->x = load(f, h[2] * h[1] * sizeof(double));\n"
    "    g->nbr_start = load(f, (h[2] + 1) * sizeof(size_t));\n"
    "    g->nbr = load(f, h[3] * sizeof(unsigned));\n"
    "}\n"
    "#endif\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    FILE *in = fopen(argv[1], \"rb\"), *out;\n"
    "    size_t n1, n2;\n"
    "    double *nngp, *ntk;\n"
    "    int rc;\n"
    "    if (argc != 3 || !in)\n"
    "        return 11;\n"
    "#ifdef GRAPH\n"
    "    {\n"
    "        struct ntkc_graph_set g1, g2;\n"
    "        int sym;\n"
    "        if (fread(&sym, sizeof sym, 1, in) != 1)\n"
    "            return 12;\n"
    "        load_set(in, &g1);\n"
    "        if (!sym)\n"
    "            load_set(in, &g2);\n"
    "        n1 = g1.count, n2 = sym ? g1.count : g2.count;\n"
    "        nngp = malloc(n1 * n2 * sizeof(double)), ntk = malloc(n1 * n2 * sizeof(double));\n"
    "        rc = ENTRY(&g1, sym ? NULL : &g2, nngp, ntk);\n"
    "    }\n"
    "#else\n"
    "    {\n"
    "        size_t *h = load(in, 3 * sizeof(size_t));\n"
    "        const double *x1, *x2;\n"
    "        n1 = h[0], n2 = h[1];\n"
    "        x1 = load(in, n1 * h[2] * sizeof(double));\n"
    "        x2 = load(in, n2 * h[2] * sizeof(double));\n"
    "        nngp = malloc(n1 * n2 * sizeof(double)), ntk = malloc(n1 * n2 * sizeof(double));\n"
    "        rc = ENTRY(n1, x1, n2, x2, h[2], nngp, ntk);\n"
    "    }\n"
    "#endif\n"
    "    if (rc != 0)\n"
    "        return 20 + rc;\n"
    "    out = fopen(argv[2], \"wb\");\n"
    "    if (!out || fwrite(nngp, sizeof(double), n1 * n2, out) != n1 * n2 ||\n"
    "        fwrite(ntk, sizeof(double), n1 * n2, out) != n1 * n2 || fclose(out) != 0)\n"
    "        return 13;\n"
    "    return 0;\n"
    "}\n";

/* Graphs of 1 to 19 nodes (sparse-row aggregation in the engine), tags
 * 0..6 one-hot, one isolated node, an edgeless graph, a cycle, a star. */
static const char graphs_text[] = "5\n"
                                  "3 0\n0 2 1 2\n1 1 0\n2 1 0\n"
                                  "1 1\n3 0\n"
                                  "4 0\n0 1 1\n1 2 0 2\n2 2 1 3\n6 1 2\n"
                                  "6 1\n0 2 1 5\n0 2 0 2\n1 2 1 3\n1 2 2 4\n2 2 3 5\n5 2 4 0\n"
                                  "5 0\n4 4 1 2 3 4\n0 1 0\n1 1 0\n2 1 0\n3 0\n";

static const char graphs2_text[] = "2\n"
                                   "2 0\n0 1 1\n1 1 0\n"
                                   "7 1\n0 1 1\n1 2 0 2\n2 2 1 3\n3 2 2 4\n4 2 3 5\n5 2 4 6\n6 1 5\n";

static void put(FILE *f, const void *p, size_t size) { cr_assert_eq(fwrite(p, 1, size, f), size); }

static void put_set(FILE *f, const ntkc_graphs *g)
{
    size_t nodes = g->first[g->count], h[4] = {g->count, g->features, nodes, g->nbr_start[nodes]};
    put(f, h, sizeof h);
    put(f, g->first, (g->count + 1) * sizeof(size_t));
    put(f, g->x, nodes * g->features * sizeof(double));
    put(f, g->nbr_start, (nodes + 1) * sizeof(size_t));
    put(f, g->nbr, h[3] * sizeof(unsigned));
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fputs(text, f) >= 0, 1);
    cr_assert_eq(fclose(f), 0);
}

static double *read_doubles(const char *path, size_t count)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    double *v = malloc(count * sizeof *v);
    cr_assert_eq(fread(v, sizeof *v, count, f), count, "%s: short", path);
    fclose(f);
    return v;
}

/* Digits-like inputs: d integer pixel values 0..16 (as data/digits_*.npy, d = 64).
 * Their dot products are integers below 2^53, exact in floating point in any
 * summation order: the engine's BLAS Gram and the standalone entry's loop
 * agree exactly, and so must everything computed from them. */
static void vector_inputs(double *x, size_t n, size_t d, unsigned long long seed)
{
    fill_random(x, n * d, seed);
    for (size_t i = 0; i < n * d; i++)
        x[i] = floor((x[i] + 1.0) * 8.5);
}

#define VENDOR_FLAGS "-std=c99 -pedantic -Wall -Wextra -Wmissing-prototypes -Werror"

/* Compiles the file with cc and both sets of flags; returns the executable. */
static void build(const char *dir, const char *cc, const char *name, int graph, char *exe, size_t size)
{
    char cmd[4096], err[4096];
    snprintf(exe, size, "%s/driver-%s", dir, cc);
    snprintf(cmd, sizeof cmd,
             "cd %s && %s " VENDOR_FLAGS " -x c -c net.h -o /dev/null && "
             "%s " VENDOR_FLAGS " -O3 -march=native -fno-math-errno "
             "-fno-trapping-math -ffp-contract=off -DENTRY=ntkcnet_%s %s driver.c net.c -o %s -lm",
             dir, cc, cc, name, graph ? "-DGRAPH" : "", exe);
    cr_assert_eq(run_command(cmd, err, sizeof err), 0, "%s: %s", cmd, err);
}

/* The file and the header under clang's warnings, without building. */
static void lint(const char *dir)
{
    char cmd[4096], err[4096];
    snprintf(cmd, sizeof cmd, "cd %s && clang " VENDOR_FLAGS " -fsyntax-only -x c net.h && clang " VENDOR_FLAGS
             " -fsyntax-only net.c", dir);
    cr_assert_eq(run_command(cmd, err, sizeof err), 0, "%s: %s", cmd, err);
}

/* Builds and runs the standalone entry with the compiler cc (and has clang
 * check the file when lint_clang) against the library. */
static void check_net(const char *path, const char *cc, int lint_clang)
{
    ntkc_error err = {0};
    char *src = ntkc_read_text_file(path, &err);
    cr_assert_not_null(src, "%s", err.message);
    char *c = ntkc_emit(src, path, NULL, &err), *h = ntkc_emit_header(src, path, NULL, &err);
    cr_assert(c && h, "%s: %s", path, err.message);
    ntkc_compile_options opts = {.backend = NTKC_BACKEND_CC};
    ntkc_net *net = ntkc_compile_string(src, path, &opts, &err);
    cr_assert_not_null(net, "%s: %s", path, err.message);
    char dir[256], file[512];
    make_temp_dir(dir, sizeof dir);
    snprintf(file, sizeof file, "%s/net.c", dir);
    write_file(file, c);
    snprintf(file, sizeof file, "%s/net.h", dir);
    write_file(file, h);
    snprintf(file, sizeof file, "%s/driver.c", dir);
    write_file(file, driver_src);

    int graph = ntkc_net_takes_graphs(net);
    size_t n1, n2;
    double *lib, *x1 = NULL, *x2 = NULL;
    char in[512];
    snprintf(in, sizeof in, "%s/in.bin", dir);
    FILE *f;
    char exe[600];
    if (lint_clang)
        lint(dir);
    build(dir, cc, ntkc_net_name(net), graph, exe, sizeof exe);
    for (int sym = 1; sym >= 0; sym--) {
        if (graph) {
            ntkc_graphs *g1 = ntkc_graphs_parse(graphs_text, "g1", 7, &err);
            ntkc_graphs *g2 = ntkc_graphs_parse(graphs2_text, "g2", 7, &err);
            cr_assert(g1 && g2, "%s", err.message);
            n1 = g1->count, n2 = sym ? n1 : g2->count;
            lib = malloc(2 * n1 * n2 * sizeof *lib);
            cr_assert_eq(ntkc_kernel_graphs(net, g1, sym ? NULL : g2, lib, lib + n1 * n2, NULL, &err), 0, "%s",
                         err.message);
            f = fopen(in, "wb");
            put(f, &sym, sizeof sym);
            put_set(f, g1);
            if (!sym)
                put_set(f, g2);
            fclose(f);
            ntkc_graphs_free(g1);
            ntkc_graphs_free(g2);
        } else {
            n1 = 24, n2 = sym ? n1 : 19;
            size_t d = ntkc_net_input_dim(net) ? ntkc_net_input_dim(net) : 64, hdr[3] = {n1, n2, d};
            x1 = malloc(n1 * d * sizeof *x1);
            x2 = sym ? x1 : malloc(n2 * d * sizeof *x2);
            vector_inputs(x1, n1, d, 7);
            if (!sym)
                vector_inputs(x2, n2, d, 8);
            lib = malloc(2 * n1 * n2 * sizeof *lib);
            /* The library's symmetric kernel computes one triangle and mirrors it
             * (an image net's through _tri, grouping pairs into lanes otherwise);
             * the standalone entry computes every (i, j) as a row of x1 against x2.
             * Duals are not always bit-symmetric in their two inputs (quadrature
             * duals of formula activations), so the library gets x1 twice (a copy)
             * and computes the same rows. */
            double *copy = NULL;
            if (sym) {
                copy = malloc(n1 * d * sizeof *copy);
                memcpy(copy, x1, n1 * d * sizeof *copy);
            }
            cr_assert_eq(ntkc_kernel(net, n1, x1, n2, sym ? copy : x2, d, lib, lib + n1 * n2, NULL, &err), 0, "%s",
                         err.message);
            free(copy);
            f = fopen(in, "wb");
            put(f, hdr, sizeof hdr);
            put(f, x1, n1 * d * sizeof *x1);
            put(f, x2, n2 * d * sizeof *x2);
            fclose(f);
        }
        {
            char cmd[4096], out[600], errs[1024];
            snprintf(out, sizeof out, "%s/out.bin", dir);
            snprintf(cmd, sizeof cmd, "%s %s %s", exe, in, out);
            cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "%s: %s", cmd, errs);
            double *got = read_doubles(out, 2 * n1 * n2);
            for (size_t i = 0; i < 2 * n1 * n2; i++)
                cr_assert(got[i] == lib[i], "%s (%s, %s): %s entry %zu: standalone %.17g, library %.17g", path,
                          cc, sym ? "symmetric" : "cross", i < n1 * n2 ? "NNGP" : "NTK", i % (n1 * n2), got[i],
                          lib[i]);
            free(got);
        }
        free(lib);
        if (x2 != x1)
            free(x2);
        free(x1);
        x1 = x2 = NULL;
    }
    ntkc_net_free(net);
    free(src);
    free(c);
    free(h);
}

static int is_net_file(const struct dirent *e)
{
    size_t len = strlen(e->d_name);
    return len >= 5 && strcmp(e->d_name + len - 4, ".ntk") == 0;
}

/* One test per example (a few seconds of gcc at -O3 each), so that -j2 runs
 * two at once. activations.ntk takes longest: its formula activations'
 * quadrature duals at the digits' variances (~200 s under load with both
 * compilers). */
typedef struct Example {
    char path[300]; /* examples/ and a file name */
} Example;

static void free_examples(struct criterion_test_params *p) { cr_free(p->params); }

static struct criterion_test_params example_params(void)
{
    struct dirent **names;
    int n = scandir("examples", &names, is_net_file, alphasort);
    Example *ex = cr_malloc(sizeof *ex * (n > 0 ? (size_t)n : 1));
    for (int i = 0; i < n; i++) {
        snprintf(ex[i].path, sizeof ex[i].path, "examples/%s", names[i]->d_name);
        free(names[i]);
    }
    if (n >= 0)
        free(names);
    return cr_make_param_array(Example, ex, n > 0 ? (size_t)n : 0, free_examples);
}

static void timed_check(const Example *ex, const char *cc, int lint_clang)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    check_net(ex->path, cc, lint_clang);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (getenv("NTKC_REPORT"))
        fprintf(stderr, "emit_c %s (%s): %.2f s\n", ex->path, cc,
                (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec));
}

ParameterizedTestParameters(emit_c, example_standalone_under_gcc) { return example_params(); }

ParameterizedTest(Example *ex, emit_c, example_standalone_under_gcc, .timeout = TIMEOUT(600))
{
    timed_check(ex, "gcc", 1);
}

/* The same under clang -O3: make check-long (the suite is named *_long). */
ParameterizedTestParameters(emit_c_long, example_standalone_under_clang) { return example_params(); }

ParameterizedTest(Example *ex, emit_c_long, example_standalone_under_clang, .timeout = TIMEOUT(600))
{
    timed_check(ex, "clang", 0);
}

/* The tests above are every example net: the folder is where they are looked for. */
Test(emit_c, every_example_is_checked)
{
    struct dirent **names;
    int n = scandir("examples", &names, is_net_file, alphasort);
    cr_assert_geq(n, 8, "expected every example net, found %d (run the tests from the project root)", n);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The header is the file's own prototypes: the file compiles with it
 * included first (no conflicting declaration), for every family. C11: the
 * file's own size_t typedef repeats <stddef.h>'s, which C99 forbids. */
Test(emit_c, header_agrees_with_file)
{
    static const char *const srcs[] = {
        "net v { dense(1.4); relu; dense(1) }",
        "net i { input image(4, 4, 1); conv(2, 1.4, 0.1); relu; flatten; dense(1) }",
        "net g { input graph(3); aggregate(); dense(1.4); erf; readout(mean); dense(1) }",
    };
    for (size_t k = 0; k < sizeof srcs / sizeof srcs[0]; k++) {
        ntkc_error err = {0};
        char *c = ntkc_emit(srcs[k], "t.ntk", NULL, &err), *h = ntkc_emit_header(srcs[k], "t.ntk", NULL, &err);
        cr_assert(c && h, "%s: %s", srcs[k], err.message);
        char dir[256], file[512], cmd[1024], errs[2048];
        make_temp_dir(dir, sizeof dir);
        snprintf(file, sizeof file, "%s/net.h", dir);
        write_file(file, h);
        snprintf(file, sizeof file, "%s/both.c", dir);
        FILE *f = fopen(file, "w");
        cr_assert_not_null(f);
        fprintf(f, "#include \"net.h\"\n%s", c);
        fclose(f);
        snprintf(cmd, sizeof cmd,
                 "cd %s && gcc -std=c11 -pedantic -Wall -Wextra -Wmissing-prototypes -Werror -c both.c -o both.o", dir);
        cr_expect_eq(run_command(cmd, errs, sizeof errs), 0, "%s: %s", srcs[k], errs);
        /* a pragma only between push and pop */
        const char *opt = strstr(c, "#pragma GCC optimize"), *push = strstr(c, "#pragma GCC push_options");
        const char *pop = strstr(c, "#pragma GCC pop_options");
        cr_expect(opt == NULL || (push && push < opt && pop && pop > opt), "%s: an unscoped pragma", srcs[k]);
        free(c);
        free(h);
    }
}
