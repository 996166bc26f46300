/* The float32 tiles ntkc-mpi spreads over ranks (--precision single): for
 * every net the compiler gives a float32 kernel, the tiles computed one at a
 * time and put together equal ntkc_kernel_f32 bit for bit (symmetric and
 * cross, edges that do not divide n); a net it refuses is refused the same
 * way whichever entry point is used (no list of its own in the tiles); and
 * each precision's tiles refuse the other's run function. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ntkc.h"
#include "ntkc_tool.h"
#include "util.h"

static const char *const sources[] = {
    "net fc { dense(1.5, 0.05); relu; repeat 2 { dense(1.5, 0.05); erf }; dense(1.0) }",
    "net std { param standard; dense(1.2, 0.1, width=64); relu; dense(1.0, width=32); gelu; dense(1.0) }",
    "net cnn { input image(6, 5, 2); conv(3, 1.4, 0.1); relu; conv(3, 1.4); relu; global_avg_pool; dense(1.0) }",
};

static ntkc_net *compile(const char *source, ntkc_precision precision, ntkc_error *err)
{
    ntkc_compile_options o = {.precision = precision};
    return ntkc_compile_string(source, "tiles32.ntk", &o, err);
}

/* Tiles of edge `edge` put together (mirror images placed) into nngp/ntk. */
static void assemble(const ntkc_tiles *t, size_t n2, int symmetric, float *nngp, float *ntk)
{
    for (size_t k = 0; k < ntkc_tiles_count(t); k++) {
        ntkc_tile T = ntkc_tiles_at(t, k);
        float *s = malloc(T.r * T.c * sizeof *s), *th = malloc(T.r * T.c * sizeof *th);
        ntkc_error err = {0};
        cr_assert_eq(ntkc_tiles_run_f32(t, k, s, th, &err), 0, "%s", err.message);
        for (size_t i = 0; i < T.r; i++)
            for (size_t j = 0; j < T.c; j++) {
                nngp[(T.i0 + i) * n2 + T.j0 + j] = s[i * T.c + j], ntk[(T.i0 + i) * n2 + T.j0 + j] = th[i * T.c + j];
                if (symmetric)
                    nngp[(T.j0 + j) * n2 + T.i0 + i] = s[i * T.c + j], ntk[(T.j0 + j) * n2 + T.i0 + i] = th[i * T.c + j];
            }
        free(s), free(th);
    }
}

static void case_f32(ntkc_net *net, size_t n1, size_t n2, size_t edge, int cross)
{
    size_t dim = ntkc_net_input_dim(net) ? ntkc_net_input_dim(net) : 7;
    double *x1 = malloc(n1 * dim * sizeof *x1), *x2 = malloc(n2 * dim * sizeof *x2);
    fill_random(x1, n1 * dim, 3);
    fill_random(x2, n2 * dim, 4);
    size_t m = cross ? n2 : n1, count = n1 * m;
    float *ref = malloc(2 * count * sizeof *ref), *got = calloc(2 * count, sizeof *got);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel_f32(net, n1, x1, m, cross ? x2 : NULL, dim, ref, ref + count, NULL, &err), 0, "%s",
                 err.message);
    ntkc_tiles *t = ntkc_tiles_matrix(net, n1, x1, m, cross ? x2 : NULL, dim, edge, 2, 2, &err);
    cr_assert_not_null(t, "%s", err.message);
    cr_assert_gt(ntkc_tiles_count(t), 2, "the test wants several tiles");
    double d[1];
    cr_expect_neq(ntkc_tiles_run(t, 0, d, NULL, &err), 0, "float64 run of float32 tiles accepted");
    assemble(t, m, !cross, got, got + count);
    for (size_t i = 0; i < 2 * count; i++)
        cr_assert(memcmp(&got[i], &ref[i], sizeof got[i]) == 0, "%s: entry %zu of %s is %.9g by tiles, %.9g whole",
                  ntkc_net_name(net), i % count, i < count ? "NNGP" : "NTK", got[i], ref[i]);
    ntkc_tiles_free(t);
    free(x1), free(x2), free(ref), free(got);
}

Test(tiles_f32, equal_ntkc_kernel_f32_or_refused_alike)
{
    size_t computed = 0;
    for (size_t s = 0; s < sizeof sources / sizeof *sources; s++) {
        ntkc_error err = {0};
        ntkc_net *net = compile(sources[s], NTKC_PRECISION_SINGLE, &err);
        if (net == NULL) { /* the compiler's refusal is the only list: nothing to tile */
            cr_expect_eq(err.code, 1, "%s", err.message);
            cr_expect(strstr(err.message, "--precision single") != NULL, "%s", err.message);
            continue;
        }
        computed++;
        case_f32(net, 45, 23, 8, 0);
        case_f32(net, 45, 23, 10, 1);
        ntkc_net_free(net);
    }
    cr_expect_geq(computed, 2, "the fully connected nets have float32 kernels");
}

Test(tiles_f32, float64_tiles_refuse_the_float32_run)
{
    ntkc_error err = {0};
    ntkc_net *net = compile(sources[0], NTKC_PRECISION_DOUBLE, &err);
    cr_assert_not_null(net, "%s", err.message);
    double x[12 * 7];
    fill_random(x, 12 * 7, 9);
    ntkc_tiles *t = ntkc_tiles_matrix(net, 12, x, 12, NULL, 7, 4, 1, 1, &err);
    cr_assert_not_null(t, "%s", err.message);
    float s[16];
    cr_expect_neq(ntkc_tiles_run_f32(t, 0, s, NULL, &err), 0);
    cr_expect_eq(err.code, 2, "an internal error: %s", err.message);
    ntkc_tiles_free(t);
    ntkc_net_free(net);
}
