/* A measurement ahead of the feature (scripts/bench_precision_cnn.sh): an
 * image net's emitted C (float64, NET64) and the same file made float32 by
 * compiler/kernel_c/float.sed (NET32, what `--precision single` will emit for
 * image nets; here with the inputs rounded to float once, where the feature
 * will keep them float64 at the tile ABI), linked together: core-seconds of the prep (every input's
 * records) and of one tile (n1 x n2 entries, one pass of lanes per row), and
 * max |K32 - K64| / max |K64| of NNGP and NTK, on seeded standard-normal
 * inputs. Prints "name value" lines.
 * usage: proto_image_f32 DIM [REPS] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
size_t CAT(NET64, _prep_size)(void);
void CAT(NET64, _prep)(size_t n, const double *x, size_t dim, double *prep);
size_t CAT(NET64, _tile)(size_t rows, size_t cols, const double *x1, const double *prep1, const double *x2,
                         const double *prep2, size_t dim, const double *gram, size_t ldg, double *nngp, double *ntk,
                         size_t ldo);
size_t CAT(NET32, _prep_size)(void);
void CAT(NET32, _prep)(size_t n, const float *x, size_t dim, float *prep);
size_t CAT(NET32, _tile)(size_t rows, size_t cols, const float *x1, const float *prep1, const float *x2,
                         const float *prep2, size_t dim, const float *gram, size_t ldg, float *nngp, float *ntk,
                         size_t ldo);

enum { N1 = 2, N2 = 8, N = N1 + N2 };

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Box-Muller from a 64-bit LCG: seeded, the same on every machine. */
static double normal(unsigned long long *st)
{
    double u[2];
    for (int k = 0; k < 2; k++) {
        *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
        u[k] = ((double)(*st >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    size_t d = (size_t)atol(argv[1]), reps = argc > 2 ? (size_t)atol(argv[2]) : 2;
    size_t ps = CAT(NET64, _prep_size)(), psf = CAT(NET32, _prep_size)();
    double *x = malloc(N * d * sizeof *x), *p = malloc(N * ps * sizeof *p), K[2][N1 * N2];
    float *xf = malloc(N * d * sizeof *xf), *pf = malloc(N * psf * sizeof *pf), Kf[2][N1 * N2];
    if (!x || !p || !xf || !pf)
        return 2;
    unsigned long long st = 19;
    for (size_t i = 0; i < N * d; i++)
        xf[i] = (float)(x[i] = normal(&st));
    double best[4] = {INFINITY, INFINITY, INFINITY, INFINITY};
    for (size_t r = 0; r < reps; r++) { /* interleaved: both see the same load */
        double t[5];
        t[0] = cpu_now();
        CAT(NET64, _prep)(N, x, d, p);
        t[1] = cpu_now();
        CAT(NET64, _tile)(N1, N2, x, p, x + N1 * d, p + N1 * ps, d, 0, 0, K[0], K[1], N2);
        t[2] = cpu_now();
        CAT(NET32, _prep)(N, xf, d, pf);
        t[3] = cpu_now();
        CAT(NET32, _tile)(N1, N2, xf, pf, xf + N1 * d, pf + N1 * psf, d, 0, 0, Kf[0], Kf[1], N2);
        t[4] = cpu_now();
        for (int k = 0; k < 4; k++)
            best[k] = fmin(best[k], t[k + 1] - t[k]);
    }
    printf("prep_f64 %.4f core-s\nprep_f32 %.4f core-s\nprep_speedup %.2f x\n", best[0], best[2], best[0] / best[2]);
    printf("tile_f64 %.4f core-s\ntile_f32 %.4f core-s\ntile_speedup %.2f x\n", best[1], best[3], best[1] / best[3]);
    for (int o = 0; o < 2; o++) {
        double m = 0, e = 0;
        for (int k = 0; k < N1 * N2; k++) {
            m = fmax(m, fabs(K[o][k]));
            e = fmax(e, fabs(K[o][k] - (double)Kf[o][k]));
        }
        printf("%s_rel_err %.2e\n", o ? "ntk" : "nngp", e / m);
    }
    return 0;
}
