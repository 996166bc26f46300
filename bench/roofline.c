/* The roofline for `make bench`: the least time the FC ReLU kernel can take
 * on this machine with the same per-entry work as ntkc, measured in the same
 * run. Two parts: the input Gram matrix by BLAS (cblas_dsyrk, all cores), and
 * a minimal fused loop over the upper triangle — layer-outer over blocks of
 * columns, every input's √v and 1/√v per layer in contiguous arrays, and per
 * pair ntkc's own ReLU arithmetic (ntkc_relu_qr from build/gen/ntkc_math.h,
 * the text every emitted file starts with) — compiled by the bench with cc
 * -O3 -march=native -fopenmp. Writes both kernels, as ntkc does (no mirroring).
 *
 * usage: roofline N D DEPTH W_STD B_STD REPS
 * prints: "gram SECONDS", "loop SECONDS" (best of REPS each) and "cpu SECONDS"
 * (core-seconds of the best gram + loop). */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { BLOCK = 256, MAXDEPTH = 64 };

#include "ntkc_math.h"

static double clock_seconds(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double now(void) { return clock_seconds(CLOCK_MONOTONIC); }

static void fill(double *x, size_t count)
{
    unsigned long long s = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < count; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        x[i] = (double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0;
    }
}

typedef struct Net {
    int depth;
    double w2, b2;
} Net;

/* √Σ(x, x) and its inverse before every ReLU, per input: q[l·n + i] and
 * r[l·n + i], contiguous across inputs. */
static void variances(const Net *net, const double *x, size_t n, size_t d, double *q, double *r)
{
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t k = 0; k < d; k++)
            s += x[i * d + k] * x[i * d + k];
        s /= (double)d;
        for (int l = 0; l < net->depth; l++) {
            s = net->w2 * s + net->b2;
            q[(size_t)l * n + i] = s > 0 ? sqrt(s) : 0;
            r[(size_t)l * n + i] = s > 0 ? 1 / sqrt(s) : 0;
            s = s / 2; /* ReLU on the diagonal: T(s, s, s) = s/2 */
        }
    }
}

static void fused_loop(const Net *net, size_t n, size_t d, const double *q, const double *r, double *nngp,
                       double *ntk)
{
    const double w2 = net->w2, b2 = net->b2;
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t i = 0; i < n; i++) {
        double s[BLOCK], t[BLOCK];
        for (size_t c0 = i; c0 < n; c0 += BLOCK) {
            size_t m = n - c0 < BLOCK ? n - c0 : BLOCK;
            double *gs = nngp + i * n + c0, *gt = ntk + i * n + c0;
            for (size_t j = 0; j < m; j++) {
                s[j] = gs[j] / (double)d;
                t[j] = 0;
            }
            for (int l = 0; l < net->depth; l++) {
                double q1 = q[(size_t)l * n + i], r1 = r[(size_t)l * n + i];
                const double *q2 = q + (size_t)l * n + c0, *r2 = r + (size_t)l * n + c0;
                for (size_t j = 0; j < m; j++) {
                    double sj = w2 * s[j] + b2;
                    double tj = sj + w2 * t[j];
                    ntkc_relu_qr(&sj, &tj, q1, r1, q2[j], r2[j]);
                    s[j] = sj;
                    t[j] = tj;
                }
            }
            for (size_t j = 0; j < m; j++) {
                double sj = w2 * s[j] + b2; /* the readout dense layer */
                gs[j] = sj;
                gt[j] = sj + w2 * t[j];
            }
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: roofline N D DEPTH W_STD B_STD REPS\n");
        return 2;
    }
    size_t n = strtoul(argv[1], NULL, 10), d = strtoul(argv[2], NULL, 10);
    Net net = {atoi(argv[3]), atof(argv[4]) * atof(argv[4]), atof(argv[5]) * atof(argv[5])};
    int reps = atoi(argv[6]);
    if (net.depth < 1 || net.depth > MAXDEPTH || n == 0 || d == 0 || reps < 1)
        return 2;
    double *x = malloc(n * d * sizeof *x), *vq = malloc(n * MAXDEPTH * sizeof *vq), *vr = malloc(n * MAXDEPTH * sizeof *vr);
    double *nngp = malloc(n * n * sizeof *nngp), *ntk = malloc(n * n * sizeof *ntk);
    if (!x || !vq || !vr || !nngp || !ntk)
        return 1;
    fill(x, n * d);
    double best_gram = 1e30, best_loop = 1e30, best_cpu = 1e30, check = 0;
    /* Each phase starts after a pause: OpenBLAS's threads spin for ~0.1 s
     * after a call and OpenMP's briefly after a region; neither phase should
     * pay for the other's idle threads in a bound. */
    const struct timespec pause = {0, 300000000};
    for (int r = 0; r < reps; r++) {
        nanosleep(&pause, NULL);
        double c0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID), t0 = now();
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)d, 1.0, x, (int)d, 0.0, nngp, (int)n);
        double t1 = now(), c1 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
        nanosleep(&pause, NULL);
        double c2 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID), t2 = now();
        variances(&net, x, n, d, vq, vr);
        fused_loop(&net, n, d, vq, vr, nngp, ntk);
        double t3 = now(), c3 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
        best_cpu = fmin(best_cpu, (c1 - c0) + (c3 - c2));
        best_gram = fmin(best_gram, t1 - t0);
        best_loop = fmin(best_loop, t3 - t2);
        check += ntk[n - 1];
    }
    printf("gram %.6f\nloop %.6f\ncpu %.6f\ncheck %.6g\n", best_gram, best_loop, best_cpu, check);
    free(x), free(vq), free(vr), free(nngp), free(ntk);
    return 0;
}
