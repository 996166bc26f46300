/* Gradient descent (with momentum) on MSE or cross-entropy; see finite_train_loss.h. */
#include "finite_train_loss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* g (n×k) = ∂L/∂f at f; returns -1 when f is not finite. */
static int output_gradient(int xent, const double *f, const double *y, size_t n, size_t k, double *g)
{
    for (size_t i = 0; i < n; i++) {
        const double *fi = f + i * k, *yi = y + i * k;
        double *gi = g + i * k, top = fi[0], sum = 0, ysum = 0;
        for (size_t c = 0; c < k; c++)
            if (!isfinite(fi[c]))
                return -1;
        if (!xent) {
            for (size_t c = 0; c < k; c++)
                gi[c] = fi[c] - yi[c];
            continue;
        }
        for (size_t c = 1; c < k; c++)
            top = fmax(top, fi[c]);
        for (size_t c = 0; c < k; c++)
            sum += exp(fi[c] - top), ysum += yi[c];
        for (size_t c = 0; c < k; c++)
            gi[c] = exp(fi[c] - top) / sum * ysum - yi[c];
    }
    return 0;
}

typedef struct Trainer {
    FiniteNet *fn;
    double *f, *g, *grad, *velocity;
    size_t np;
} Trainer;

static int step(Trainer *t, const FiniteTrainSpec *s, size_t n, const double *x, const double *y, size_t k,
                size_t iter, ntkc_error *err)
{
    if (finite_net_forward(t->fn, n, x, t->f, err))
        return err->code;
    if (output_gradient(s->xent, t->f, y, n, k, t->g)) {
        diag_user(err, "gradient descent diverged: non-finite output at step %zu (learning rate %g too large?)",
                  iter, s->lr);
        return err->code;
    }
    if (finite_net_vjp(t->fn, n, x, t->g, t->grad, err))
        return err->code;
    double *theta = finite_net_params(t->fn, &t->np);
    for (size_t p = 0; p < t->np; p++) {
        double v = (s->momentum_on ? s->momentum * t->velocity[p] : 0.0) - s->lr * t->grad[p];
        t->velocity[p] = v;
        theta[p] += v;
    }
    return NTKC_OK;
}

int finite_net_train_loss(const IrNet *net, size_t n, const double *x_train, const double *y_train, size_t k,
                          size_t m, const double *x_test, size_t dim, const FiniteTrainSpec *s, double *f0_train,
                          double *f0_test, double *f_train, double *f_test, ntkc_error *err)
{
    if (n == 0 || k == 0 || !(s->lr > 0) || !isfinite(s->lr) ||
        (s->momentum_on && !(s->momentum >= 0 && s->momentum < 1))) {
        diag_user(err, "finite training needs examples, outputs, a learning rate > 0 and a momentum in [0, 1)");
        return err->code;
    }
    Trainer t = {.fn = finite_net_new(net, dim, s->width, k, err)};
    if (t.fn == NULL)
        return err->code;
    finite_net_params(t.fn, &t.np);
    t.f = calloc(n * k, sizeof *t.f), t.g = calloc(n * k, sizeof *t.g);
    t.grad = calloc(t.np ? t.np : 1, sizeof *t.grad), t.velocity = calloc(t.np ? t.np : 1, sizeof *t.velocity);
    if (!t.f || !t.g || !t.grad || !t.velocity)
        diag_internal(err, "finite net: out of memory for training");
    Rng r;
    rng_seed(&r, s->seed);
    finite_net_init(t.fn, &r);
    if (!err->code && f0_train)
        finite_net_forward(t.fn, n, x_train, f0_train, err);
    if (!err->code && f0_test && m > 0)
        finite_net_forward(t.fn, m, x_test, f0_test, err);
    for (size_t i = 0; i < s->steps && !err->code; i++)
        step(&t, s, n, x_train, y_train, k, i, err);
    if (!err->code && f_train)
        finite_net_forward(t.fn, n, x_train, f_train, err);
    if (!err->code && f_test && m > 0)
        finite_net_forward(t.fn, m, x_test, f_test, err);
    free(t.f), free(t.g), free(t.grad), free(t.velocity);
    finite_net_free(t.fn);
    return err->code;
}
