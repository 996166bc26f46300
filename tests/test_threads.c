/* The library from several threads at once: compiling (both back ends) and
 * evaluating concurrently is safe and gives exactly the single-threaded
 * results; and a kernel is bit-identical whatever opts.threads and the tile. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntkc.h"
#include "util.h"

enum { N = 70, D = 9, NNETS = 4, NTHREADS = 4, ROUNDS = 3 };

static const char *const sources[NNETS] = {
    "net a { dense(1.5, 0.05); relu; dense(1) }",
    "net b { dense(1.2, 0.1); erf(2, 0.5); repeat 3 { dense(1.4, 0.2); relu }; dense }",
    "net c { param standard; dense(1, 0.1, width=64); relu; dense(1.3, width=32); erf; dense }",
    "net d { dense(2); identity; dense(0.5, 1); relu; dense(1.3); relu; dense }",
};

/* Kernels of net k on the shared inputs, NNGP then NTK (2·N·N doubles). */
static void kernels(const char *source, ntkc_backend backend, const double *x, int threads, double *out)
{
    ntkc_error err = {0};
    ntkc_compile_options copts = {.backend = backend};
    ntkc_net *net = ntkc_compile_string(source, "threads.ntk", &copts, &err);
    cr_assert_not_null(net, "%s", err.message);
    ntkc_eval_options opts = {.threads = threads};
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, D, out, out + N * N, &opts, &err), 0, "%s", err.message);
    ntkc_net_free(net);
}

typedef struct Worker {
    int id;
    ntkc_backend backend;
    const double *x;
    double *got; /* ROUNDS × NNETS × 2·N·N */
} Worker;

static double *result_slot(double *base, int round, int k) { return base + ((size_t)round * NNETS + k) * 2 * N * N; }

/* Every round compiles and evaluates every net, each thread starting at a
 * different net so different compilations overlap — and, in round 0 on a
 * cold cache, the same compilation runs in several threads at once. */
static void *work(void *arg)
{
    Worker *w = arg;
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < NNETS; i++) {
            int k = (i + w->id) % NNETS;
            kernels(sources[k], w->backend, w->x, 1 + (w->id + r) % 2, result_slot(w->got, r, k));
        }
    return NULL;
}

/* The threads run first (a cold start for each back end), the single-threaded
 * reference after them. */
static void concurrent_compile_and_eval(ntkc_backend backend)
{
    double *x = malloc(N * D * sizeof *x), *expected = malloc(NNETS * 2 * N * N * sizeof *expected);
    fill_random(x, N * D, 17);
    pthread_t t[NTHREADS];
    Worker w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (Worker){i, backend, x, malloc(ROUNDS * NNETS * 2 * N * N * sizeof(double))};
        cr_assert_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    for (int k = 0; k < NNETS; k++)
        kernels(sources[k], backend, x, 1, expected + (size_t)k * 2 * N * N);
    for (int i = 0; i < NTHREADS; i++) {
        for (int r = 0; r < ROUNDS; r++)
            for (int k = 0; k < NNETS; k++)
                cr_expect_eq(memcmp(result_slot(w[i].got, r, k), expected + (size_t)k * 2 * N * N,
                                    2 * N * N * sizeof(double)),
                             0, "thread %d, round %d, net %d: differs from the single-threaded run", i, r, k);
        free(w[i].got);
    }
    free(x);
    free(expected);
}

Test(threads, tcc_compile_and_evaluate_concurrently, .timeout = TIMEOUT(120))
{
    concurrent_compile_and_eval(NTKC_BACKEND_TCC);
}

/* The cc back end fills its cache from every thread at once: each thread
 * must load a complete shared object, never another thread's half-written one. */
Test(threads, cc_compile_and_evaluate_concurrently, .timeout = TIMEOUT(120))
{
    char dir[256], cmd[512];
    make_temp_dir(dir, sizeof dir);
    setenv("NTKC_CACHE_DIR", dir, 1); /* a cold cache, before any thread starts */
    concurrent_compile_and_eval(NTKC_BACKEND_CC);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

typedef struct Shared {
    const ntkc_net *net;
    const double *x;
    const double *expected;
    int mismatches;
} Shared;

static void *evaluate_shared(void *arg)
{
    Shared *s = arg;
    double *got = malloc(2 * N * N * sizeof *got);
    ntkc_eval_options opts = {.threads = 2};
    for (int r = 0; r < 5; r++) {
        ntkc_error err = {0};
        cr_assert_eq(ntkc_kernel(s->net, N, s->x, 0, NULL, D, got, got + N * N, &opts, &err), 0, "%s",
                     err.message);
        s->mismatches += memcmp(got, s->expected, 2 * N * N * sizeof *got) != 0;
    }
    free(got);
    return NULL;
}

/* One compiled net evaluated by several threads at once. */
Test(threads, one_net_shared_by_threads)
{
    double *x = malloc(N * D * sizeof *x), *expected = malloc(2 * N * N * sizeof *expected);
    fill_random(x, N * D, 5);
    ntkc_net *net = compile_or_fail(sources[1], NTKC_BACKEND_TCC);
    ntkc_error err = {0};
    ntkc_eval_options one = {.threads = 1};
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, D, expected, expected + N * N, &one, &err), 0, "%s", err.message);
    pthread_t t[NTHREADS];
    Shared s[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        s[i] = (Shared){net, x, expected, 0};
        cr_assert_eq(pthread_create(&t[i], NULL, evaluate_shared, &s[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(s[i].mismatches, 0, "thread %d saw a different kernel", i);
    }
    ntkc_net_free(net);
    free(x);
    free(expected);
}

static void kernel_with(const ntkc_net *net, size_t n1, const double *x1, size_t n2, const double *x2, size_t dim,
                        int threads, size_t tile, double *out)
{
    ntkc_eval_options opts = {.threads = threads, .tile = tile};
    ntkc_error err = {0};
    size_t count = n1 * (x2 ? n2 : n1);
    cr_assert_eq(ntkc_kernel(net, n1, x1, n2, x2, dim, out, out + count, &opts, &err), 0, "%s", err.message);
}

enum { N1 = 300, N2 = 270, DIM = 12 };

/* Bit-identical for 1, 2 and 3 threads (more than one row panel and column
 * chunk, so threads really split the work), symmetric and cross. */
Test(threads, results_do_not_depend_on_thread_count)
{
    double *x1 = malloc(N1 * DIM * sizeof *x1), *x2 = malloc(N2 * DIM * sizeof *x2);
    fill_random(x1, N1 * DIM, 101);
    fill_random(x2, N2 * DIM, 202);
    ntkc_net *net = compile_or_fail(sources[1], NTKC_BACKEND_TCC);
    double *ref = malloc(2 * N1 * N1 * sizeof *ref), *got = malloc(2 * N1 * N1 * sizeof *got);
    for (int sym = 1; sym >= 0; sym--) {
        size_t count = N1 * (sym ? N1 : N2);
        for (size_t tile = 0; tile <= 64; tile += 64) {
            kernel_with(net, N1, x1, N2, sym ? NULL : x2, DIM, 1, tile, ref);
            for (int threads = 2; threads <= 3; threads++) {
                kernel_with(net, N1, x1, N2, sym ? NULL : x2, DIM, threads, tile, got);
                cr_expect_eq(memcmp(got, ref, 2 * count * sizeof *got), 0,
                             "%s kernel, tile %zu: %d threads differ from 1", sym ? "symmetric" : "cross", tile,
                             threads);
            }
        }
    }
    ntkc_net_free(net);
    free(x1);
    free(x2);
    free(ref);
    free(got);
}

/* The tile changes how BLAS blocks the input Gram matrix (syrk on diagonal
 * squares, gemm elsewhere, small-matrix paths for tiny panels), so the
 * 12-term dot products may round differently: a few ulps, no more. Tiles of
 * 64 and more give the default's bits exactly. */
Test(threads, tile_changes_at_most_rounding)
{
    double *x1 = malloc(N1 * DIM * sizeof *x1);
    fill_random(x1, N1 * DIM, 101);
    ntkc_net *net = compile_or_fail(sources[1], NTKC_BACKEND_TCC);
    double *ref = malloc(2 * N1 * N1 * sizeof *ref), *got = malloc(2 * N1 * N1 * sizeof *got);
    kernel_with(net, N1, x1, 0, NULL, DIM, 2, 0, ref);
    static const size_t tiles[] = {1, 7, 64, 100, 1000};
    for (size_t t = 0; t < sizeof tiles / sizeof tiles[0]; t++) {
        kernel_with(net, N1, x1, 0, NULL, DIM, 3, tiles[t], got);
        double worst = 0;
        for (size_t i = 0; i < 2 * N1 * N1; i++)
            worst = fmax(worst, fabs(got[i] - ref[i]) / fabs(ref[i]));
        cr_expect_leq(worst, 8 * DBL_EPSILON, "tile %zu: relative difference %g", tiles[t], worst);
        if (tiles[t] >= 64)
            cr_expect_eq(worst, 0, "tile %zu: not bit-identical to the default", tiles[t]);
    }
    ntkc_net_free(net);
    free(x1);
    free(ref);
    free(got);
}
