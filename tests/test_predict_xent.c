/* The training ODE (predict_ode) against finite-width networks trained by
 * gradient descent on softmax cross-entropy, with and without momentum: for
 * each seed, a width-W net (NTK parameterization, one erf hidden layer) is
 * trained from its own initial outputs f0, and the ODE is integrated from the
 * same f0 with the analytic NTK. The distance between them, relative to how
 * far training moved the outputs, comes from the finite net's NTK fluctuating
 * around the analytic one and moving during training — O(1/√W) — plus the
 * Euler error of a finite step, O(lr·λ_max).
 *
 * What is tested is the limit: the relative distance at width 4W must be
 * about half that at W (1/√W), the mean over seeds; and at the larger width
 * below a bound set from that scaling: err(4W) <= c/√(4W) with c measured on
 * W (c = err(W)·√W) times 1.5 for the spread of SEEDS seeds. Measured:
 * 0.096 → 0.053 (ratio 1.83) without momentum, 0.097 → 0.053 with μ = 0.9. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "finite_train_loss.h"
#include "net_internal.h"
#include "ntkc_tool.h"
#include "util.h"

enum { N = 8, D = 4, M = 4, K = 3, SEEDS = 4 };

typedef struct Problem {
    double x[N * D], xt[M * D], y[N * K], ntk_tt[N * N], ntk_st[M * N];
} Problem;

static void problem(const ntkc_net *net, Problem *p)
{
    Rng r;
    rng_seed(&r, 9);
    rng_fill_normal(&r, p->x, N * D, 1.0);
    rng_fill_normal(&r, p->xt, M * D, 1.0);
    for (size_t i = 0; i < N; i++)
        for (size_t c = 0; c < K; c++)
            p->y[i * K + c] = c == i % K;
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, N, p->x, 0, NULL, D, NULL, p->ntk_tt, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(net, M, p->xt, N, p->x, D, NULL, p->ntk_st, NULL, &err), 0, "%s", err.message);
}

/* Mean over seeds of ‖f_finite − f_ode‖ / ‖f_ode − f0‖ on the test points. */
static double distance(const ntkc_net *net, const Problem *p, size_t width, const FiniteTrainSpec *base,
                       double lr_factor)
{
    double sum = 0;
    for (unsigned long long s = 0; s < SEEDS; s++) {
        FiniteTrainSpec spec = *base;
        spec.width = width, spec.seed = 500 + s;
        double f0[N * K], g0[M * K], g[M * K], ode[M * K], t = (double)spec.steps;
        ntkc_error err = {0};
        cr_assert_eq(finite_net_train_loss(ntkc_net_ir(net), N, p->x, p->y, K, M, p->xt, D, &spec, f0, g0, NULL, g,
                                           &err), 0, "%s", err.message);
        PredictOde o = {.n = N, .m = M, .k = K, .g_tt = p->ntk_tt, .g_st = p->ntk_st, .y = p->y, .fx0_train = f0,
                        .fx0_test = g0, .loss = spec.xent ? PREDICT_LOSS_XENT : PREDICT_LOSS_MSE,
                        .momentum_on = spec.momentum_on, .momentum = spec.momentum,
                        .learning_rate = spec.lr * N * K * lr_factor};
        cr_assert_eq(predict_ode(&o, &t, 1, NULL, ode, NULL, &err), 0, "%s", err.message);
        double num = 0, den = 0;
        for (size_t i = 0; i < M * K; i++)
            num += (g[i] - ode[i]) * (g[i] - ode[i]), den += (ode[i] - g0[i]) * (ode[i] - g0[i]);
        sum += sqrt(num / den);
    }
    return sum / SEEDS;
}

static void check(const FiniteTrainSpec *spec, size_t width)
{
    ntkc_net *net = compile_or_fail("net erf1 { dense(1.3, 0.2); erf; dense(1.0, 0.1) }", NTKC_BACKEND_TCC);
    Problem p;
    problem(net, &p);
    double narrow = distance(net, &p, width, spec, 1), wide = distance(net, &p, 4 * width, spec, 1);
    /* The test's power: time not normalised by k (η = lr·n) misses. */
    double wrong = distance(net, &p, 4 * width, spec, 1.0 / K);
    cr_log_info("xent%s: relative distance finite vs ODE %.4f at width %zu, %.4f at %zu (ratio %.2f)",
                spec->momentum_on ? " + momentum" : "", narrow, width, wide, 4 * width, narrow / wide);
    cr_expect(narrow / wide > 1.4 && narrow / wide < 2.9,
              "the distance should halve when the width quadruples: %.4f → %.4f", narrow, wide);
    cr_expect_lt(wide, 1.5 * narrow / 2, "width %zu: %.4f", 4 * width, wide);
    cr_expect_gt(wrong, 3 * wide, "η = lr·n fits as well as lr·n·k: %.4f vs %.4f", wrong, wide);
    ntkc_net_free(net);
}

Test(predict_xent, finite_nets_approach_the_ode, .timeout = TIMEOUT(120))
{
    FiniteTrainSpec spec = {.xent = 1, .lr = 0.002, .steps = 400};
    check(&spec, 256);
}

Test(predict_xent, finite_nets_with_momentum_approach_the_ode, .timeout = TIMEOUT(120))
{
    FiniteTrainSpec spec = {.xent = 1, .momentum_on = 1, .momentum = 0.9, .lr = 0.0002, .steps = 400};
    check(&spec, 256);
}
