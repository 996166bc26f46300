/* Parsing the options of `ntkc predict`, and its outputs (predict_request.h). */
#include "predict_request.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "data.h"
#include "ntkc_tool.h"

/* "1,10,inf" → times; prints the error and returns 1 on junk. */
static int parse_times(const char *text, Request *r)
{
    size_t count = 1;
    for (const char *p = text; *p; p++)
        count += *p == ',';
    r->times = malloc(count * sizeof *r->times);
    if (r->times == NULL) {
        fputs("ntkc predict: out of memory for --time\n", stderr);
        return 1;
    }
    const char *p = text;
    for (r->ntimes = 0; r->ntimes < count; r->ntimes++) {
        char *end;
        errno = 0;
        double t = strtod(p, &end);
        if (end == p || (*end != ',' && *end != '\0') || isnan(t)) {
            int len = (int)strcspn(p, ",");
            fprintf(stderr, "ntkc predict: --time expects numbers >= 0 or inf separated by commas; '%s' has %s%.*s%s\n",
                    text, len ? "'" : "an empty entry", len, p, len ? "'" : "");
            return 1;
        }
        if (t < 0) {
            fprintf(stderr, "ntkc predict: --time %g is negative: training times must be >= 0\n", t);
            return 1;
        }
        r->times[r->ntimes] = t;
        p = *end ? end + 1 : end;
    }
    return 0;
}

/* A finite number >= 0 (NULL text: left as it is); prints the error and returns 1 on junk. */
static int parse_nonneg(const char *opt, const char *text, double *out)
{
    if (text == NULL)
        return 0;
    char *end;
    *out = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(*out) || *out < 0) {
        fprintf(stderr, "ntkc predict: %s expects a finite number >= 0, got '%s'\n", opt, text);
        return 1;
    }
    return 0;
}

static int parse_kernel(const char *kernel, ntkc_predict_options *o)
{
    if (kernel == NULL || strcmp(kernel, "ntk") == 0) {
        o->kernel = NTKC_PREDICT_NTK;
    } else if (strcmp(kernel, "nngp") == 0) {
        o->kernel = NTKC_PREDICT_NNGP;
    } else {
        fprintf(stderr, "ntkc predict: --kernel must be ntk or nngp, not '%s'\n", kernel);
        return 1;
    }
    return 0;
}

static int parse_reg(const PredictArgs *a, ntkc_predict_options *o)
{
    if (a->reg && a->reg_abs) {
        fputs("ntkc predict: give --reg (relative to the mean diagonal) or --reg-abs (absolute), not both\n",
              stderr);
        return 1;
    }
    o->reg_absolute = a->reg_abs != NULL;
    return parse_nonneg(a->reg ? "--reg" : "--reg-abs", a->reg ? a->reg : a->reg_abs, &o->reg);
}

/* --loss, --momentum, --learning-rate. */
static int parse_training(const PredictArgs *a, ntkc_predict_options *o)
{
    if (a->loss && strcmp(a->loss, "mse") != 0 && strcmp(a->loss, "xent") != 0) {
        fprintf(stderr, "ntkc predict: --loss must be mse or xent, not '%s'\n", a->loss);
        return 1;
    }
    o->loss = a->loss && strcmp(a->loss, "xent") == 0 ? NTKC_LOSS_XENT : NTKC_LOSS_MSE;
    o->momentum_on = a->momentum != NULL;
    if (parse_nonneg("--momentum", a->momentum, &o->momentum))
        return 1;
    if (o->momentum >= 1) {
        fprintf(stderr, "ntkc predict: --momentum %s must be below 1\n", a->momentum);
        return 1;
    }
    if (parse_nonneg("--learning-rate", a->learning_rate, &o->learning_rate))
        return 1;
    if (a->learning_rate && o->learning_rate == 0) {
        fputs("ntkc predict: --learning-rate must be > 0\n", stderr);
        return 1;
    }
    if (a->learning_rate && !a->momentum) {
        fputs("ntkc predict: --learning-rate matters only with --momentum (without it, T = learning rate × steps)\n",
              stderr);
        return 1;
    }
    return 0;
}

int parse_request(const PredictArgs *a, Request *r)
{
    memset(r, 0, sizeof *r);
    if (parse_backend("predict", a->backend, &r->backend) != 0 ||
        parse_precision("predict", a->precision, &r->precision) != 0)
        return 1;
    long threads = a->threads ? args_count("predict", "--threads", a->threads, ARGS_MAX_THREADS) : 0;
    if (threads < 0)
        return 1;
    r->opts.eval.threads = (int)threads;
    if (parse_kernel(a->kernel, &r->opts) || parse_reg(a, &r->opts) || parse_training(a, &r->opts))
        return 1;
    /* The library's own check of the options together: fx0 files stand in
     * for the arrays (any non-NULL pointer) until they are read. */
    ntkc_predict_options check = r->opts;
    static const double given = 0;
    check.fx0_train = a->fx0_train ? &given : NULL, check.fx0_test = a->fx0_test ? &given : NULL;
    ntkc_error err = {0};
    if (predict_check_options(&check, a->cov != NULL, &err)) {
        fprintf(stderr, "ntkc predict: %s\n", err.message);
        return 1;
    }
    return parse_times(a->time ? a->time : "inf", r);
}

static int load_outputs0(const char *opt, const char *path, size_t rows, size_t k, NpyArray *a, ntkc_error *err)
{
    if (path == NULL)
        return 0;
    if (npy_read(path, a, err))
        return err->code;
    if (a->ndim != 2 || a->shape[0] != rows || a->shape[1] != k)
        err_user(err, "%s %s must have shape (%zu, %zu) (points × outputs of --targets), got %zu dimensions%s",
                  opt, path, rows, k, a->ndim, a->ndim == 2 ? " of another shape" : "");
    else
        npy_check_finite(a, path, err);
    return err->code;
}

int predict_load_fx0(const PredictArgs *a, size_t n, size_t m, size_t k, NpyArray *f0, NpyArray *g0, Request *r,
                     ntkc_error *err)
{
    if (load_outputs0("--fx0-train", a->fx0_train, n, k, f0, err) ||
        load_outputs0("--fx0-test", a->fx0_test, m, k, g0, err))
        return err->code;
    r->opts.fx0_train = a->fx0_train ? f0->data : NULL;
    r->opts.fx0_test = a->fx0_test ? g0->data : NULL;
    return 0;
}

int predict_check_outputs(const PredictArgs *a, const char *const *extra, size_t nextra, ntkc_error *err)
{
    enum { MAX_INPUTS = 16 };
    const char *given[] = {a->train, a->targets, a->test, a->test_targets, a->fx0_train, a->fx0_test};
    const char *inputs[MAX_INPUTS];
    size_t count = 0;
    for (size_t i = 0; i < sizeof given / sizeof *given; i++)
        if (given[i])
            inputs[count++] = given[i];
    for (size_t i = 0; i < nextra && count < MAX_INPUTS; i++)
        if (extra[i])
            inputs[count++] = extra[i];
    const char *outs[] = {a->mean, a->train_mean, a->cov};
    const char *names[] = {"--mean", "--train-mean", "--cov"};
    for (size_t i = 0; i < 3; i++) {
        if (outs[i] && check_output_not_input(outs[i], inputs, count, err))
            return err->code;
        for (size_t j = 0; outs[i] && j < i; j++)
            if (outs[j] && (strcmp(outs[i], outs[j]) == 0 || npy_same_file(outs[i], outs[j])))
                return err_user(err, "%s and %s name the same file %s%s%s%s", names[j], names[i], outs[j],
                                 strcmp(outs[i], outs[j]) ? " (as " : "", strcmp(outs[i], outs[j]) ? outs[i] : "",
                                 strcmp(outs[i], outs[j]) ? ")" : ""),
                       err->code;
    }
    note_stale_temps(outs, 3);
    return 0;
}

int predict_outputs_create(const PredictArgs *a, size_t n, size_t m, size_t k, Request *r, PredictOutputs *o,
                           ntkc_error *err)
{
    size_t T = r->ntimes, one = T == 1;
    size_t mshape[3] = {T, m, k}, tshape[3] = {T, n, k}, cshape[3] = {T, m, m};
    memset(o, 0, sizeof *o);
    o->mean = npy_out_create(a->mean, 3 - one, mshape + one, err);
    if (o->mean && a->train_mean)
        o->train = npy_out_create(a->train_mean, 3 - one, tshape + one, err);
    if (o->mean && a->cov && !err->code)
        o->cov = npy_out_create(a->cov, 3 - one, cshape + one, err);
    r->opts.train_mean = o->train ? npy_out_data(o->train) : NULL;
    return err->code;
}

int predict_outputs_finish(PredictOutputs *o, int rc, ntkc_error *err)
{
    NpyOut *outs[3] = {o->mean, o->train, o->cov};
    memset(o, 0, sizeof *o);
    if (rc == 0)
        return npy_out_commit_all(outs, 3, err);
    for (size_t i = 0; i < 3; i++)
        npy_out_abort(outs[i]);
    return rc;
}

void predict_print_method(const ntkc_predict_options *o, size_t ode_steps, size_t ode_evals)
{
    int ode = o->loss == NTKC_LOSS_XENT || o->momentum_on, fx0 = o->fx0_train || o->fx0_test;
    printf("%s", o->loss == NTKC_LOSS_XENT ? "cross-entropy" : "MSE");
    if (o->momentum_on)
        printf(" with momentum %g", o->momentum);
    printf("%s", fx0 ? " from fx0" : ode ? " from f = 0" : " ensemble");
    if (ode)
        printf(", ODE: %zu steps, %zu gradient evaluations\n", ode_steps, ode_evals);
    else
        printf(", reg %g%s\n", o->reg, o->reg_absolute ? " (absolute)" : "");
}

int parse_predict_dropout(const char *dropout, Request *r)
{
    if (dropout == NULL || strcmp(dropout, "fixed") == 0)
        return 0;
    if (strcmp(dropout, "fresh") == 0) {
        r->opts.dropout_fresh = 1;
        return 0;
    }
    fprintf(stderr, "ntkc predict: --dropout must be fixed or fresh, not '%s'\n", dropout);
    return 1;
}
