/* Helpers every command shares (declared in commands.h); outside main.c so
 * that ntkc-mpi, which has its own main, links them too. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

int report_stdout_error(int errnum)
{
    fprintf(stderr, "ntkc: writing standard output: %s\n", strerror(errnum));
    return 1;
}

int report_error(const ntkc_error *err)
{
    fprintf(stderr, "ntkc: %s\n", err->message);
    return err->code ? err->code : 2;
}

int parse_backend(const char *cmd, const char *value, ntkc_backend *out)
{
    if (value == NULL || strcmp(value, "tcc") == 0) {
        *out = NTKC_BACKEND_TCC;
        return 0;
    }
    if (strcmp(value, "cc") == 0) {
        *out = NTKC_BACKEND_CC;
        return 0;
    }
    fprintf(stderr, "ntkc %s: --backend must be tcc or cc, not '%s'\n", cmd, value);
    return -1;
}

int parse_precision(const char *cmd, const char *value, ntkc_precision *out)
{
    if (value == NULL || strcmp(value, "double") == 0) {
        *out = NTKC_PRECISION_DOUBLE;
        return 0;
    }
    if (strcmp(value, "single") == 0) {
        *out = NTKC_PRECISION_SINGLE;
        return 0;
    }
    fprintf(stderr, "ntkc %s: --precision must be single or double, not '%s'\n", cmd, value);
    return -1;
}
