/* ntkc_predict, the library's one call: the same numbers as predict_gd_mse on
 * kernels from ntkc_kernel, only the kernels a request needs (counted through
 * the progress callback), and bad requests refused before any kernel work. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ntkc_tool.h"
#include "util.h"

#define NET "net mlp { dense(1.4, 0.1); relu; dense(1.3, 0.2); relu; dense(1) }\n"
enum { N = 7, M = 4, D = 3, K = 2, T = 3 };

typedef struct Count {
    size_t calls, last_done, total;
    int monotone;
} Count;

static int count_progress(void *ctx, size_t done, size_t total)
{
    Count *c = ctx;
    c->monotone &= done >= c->last_done && done <= total && (c->calls == 0 || total == c->total);
    c->calls++, c->last_done = done, c->total = total;
    return 0;
}

typedef struct Fixture {
    ntkc_net *net;
    double x[N * D], xt[M * D], y[N * K];
} Fixture;

static void fixture(Fixture *f)
{
    f->net = compile_or_fail(NET, NTKC_BACKEND_TCC);
    fill_random(f->x, N * D, 11), fill_random(f->xt, M * D, 12), fill_random(f->y, N * K, 13);
}

/* predict_gd_mse on kernels computed separately. */
static void reference(const Fixture *f, PredictKernel kind, const double *times, double *mean, double *cov)
{
    double ntt[N * N], ktt[N * N], nst[M * N], kst[M * N], kss[M * M];
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(f->net, N, f->x, 0, NULL, D, ktt, ntt, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(f->net, M, f->xt, N, f->x, D, kst, nst, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(f->net, M, f->xt, 0, NULL, D, kss, NULL, NULL, &err), 0, "%s", err.message);
    PredictInput in = {.n = N, .m = M, .k = K, .ntk_tt = ntt, .nngp_tt = ktt, .ntk_st = nst, .nngp_st = kst,
                       .nngp_ss = kss, .y = f->y, .reg = 1e-3};
    cr_assert_eq(predict_gd_mse(&in, kind, times, T, mean, cov, &err), 0, "%s", err.message);
}

static void check_kind(ntkc_predict_kernel kind, PredictKernel ref_kind)
{
    Fixture f;
    fixture(&f);
    const double times[T] = {0.5, 40, INFINITY};
    double mean[T * M * K], cov[T * M * M], want_mean[T * M * K], want_cov[T * M * M], mean_only[T * M * K];
    reference(&f, ref_kind, times, want_mean, want_cov);
    Count c = {.monotone = 1};
    ntkc_predict_options o = {.kernel = kind, .reg = 1e-3, .eval = {.progress = count_progress, .progress_ctx = &c}};
    ntkc_predict_stats st = {.kernel_seconds = -1, .solve_seconds = -1};
    ntkc_error err = {0};
    cr_assert_eq(ntkc_predict(f.net, N, f.x, f.y, K, M, f.xt, D, times, T, &o, mean, cov, &st, &err), 0, "%s",
                 err.message);
    cr_expect_lt(max_rel_diff(mean, want_mean, T * M * K), 1e-13);
    cr_expect_lt(max_rel_diff(cov, want_cov, T * M * M), 1e-13);
    cr_expect(st.kernel_seconds >= 0 && st.solve_seconds >= 0);
    /* With a covariance: train triangle, test × train, test triangle. */
    cr_expect(c.monotone && c.last_done == c.total, "progress went backwards or stopped short");
    cr_expect_eq(c.total, (size_t)(N * (N + 1) / 2 + M * N + M * (M + 1) / 2));
    /* The mean alone: no test × test kernel, and the same mean. */
    c = (Count){.monotone = 1};
    cr_assert_eq(ntkc_predict(f.net, N, f.x, f.y, K, M, f.xt, D, times, T, &o, mean_only, NULL, NULL, &err), 0,
                 "%s", err.message);
    cr_expect_eq(c.total, (size_t)(N * (N + 1) / 2 + M * N));
    cr_expect_lt(max_rel_diff(mean_only, want_mean, T * M * K), 1e-13);
    ntkc_net_free(f.net);
}

Test(ntkc_predict, ntk_matches_predict_gd_mse_on_ntkc_kernels) { check_kind(NTKC_PREDICT_NTK, PREDICT_NTK); }
Test(ntkc_predict, nngp_matches_predict_gd_mse_on_ntkc_kernels) { check_kind(NTKC_PREDICT_NNGP, PREDICT_NNGP); }

/* NULL times and NULL options: one t = ∞ NTK prediction without regularisation. */
Test(ntkc_predict, defaults_are_ntk_at_infinity)
{
    Fixture f;
    fixture(&f);
    double mean[M * K], want[M * K];
    const double inf = INFINITY;
    ntkc_error err = {0};
    cr_assert_eq(ntkc_predict(f.net, N, f.x, f.y, K, M, f.xt, D, NULL, 0, NULL, mean, NULL, NULL, &err), 0, "%s",
                 err.message);
    ntkc_predict_options o = {.kernel = NTKC_PREDICT_NTK};
    cr_assert_eq(ntkc_predict(f.net, N, f.x, f.y, K, M, f.xt, D, &inf, 1, &o, want, NULL, NULL, &err), 0, "%s",
                 err.message);
    cr_expect_eq(memcmp(mean, want, sizeof mean), 0);
    ntkc_net_free(f.net);
}

typedef struct BadCase {
    const char *what;
    double time, reg, y_value;
    int kind;
} BadCase;

/* Each is a user error found before the first kernel entry is computed. */
Test(ntkc_predict, bad_requests_fail_before_kernels)
{
    Fixture f;
    fixture(&f);
    const BadCase cases[] = {
        {"negative", -1, 0, 0, 0},        {"not a number", NAN, 0, 0, 0}, {"--reg", 1, -0.5, 0, 0},
        {"y_train[1][0]", 1, 0, NAN, 0}, {"kernel kind", 1, 0, 0, 7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const BadCase *b = &cases[i];
        double y[N * K], mean[M * K];
        memcpy(y, f.y, sizeof y);
        if (b->y_value != 0)
            y[K] = b->y_value;
        Count c = {.monotone = 1};
        ntkc_predict_options o = {.kernel = (ntkc_predict_kernel)b->kind, .reg = b->reg,
                                  .eval = {.progress = count_progress, .progress_ctx = &c}};
        ntkc_error err = {0};
        int rc = ntkc_predict(f.net, N, f.x, y, K, M, f.xt, D, &b->time, 1, &o, mean, NULL, NULL, &err);
        cr_expect_eq(rc, 1, "%s: rc %d (%s)", b->what, rc, err.message);
        cr_expect(strstr(err.message, b->what) != NULL, "message lacks '%s': %s", b->what, err.message);
        cr_expect_eq(c.calls, 0u, "%s: kernels were computed before the error", b->what);
    }
    ntkc_net_free(f.net);
}

/* Two copies of one training point: the t = ∞ NTK is singular. */
Test(ntkc_predict, singular_kernel_suggests_reg)
{
    Fixture f;
    fixture(&f);
    memcpy(f.x + D, f.x, D * sizeof *f.x);
    double mean[M * K];
    ntkc_error err = {0};
    cr_expect_eq(ntkc_predict(f.net, N, f.x, f.y, K, M, f.xt, D, NULL, 0, NULL, mean, NULL, NULL, &err), 1);
    cr_expect(strstr(err.message, "--reg") != NULL, "%s", err.message);
    ntkc_predict_options o = {.reg = 1e-8};
    cr_expect_eq(ntkc_predict(f.net, N, f.x, f.y, K, M, f.xt, D, NULL, 0, &o, mean, NULL, NULL, &err), 0, "%s",
                 err.message);
    ntkc_net_free(f.net);
}
