/* The C side of scripts/bench_python.sh: the best of REPS ntkc_kernel calls
 * (symmetric, NNGP + NTK) on an .npy input with THREADS threads (0 = all
 * cores), into outputs touched beforehand — what a Python call is compared to.
 *
 * usage: bench_call NET.ntk X.npy THREADS REPS; prints "kernel SECONDS" (wall)
 * and "cpu SECONDS" (the calling thread's CPU time: with THREADS = 1 the whole
 * call, and steadier than wall time on a loaded machine). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ntkc_tool.h"
#include "ntkc.h"

static double seconds(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fputs("usage: bench_call NET.ntk X.npy THREADS REPS\n", stderr);
        return 1;
    }
    ntkc_error err = {0};
    NpyArray x;
    ntkc_net *net = NULL;
    if (npy_read(argv[2], &x, &err) != 0 || (net = ntkc_compile_file(argv[1], NULL, &err)) == NULL) {
        fprintf(stderr, "bench_call: %s\n", err.message);
        return 1;
    }
    size_t n = x.shape[0], d = x.shape[1];
    double *nngp = calloc(n * n, sizeof *nngp), *ntk = calloc(n * n, sizeof *ntk), best = 1e30, best_cpu = 1e30;
    for (size_t i = 0; nngp && ntk && i < n * n; i++)
        nngp[i] = ntk[i] = 0;
    ntkc_eval_options opts = {.threads = atoi(argv[3])};
    for (int r = 0; nngp && ntk && r < atoi(argv[4]); r++) {
        double t0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_THREAD_CPUTIME_ID);
        if (ntkc_kernel(net, n, x.data, 0, NULL, d, nngp, ntk, &opts, &err) != 0) {
            fprintf(stderr, "bench_call: %s\n", err.message);
            return 1;
        }
        double t = seconds(CLOCK_MONOTONIC) - t0, c = seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
        best = t < best ? t : best;
        best_cpu = c < best_cpu ? c : best_cpu;
    }
    printf("kernel %.6f\ncpu %.6f\n", best, best_cpu);
    ntkc_net_free(net);
    npy_free(&x);
    free(nngp);
    free(ntk);
    return 0;
}
