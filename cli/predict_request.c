/* Parsing the options of `ntkc predict` (predict_request.h). */
#include "predict_request.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"

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

int parse_request(const PredictArgs *a, Request *r)
{
    memset(r, 0, sizeof *r);
    if (parse_backend("predict", a->backend, &r->backend) != 0)
        return 1;
    long threads = a->threads ? args_positive("predict", "--threads", a->threads) : 0;
    if (threads < 0)
        return 1;
    r->opts.eval.threads = (int)threads;
    if (a->kernel == NULL || strcmp(a->kernel, "ntk") == 0) {
        r->opts.kernel = NTKC_PREDICT_NTK;
    } else if (strcmp(a->kernel, "nngp") == 0) {
        r->opts.kernel = NTKC_PREDICT_NNGP;
    } else {
        fprintf(stderr, "ntkc predict: --kernel must be ntk or nngp, not '%s'\n", a->kernel);
        return 1;
    }
    if (a->reg) {
        char *end;
        r->opts.reg = strtod(a->reg, &end);
        if (end == a->reg || *end != '\0' || !isfinite(r->opts.reg) || r->opts.reg < 0) {
            fprintf(stderr, "ntkc predict: --reg expects a finite number >= 0, got '%s'\n", a->reg);
            return 1;
        }
    }
    return parse_times(a->time ? a->time : "inf", r);
}

