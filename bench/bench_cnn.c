/* In-process timing of image kernels for scripts/bench_cnn.sh: compiles a
 * net with one back end and times ntkc_kernel on n seeded random images
 * (symmetric: n(n+1)/2 entries, NNGP + NTK, one thread), in CPU seconds.
 * The per-input prep (about one entry's work per input) is included.
 *
 * With --single: the net compiled for `--precision single`, float32 outputs
 * (ntkc_kernel_f32; scripts/bench_precision_cnn.sh).
 *
 * usage: bench_cnn NET.ntk tcc|cc N [--single]
 * prints "compile SECONDS" (best of COMPILES), "entries N" and "cpu SECONDS". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ntkc.h"

enum { COMPILES = 5 };

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    int single = argc == 5 && strcmp(argv[4], "--single") == 0;
    if (argc != 4 && !single) {
        fprintf(stderr, "usage: bench_cnn NET.ntk tcc|cc N [--single]\n");
        return 2;
    }
    ntkc_error err = {0};
    ntkc_compile_options copts = {.backend = strcmp(argv[2], "cc") == 0 ? NTKC_BACKEND_CC : NTKC_BACKEND_TCC,
                                  .precision = single ? NTKC_PRECISION_SINGLE : NTKC_PRECISION_DOUBLE};
    /* compile time: the best of COMPILES (one preemption on a shared
     * machine is worth more than the compile itself) */
    ntkc_net *net = NULL;
    double compile = 1e30;
    for (int r = 0; r < COMPILES; r++) {
        ntkc_net_free(net);
        double t0 = clock_s(CLOCK_MONOTONIC);
        net = ntkc_compile_file(argv[1], &copts, &err);
        double dt = clock_s(CLOCK_MONOTONIC) - t0;
        compile = dt < compile ? dt : compile;
        if (net == NULL) {
            fprintf(stderr, "bench_cnn: %s\n", err.message);
            return 1;
        }
    }
    size_t n = (size_t)atol(argv[3]), d = ntkc_net_input_dim(net);
    double *x = malloc(n * d * sizeof *x), *k = calloc(2 * n * n, sizeof *k);
    float *kf = (float *)(void *)k; /* single: the first half of k, as floats */
    if (x == NULL || k == NULL || n == 0 || d == 0) {
        fprintf(stderr, "bench_cnn: bad size or out of memory\n");
        return 1;
    }
    unsigned long long s = 88172645463325252ULL;
    for (size_t i = 0; i < n * d; i++) { /* xorshift, uniform in [-1, 1) */
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        x[i] = (double)(s >> 11) / 4503599627370496.0 - 1.0;
    }
    ntkc_eval_options opts = {.threads = 1};
    /* OpenBLAS's worker threads spin (sched_yield) for about 0.1 s after the
     * library loads before they sleep; that spin is process CPU time but no
     * part of the kernel's. Let it end before the clock starts. */
    struct timespec settle = {0, 300000000};
    nanosleep(&settle, NULL);
    double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    int rc = single ? ntkc_kernel_f32(net, n, x, 0, NULL, d, kf, kf + n * n, &opts, &err)
                    : ntkc_kernel(net, n, x, 0, NULL, d, k, k + n * n, &opts, &err);
    if (rc != 0) {
        fprintf(stderr, "bench_cnn: %s\n", err.message);
        return 1;
    }
    double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("compile %.6f\nentries %zu\ncpu %.6f\n", compile, n * (n + 1) / 2, cpu);
    free(x);
    free(k);
    ntkc_net_free(net);
    return 0;
}
