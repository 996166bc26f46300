/* The options of `ntkc predict` — both front doors, the net with data and
 * --k-train kernel files, and ntkc-mpi predict — as given, and validated into
 * the ntkc_predict_options that the library's solver takes (predict_solve in ntkc_tool.h),
 * so an option means the same on every door. */
#ifndef NTKC_CLI_PREDICT_REQUEST_H
#define NTKC_CLI_PREDICT_REQUEST_H

#include <stddef.h>

#include "ntkc_tool.h"
#include "ntkc.h"

typedef struct PredictArgs {
    const char *train, *targets, *test, *time, *kernel, *reg, *mean, *cov, *test_targets;
    const char *net_name, *backend, *threads, *quiet;
    const char *precision; /* --precision single|double */
    const char *reg_abs; /* --reg-abs: absolute diagonal regulariser, not with --reg */
    /* One network, cross-entropy, momentum (docs/predict.md) */
    const char *fx0_train, *fx0_test, *loss, *momentum, *learning_rate, *train_mean;
} PredictArgs;

/* The validated options. */
typedef struct Request {
    double *times;
    size_t ntimes;
    ntkc_predict_options opts; /* fx0_* and train_mean are set once the files are open */
    ntkc_backend backend;
    ntkc_precision precision;
} Request;

/* Validates times, kernel, reg, loss, momentum, learning rate, backend and
 * threads, and the options against each other (predict_check_options, with
 * a covariance when a->cov); prints the error and returns 1 on junk
 * (r->times is to be freed either way). */
int parse_request(const PredictArgs *a, Request *r);

/* --dropout fixed|fresh (NULL: fixed), the net door's own option (kernel
 * files carry their kernels as computed): sets r->opts.dropout_fresh; prints
 * the error and returns 1 on another value. */
int parse_predict_dropout(const char *dropout, Request *r);

/* Reads --fx0-train (n, k) and --fx0-test (m, k) when given, each checked
 * (shape, finite) with messages naming the option and the file, and points
 * r->opts at them (f0, g0 are to be freed either way). Returns 0 or the code. */
int predict_load_fx0(const PredictArgs *a, size_t n, size_t m, size_t k, NpyArray *f0, NpyArray *g0, Request *r,
                     ntkc_error *err);

/* The files a run writes: --mean, --train-mean, --cov. */
typedef struct PredictOutputs {
    NpyOut *mean, *train, *cov;
} PredictOutputs;

/* Refuses outputs that name an input (the data, targets and fx0 files, and
 * extra: the front door's own — the net, the kernel files; NULL entries are
 * skipped) or the same file as each other; notes stale temp files. Returns 0
 * or the error code. */
int predict_check_outputs(const PredictArgs *a, const char *const *extra, size_t nextra, ntkc_error *err);
/* Creates them: mean (m, k), train (n, k), cov (m, m), with a leading time
 * axis for several times; points r->opts.train_mean at the train one. */
int predict_outputs_create(const PredictArgs *a, size_t n, size_t m, size_t k, Request *r, PredictOutputs *o,
                           ntkc_error *err);
/* All or none land (rc != 0: none, the temp files go). */
int predict_outputs_finish(PredictOutputs *o, int rc, ntkc_error *err);

/* "MSE ensemble, reg R" or "cross-entropy with momentum μ from fx0, ODE: S
 * steps, E gradient evaluations" and a newline, on stdout: what was computed. */
void predict_print_method(const ntkc_predict_options *o, size_t ode_steps, size_t ode_evals);

#endif
