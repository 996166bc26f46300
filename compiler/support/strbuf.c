#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sb_reserve(StrBuf *sb, size_t extra)
{
    if (sb->len + extra + 1 <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    char *p = realloc(sb->data, cap);
    if (p == NULL) {
        fputs("ntkc: out of memory\n", stderr);
        abort();
    }
    sb->data = p;
    sb->cap = cap;
}

void sb_init(StrBuf *sb)
{
    sb->data = NULL;
    sb->len = sb->cap = 0;
    sb_reserve(sb, 0);
    sb->data[0] = '\0';
}

void sb_free(StrBuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}

void sb_putn(StrBuf *sb, const char *s, size_t n)
{
    sb_reserve(sb, n);
    memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void sb_puts(StrBuf *sb, const char *s) { sb_putn(sb, s, strlen(s)); }

/* Formats straight into the free space and only when it does not fit grows
 * the buffer and formats again: emitters print thousands of short lines, and
 * measuring each first doubled their cost. */
void sb_vprintf(StrBuf *sb, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    size_t room = sb->cap - sb->len;
    int n = vsnprintf(sb->data + sb->len, room, fmt, ap);
    if (n > 0 && (size_t)n >= room) {
        sb_reserve(sb, (size_t)n);
        vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap2);
    }
    if (n > 0)
        sb->len += (size_t)n;
    sb->data[sb->len] = '\0';
    va_end(ap2);
}

void sb_printf(StrBuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(sb, fmt, ap);
    va_end(ap);
}

void sb_format_double(char buf[SB_DOUBLE_MAX], double v)
{
    /* Never "inf" or "nan", which C reads as identifiers: constant
     * expressions with those values (the front end refuses such numbers, so
     * this is a safety net, not a path users take). */
    if (v != v) {
        snprintf(buf, SB_DOUBLE_MAX, "(0.0 / 0.0)");
        return;
    }
    if (v - v != 0.0) {
        snprintf(buf, SB_DOUBLE_MAX, "%s", v > 0 ? "(1.0 / 0.0)" : "(-1.0 / 0.0)");
        return;
    }
    snprintf(buf, SB_DOUBLE_MAX, "%.17g", v);
    if (strpbrk(buf, ".eE") == NULL)
        strcat(buf, ".0");
}

void sb_double(StrBuf *sb, double v)
{
    char buf[SB_DOUBLE_MAX];
    sb_format_double(buf, v);
    sb_puts(sb, buf);
}

char *sb_take(StrBuf *sb)
{
    char *p = sb->data;
    sb->data = NULL;
    sb->len = sb->cap = 0;
    return p;
}
