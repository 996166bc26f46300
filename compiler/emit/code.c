#include "code.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "c_text.h"

int code_init(Code *c, StrBuf *sb, const char *net_name)
{
    memset(c, 0, sizeof *c);
    c->sb = sb;
    c->name = "invalid";
    if (!c_ident_ok(net_name)) {
        c->bad_name = 1;
        return -1;
    }
    c->name = net_name;
    return 0;
}

static void indent(Code *c)
{
    for (int i = 0; i < c->depth; i++)
        sb_puts(c->sb, "    ");
}

/* The conversions the emitters' lines use: %d %u %ld %lu %zu %s %c %%, with
 * no flags, width or precision. */
static int simple_format(const char *fmt)
{
    for (const char *p = strchr(fmt, '%'); p != NULL; p = strchr(p, '%')) {
        p++;
        if (*p == 'l' || *p == 'z')
            p++;
        if (*p == '\0' || !strchr(p[-1] == '%' ? "dusc%" : "du", *p))
            return 0;
        p++;
    }
    return 1;
}

/* Where put_simple writes: the file (sb), or buf[0, size) as snprintf does. */
typedef struct Out {
    StrBuf *sb;
    char *buf;
    size_t size, len;
} Out;

static void out_put(Out *o, const char *s, size_t n)
{
    if (o->sb != NULL) {
        sb_putn(o->sb, s, n);
        return;
    }
    size_t room = o->len + 1 < o->size ? o->size - 1 - o->len : 0;
    n = n < room ? n : room;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    if (o->size > 0)
        o->buf[o->len] = '\0';
}

static void put_unsigned(Out *o, unsigned long long v, int negative)
{
    char digits[24], *d = digits + sizeof digits;
    do
        *--d = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    if (negative)
        *--d = '-';
    out_put(o, d, (size_t)(digits + sizeof digits - d));
}

static void put_signed(Out *o, long long v)
{
    put_unsigned(o, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v, v < 0);
}

/* The text a placeholder of a line stands for ("$", "@", "`"; code.h): its
 * first part and, for "$", the net's name after it. */
static const char *placeholder(const Code *c, char mark, const char **tail)
{
    *tail = mark == '$' ? c->name : "";
    return mark == '$' ? NTKC_NET_PREFIX : mark == '@' ? (c->single ? "float" : "double") : code_prim_suffix(c);
}

/* fmt (simple_format) formatted by hand; with c, "$", "@" and "`" replaced
 * as they come. vsnprintf costs glibc about 1,500 instructions a line (6,000
 * for a conv call's 18 arguments), most of an emitter's time, and a line
 * with "$" used to need a copy of fmt too. */
static void put_simple(Out *o, const Code *c, const char *fmt, va_list ap)
{
    for (const char *p = fmt;;) {
        size_t run = strcspn(p, c ? "%" CODE_MARKS : "%");
        out_put(o, p, run);
        p += run;
        if (*p == '\0')
            return;
        if (*p != '%') {
            const char *tail, *head = placeholder(c, *p++, &tail);
            out_put(o, head, strlen(head));
            out_put(o, tail, strlen(tail));
            continue;
        }
        char size = p[1] == 'l' || p[1] == 'z' ? p[1] : 0, conv = p[size ? 2 : 1];
        p += size ? 3 : 2;
        if (conv == '%') {
            out_put(o, "%", 1);
        } else if (conv == 's') {
            const char *arg = va_arg(ap, const char *);
            out_put(o, arg, strlen(arg));
        } else if (conv == 'c') {
            char ch = (char)va_arg(ap, int);
            out_put(o, &ch, 1);
        } else if (conv == 'd') {
            put_signed(o, size == 'l' ? va_arg(ap, long) : size == 'z' ? (long long)va_arg(ap, size_t) : va_arg(ap, int));
        } else {
            put_unsigned(o, size == 'l' ? va_arg(ap, unsigned long) : size == 'z' ? va_arg(ap, size_t) : va_arg(ap, unsigned),
                         0);
        }
    }
}

void code_format(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (simple_format(fmt)) {
        Out o = {NULL, buf, size, 0};
        if (size > 0)
            buf[0] = '\0';
        put_simple(&o, NULL, fmt, ap);
    } else {
        vsnprintf(buf, size, fmt, ap);
    }
    va_end(ap);
}

/* fmt with every placeholder replaced (none of their texts has a "%" to
 * double: identifiers, type names, "_f"), then formatted. */
static void put_formatted(Code *c, const char *fmt, va_list ap)
{
    if (simple_format(fmt)) {
        Out o = {c->sb, NULL, 0, 0};
        put_simple(&o, c, fmt, ap);
        return;
    }
    const char *mark = strpbrk(fmt, CODE_MARKS);
    if (mark == NULL) {
        sb_vprintf(c->sb, fmt, ap);
        return;
    }
    StrBuf f;
    sb_init(&f);
    for (const char *p = fmt; mark != NULL; p = mark + 1, mark = strpbrk(p, CODE_MARKS)) {
        const char *tail;
        sb_putn(&f, p, (size_t)(mark - p));
        sb_puts(&f, placeholder(c, *mark, &tail));
        sb_puts(&f, tail);
        fmt = mark + 1;
    }
    sb_puts(&f, fmt);
    sb_vprintf(c->sb, f.data, ap);
    sb_free(&f);
}

/* One line at the current depth. */
static void put_line(Code *c, const char *fmt, va_list ap)
{
    indent(c);
    put_formatted(c, fmt, ap);
    sb_puts(c->sb, "\n");
}

void code_line(Code *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    put_line(c, fmt, ap);
    va_end(ap);
}

void code_open(Code *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    put_line(c, fmt, ap);
    va_end(ap);
    c->depth++;
}

void code_close(Code *c, const char *tail)
{
    c->depth = c->depth > 0 ? c->depth - 1 : 0;
    indent(c);
    sb_puts(c->sb, "}");
    sb_puts(c->sb, tail);
    sb_puts(c->sb, "\n");
}

void code_blank(Code *c) { sb_puts(c->sb, "\n"); }

void code_text(Code *c, const char *text) { sb_puts(c->sb, text); }

const char *code_ident(Code *c, const char *name)
{
    if (c_ident_ok(name))
        return name;
    c->bad_name = 1;
    return "ntkc_invalid_name";
}

CodeLit code_lit(double v)
{
    CodeLit l;
    sb_format_double(l.s, v);
    return l;
}

CodeLit code_rlit(const Code *c, double v)
{
    if (!c->single)
        return code_lit(v);
    CodeLit l;
    /* 9 significant digits read back any float exactly */
    snprintf(l.s, sizeof l.s, "%.9ef", (double)(float)v);
    return l;
}

const char *code_prim_suffix(const Code *c) { return c->single ? "_f" : ""; }

void code_args_init(CodeArgs *a) { sb_init(&a->sb); }

void code_args_free(CodeArgs *a) { sb_free(&a->sb); }

void code_arg(CodeArgs *a, const char *text)
{
    if (a->sb.len)
        sb_puts(&a->sb, ", ");
    sb_puts(&a->sb, text);
}

/* Decimal digits of u ending at end (no printf: emitters write thousands of
 * these per net, and compile time counts). */
static char *put_digits(char *end, unsigned long long u)
{
    *--end = '\0';
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    return end;
}

void code_arg_int(CodeArgs *a, long v)
{
    char s[24];
    char *p = put_digits(s + sizeof s, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v);
    if (v < 0)
        *--p = '-';
    code_arg(a, p);
}

void code_arg_size(CodeArgs *a, size_t v)
{
    char s[24];
    code_arg(a, put_digits(s + sizeof s, (unsigned long long)v));
}

void code_arg_lit(CodeArgs *a, double v) { code_arg(a, code_lit(v).s); }

const char *code_args_text(const CodeArgs *a) { return a->sb.data ? a->sb.data : ""; }

void code_enum_begin(Code *c, const char *comment)
{
    code_line(c, "/* %s */", comment);
    code_open(c, "enum {");
}

int code_enum_item(Code *c, const char *name, size_t value)
{
    if (value > (size_t)INT_MAX)
        return -1;
    code_line(c, "$_%s = %zu,", name, value);
    return 0;
}

void code_enum_end(Code *c) { code_close(c, ";"); }
