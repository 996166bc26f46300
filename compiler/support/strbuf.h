/* A growable string for building generated source. Out-of-memory aborts:
 * emitted sources are small and there is no sensible partial result. */
#ifndef NTKC_STRBUF_H
#define NTKC_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct StrBuf {
    char *data;
    size_t len, cap;
} StrBuf;

void sb_init(StrBuf *sb);
void sb_free(StrBuf *sb);
void sb_puts(StrBuf *sb, const char *s);
void sb_putn(StrBuf *sb, const char *s, size_t n); /* n bytes of s */
void sb_printf(StrBuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(StrBuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* A double as a C literal that reads back to the same value ("0.050000000000000003");
 * infinities and NaN as constant expressions ("(1.0 / 0.0)"). */
void sb_double(StrBuf *sb, double v);
/* The same text into buf, for emitters that format numbers first. */
enum { SB_DOUBLE_MAX = 48 };
void sb_format_double(char buf[SB_DOUBLE_MAX], double v);
/* Hands the buffer to the caller (malloc'd, NUL-terminated) and resets sb. */
char *sb_take(StrBuf *sb);

#endif
