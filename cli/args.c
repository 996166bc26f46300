#include "args.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const OptSpec *find_spec(const OptSpec *specs, const char *arg, size_t len)
{
    for (const OptSpec *s = specs; s->name != NULL; s++)
        if (strlen(s->name) == len && strncmp(s->name, arg, len) == 0)
            return s;
    return NULL;
}

int args_parse(const char *cmd, int argc, char **argv, const OptSpec *specs, Args *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            out->help = 1;
            continue;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (out->npositional == ARGS_MAX_POSITIONAL) {
                fprintf(stderr, "ntkc %s: too many arguments (see ntkc %s --help)\n", cmd, cmd);
                return 1;
            }
            out->positional[out->npositional++] = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        const OptSpec *s = find_spec(specs, a, len);
        if (s == NULL) {
            fprintf(stderr, "ntkc %s: unknown option '%.*s' (see ntkc %s --help)\n", cmd, (int)len, a, cmd);
            return 1;
        }
        if (!s->takes_value) {
            if (eq) {
                fprintf(stderr, "ntkc %s: option %s takes no value\n", cmd, s->name);
                return 1;
            }
            *s->value = "1";
        } else if (eq) {
            *s->value = eq + 1;
        } else if (i + 1 < argc) {
            *s->value = argv[++i];
        } else {
            fprintf(stderr, "ntkc %s: option %s needs a value\n", cmd, s->name);
            return 1;
        }
    }
    return 0;
}

long args_count(const char *cmd, const char *opt, const char *value, long max)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (end == value || *end != '\0' || v <= 0 || (errno != 0 && max == LONG_MAX)) {
        fprintf(stderr, "ntkc %s: %s expects a positive whole number, got '%s'\n", cmd, opt, value);
        return -1;
    }
    if (errno != 0 || v > max) {
        fprintf(stderr, "ntkc %s: %s is at most %ld, got '%s'\n", cmd, opt, max, value);
        return -1;
    }
    return v;
}

long args_positive(const char *cmd, const char *opt, const char *value)
{
    return args_count(cmd, opt, value, LONG_MAX);
}

double args_positive_real(const char *cmd, const char *opt, const char *value)
{
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (errno != 0 || end == value || *end != '\0' || !(v > 0) || !isfinite(v)) {
        fprintf(stderr, "ntkc %s: %s expects a positive number, got '%s'\n", cmd, opt, value);
        return -1;
    }
    return v;
}
