/* predict_gd_mse against references computed by other routes: the training
 * flow A(τ) = ∫_0^τ e^{−Gs} ds by Taylor series with doubling (no
 * eigendecomposition), t = ∞ by Gauss–Jordan inversion, and the NTK covariance
 * from the linearised dynamics f_t(s) = f_0(s) + B·(y − f_0(X)) with
 * f_0 ~ GP(0, K): cov = [I, −B]·K_joint·[I, −B]ᵀ. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ntkc_tool.h"

#define MAXN 16
#define MAXM 8
#define MAXK 4
#define TOL 1e-10

typedef struct Rng {
    unsigned long long s;
} Rng;

static double rng_uniform(Rng *r)
{
    r->s ^= r->s >> 12, r->s ^= r->s << 25, r->s ^= r->s >> 27;
    return (double)((r->s * 2685821657736338717ULL) >> 11) * 0x1p-53;
}

static double rng_normal(Rng *r)
{
    double u = rng_uniform(r) + 0x1p-54, v = rng_uniform(r);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* A random problem: joint kernels over n train then m test points,
 * K = F·Fᵀ/8 + 0.1·I and Θ = K + H·Hᵀ/10 + 0.2·I, both positive definite. */
typedef struct Case {
    size_t n, m, k;
    double kj[(MAXN + MAXM) * (MAXN + MAXM)], tj[(MAXN + MAXM) * (MAXN + MAXM)];
    double k_tt[MAXN * MAXN], k_st[MAXM * MAXN], k_ss[MAXM * MAXM];
    double t_tt[MAXN * MAXN], t_st[MAXM * MAXN];
    double y[MAXN * MAXK];
} Case;

static void gram(Rng *r, size_t pts, size_t feats, double diag, double *out)
{
    double f[(MAXN + MAXM) * 12];
    for (size_t i = 0; i < pts * feats; i++)
        f[i] = rng_normal(r);
    for (size_t i = 0; i < pts; i++)
        for (size_t j = 0; j < pts; j++) {
            double s = 0;
            for (size_t l = 0; l < feats; l++)
                s += f[i * feats + l] * f[j * feats + l];
            out[i * pts + j] = s / (double)feats + (i == j ? diag : 0);
        }
}

static void make_case(Case *c, unsigned long long seed, size_t n, size_t m, size_t k)
{
    Rng r = {seed};
    size_t p = n + m;
    c->n = n, c->m = m, c->k = k;
    double extra[(MAXN + MAXM) * (MAXN + MAXM)];
    gram(&r, p, 8, 0.1, c->kj);
    gram(&r, p, 10, 0.2, extra);
    for (size_t i = 0; i < p * p; i++)
        c->tj[i] = c->kj[i] + extra[i];
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++) {
            double kv = c->kj[i * p + j], tv = c->tj[i * p + j];
            if (i < n && j < n)
                c->k_tt[i * n + j] = kv, c->t_tt[i * n + j] = tv;
            else if (i >= n && j < n)
                c->k_st[(i - n) * n + j] = kv, c->t_st[(i - n) * n + j] = tv;
            else if (i >= n && j >= n)
                c->k_ss[(i - n) * m + (j - n)] = kv;
        }
    for (size_t i = 0; i < n * k; i++)
        c->y[i] = rng_normal(&r);
}

static PredictInput input_of(const Case *c, double reg)
{
    return (PredictInput){.n = c->n, .m = c->m, .k = c->k, .ntk_tt = c->t_tt, .nngp_tt = c->k_tt,
                          .ntk_st = c->t_st, .nngp_st = c->k_st, .nngp_ss = c->k_ss, .y = c->y, .reg = reg};
}

/* ---- dense reference algebra, plain loops ---- */

static void mm(const double *a, const double *b, size_t r, size_t inner, size_t cols, double *out)
{
    for (size_t i = 0; i < r; i++)
        for (size_t j = 0; j < cols; j++) {
            double s = 0;
            for (size_t l = 0; l < inner; l++)
                s += a[i * inner + l] * b[l * cols + j];
            out[i * cols + j] = s;
        }
}

/* g + reg·(tr g / n)·I */
static void regularise(const double *g, size_t n, double reg, double *out)
{
    double tr = 0;
    for (size_t i = 0; i < n; i++)
        tr += g[i * n + i];
    memcpy(out, g, n * n * sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i * n + i] += reg * tr / (double)n;
}

/* A(τ) = ∫_0^τ e^{−Gs} ds: Taylor series at τ/2^s, then A(2h) = A(h) + e^{−Gh}·A(h). */
static void flow_series(const double *g, size_t n, double tau, double *a)
{
    double norm = 0;
    for (size_t i = 0; i < n * n; i++)
        norm += g[i] * g[i];
    norm = sqrt(norm) * tau;
    int s = 0;
    while (ldexp(norm, -s) > 0.5)
        s++;
    double h = ldexp(tau, -s);
    double e[MAXN * MAXN], x[MAXN * MAXN], term[MAXN * MAXN], tmp[MAXN * MAXN];
    for (size_t i = 0; i < n * n; i++)
        x[i] = -g[i] * h, term[i] = (i % (n + 1) == 0), e[i] = term[i], a[i] = h * term[i];
    for (int j = 1; j <= 30; j++) { /* term = X^j / j! */
        mm(term, x, n, n, n, tmp);
        for (size_t i = 0; i < n * n; i++) {
            term[i] = tmp[i] / j;
            e[i] += term[i];
            a[i] += h * term[i] / (j + 1);
        }
    }
    for (int d = 0; d < s; d++) {
        mm(e, a, n, n, n, tmp);
        for (size_t i = 0; i < n * n; i++)
            a[i] += tmp[i];
        mm(e, e, n, n, n, tmp);
        memcpy(e, tmp, n * n * sizeof *e);
    }
}

/* Gauss–Jordan with partial pivoting. */
static void invert(const double *g, size_t n, double *inv)
{
    double w[MAXN * 2 * MAXN];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < 2 * n; j++)
            w[i * 2 * n + j] = j < n ? g[i * n + j] : (j - n == i);
    for (size_t col = 0; col < n; col++) {
        size_t piv = col;
        for (size_t i = col + 1; i < n; i++)
            if (fabs(w[i * 2 * n + col]) > fabs(w[piv * 2 * n + col]))
                piv = i;
        for (size_t j = 0; j < 2 * n; j++) {
            double t = w[col * 2 * n + j];
            w[col * 2 * n + j] = w[piv * 2 * n + j], w[piv * 2 * n + j] = t;
        }
        double d = w[col * 2 * n + col];
        for (size_t j = 0; j < 2 * n; j++)
            w[col * 2 * n + j] /= d;
        for (size_t i = 0; i < n; i++) {
            double f = w[i * 2 * n + col];
            if (i != col)
                for (size_t j = 0; j < 2 * n; j++)
                    w[i * 2 * n + j] -= f * w[col * 2 * n + j];
        }
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            inv[i * n + j] = w[i * 2 * n + n + j];
}

/* The flow operator W (n×n): A(τ) of G_r for finite τ, G_r⁻¹ for τ = ∞. */
static void flow_operator(const double *g_tt, size_t n, double reg, double tau, double *w)
{
    double gr[MAXN * MAXN];
    regularise(g_tt, n, reg, gr);
    if (isinf(tau))
        invert(gr, n, w);
    else
        flow_series(gr, n, tau, w);
}

/* Linearised dynamics: mean = B·y, cov = [I, −B]·K_joint·[I, −B]ᵀ, B = G_st·W. */
static void dynamics_reference(const Case *c, const double *g_tt, const double *g_st, double reg, double tau,
                               double *mean, double *cov)
{
    size_t n = c->n, m = c->m, p = n + m;
    double w[MAXN * MAXN], b[MAXM * MAXN], mrow[MAXM * (MAXN + MAXM)], tmp[MAXM * (MAXN + MAXM)];
    flow_operator(g_tt, n, reg, tau, w);
    mm(g_st, w, m, n, n, b);
    mm(b, c->y, m, n, c->k, mean);
    /* Joint order is train then test, so [−B, I]. */
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < p; j++)
            mrow[i * p + j] = j < n ? -b[i * n + j] : (j - n == i);
    mm(mrow, c->kj, m, p, p, tmp);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++) {
            double s = 0;
            for (size_t l = 0; l < p; l++)
                s += tmp[i * p + l] * mrow[j * p + l];
            cov[i * m + j] = s;
        }
}

static void assert_close(const double *got, const double *want, size_t count, double tol, const char *what)
{
    double scale = 1;
    for (size_t i = 0; i < count; i++)
        scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < count; i++)
        cr_assert(fabs(got[i] - want[i]) <= tol * scale, "%s[%zu]: got %.17g, want %.17g (scale %g)", what, i,
                  got[i], want[i], scale);
}

static void run(const Case *c, PredictKernel kind, double reg, const double *times, size_t nt, double *mean,
                double *cov)
{
    PredictInput in = input_of(c, reg);
    ntkc_error err = {0};
    int rc = predict_gd_mse(&in, kind, times, nt, mean, cov, &err);
    cr_assert_eq(rc, NTKC_OK, "predict_gd_mse failed: %s", err.message);
}

/* τ spans fast and slow eigen-directions (λ ≈ 0.1 … 10). */
static const double taus[] = {0.02, 0.4, 3.0, INFINITY};
#define NTAUS (sizeof taus / sizeof taus[0])

static void check_dynamics(PredictKernel kind, double reg, unsigned long long seed)
{
    Case c;
    make_case(&c, seed, 12, 5, 3);
    double norm = (double)(c.n * c.k), times[NTAUS];
    for (size_t i = 0; i < NTAUS; i++)
        times[i] = taus[i] * norm;
    double mean[NTAUS * MAXM * MAXK], cov[NTAUS * MAXM * MAXM];
    run(&c, kind, reg, times, NTAUS, mean, cov);
    const double *g_tt = kind == PREDICT_NTK ? c.t_tt : c.k_tt, *g_st = kind == PREDICT_NTK ? c.t_st : c.k_st;
    for (size_t i = 0; i < NTAUS; i++) {
        double want_mean[MAXM * MAXK], want_cov[MAXM * MAXM];
        dynamics_reference(&c, g_tt, g_st, reg, taus[i], want_mean, want_cov);
        assert_close(mean + i * c.m * c.k, want_mean, c.m * c.k, TOL, "mean");
        assert_close(cov + i * c.m * c.m, want_cov, c.m * c.m, TOL, "cov");
    }
}

Test(predict, ntk_matches_linearised_dynamics)
{
    check_dynamics(PREDICT_NTK, 0.0, 11);
}

/* neural-tangents regularises Θ only: K in the covariance stays as given. */
Test(predict, ntk_with_reg_matches_linearised_dynamics)
{
    check_dynamics(PREDICT_NTK, 0.05, 12);
}

/* Also confirms cov(t) = K_ss − K_st·A(2t)·K_ts, which the dynamics imply. */
Test(predict, nngp_matches_linearised_dynamics)
{
    check_dynamics(PREDICT_NNGP, 0.0, 13);
}

/* With reg, the NNGP covariance is neural-tangents' K_ss − K_st·A_r(2t)·K_ts
 * (a posterior with observation noise), no longer the dynamics of K. */
Test(predict, nngp_with_reg_matches_formula)
{
    Case c;
    make_case(&c, 14, 10, 4, 2);
    double reg = 0.05, norm = (double)(c.n * c.k), times[NTAUS];
    for (size_t i = 0; i < NTAUS; i++)
        times[i] = taus[i] * norm;
    double mean[NTAUS * MAXM * MAXK], cov[NTAUS * MAXM * MAXM];
    run(&c, PREDICT_NNGP, reg, times, NTAUS, mean, cov);
    for (size_t i = 0; i < NTAUS; i++) {
        double w[MAXN * MAXN], w2[MAXN * MAXN], b[MAXM * MAXN], want_mean[MAXM * MAXK], want_cov[MAXM * MAXM];
        double kts[MAXN * MAXM];
        flow_operator(c.k_tt, c.n, reg, taus[i], w);
        flow_operator(c.k_tt, c.n, reg, 2 * taus[i], w2);
        mm(c.k_st, w, c.m, c.n, c.n, b);
        mm(b, c.y, c.m, c.n, c.k, want_mean);
        for (size_t r = 0; r < c.n; r++)
            for (size_t s = 0; s < c.m; s++)
                kts[r * c.m + s] = c.k_st[s * c.n + r];
        mm(c.k_st, w2, c.m, c.n, c.n, b);
        mm(b, kts, c.m, c.n, c.m, want_cov);
        for (size_t r = 0; r < c.m * c.m; r++)
            want_cov[r] = c.k_ss[r] - want_cov[r];
        assert_close(mean + i * c.m * c.k, want_mean, c.m * c.k, TOL, "mean");
        assert_close(cov + i * c.m * c.m, want_cov, c.m * c.m, TOL, "cov");
    }
}

Test(predict, nngp_infinite_is_gp_posterior)
{
    Case c;
    make_case(&c, 15, 9, 6, 2);
    double t = INFINITY, mean[MAXM * MAXK], cov[MAXM * MAXM];
    run(&c, PREDICT_NNGP, 0.0, &t, 1, mean, cov);
    double inv[MAXN * MAXN], b[MAXM * MAXN], want_mean[MAXM * MAXK], want_cov[MAXM * MAXM];
    invert(c.k_tt, c.n, inv);
    mm(c.k_st, inv, c.m, c.n, c.n, b);
    mm(b, c.y, c.m, c.n, c.k, want_mean);
    for (size_t i = 0; i < c.m; i++)
        for (size_t j = 0; j < c.m; j++) {
            double s = 0;
            for (size_t l = 0; l < c.n; l++)
                s += b[i * c.n + l] * c.k_st[j * c.n + l];
            want_cov[i * c.m + j] = c.k_ss[i * c.m + j] - s;
        }
    assert_close(mean, want_mean, c.m * c.k, TOL, "mean");
    assert_close(cov, want_cov, c.m * c.m, TOL, "cov");
}

Test(predict, time_zero_is_the_prior)
{
    Case c;
    make_case(&c, 16, 7, 4, 3);
    for (int kind = PREDICT_NTK; kind <= PREDICT_NNGP; kind++) {
        double t = 0, mean[MAXM * MAXK], cov[MAXM * MAXM];
        run(&c, (PredictKernel)kind, 0.1, &t, 1, mean, cov);
        for (size_t i = 0; i < c.m * c.k; i++)
            cr_assert_eq(mean[i], 0.0, "mean[%zu] = %g at t = 0", i, mean[i]);
        for (size_t i = 0; i < c.m * c.m; i++)
            cr_assert_eq(cov[i], c.k_ss[i], "cov[%zu] = %g, prior %g", i, cov[i], c.k_ss[i]);
    }
}

/* λ_min >= 0.1 and τ = 1e4 leave e^{−λτ} = 0 in double. */
Test(predict, large_time_matches_infinity)
{
    Case c;
    make_case(&c, 17, 12, 5, 2);
    double norm = (double)(c.n * c.k), times[2] = {1e4 * norm, INFINITY};
    for (int kind = PREDICT_NTK; kind <= PREDICT_NNGP; kind++) {
        double mean[2 * MAXM * MAXK], cov[2 * MAXM * MAXM];
        run(&c, (PredictKernel)kind, 0.02, times, 2, mean, cov);
        assert_close(mean, mean + c.m * c.k, c.m * c.k, TOL, "mean");
        assert_close(cov, cov + c.m * c.m, c.m * c.m, TOL, "cov");
    }
}

/* reg r on G equals reg 0 on G + r·(tr G/n)·I, and changes the answer. */
Test(predict, reg_is_relative_to_mean_diagonal)
{
    Case c, shifted;
    make_case(&c, 18, 8, 4, 2);
    shifted = c;
    double reg = 0.3;
    regularise(c.t_tt, c.n, reg, shifted.t_tt);
    regularise(c.k_tt, c.n, reg, shifted.k_tt);
    double times[2] = {1.5 * (double)(c.n * c.k), INFINITY};
    for (int kind = PREDICT_NTK; kind <= PREDICT_NNGP; kind++) {
        double mean[2 * MAXM * MAXK], want[2 * MAXM * MAXK], plain[2 * MAXM * MAXK];
        run(&c, (PredictKernel)kind, reg, times, 2, mean, NULL);
        run(&shifted, (PredictKernel)kind, 0.0, times, 2, want, NULL);
        run(&c, (PredictKernel)kind, 0.0, times, 2, plain, NULL);
        assert_close(mean, want, 2 * c.m * c.k, TOL, "mean");
        double diff = 0;
        for (size_t i = 0; i < 2 * c.m * c.k; i++)
            diff = fmax(diff, fabs(mean[i] - plain[i]));
        cr_assert_gt(diff, 1e-3, "reg %g changed the mean by only %g", reg, diff);
    }
}

/* With Θ = K and no reg the NTK ensemble is the NNGP one. */
Test(predict, ntk_of_nngp_kernel_is_nngp)
{
    Case c;
    make_case(&c, 19, 10, 5, 2);
    memcpy(c.t_tt, c.k_tt, sizeof c.t_tt);
    memcpy(c.t_st, c.k_st, sizeof c.t_st);
    double times[3] = {0.7 * (double)(c.n * c.k), 5.0 * (double)(c.n * c.k), INFINITY};
    double m1[3 * MAXM * MAXK], m2[3 * MAXM * MAXK], c1[3 * MAXM * MAXM], c2[3 * MAXM * MAXM];
    run(&c, PREDICT_NTK, 0.0, times, 3, m1, c1);
    run(&c, PREDICT_NNGP, 0.0, times, 3, m2, c2);
    assert_close(m1, m2, 3 * c.m * c.k, TOL, "mean");
    assert_close(c1, c2, 3 * c.m * c.m, TOL, "cov");
}

/* Mixed finite and infinite times land in their own slots. */
Test(predict, times_in_any_order)
{
    Case c;
    make_case(&c, 20, 6, 3, 2);
    double times[4] = {INFINITY, 2.0, INFINITY, 0.5};
    double mean[4 * MAXM * MAXK], cov[4 * MAXM * MAXM];
    run(&c, PREDICT_NTK, 0.0, times, 4, mean, cov);
    for (size_t i = 0; i < 4; i++) {
        double one_mean[MAXM * MAXK], one_cov[MAXM * MAXM];
        run(&c, PREDICT_NTK, 0.0, &times[i], 1, one_mean, one_cov);
        assert_close(mean + i * c.m * c.k, one_mean, c.m * c.k, 0, "mean");
        assert_close(cov + i * c.m * c.m, one_cov, c.m * c.m, 0, "cov");
    }
}

Test(predict, ntk_mean_needs_no_nngp)
{
    Case c;
    make_case(&c, 21, 6, 3, 2);
    PredictInput in = input_of(&c, 0.0), bare = in;
    bare.nngp_tt = bare.nngp_st = bare.nngp_ss = NULL;
    double times[2] = {3.0, INFINITY}, mean[2 * MAXM * MAXK], want[2 * MAXM * MAXK];
    ntkc_error err = {0};
    cr_assert_eq(predict_gd_mse(&bare, PREDICT_NTK, times, 2, mean, NULL, &err), NTKC_OK, "%s", err.message);
    cr_assert_eq(predict_gd_mse(&in, PREDICT_NTK, times, 2, want, NULL, &err), NTKC_OK, "%s", err.message);
    assert_close(mean, want, 2 * c.m * c.k, 0, "mean");
}

static void expect_user_error(const PredictInput *in, PredictKernel kind, const double *times, size_t nt,
                              const char *needle)
{
    double mean[4 * MAXM * MAXK], cov[4 * MAXM * MAXM];
    ntkc_error err = {0};
    int rc = predict_gd_mse(in, kind, times, nt, mean, cov, &err);
    cr_assert_eq(rc, NTKC_EUSER, "expected a user error mentioning '%s', got %d: %s", needle, rc, err.message);
    cr_assert(strstr(err.message, needle) != NULL, "message lacks '%s': %s", needle, err.message);
}

/* A bias-only net's kernel: all ones, rank 1; its Cholesky hits an exact zero pivot. */
Test(predict, singular_kernel_at_infinity_suggests_reg)
{
    Case c;
    make_case(&c, 22, 4, 2, 1);
    for (size_t i = 0; i < 16; i++)
        c.k_tt[i] = 1.0;
    PredictInput in = input_of(&c, 0.0);
    double t = INFINITY;
    expect_user_error(&in, PREDICT_NNGP, &t, 1, "--reg");
    /* Finite times clip the null directions instead. */
    double finite = 5.0, mean[MAXM * MAXK], cov[MAXM * MAXM];
    run(&c, PREDICT_NNGP, 0.0, &finite, 1, mean, cov);
    /* And the suggested regularisation makes t = inf work. */
    run(&c, PREDICT_NNGP, 1e-3, &t, 1, mean, cov);
}

/* A repeated training point: exactly singular, though rounding may let Cholesky
 * through with a tiny pivot; the condition estimate catches it. */
Test(predict, repeated_point_at_infinity_suggests_reg)
{
    Case c;
    make_case(&c, 23, 6, 2, 1);
    size_t n = c.n;
    for (size_t j = 0; j < n; j++)
        c.t_tt[1 * n + j] = c.t_tt[0 * n + j];
    for (size_t j = 0; j < n; j++)
        c.t_tt[j * n + 1] = c.t_tt[j * n + 0];
    PredictInput in = input_of(&c, 0.0);
    double t = INFINITY;
    expect_user_error(&in, PREDICT_NTK, &t, 1, "--reg");
}

/* Pivots of 1 and 2^-52: Cholesky succeeds, the condition number is 2^54. */
Test(predict, ill_conditioned_kernel_at_infinity_suggests_reg)
{
    double g_tt[4] = {1, 1, 1, 1 + 0x1p-52}, g_st[2] = {1, 0}, g_ss[1] = {1}, y[2] = {1, 0};
    PredictInput in = {.n = 2, .m = 1, .k = 1, .nngp_tt = g_tt, .nngp_st = g_st, .nngp_ss = g_ss, .y = y};
    double t = INFINITY;
    expect_user_error(&in, PREDICT_NNGP, &t, 1, "--reg");
}

/* Eigenvalues <= 0 get weight 0, as in neural-tangents: with G_tt = diag(2, λ₂),
 * G_st = [1, 1], y = [1, 1] and N = 2, mean(t) = (1 − e^{−t})/2 + 0. */
Test(predict, nonpositive_eigenvalues_are_not_learned)
{
    const double second[2] = {0.0, -1.0};
    for (size_t c = 0; c < 2; c++) {
        double g_tt[4] = {2, 0, 0, second[c]}, g_st[2] = {1, 1}, y[2] = {1, 1};
        PredictInput in = {.n = 2, .m = 1, .k = 1, .nngp_tt = g_tt, .nngp_st = g_st, .y = y};
        double times[2] = {0.5, 7.0}, mean[2];
        ntkc_error err = {0};
        cr_assert_eq(predict_gd_mse(&in, PREDICT_NNGP, times, 2, mean, NULL, &err), NTKC_OK, "%s", err.message);
        for (size_t i = 0; i < 2; i++)
            cr_assert_float_eq(mean[i], -expm1(-times[i]) / 2, 1e-15, "λ₂ = %g, t = %g: mean %.17g", second[c],
                               times[i], mean[i]);
    }
}

Test(predict, bad_values_are_user_errors)
{
    Case c;
    make_case(&c, 24, 5, 2, 2);
    PredictInput in = input_of(&c, 0.0);
    double neg = -1.0, nan_t = NAN, ok = 1.0;
    expect_user_error(&in, PREDICT_NTK, &neg, 1, "time 0 is -1");
    expect_user_error(&in, PREDICT_NNGP, &nan_t, 1, "times must be >= 0");
    in.reg = -0.1;
    expect_user_error(&in, PREDICT_NTK, &ok, 1, "--reg");
    in.reg = 0;
    c.y[3] = NAN;
    expect_user_error(&in, PREDICT_NTK, &ok, 1, "target y[1][1]");
    c.y[3] = 0;
    c.t_st[2] = INFINITY;
    expect_user_error(&in, PREDICT_NTK, &ok, 1, "test-train NTK[0][2]");
    c.t_st[2] = 0;
    c.k_ss[0] = NAN;
    expect_user_error(&in, PREDICT_NTK, &ok, 1, "test-test NNGP[0][0]");
    in.n = 0;
    expect_user_error(&in, PREDICT_NTK, &ok, 1, "at least one training point");
}

Test(predict, no_test_points)
{
    Case c;
    make_case(&c, 25, 5, 0, 2);
    PredictInput in = input_of(&c, 0.0);
    double times[2] = {1.0, INFINITY}, mean[1], cov[1];
    ntkc_error err = {0};
    cr_assert_eq(predict_gd_mse(&in, PREDICT_NTK, times, 2, mean, cov, &err), NTKC_OK, "%s", err.message);
}

Test(predict_labels, one_hot)
{
    double labels[4] = {2, 0, 1, 2}, y[12];
    size_t k = 0;
    ntkc_error err = {0};
    cr_assert_eq(predict_class_count(labels, 4, &k, &err), NTKC_OK, "%s", err.message);
    cr_assert_eq(k, 3);
    cr_assert_eq(predict_one_hot(labels, 4, k, y, &err), NTKC_OK, "%s", err.message);
    const double want[12] = {0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    for (size_t i = 0; i < 12; i++)
        cr_assert_eq(y[i], want[i], "y[%zu] = %g", i, y[i]);
}

Test(predict_labels, bad_labels)
{
    double frac[2] = {0, 1.5}, negative[2] = {-1, 0}, big[1] = {PREDICT_MAX_CLASSES}, y[4];
    size_t k;
    ntkc_error err = {0};
    cr_assert_eq(predict_class_count(frac, 2, &k, &err), NTKC_EUSER);
    cr_assert(strstr(err.message, "label 1 is 1.5") != NULL, "%s", err.message);
    err_clear(&err);
    cr_assert_eq(predict_class_count(negative, 2, &k, &err), NTKC_EUSER);
    err_clear(&err);
    cr_assert_eq(predict_class_count(big, 1, &k, &err), NTKC_EUSER);
    err_clear(&err);
    double test_labels[2] = {0, 2}; /* a class the training set does not have */
    cr_assert_eq(predict_one_hot(test_labels, 2, 2, y, &err), NTKC_EUSER);
    cr_assert(strstr(err.message, "label 1 is 2") != NULL, "%s", err.message);
}

Test(predict_labels, metrics)
{
    const double mean[6] = {0.1, 0.9, 0.8, 0.2, 0.5, 0.5}, labels[3] = {1, 1, 0};
    cr_assert_float_eq(predict_accuracy(mean, labels, 3, 2), 2.0 / 3.0, 1e-15);
    const double y[6] = {0, 1, 0, 1, 1, 0};
    double want = (0.01 + 0.01 + 0.64 + 0.64 + 0.25 + 0.25) / 6;
    cr_assert_float_eq(predict_mse(mean, y, 3, 2), want, 1e-15);
}
