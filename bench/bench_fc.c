/* In-process timing for `make bench`: compiles a net with one back end and
 * times ntkc_kernel (symmetric, NNGP + NTK) on an .npy input, best of REPS,
 * into buffers touched beforehand (page faults are the caller's business;
 * the end-to-end row measures them).
 *
 * usage: bench_fc NET.ntk X.npy tcc|cc REPS [OUT_PREFIX]
 * prints "compile SECONDS", "kernel SECONDS" and "cpu SECONDS" (core-seconds
 * of the best run); with OUT_PREFIX, writes
 * OUT_PREFIX.ntk.npy and OUT_PREFIX.nngp.npy from the last run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ntkc_tool.h"
#include "ntkc.h"

static double clock_seconds(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double now(void) { return clock_seconds(CLOCK_MONOTONIC); }

static int fail(const char *what, const char *msg)
{
    fprintf(stderr, "bench_fc: %s: %s\n", what, msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 6)
        return fail("usage", "bench_fc NET.ntk X.npy tcc|cc REPS [OUT_PREFIX]");
    ntkc_error err = {0};
    NpyArray x;
    if (npy_read(argv[2], &x, &err) != 0 || x.ndim != 2)
        return fail(argv[2], x.ndim != 2 && err.code == 0 ? "not a 2-D array" : err.message);
    ntkc_compile_options copts = {.backend = strcmp(argv[3], "cc") == 0 ? NTKC_BACKEND_CC : NTKC_BACKEND_TCC};
    double t0 = now();
    ntkc_net *net = ntkc_compile_file(argv[1], &copts, &err);
    double compile = now() - t0;
    if (net == NULL)
        return fail(argv[1], err.message);
    size_t n = x.shape[0], d = x.shape[1];
    double *nngp = calloc(n * n, sizeof *nngp), *ntk = calloc(n * n, sizeof *ntk);
    if (nngp == NULL || ntk == NULL)
        return fail("memory", "out of memory");
    memset(nngp, 0, n * n * sizeof *nngp);
    memset(ntk, 0, n * n * sizeof *ntk);
    double best = 1e30, best_cpu = 1e30;
    for (int r = 0; r < atoi(argv[4]); r++) {
        double c0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
        t0 = now();
        if (ntkc_kernel(net, n, x.data, 0, NULL, d, nngp, ntk, NULL, &err) != 0)
            return fail("kernel", err.message);
        double t = now() - t0, cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
        best = t < best ? t : best;
        best_cpu = cpu < best_cpu ? cpu : best_cpu;
    }
    printf("compile %.6f\nkernel %.6f\ncpu %.6f\n", compile, best, best_cpu);
    if (argc == 6) {
        char path[4096];
        size_t shape[2] = {n, n};
        snprintf(path, sizeof path, "%s.ntk.npy", argv[5]);
        if (npy_write_f64(path, 2, shape, ntk, &err) != 0)
            return fail(path, err.message);
        snprintf(path, sizeof path, "%s.nngp.npy", argv[5]);
        if (npy_write_f64(path, 2, shape, nngp, &err) != 0)
            return fail(path, err.message);
    }
    free(nngp);
    free(ntk);
    ntkc_net_free(net);
    npy_free(&x);
    return 0;
}
