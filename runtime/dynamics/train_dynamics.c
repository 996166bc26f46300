/* ntkc_train_finite: ensembles of finite-width networks of any family
 * (finite_model.h: fully connected, image and branching, graph nets)
 * trained by full-batch gradient descent on L = ‖f − Y‖²/(2N), N = n·k
 * (ntkc_predict's loss and time scale), recorded at checkpoints next to the
 * infinite-width prediction; with each net its linearisation around the
 * initialisation, trained as neural-tangents' `linearize` would be (the
 * same gradient descent on f_lin(θ) = f(θ0) + J(θ0)·(θ − θ0)). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <stdint.h>

#include "finite_model.h"
#include "ir_dropout_eval.h"
#include "net_internal.h"
#include "ntkc.h"
#include "train_dropout.h"
#include "train_stats.h"
#include "ntkc_err.h"

void ntkc_train_result_free(ntkc_train_result *res)
{
    if (res == NULL)
        return;
    double *arrays[] = {res->times, res->train_loss, res->test_loss, res->kernel_move, res->lin_dist,
                        res->mean_dist, res->mean_z, res->cov_dist, res->cov_floor, res->inf_train_loss, res->inf_test_loss};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        free(arrays[i]);
    memset(res, 0, sizeof *res);
}

static double *alloc_nan(size_t count, ntkc_error *err)
{
    double *p = count <= SIZE_MAX / sizeof(double) ? malloc((count ? count : 1) * sizeof *p) : NULL;
    if (p == NULL) {
        err_user(err, "train: out of memory for %zu numbers", count);
        return NULL;
    }
    for (size_t i = 0; i < count; i++)
        p[i] = NAN;
    return p;
}

/* What one run needs besides the options: data, and the recorded steps. */
typedef struct Job {
    const ntkc_net *net;
    const IrNet *ir;
    size_t n, m, k, ntimes;
    FiniteData train, test;   /* n and m rows: arrays or graph sets */
    const double *y, *yt;     /* yt may be NULL */
    const ntkc_train_options *o;
    size_t *steps_at; /* ntimes recorded steps, the first 0, the last o->steps */
    double norm;      /* N = n·k */
    int ode;          /* xent or momentum under NTK: each net against the training ODE from its f0 */
    int dropout;      /* dropout layers: fresh masks every step, eval mode (no dropout) when recorded */
    ntkc_net *twin;   /* dropout: the eval-mode twin of net, for the reference's kernels */
} Job;

/* Per-seed state of one width. */
typedef struct Run {
    FiniteModel fn, lin; /* the net, and its frozen initialisation for the linearisation */
    double *dtheta, *grad, *resid, *tmp, *ntk0, *ntk;
    double *vel, *vel_lin; /* momentum: the velocities of θ and of the linearisation's Δθ */
    double *f0_train;      /* j->ode: the outputs at initialisation on the training inputs */
    size_t np;
    uint64_t mask_base;    /* dropout: step s draws its masks from a hash of this and s */
} Run;

static void run_free(Run *r)
{
    finite_model_free(&r->fn);
    finite_model_free(&r->lin);
    free(r->dtheta), free(r->grad), free(r->resid), free(r->tmp), free(r->ntk0), free(r->ntk);
    free(r->vel), free(r->vel_lin), free(r->f0_train);
    memset(r, 0, sizeof *r);
}

static double *zeros(size_t count, ntkc_error *err)
{
    double *p = calloc(count ? count : 1, sizeof *p);
    if (p == NULL)
        err_user(err, "train: out of memory for %zu numbers", count);
    return p;
}

static int run_new(const Job *j, size_t width, unsigned long long seed, Run *r, ntkc_error *err)
{
    FiniteParam param = j->o->param == NTKC_PARAM_MUP ? FINITE_MUP : FINITE_AS_IR;
    size_t rows = j->n > j->m ? j->n : j->m;
    if (finite_model_new(j->ir, &j->train, width, j->k, param, &r->fn, err))
        return err->code;
    double *theta = finite_model_params(&r->fn);
    r->np = r->fn.np;
    Rng rng;
    rng_seed(&rng, seed);
    finite_model_init(&r->fn, &rng);
    r->mask_base = rng_next(&rng);
    finite_model_dropout(&r->fn, 0, 0); /* eval mode but while a step runs */
    if ((r->grad = zeros(r->np, err)) == NULL || (r->resid = zeros(rows * j->k, err)) == NULL ||
        (r->tmp = zeros(rows * j->k, err)) == NULL || (r->ntk0 = zeros(j->n * j->n, err)) == NULL ||
        (r->ntk = zeros(j->n * j->n, err)) == NULL || (r->vel = zeros(r->np, err)) == NULL ||
        (r->vel_lin = zeros(r->np, err)) == NULL || (r->f0_train = zeros(j->n * j->k, err)) == NULL)
        return err->code;
    if (j->o->linearized) {
        if (finite_model_new(j->ir, &j->train, width, j->k, param, &r->lin, err) ||
            (r->dtheta = zeros(r->np, err)) == NULL)
            return err->code;
        memcpy(finite_model_params(&r->lin), theta, r->np * sizeof *theta);
        finite_model_dropout(&r->lin, 0, 0);
    }
    return NTKC_OK;
}

/* Step s's dropout masks (train mode) on m, the same for the net and its
 * linearisation; drop_off returns m to eval mode. */
static void drop_on(const Job *j, const Run *r, FiniteModel *m, size_t step)
{
    if (!j->dropout)
        return;
    uint64_t st = r->mask_base ^ (0xD1B54A32D192ED03ULL * (uint64_t)(step + 1));
    finite_model_dropout(m, 1, rng_splitmix64(&st));
}

static void drop_off(const Job *j, FiniteModel *m)
{
    if (j->dropout)
        finite_model_dropout(m, 0, 0);
}

/* The empirical NTK on the training inputs, averaged over output units
 * (upper triangle). */
static int unit_ntk(const Job *j, FiniteModel *fn, double *ntk, ntkc_error *err)
{
    memset(ntk, 0, j->n * j->n * sizeof *ntk);
    for (size_t u = 0; u < j->k; u++)
        if (finite_model_unit_ntk(fn, &j->train, u, ntk, err))
            return err->code;
    for (size_t i = 0; i < j->n * j->n; i++)
        ntk[i] /= (double)j->k;
    return NTKC_OK;
}

/* ‖a − b‖_F / ‖b‖_F over upper triangles (off-diagonal entries counted twice). */
static double upper_rel_dist(size_t n, const double *a, const double *b)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t jj = i; jj < n; jj++) {
            double w = jj == i ? 1.0 : 2.0, e = a[i * n + jj] - b[i * n + jj];
            d += w * e * e;
            s += w * b[i * n + jj] * b[i * n + jj];
        }
    return s > 0 ? sqrt(d / s) : NAN;
}

/* The marker train_one turns into a message naming width, seed and step. */
#define DIVERGED "<diverged>"

/* f − y into out (rows×k); fails on a non-finite entry. */
static int residual(const double *f, const double *y, size_t count, double *out, ntkc_error *err)
{
    for (size_t i = 0; i < count; i++) {
        out[i] = f[i] - y[i];
        if (!isfinite(out[i])) {
            err_user(err, DIVERGED);
            return err->code;
        }
    }
    return NTKC_OK;
}

/* ∂(ΣL)/∂f into g (n×k): f − y for MSE, softmax(f_i) − y_i row by row for
 * cross-entropy; fails on a non-finite entry. */
static int loss_gradient(const Job *j, const double *f, double *g, ntkc_error *err)
{
    if (j->o->loss != NTKC_LOSS_XENT)
        return residual(f, j->y, j->n * j->k, g, err);
    for (size_t i = 0; i < j->n; i++) {
        const double *fi = f + i * j->k, *yi = j->y + i * j->k;
        double mx = fi[0], z = 0;
        for (size_t c = 1; c < j->k; c++)
            mx = fi[c] > mx ? fi[c] : mx;
        for (size_t c = 0; c < j->k; c++)
            z += exp(fi[c] - mx);
        for (size_t c = 0; c < j->k; c++) {
            g[i * j->k + c] = exp(fi[c] - mx) / z - yi[c];
            if (!isfinite(g[i * j->k + c]) || !isfinite(fi[c])) {
                err_user(err, DIVERGED);
                return err->code;
            }
        }
    }
    return NTKC_OK;
}

/* −Σ_i Σ_c y_ic·log softmax(f_i)_c / (n·k), the ODE's loss. */
static double xent_loss(const double *f, const double *y, size_t n, size_t k)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        const double *fi = f + i * k;
        double mx = fi[0], z = 0;
        for (size_t c = 1; c < k; c++)
            mx = fi[c] > mx ? fi[c] : mx;
        for (size_t c = 0; c < k; c++)
            z += exp(fi[c] - mx);
        for (size_t c = 0; c < k; c++)
            s -= y[i * k + c] * (fi[c] - mx - log(z));
    }
    return s / ((double)n * (double)k);
}

/* θ ← θ − step·g, or with momentum v ← μ·v − step·g, θ ← θ + v. */
static void descend(const Job *j, double *theta, double *vel, const double *g, size_t np)
{
    double step = j->o->lr / j->norm, mu = j->o->momentum;
    for (size_t p = 0; p < np; p++) {
        if (j->o->momentum_on) {
            vel[p] = mu * vel[p] - step * g[p];
            theta[p] += vel[p];
        } else {
            theta[p] -= step * g[p];
        }
    }
}

static double half_mean_sq(const double *r, size_t count)
{
    double s = 0;
    for (size_t i = 0; i < count; i++)
        s += r[i] * r[i];
    return s / (2.0 * (double)count);
}

/* One step of gradient descent on the net: θ ← θ − (lr/N)·Jᵀ∇_f(ΣL) (MSE:
 * ∇_f = f − Y), with momentum through descend(); with dropout, forward and
 * gradient under this step's masks. */
static int gd_step(const Job *j, Run *r, size_t step, ntkc_error *err)
{
    drop_on(j, r, &r->fn, step);
    int rc = finite_model_forward(&r->fn, &j->train, r->tmp, err) || loss_gradient(j, r->tmp, r->resid, err) ||
             finite_model_vjp(&r->fn, &j->train, r->resid, r->grad, err);
    drop_off(j, &r->fn);
    if (rc)
        return err->code;
    descend(j, finite_model_params(&r->fn), r->vel, r->grad, r->np);
    return NTKC_OK;
}

/* f_lin(x) = f(x; θ0) + J(x; θ0)·Δθ on the rows of d, into out (rows×k;
 * uses r->tmp). */
static int lin_forward(Run *r, const FiniteData *d, size_t k, double *out, ntkc_error *err)
{
    if (finite_model_forward(&r->lin, d, out, err) || finite_model_jvp(&r->lin, d, r->dtheta, r->tmp, err))
        return err->code;
    for (size_t i = 0; i < d->rows * k; i++)
        out[i] += r->tmp[i];
    return NTKC_OK;
}

/* The same step on the linearisation: Δθ ← Δθ − (lr/N)·J0ᵀ(f_lin − Y)
 * (with dropout: the linearisation of the net under this step's masks). */
static int lin_step(const Job *j, Run *r, size_t step, ntkc_error *err)
{
    double *f = r->resid;
    /* the forward of lin_forward is on the training data, as the vjp needs */
    drop_on(j, r, &r->lin, step);
    int rc = lin_forward(r, &j->train, j->k, f, err) || loss_gradient(j, f, f, err) ||
             finite_model_vjp(&r->lin, &j->train, f, r->grad, err);
    drop_off(j, &r->lin);
    if (rc)
        return err->code;
    descend(j, r->dtheta, r->vel_lin, r->grad, r->np);
    return NTKC_OK;
}

/* Sums of one width over its seeds, per recorded time. */
typedef struct Sums {
    double *train_loss, *test_loss, *move, *lin_sq; /* ntimes each */
    double *f_test;                                /* seeds×ntimes×m×k */
    double *f_ode;                                 /* j->ode: the same from each seed's training ODE */
} Sums;

/* The infinite-width training ODE from one net's initial outputs (f0 on the
 * training and test inputs), on the test inputs at the recorded times, into
 * out (ntimes×m×k). Without momentum its time is lr·steps (gradient flow on
 * L = ΣL/N); with momentum it counts steps of learning rate lr. */
static int ode_outputs(const Job *j, const double *f0_train, const double *f0_test, double *out, ntkc_error *err)
{
    double *times = malloc(j->ntimes * sizeof *times);
    if (times == NULL) {
        err_user(err, "train: out of memory");
        return err->code;
    }
    for (size_t c = 0; c < j->ntimes; c++)
        times[c] = (j->o->momentum_on ? 1.0 : j->o->lr) * (double)j->steps_at[c];
    ntkc_predict_options po = {.kernel = NTKC_PREDICT_NTK, .eval = j->o->eval, .fx0_train = f0_train,
                               .fx0_test = f0_test, .loss = j->o->loss, .momentum_on = j->o->momentum_on,
                               .momentum = j->o->momentum, .learning_rate = j->o->momentum_on ? j->o->lr : 0.0};
    const FiniteData *a = &j->train, *b = &j->test;
    int rc = a->graphs ? ntkc_predict_graphs(j->net, a->graphs, j->y, j->k, b->graphs, times, j->ntimes, &po, out,
                                             NULL, NULL, err)
                       : ntkc_predict(j->net, j->n, a->x, j->y, j->k, j->m, b->x, a->dim, times, j->ntimes, &po, out,
                                      NULL, NULL, err);
    free(times);
    return rc;
}

/* Records time c of seed s: losses, test outputs, kernel movement and the
 * distance to the linearisation. */
static int record(const Job *j, Run *r, size_t s, size_t c, Sums *sum, ntkc_error *err)
{
    size_t nk = j->n * j->k, mk = j->m * j->k;
    double *ft = sum->f_test + (s * j->ntimes + c) * mk;
    if (finite_model_forward(&r->fn, &j->train, r->tmp, err) || residual(r->tmp, j->y, nk, r->resid, err))
        return err->code;
    sum->train_loss[c] += j->o->loss == NTKC_LOSS_XENT ? xent_loss(r->tmp, j->y, j->n, j->k)
                                                       : half_mean_sq(r->resid, nk);
    if (c == 0 && j->ode)
        memcpy(r->f0_train, r->tmp, nk * sizeof *r->tmp);
    if (finite_model_forward(&r->fn, &j->test, ft, err))
        return err->code;
    if (c == 0 && j->ode && ode_outputs(j, r->f0_train, ft, sum->f_ode + s * j->ntimes * mk, err))
        return err->code;
    if (unit_ntk(j, &r->fn, c == 0 ? r->ntk0 : r->ntk, err))
        return err->code;
    sum->move[c] += c == 0 ? 0.0 : upper_rel_dist(j->n, r->ntk, r->ntk0);
    if (r->lin.impl == NULL)
        return NTKC_OK;
    double *fl = r->resid;
    if (lin_forward(r, &j->test, j->k, fl, err))
        return err->code;
    for (size_t i = 0; i < mk; i++) {
        double d = ft[i] - fl[i];
        sum->lin_sq[c] += d * d;
    }
    return NTKC_OK;
}

static unsigned long long seed_of(unsigned long long base, size_t width, size_t s)
{
    uint64_t st = base ^ (0x9e3779b97f4a7c15ULL * (width + 1));
    rng_splitmix64(&st);
    st += s;
    return rng_splitmix64(&st);
}

/* Trains seed s of one width through every recorded time. */
static int train_one(const Job *j, size_t width, size_t s, Sums *sum, ntkc_error *err)
{
    Run r = {0};
    int rc = run_new(j, width, seed_of(j->o->seed, width, s), &r, err);
    size_t c = 0, step = 0;
    for (; rc == 0; step++) {
        if (step == j->steps_at[c]) {
            rc = record(j, &r, s, c, sum, err);
            if (rc || ++c == j->ntimes)
                break;
        }
        rc = gd_step(j, &r, step, err);
        if (rc == 0 && r.lin.impl)
            rc = lin_step(j, &r, step, err);
    }
    if (rc && strstr(err->message, DIVERGED) != NULL) {
        err_clear(err); /* the first error sticks: replace the marker */
        err_user(err, "train: gradient descent diverged at width %zu, seed %zu, step %zu (non-finite output): "
                       "the learning rate %g is too large (ntkc spectrum prints the largest stable one)",
                  width, s, step, j->o->lr);
    }
    run_free(&r);
    return rc;
}

static int check_options(const ntkc_net *net, const Job *j, const ntkc_train_options *o, ntkc_error *err)
{
    int graphs = j->train.graphs != NULL;
    if (ntkc_net_takes_graphs(net) != graphs) {
        err_user(err, "train: net '%s' %s: use %s", ntkc_net_name(net),
                  graphs ? "does not take graphs (declare 'input graph(F)' in it)" : "takes graphs (input graph)",
                  graphs ? "ntkc_train_finite" : "ntkc_train_finite_graphs");
        return err->code;
    }
    if (o->nwidths == 0 || o->widths == NULL || o->seeds < 2 || !(o->lr > 0) || !isfinite(o->lr) ||
        j->n == 0 || j->m == 0 || j->k == 0) {
        err_user(err, "train: needs widths, at least 2 seeds, a positive finite learning rate, and training and "
                       "test data (seeds %zu, lr %g, n %zu, m %zu)", o->seeds, o->lr, j->n, j->m);
        return err->code;
    }
    if (o->momentum_on && !(o->momentum >= 0 && o->momentum < 1)) {
        err_user(err, "train: the momentum must be in [0, 1), not %g", o->momentum);
        return err->code;
    }
    if (ir_has_dropout(j->ir) && o->loss == NTKC_LOSS_XENT) {
        err_user(err, "train: net '%s' has dropout: training it on cross-entropy is refused (the masks' noise, "
                       "O(1) at any width, enters the softmax, so the infinite-width drift is its mean over the "
                       "noise, not a kernel ODE of the outputs: README, \"Training dynamics\"); use MSE, with or "
                       "without momentum", ntkc_net_name(net));
        return err->code;
    }
    if (o->loss == NTKC_LOSS_XENT && j->k < 2) {
        err_user(err, "train: cross-entropy needs at least 2 outputs (one-hot targets), the targets have %zu",
                  j->k);
        return err->code;
    }
    for (size_t w = 0; w < o->nwidths; w++)
        if (o->widths[w] == 0) {
            err_user(err, "train: width %zu is 0", w + 1);
            return err->code;
        }
    const double *arrays[] = {j->y, j->train.x, j->test.x};
    size_t sizes[] = {j->n * j->k, j->n * j->train.dim, j->m * j->test.dim};
    const char *names[] = {"y_train", "x_train", "x_test"};
    for (int a = 0; a < (graphs ? 1 : 3); a++)
        for (size_t i = 0; i < sizes[a]; i++)
            if (!isfinite(arrays[a][i])) {
                err_user(err, "train: %s entry %zu is %g: data must be finite", names[a], i, arrays[a][i]);
                return err->code;
            }
    return NTKC_OK;
}

static int alloc_result(const Job *j, ntkc_train_result *res, ntkc_error *err)
{
    size_t wt = j->o->nwidths * j->ntimes;
    *res = (ntkc_train_result){.nwidths = j->o->nwidths, .ntimes = j->ntimes, .m = j->m, .k = j->k};
    double **wide[] = {&res->train_loss, &res->test_loss, &res->kernel_move, &res->lin_dist,
                       &res->mean_dist,  &res->mean_z,    &res->cov_dist,  &res->cov_floor};
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
        if ((*wide[i] = alloc_nan(wt, err)) == NULL)
            return err->code;
    if ((res->times = alloc_nan(j->ntimes, err)) == NULL || (res->inf_train_loss = alloc_nan(j->ntimes, err)) == NULL ||
        (res->inf_test_loss = alloc_nan(j->ntimes, err)) == NULL)
        return err->code;
    res->slope_kernel_move = res->slope_lin_dist = res->slope_mean_dist = NAN;
    for (size_t c = 0; c < j->ntimes; c++)
        res->times[c] = j->o->lr * (double)j->steps_at[c];
    return NTKC_OK;
}

/* √(Σ_s ‖f_s − o_s‖²/Σ_s ‖o_s‖²): each net against its own ODE outputs o
 * (laid out as e's). */
static double ode_dist(const TrainEnsemble *e, const double *o)
{
    double d = 0, s = 0;
    for (size_t k = 0; k < e->seeds; k++)
        for (size_t i = 0; i < e->m * e->k; i++) {
            double f = e->f[k * e->stride + i], g = o[k * e->stride + i];
            d += (f - g) * (f - g), s += g * g;
        }
    return s > 0 ? sqrt(d / s) : NAN;
}

/* One width: every seed, then the averages and the comparison. */
static int train_width(const Job *j, size_t w, const TrainReference *ref, ntkc_train_result *res, ntkc_error *err)
{
    size_t S = j->o->seeds, T = j->ntimes, mk = j->m * j->k;
    Sums sum = {.train_loss = zeros(T, err), .test_loss = zeros(T, err), .move = zeros(T, err),
                .lin_sq = zeros(T, err), .f_test = zeros(S * T * mk, err),
                .f_ode = j->ode ? zeros(S * T * mk, err) : NULL};
    int rc = err->code;
    for (size_t s = 0; s < S && rc == 0; s++)
        rc = train_one(j, j->o->widths[w], s, &sum, err);
    for (size_t c = 0; c < T && rc == 0; c++) {
        size_t at = w * T + c;
        res->train_loss[at] = sum.train_loss[c] / (double)S;
        res->kernel_move[at] = sum.move[c] / (double)S;
        if (j->o->linearized)
            res->lin_dist[at] = sqrt(sum.lin_sq[c] / (double)(S * mk));
        TrainEnsemble e = {.seeds = S, .m = j->m, .k = j->k, .stride = T * mk, .f = sum.f_test + c * mk};
        res->test_loss[at] = j->yt && j->o->loss != NTKC_LOSS_XENT ? train_ensemble_loss(&e, j->yt) : NAN;
        if (j->ode && c > 0)
            res->mean_dist[at] = ode_dist(&e, sum.f_ode + c * mk);
        if (ref)
            train_compare(&e, ref, c, &res->mean_dist[at], &res->mean_z[at], &res->cov_dist[at], &res->cov_floor[at],
                          err);
    }
    free(sum.train_loss), free(sum.test_loss), free(sum.move), free(sum.lin_sq), free(sum.f_test), free(sum.f_ode);
    return rc ? rc : err->code;
}

/* ntkc_predict's mean and covariance at the recorded times, on the test
 * inputs and (for the expected training loss) on the training inputs. */
static int reference(const ntkc_net *net, const Job *j, TrainReference *ref, ntkc_train_result *res,
                     ntkc_error *err)
{
    size_t T = j->ntimes, n = j->n, m = j->m, k = j->k;
    ntkc_predict_options po = {.kernel = NTKC_PREDICT_NTK, .eval = j->o->eval};
    *ref = (TrainReference){.ntimes = T, .m = m, .k = k, .mean = alloc_nan(T * m * k, err),
                            .cov = alloc_nan(T * m * m, err)};
    double *mt = alloc_nan(T * n * k, err), *ct = alloc_nan(T * n * n, err);
    int rc = err->code;
    const FiniteData *a = &j->train, *b = &j->test;
    if (rc == 0 && j->dropout && j->o->momentum_on) { /* train_dropout.c: the ODE, linear in f0 */
        double *steps = malloc(T * sizeof *steps);
        for (size_t c = 0; steps != NULL && c < T; c++)
            steps[c] = (double)j->steps_at[c];
        TrainDropoutMomentum mo = {.times = steps, .ntimes = T, .lr = j->o->lr, .momentum = j->o->momentum};
        rc = steps == NULL ? (err_user(err, "train: out of memory"), err->code)
                           : train_dropout_momentum(net, j->twin, a, b, j->y, k, &mo, &j->o->eval, ref->mean,
                                                    ref->cov, err);
        if (rc == 0)
            rc = train_dropout_momentum(net, j->twin, a, a, j->y, k, &mo, &j->o->eval, mt, ct, err);
        free(steps);
    } else if (rc == 0 && j->dropout) { /* train_dropout.c: eval-mode test inputs, masked training inputs */
        rc = train_dropout_predict(net, j->twin, a, b, j->y, k, res->times, T, &j->o->eval, ref->mean, ref->cov,
                                   err);
        if (rc == 0)
            rc = train_dropout_predict(net, j->twin, a, a, j->y, k, res->times, T, &j->o->eval, mt, ct, err);
    } else if (rc == 0 && a->graphs) {
        rc = ntkc_predict_graphs(net, a->graphs, j->y, k, b->graphs, res->times, T, &po, ref->mean, ref->cov, NULL,
                                 err);
        if (rc == 0)
            rc = ntkc_predict_graphs(net, a->graphs, j->y, k, a->graphs, res->times, T, &po, mt, ct, NULL, err);
    } else if (rc == 0) {
        rc = ntkc_predict(net, n, a->x, j->y, k, m, b->x, a->dim, res->times, T, &po, ref->mean, ref->cov, NULL, err);
        if (rc == 0)
            rc = ntkc_predict(net, n, a->x, j->y, k, n, a->x, a->dim, res->times, T, &po, mt, ct, NULL, err);
    }
    for (size_t c = 0; c < T && rc == 0; c++) {
        res->inf_train_loss[c] = train_expected_loss(mt + c * n * k, ct + c * n * n, j->y, n, k);
        if (j->yt)
            res->inf_test_loss[c] = train_expected_loss(ref->mean + c * m * k, ref->cov + c * m * m, j->yt, m, k);
    }
    free(mt), free(ct);
    return rc;
}

/* Steps 0 = s_0 < ... < s_C = steps, evenly spaced. */
static int record_steps(Job *j, ntkc_error *err)
{
    size_t steps = j->o->steps, C = j->o->checkpoints ? j->o->checkpoints : 10;
    C = C < steps ? C : steps;
    j->ntimes = C + 1;
    j->steps_at = malloc(j->ntimes * sizeof *j->steps_at);
    if (j->steps_at == NULL) {
        err_user(err, "train: out of memory");
        return err->code;
    }
    for (size_t c = 0; c <= C; c++)
        j->steps_at[c] = C ? (size_t)((double)steps * (double)c / (double)C + 0.5) : 0;
    return NTKC_OK;
}

/* Both entry points: j holds the data, checked here. */
static int train_job(const ntkc_net *net, Job *j, ntkc_train_result *res, ntkc_error *err)
{
    const ntkc_train_options *opts = j->o;
    if (check_options(net, j, opts, err) || record_steps(j, err) || alloc_result(j, res, err)) {
        free(j->steps_at);
        return err->code;
    }
    TrainReference ref = {0};
    j->net = net;
    j->dropout = ir_has_dropout(j->ir);
    /* with dropout, momentum on MSE is compared as an ensemble (train_dropout.c): each net's own start,
     * its outputs averaged over masks, is not observable */
    j->ode = opts->param == NTKC_PARAM_NTK && (opts->loss == NTKC_LOSS_XENT || opts->momentum_on) && !j->dropout;
    int ntk = opts->param == NTKC_PARAM_NTK && !j->ode;
    int rc = 0;
    if (j->dropout) {
        res->dropout_note = "dropout: nets trained with fresh masks every step, evaluated without dropout; the "
                            "infinite-width columns use the kernel between training inputs under independent "
                            "masks and the kernel between eval-mode and masked inputs: the mean is the ensemble's, "
                            "the covariance leaves out the masks' noise (O(lr))";
        if (ntk && (j->twin = ntkc_net_dropout_eval(net, err)) == NULL)
            rc = err->code;
    }
    rc = rc == 0 && ntk ? reference(net, j, &ref, res, err) : rc;
    for (size_t w = 0; w < opts->nwidths && rc == 0; w++)
        rc = train_width(j, w, ntk ? &ref : NULL, res, err);
    if (rc == 0) {
        size_t last = j->ntimes - 1;
        res->slope_kernel_move = train_loglog_slope(opts->widths, res->kernel_move + last, opts->nwidths, j->ntimes);
        res->slope_lin_dist = train_loglog_slope(opts->widths, res->lin_dist + last, opts->nwidths, j->ntimes);
        res->slope_mean_dist = train_loglog_slope(opts->widths, res->mean_dist + last, opts->nwidths, j->ntimes);
    }
    free(ref.mean), free(ref.cov), free(j->steps_at);
    ntkc_net_free(j->twin);
    return rc;
}

int ntkc_train_finite(const ntkc_net *net, size_t n, const double *x_train, const double *y_train, size_t k,
                      size_t m, const double *x_test, const double *y_test, size_t dim, const ntkc_train_options *opts,
                      ntkc_train_result *res, ntkc_error *err)
{
    err_clear(err);
    if (net == NULL || opts == NULL || res == NULL || x_train == NULL || y_train == NULL || x_test == NULL) {
        err_internal(err, "ntkc_train_finite: the net, the options, the result or an input is NULL");
        return err->code;
    }
    memset(res, 0, sizeof *res);
    Job j = {.ir = ntkc_net_ir(net), .n = n, .m = m, .k = k, .y = y_train, .yt = y_test, .o = opts,
             .train = {.rows = n, .x = x_train, .dim = dim}, .test = {.rows = m, .x = x_test, .dim = dim},
             .norm = (double)n * (double)k};
    return train_job(net, &j, res, err);
}

int ntkc_train_finite_graphs(const ntkc_net *net, const ntkc_graphs *train, const double *y_train, size_t k,
                             const ntkc_graphs *test, const double *y_test, const ntkc_train_options *opts,
                             ntkc_train_result *res, ntkc_error *err)
{
    err_clear(err);
    if (net == NULL || opts == NULL || res == NULL || train == NULL || y_train == NULL || test == NULL) {
        err_internal(err, "ntkc_train_finite_graphs: the net, the options, the result or an input is NULL");
        return err->code;
    }
    memset(res, 0, sizeof *res);
    const ntkc_graphs *sets[2] = {train, test};
    for (int i = 0; i < 2 && ntkc_net_takes_graphs(net); i++)
        if (ntkc_graphs_features(sets[i]) != ntkc_net_input_dim(net)) {
            err_user(err, "train: the %s graphs have %zu node features, the net '%s' takes graph(%zu)",
                      i ? "test" : "training", ntkc_graphs_features(sets[i]), ntkc_net_name(net),
                      ntkc_net_input_dim(net));
            return err->code;
        }
    size_t n = ntkc_graphs_count(train), m = ntkc_graphs_count(test);
    Job j = {.ir = ntkc_net_ir(net), .n = n, .m = m, .k = k, .y = y_train, .yt = y_test, .o = opts,
             .train = {.rows = n, .graphs = train}, .test = {.rows = m, .graphs = test},
             .norm = (double)n * (double)k};
    return train_job(net, &j, res, err);
}
