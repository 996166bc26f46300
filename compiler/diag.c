#include "diag.h"

#include <stdio.h>
#include <string.h>

static void vformat(NtkcError *err, int code, const char *prefix, const char *fmt, va_list ap)
{
    if (err == NULL || err->code != NTKC_OK)
        return;
    err->code = code;
    size_t used = (size_t)snprintf(err->message, sizeof err->message, "%s", prefix);
    if (used < sizeof err->message)
        vsnprintf(err->message + used, sizeof err->message - used, fmt, ap);
}

/* Appends the line of src that holds pos, and a caret under pos.col. */
static void append_source_line(NtkcError *err, SrcPos pos, const char *src)
{
    const char *line = src;
    for (int l = 1; l < pos.line && line != NULL; l++) {
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    if (line == NULL)
        return;
    size_t len = strcspn(line, "\n");
    size_t used = strlen(err->message);
    int n = snprintf(err->message + used, sizeof err->message - used, "\n    %.*s\n    ", (int)len, line);
    if (n < 0 || (size_t)n >= sizeof err->message - used)
        return;
    used += (size_t)n;
    for (int c = 1; c < pos.col && used + 2 < sizeof err->message; c++)
        err->message[used++] = (c - 1 < (int)len && line[c - 1] == '\t') ? '\t' : ' ';
    if (used + 2 < sizeof err->message) {
        err->message[used++] = '^';
        err->message[used] = '\0';
    }
}

void diag_at(NtkcError *err, SrcPos pos, const char *src, const char *fmt, ...)
{
    if (err == NULL || err->code != NTKC_OK)
        return;
    char prefix[512];
    if (pos.line > 0)
        snprintf(prefix, sizeof prefix, "%s:%d:%d: error: ", pos.file ? pos.file : "<input>", pos.line, pos.col);
    else
        snprintf(prefix, sizeof prefix, "%s: error: ", pos.file ? pos.file : "<input>");
    va_list ap;
    va_start(ap, fmt);
    vformat(err, NTKC_EUSER, prefix, fmt, ap);
    va_end(ap);
    if (src != NULL && pos.line > 0)
        append_source_line(err, pos, src);
}

void diag_user(NtkcError *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat(err, NTKC_EUSER, "error: ", fmt, ap);
    va_end(ap);
}

void diag_internal(NtkcError *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat(err, NTKC_EINTERNAL, "internal error: ", fmt, ap);
    va_end(ap);
}

void diag_clear(NtkcError *err)
{
    err->code = NTKC_OK;
    err->message[0] = '\0';
}
