/* dropout(rate, mode=train|test), neural-tangents' stax.Dropout: rate is the
 * probability of keeping a unit; in train mode an input's kernel with itself
 * is divided by the rate, other pairs keep theirs; mode=test is the identity.
 * Checked in neural-tangents' conventions against the same net in test mode,
 * plus the front end's refusals. The Monte Carlo check against finite
 * networks with masks is in test_monte_carlo.c (dropout_fc). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ntkc.h"
#include "util.h"

enum { N = 5, D = 6 };

static void kernels(const char *src, const double *x1, const double *x2, double *s, double *t)
{
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, N, x1, x2 ? N : 0, x2, D, s, t, NULL, &err), 0, "%s", err.message);
    ntkc_net_free(net);
}

/* dense; relu; dense; dropout(r); dense(w3, b3): the last layer sees Σ2/r and
 * Θ2/r on the diagonal only, so there Σ − b3² and Θ − Σ are the test-mode
 * values over r, and off the diagonal every entry is the test-mode one. */
Test(dropout, train_mode_scales_an_input_with_itself_only)
{
    const double r = 0.7, b3 = 0.3;
    const char *train = "net n { dense(1.4, 0.1); relu; dense(1.3, 0.2); dropout(0.7); dense(1.2, 0.3) }";
    const char *test = "net n { dense(1.4, 0.1); relu; dense(1.3, 0.2); dropout(0.7, mode=test); dense(1.2, 0.3) }";
    double x[N * D], s[N * N], t[N * N], s0[N * N], t0[N * N];
    fill_random(x, N * D, 1);
    kernels(train, x, NULL, s, t);
    kernels(test, x, NULL, s0, t0);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            size_t e = i * N + j;
            if (i != j) {
                cr_assert_eq(s[e], s0[e], "NNGP (%zu,%zu) %.17g vs test mode %.17g", i, j, s[e], s0[e]);
                cr_assert_eq(t[e], t0[e], "NTK (%zu,%zu)", i, j);
                continue;
            }
            double want_s = (s0[e] - b3 * b3) / r + b3 * b3, want_dt = (t0[e] - s0[e]) / r;
            cr_assert(fabs(s[e] - want_s) <= 1e-14 * want_s, "NNGP (%zu,%zu) %.17g, want %.17g", i, i, s[e], want_s);
            cr_assert(fabs((t[e] - s[e]) - want_dt) <= 1e-13 * t[e], "NTK (%zu,%zu) %.17g", i, i, t[e]);
        }
    /* the gap the Monte Carlo test resolves: the diagonal moves by (1/r − 1)·(Σ − b²) */
    cr_assert_gt(s[0] / s0[0], 1.1);
}

/* The same input is the same row of the same array (neural-tangents: x2 None
 * or x2 is x1): a second array passed as x2 is other inputs, even with equal
 * values, and a row paired with another row of the same array is not scaled. */
Test(dropout, other_inputs_are_other_rows_or_arrays)
{
    const char *train = "net n { dense(1.4, 0.1); relu; dense(1.3, 0.2); dropout(0.6); dense(1.2, 0.3) }";
    const char *test = "net n { dense(1.4, 0.1); relu; dense(1.3, 0.2); dense(1.2, 0.3) }";
    double x[N * D], copy[N * D], s[N * N], t[N * N], s0[N * N], t0[N * N], ss[N * N], ts[N * N];
    fill_random(x, N * D, 2);
    memcpy(copy, x, sizeof x);
    kernels(train, x, copy, s, t);
    kernels(test, x, copy, s0, t0);
    for (size_t e = 0; e < N * N; e++) {
        cr_assert_eq(s[e], s0[e]);
        cr_assert_eq(t[e], t0[e]);
    }
    kernels(train, x, x, s, t); /* x2 = x1: the same inputs, as x2 = NULL */
    kernels(train, x, NULL, ss, ts);
    for (size_t e = 0; e < N * N; e++) {
        cr_assert_eq(s[e], ss[e]);
        cr_assert_eq(t[e], ts[e]);
    }
    cr_assert_gt(s[0], s0[0]);
}

/* The same through the cc back end and the standalone emitted C. */
Test(dropout, backends_agree)
{
    const char *src = "net n { dense(1.4, 0.1); erf; dense(1.3, 0.2); dropout(0.6); dense(1.2, 0.3) }";
    ntkc_net *a = compile_or_fail(src, NTKC_BACKEND_TCC), *b = compile_or_fail(src, NTKC_BACKEND_CC);
    double x[N * D], s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    fill_random(x, N * D, 3);
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(a, N, x, 0, NULL, D, s1, t1, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(b, N, x, 0, NULL, D, s2, t2, NULL, &err), 0, "%s", err.message);
    cr_assert_lt(max_rel_diff(s1, s2, N * N), 1e-13);
    cr_assert_lt(max_rel_diff(t1, t2, N * N), 1e-13);
    ntkc_net_free(a);
    ntkc_net_free(b);
}

Test(dropout, refusals_name_the_reason)
{
    expect_error_in("net n { dense; dropout(0); dense }", NULL, "1:24", "probability of keeping a unit");
    expect_error_in("net n { dense; dropout(1.5); dense }", NULL, "1:24", "'rate' of 'dropout' must be in [0, 1]");
    expect_error_in("net n { dense; dropout(0.5, mode=eval); dense }", NULL, "1:34", "unknown mode 'eval'");
    expect_error_in("net n { dense; dropout; dense }", NULL, "1:16", "missing required argument 'rate'");
    expect_error_in("net n { dropout(0.5); dense }", NULL, "1:9", "cannot be applied to the net's input");
    expect_error_in("net n { dense; dropout(0.5); relu; dense }", NULL, "1:30", "needs a Gaussian input");
    /* image, attention and graph nets take it (test_dropout_image.c, test_dropout_graph.c) */
}
