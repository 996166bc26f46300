#include "diag.h"

#include <stdio.h>
#include <string.h>

static void vformat(Diag *err, int code, const char *prefix, const char *fmt, va_list ap)
{
    if (err == NULL || err->code != DIAG_OK)
        return;
    err->code = code;
    size_t used = (size_t)snprintf(err->message, sizeof err->message, "%s", prefix);
    if (used < sizeof err->message)
        vsnprintf(err->message + used, sizeof err->message - used, fmt, ap);
}

/* Length of the UTF-8 sequence at s (at most n bytes) when it is a valid,
 * printable character (no C1 control U+0080..U+009F), else 0. */
static size_t utf8_printable(const unsigned char *s, size_t n)
{
    size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if (len == 2 && s[0] == 0xc2 && s[1] < 0xa0)
        return 0;
    return len;
}

/* The message being built; from the first piece that does not fit on,
 * everything is dropped (a later, shorter piece would leave a gap). */
typedef struct Sink {
    char *buf;
    size_t used, cap;
    int full;
} Sink;

static void sink_put(Sink *k, const char *s, size_t n)
{
    if (!k->full && k->used + n < k->cap) {
        memcpy(k->buf + k->used, s, n);
        k->used += n;
        k->buf[k->used] = '\0';
    } else {
        k->full = 1;
    }
}

/* Writes the excerpt line escaped — control bytes (ESC, CR, BEL, ...) and
 * bytes that are not printable UTF-8 become \xHH, so a hostile source cannot
 * act on the user's terminal — and puts in pad (size padcap) the caret's
 * indentation under byte column col: tabs kept, 4 columns per escape. */
static void put_escaped_line(Sink *k, const unsigned char *line, size_t len, int col, char *pad, size_t padcap)
{
    size_t np = 0;
    for (size_t i = 0; i < len;) {
        size_t u = line[i] >= 0x80 ? utf8_printable(line + i, len - i) : 0;
        size_t step = u ? u : 1, width = 1;
        if (u)
            sink_put(k, (const char *)line + i, u);
        else if (line[i] == '\t' || (line[i] >= 0x20 && line[i] < 0x7f))
            sink_put(k, (const char *)line + i, 1);
        else {
            char esc[5];
            snprintf(esc, sizeof esc, "\\x%02x", line[i]);
            sink_put(k, esc, 4);
            width = 4;
        }
        for (size_t w = 0; (int)i + 1 < col && w < width && np + 1 < padcap; w++)
            pad[np++] = line[i] == '\t' ? '\t' : ' ';
        i += step;
    }
    for (int c = (int)len + 1; c < col && np + 1 < padcap; c++) /* past the end of the line */
        pad[np++] = ' ';
    pad[np] = '\0';
}

/* Appends the line of src that holds pos, escaped, and a caret under pos.col. */
static void append_source_line(Diag *err, SrcPos pos, const char *src)
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
    Sink k = {err->message, strlen(err->message), sizeof err->message, 0};
    char pad[sizeof err->message];
    sink_put(&k, "\n    ", 5);
    put_escaped_line(&k, (const unsigned char *)line, len, pos.col, pad, sizeof pad);
    sink_put(&k, "\n    ", 5);
    sink_put(&k, pad, strlen(pad));
    sink_put(&k, "^", 1);
}

void diag_escape_name(char *out, size_t cap, const char *name)
{
    char pad[1];
    Sink k = {out, 0, cap, 0};
    if (cap > 0)
        out[0] = '\0';
    put_escaped_line(&k, (const unsigned char *)name, strlen(name), 0, pad, sizeof pad);
    if (k.full && cap >= 8) { /* a cut name ends in "...", never as another name */
        size_t at = k.used < cap - 4 ? k.used : cap - 4;
        while (at > 0 && ((unsigned char)out[at] & 0xc0) == 0x80)
            at--; /* not inside a UTF-8 sequence */
        memcpy(out + at, "...", 4);
    }
}

void diag_vat(Diag *d, SrcPos pos, const char *src, const char *fmt, va_list ap)
{
    if (d == NULL || d->code != DIAG_OK)
        return;
    char prefix[512], file[400];
    diag_escape_name(file, sizeof file, pos.file ? pos.file : "<input>");
    if (pos.line > 0)
        snprintf(prefix, sizeof prefix, "%s:%d:%d: error: ", file, pos.line, pos.col);
    else
        snprintf(prefix, sizeof prefix, "%s: error: ", file);
    vformat(d, DIAG_EUSER, prefix, fmt, ap);
    if (src != NULL && pos.line > 0)
        append_source_line(d, pos, src);
}

void diag_vuser(Diag *d, const char *fmt, va_list ap) { vformat(d, DIAG_EUSER, "error: ", fmt, ap); }

void diag_vfile(Diag *d, const char *path, const char *fmt, va_list ap)
{
    if (d == NULL || d->code != DIAG_OK)
        return;
    char prefix[512], file[400];
    diag_escape_name(file, sizeof file, path ? path : "<input>");
    snprintf(prefix, sizeof prefix, "error: %s: ", file);
    vformat(d, DIAG_EUSER, prefix, fmt, ap);
}

void diag_vinternal(Diag *d, const char *fmt, va_list ap) { vformat(d, DIAG_EINTERNAL, "internal error: ", fmt, ap); }

void diag_at(Diag *d, SrcPos pos, const char *src, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vat(d, pos, src, fmt, ap);
    va_end(ap);
}

void diag_user(Diag *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vuser(d, fmt, ap);
    va_end(ap);
}

void diag_file(Diag *d, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vfile(d, path, fmt, ap);
    va_end(ap);
}

void diag_internal(Diag *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vinternal(d, fmt, ap);
    va_end(ap);
}

void diag_clear(Diag *d)
{
    d->code = DIAG_OK;
    d->message[0] = '\0';
}
