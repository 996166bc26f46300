/* Full-batch gradient descent on the summed squared error of a finite-width
 * network, for comparing trained nets with infinite-width predictions. */
#include "finite_net.h"

#include <math.h>
#include <stdlib.h>

static const char *name_of(const IrNet *net)
{
    return net->name ? net->name : "<net>";
}

static int check_finite(const IrNet *net, const char *array, const double *a, size_t rows, size_t cols,
                        ntkc_error *err)
{
    for (size_t i = 0; i < rows * cols; i++)
        if (!isfinite(a[i])) {
            diag_user(err, "finite net '%s': %s row %zu, column %zu is not finite", name_of(net), array,
                      i / cols, i % cols);
            return err->code;
        }
    return NTKC_OK;
}

static int check_args(const IrNet *net, size_t n, const double *x_train, const double *y_train, size_t k,
                      size_t m, const double *x_test, size_t dim, double lr, ntkc_error *err)
{
    if (n == 0 || k == 0 || x_train == NULL || y_train == NULL || (m > 0 && x_test == NULL)) {
        diag_user(err, "finite net '%s': training needs at least one example and one output", name_of(net));
        return err->code;
    }
    if (!(lr > 0.0) || !isfinite(lr)) {
        diag_user(err, "finite net '%s': the learning rate must be positive and finite, got %g", name_of(net),
                  lr);
        return err->code;
    }
    if (check_finite(net, "x_train", x_train, n, dim, err) != NTKC_OK ||
        check_finite(net, "y_train", y_train, n, k, err) != NTKC_OK ||
        (m > 0 && check_finite(net, "x_test", x_test, m, dim, err) != NTKC_OK))
        return err->code;
    return NTKC_OK;
}

/* One step θ ← θ − lr·∇θ ½‖f(X) − Y‖²; resid (n×k) receives f(X) − Y. */
static int gd_step(FiniteNet *fn, size_t n, const double *x, const double *y, size_t k, double lr,
                   double *resid, double *grad, size_t step, ntkc_error *err)
{
    if (finite_net_forward(fn, n, x, resid, err) != NTKC_OK)
        return err->code;
    for (size_t i = 0; i < n * k; i++) {
        resid[i] -= y[i];
        if (!isfinite(resid[i])) {
            diag_user(err, "gradient descent diverged: non-finite output at step %zu (learning rate %g too "
                           "large?)", step, lr);
            return err->code;
        }
    }
    if (finite_net_vjp(fn, n, x, resid, grad, err) != NTKC_OK)
        return err->code;
    size_t np;
    double *theta = finite_net_params(fn, &np);
    for (size_t p = 0; p < np; p++)
        theta[p] -= lr * grad[p];
    return NTKC_OK;
}

int finite_net_train_gd(const IrNet *net, size_t n, const double *x_train, const double *y_train, size_t k,
                        size_t m, const double *x_test, size_t dim, size_t width, double lr, size_t steps,
                        unsigned long long seed, double *f_test, ntkc_error *err)
{
    if (check_args(net, n, x_train, y_train, k, m, x_test, dim, lr, err) != NTKC_OK)
        return err->code;
    FiniteNet *fn = finite_net_new(net, dim, width, k, err);
    if (fn == NULL)
        return err->code;
    size_t np;
    finite_net_params(fn, &np);
    double *resid = calloc(n, k * sizeof *resid), *grad = calloc(np ? np : 1, sizeof *grad);
    if (resid == NULL || grad == NULL)
        diag_internal(err, "finite net: out of memory for training");
    Rng r;
    rng_seed(&r, seed);
    finite_net_init(fn, &r);
    for (size_t s = 0; s < steps && err->code == NTKC_OK; s++)
        gd_step(fn, n, x_train, y_train, k, lr, resid, grad, s, err);
    if (err->code == NTKC_OK && m > 0 && finite_net_forward(fn, m, x_test, f_test, err) == NTKC_OK)
        check_finite(net, "trained output f_test", f_test, m, k, err);
    free(resid);
    free(grad);
    finite_net_free(fn);
    return err->code;
}
