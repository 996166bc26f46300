/* The function-space training ODE with GSL's odeiv2; equations in predict_ode.h. */
#include "predict_ode.h"

#include <cblas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_STEPS = 10000000 };

/* GSL's default error handler aborts the process; its failures are return
 * codes here. Setting the handler is GSL's one process-wide switch. */
static pthread_once_t gsl_quiet_once = PTHREAD_ONCE_INIT;
static void gsl_quiet(void)
{
    gsl_set_error_handler_off();
}

/* What the right-hand side reads; state = [f_train, f_test (, q_train, q_test)]. */
typedef struct System {
    const PredictOde *p;
    size_t nk, mk;   /* sizes of f_train and f_test */
    double damping;  /* (μ − 1)/√η with momentum */
    double *grad;    /* n×k scratch: ∇L(f_train) */
    size_t evals;    /* right-hand side evaluations */
} System;

/* ∇L at f (n×k) into g; returns 0, or -1 when it is not finite. */
static int loss_gradient(const PredictOde *p, const double *f, double *g)
{
    double inv_n = 1.0 / ((double)p->n * (double)p->k);
    for (size_t i = 0; i < p->n; i++) {
        const double *fi = f + i * p->k, *yi = p->y + i * p->k;
        double *gi = g + i * p->k;
        if (p->loss == PREDICT_LOSS_MSE) {
            for (size_t c = 0; c < p->k; c++)
                gi[c] = (fi[c] - yi[c]) * inv_n;
            continue;
        }
        double top = fi[0], sum = 0, ysum = 0;
        for (size_t c = 1; c < p->k; c++)
            top = fmax(top, fi[c]);
        for (size_t c = 0; c < p->k; c++)
            sum += exp(fi[c] - top), ysum += yi[c];
        for (size_t c = 0; c < p->k; c++)
            gi[c] = (exp(fi[c] - top) / sum * ysum - yi[c]) * inv_n;
    }
    for (size_t i = 0; i < p->n * p->k; i++)
        if (!isfinite(g[i]))
            return -1;
    return 0;
}

static int rhs(double t, const double *s, double *ds, void *params)
{
    (void)t;
    System *sys = params;
    sys->evals++;
    const PredictOde *p = sys->p;
    int n = (int)p->n, m = (int)p->m, k = (int)p->k;
    size_t f_size = sys->nk + sys->mk;
    if (loss_gradient(p, s, sys->grad) != 0)
        return GSL_EBADFUNC;
    /* With momentum, df = q and dq = −G·∇L + damping·q; without, df = −G·∇L. */
    double *df = p->momentum_on ? ds + f_size : ds;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, k, n, -1.0, p->g_tt, n, sys->grad, k, 0.0, df, k);
    if (m > 0)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, k, n, -1.0, p->g_st, n, sys->grad, k, 0.0,
                    df + sys->nk, k);
    if (p->momentum_on) {
        memcpy(ds, s + f_size, f_size * sizeof *ds);
        for (size_t i = 0; i < f_size; i++)
            df[i] += sys->damping * s[f_size + i];
    }
    return GSL_SUCCESS;
}

static int check_finite(const double *a, size_t rows, size_t cols, const char *what, ntkc_error *err)
{
    for (size_t i = 0; a && i < rows * cols; i++)
        if (!isfinite(a[i])) {
            diag_user(err, "%s[%zu][%zu] is %g: entries must be finite", what, i / cols, i % cols, a[i]);
            return err->code;
        }
    return NTKC_OK;
}

static int check_request(const PredictOde *p, const double *times, size_t ntimes, ntkc_error *err)
{
    if (p->g_tt == NULL || p->y == NULL || (p->m > 0 && p->g_st == NULL) || (ntimes > 0 && times == NULL)) {
        diag_internal(err, "predict_ode: missing kernels, targets or times");
        return err->code;
    }
    if (p->n == 0 || p->k == 0 || p->n > INT_MAX || p->m > INT_MAX || p->k > INT_MAX) {
        diag_user(err, "ODE prediction needs 1..%d training points and outputs (got n=%zu, m=%zu, k=%zu)", INT_MAX,
                  p->n, p->m, p->k);
        return err->code;
    }
    if (p->loss != PREDICT_LOSS_MSE && p->loss != PREDICT_LOSS_XENT) {
        diag_internal(err, "predict_ode: unknown loss %d", (int)p->loss);
        return err->code;
    }
    if (!(p->learning_rate > 0) || !isfinite(p->learning_rate)) {
        diag_user(err, "the learning rate is %g: it must be a finite number > 0", p->learning_rate);
        return err->code;
    }
    if (p->momentum_on && !(p->momentum >= 0 && p->momentum < 1)) {
        diag_user(err, "the momentum is %g: it must be in [0, 1)", p->momentum);
        return err->code;
    }
    for (size_t i = 0; i < ntimes; i++)
        if (!(times[i] >= 0) || isinf(times[i])) {
            diag_user(err, "prediction time %g: the training ODE needs finite times >= 0 (training on %s "
                           "has no closed form at t = inf)", times[i],
                      p->loss == PREDICT_LOSS_XENT ? "cross-entropy" : "MSE with momentum");
            return err->code;
        }
    if (check_finite(p->g_tt, p->n, p->n, "train-train kernel", err) ||
        check_finite(p->g_st, p->m, p->n, "test-train kernel", err) ||
        check_finite(p->y, p->n, p->k, "targets", err) ||
        check_finite(p->fx0_train, p->n, p->k, "initial train outputs", err) ||
        check_finite(p->fx0_test, p->m, p->k, "initial test outputs", err))
        return err->code;
    return NTKC_OK;
}

/* Absolute tolerance: rtol on the scale of the targets and initial outputs. */
static double output_scale(const PredictOde *p)
{
    double s = 1;
    for (size_t i = 0; i < p->n * p->k; i++)
        s = fmax(s, fmax(fabs(p->y[i]), p->fx0_train ? fabs(p->fx0_train[i]) : 0));
    for (size_t i = 0; p->fx0_test && i < p->m * p->k; i++)
        s = fmax(s, fabs(p->fx0_test[i]));
    return s;
}

static int cmp_time(const void *a, const void *b, void *times)
{
    double x = ((const double *)times)[*(const size_t *)a], y = ((const double *)times)[*(const size_t *)b];
    return (x > y) - (x < y);
}

/* Integrates from 0 through the times in increasing order, copying out each. */
static int integrate(const PredictOde *p, System *sys, double *state, const double *times, size_t ntimes,
                     double *f_train, double *f_test, PredictOdeStats *st, ntkc_error *err)
{
    size_t dim = (sys->nk + sys->mk) * (p->momentum_on ? 2 : 1);
    double rtol = p->rtol > 0 ? p->rtol : 1e-10, scale = p->momentum_on ? sqrt(p->learning_rate) : p->learning_rate;
    size_t *order = malloc((ntimes ? ntimes : 1) * sizeof *order);
    gsl_odeiv2_system gsys = {rhs, NULL, dim, sys};
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(&gsys, gsl_odeiv2_step_rk8pd, 1e-6,
                                                           rtol * output_scale(p), rtol);
    if (order == NULL || d == NULL) {
        diag_user(err, "ODE prediction: out of memory for a state of %zu values", dim);
        free(order);
        if (d)
            gsl_odeiv2_driver_free(d);
        return err->code;
    }
    gsl_odeiv2_driver_set_nmax(d, MAX_STEPS);
    for (size_t i = 0; i < ntimes; i++)
        order[i] = i;
    qsort_r(order, ntimes, sizeof *order, cmp_time, (void *)times);
    double tau = 0;
    for (size_t j = 0; j < ntimes && !err->code; j++) {
        size_t i = order[j];
        double target = times[i] * scale;
        int status = target > tau ? gsl_odeiv2_driver_apply(d, &tau, target, state) : GSL_SUCCESS;
        if (status == GSL_EBADFUNC)
            diag_user(err, "ODE prediction: the loss gradient overflowed before time %g (outputs diverging?)",
                      times[i]);
        else if (status != GSL_SUCCESS)
            diag_user(err, "ODE prediction: the integrator could not reach time %g within %d steps to relative "
                           "tolerance %g (%s); the problem is too stiff for it or the time too long",
                      times[i], MAX_STEPS, rtol, gsl_strerror(status));
        if (err->code)
            break;
        if (f_train)
            memcpy(f_train + i * sys->nk, state, sys->nk * sizeof *state);
        if (sys->mk)
            memcpy(f_test + i * sys->mk, state + sys->nk, sys->mk * sizeof *state);
    }
    if (st) {
        st->steps = d->e->count + d->e->failed_steps;
        st->rhs_evals = sys->evals;
    }
    gsl_odeiv2_driver_free(d);
    free(order);
    return err->code;
}

int predict_ode(const PredictOde *p, const double *times, size_t ntimes, double *f_train, double *f_test,
                PredictOdeStats *stats, ntkc_error *err)
{
    if (p == NULL || (ntimes > 0 && p->m > 0 && f_test == NULL)) {
        diag_internal(err, "predict_ode: missing request or outputs");
        return err->code;
    }
    if (check_request(p, times, ntimes, err))
        return err->code;
    pthread_once(&gsl_quiet_once, gsl_quiet);
    System sys = {.p = p, .nk = p->n * p->k, .mk = p->m * p->k};
    if (p->momentum_on)
        sys.damping = (p->momentum - 1.0) / sqrt(p->learning_rate);
    size_t f_size = sys.nk + sys.mk, dim = f_size * (p->momentum_on ? 2 : 1);
    double *state = calloc(dim, sizeof *state);
    sys.grad = malloc(sys.nk * sizeof *sys.grad);
    if (state == NULL || sys.grad == NULL) {
        diag_user(err, "ODE prediction: out of memory for a state of %zu values", dim);
    } else {
        for (size_t i = 0; i < sys.nk; i++)
            state[i] = p->fx0_train ? p->fx0_train[i] : 0.0;
        for (size_t i = 0; i < sys.mk; i++)
            state[sys.nk + i] = p->fx0_test ? p->fx0_test[i] : 0.0;
        integrate(p, &sys, state, times, ntimes, f_train, f_test, stats, err);
    }
    free(state), free(sys.grad);
    return err->code;
}
