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

/* fmt with every "$" replaced by the net prefix ("%" doubled in it: an
 * identifier has none, so nothing changes) and every "@" by the scalar
 * type, then formatted. */
static void put_formatted(Code *c, const char *fmt, va_list ap)
{
    const char *mark = strpbrk(fmt, "$@");
    if (mark == NULL) { /* most lines: no copy */
        sb_vprintf(c->sb, fmt, ap);
        return;
    }
    StrBuf f;
    sb_init(&f);
    for (const char *p = fmt; mark != NULL; p = mark + 1, mark = strpbrk(p, "$@")) {
        sb_putn(&f, p, (size_t)(mark - p));
        if (*mark == '$') {
            sb_puts(&f, NTKC_NET_PREFIX);
            sb_puts(&f, c->name);
        } else {
            sb_puts(&f, c->single ? "float" : "double");
        }
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

const char *code_symbol(const Code *c, const char *suffix, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s%s", NTKC_NET_PREFIX, c->name, suffix);
    return buf;
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
