/* The options of `ntkc predict` (shared with ntkc-mpi predict): as given,
 * and validated. */
#ifndef NTKC_CLI_PREDICT_REQUEST_H
#define NTKC_CLI_PREDICT_REQUEST_H

#include <stddef.h>

#include "ntkc.h"

typedef struct PredictArgs {
    const char *train, *targets, *test, *time, *kernel, *reg, *mean, *cov, *test_targets;
    const char *net_name, *backend, *threads, *quiet;
} PredictArgs;

/* The validated options. */
typedef struct Request {
    double *times;
    size_t ntimes;
    ntkc_predict_options opts;
    ntkc_backend backend;
} Request;

/* Validates times, kernel, reg, backend and threads; prints the error and
 * returns 1 on junk (r->times is to be freed either way). */
int parse_request(const PredictArgs *a, Request *r);

#endif
