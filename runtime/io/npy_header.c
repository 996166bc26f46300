#include "npy_header.h"
#include "ntkc_err.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const unsigned char MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

int npy_preamble(const unsigned char *buf, size_t len, const char *name, size_t *data_offset,
                 ntkc_error *err)
{
    size_t cmp = len < sizeof MAGIC ? len : sizeof MAGIC;
    if (len == 0) {
        err_file(err, name, "empty file, not a .npy file");
        return -1;
    }
    if (memcmp(buf, MAGIC, cmp) != 0) {
        err_file(err, name, "not a .npy file (it does not start with \\x93NUMPY)");
        return -1;
    }
    if (len < 10) {
        err_file(err, name, "truncated header: the file ends after %zu bytes", len);
        return -1;
    }
    int major = buf[6], minor = buf[7];
    if (major < 1 || major > 3 || minor != 0) {
        err_file(err, name, "unsupported .npy format version %d.%d (ntkc reads 1.0, 2.0 and 3.0)", major, minor);
        return -1;
    }
    size_t hlen, prefix;
    if (major == 1) {
        prefix = 10;
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    } else {
        if (len < 12) {
            err_file(err, name, "truncated header: the file ends after %zu bytes", len);
            return -1;
        }
        prefix = 12;
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    }
    if (hlen > NPY_HEADER_MAX) {
        err_file(err, name, "header claims %zu bytes, more than any valid .npy header", hlen);
        return -1;
    }
    *data_offset = prefix + hlen;
    return 0;
}

/* ---- header dict: {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), } ---- */

typedef struct Lexer {
    const unsigned char *s; /* the header text, after the preamble */
    size_t n, pos;
    const char *name;
    ntkc_error *err;
} Lexer;

/* Fails with the offending position and a printable copy of the header. */
static int lex_fail(Lexer *L, const char *what)
{
    char shown[121];
    size_t k = 0;
    for (size_t i = 0; i < L->n && k + 1 < sizeof shown; i++) {
        unsigned char c = L->s[i];
        if (c == '\n' && i + 1 == L->n)
            break;
        shown[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    while (k > 0 && shown[k - 1] == ' ')
        k--;
    shown[k] = '\0';
    err_file(L->err, L->name, "malformed header (%s at character %zu): %s%s", what, L->pos + 1,
              shown, k + 1 == sizeof shown ? "..." : "");
    return -1;
}

static void skip_ws(Lexer *L)
{
    while (L->pos < L->n) {
        unsigned char c = L->s[L->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        L->pos++;
    }
}

/* Skips blanks, then reports whether the next character is c (consuming it if so). */
static int accept(Lexer *L, char c)
{
    skip_ws(L);
    if (L->pos < L->n && L->s[L->pos] == (unsigned char)c) {
        L->pos++;
        return 1;
    }
    return 0;
}

static int expect(Lexer *L, char c)
{
    if (accept(L, c))
        return 0;
    char what[32];
    snprintf(what, sizeof what, "expected '%c'", c);
    return lex_fail(L, what);
}

/* A quoted Python string without escapes (numpy never writes any in a header). */
static int parse_string(Lexer *L, char *out, size_t cap)
{
    skip_ws(L);
    if (L->pos >= L->n || (L->s[L->pos] != '\'' && L->s[L->pos] != '"'))
        return lex_fail(L, "expected a quoted string");
    unsigned char quote = L->s[L->pos++];
    size_t k = 0;
    while (L->pos < L->n && L->s[L->pos] != quote) {
        unsigned char c = L->s[L->pos];
        if (c == '\\' || c < 0x20 || c >= 0x7f) /* numpy writes ASCII names only; keeps messages inert */
            return lex_fail(L, "unsupported character in string");
        if (k + 1 >= cap)
            return lex_fail(L, "string too long");
        out[k++] = (char)c;
        L->pos++;
    }
    if (L->pos >= L->n)
        return lex_fail(L, "unterminated string");
    L->pos++;
    out[k] = '\0';
    return 0;
}

static int parse_bool(Lexer *L, int *value)
{
    skip_ws(L);
    size_t rest = L->n - L->pos;
    if (rest >= 4 && memcmp(L->s + L->pos, "True", 4) == 0) {
        L->pos += 4;
        *value = 1;
        return 0;
    }
    if (rest >= 5 && memcmp(L->s + L->pos, "False", 5) == 0) {
        L->pos += 5;
        *value = 0;
        return 0;
    }
    return lex_fail(L, "expected True or False");
}

/* A non-negative decimal integer that fits size_t; Python 2's 'L' suffix is allowed. */
static int parse_dim(Lexer *L, size_t *value)
{
    skip_ws(L);
    if (L->pos >= L->n || L->s[L->pos] < '0' || L->s[L->pos] > '9')
        return lex_fail(L, "expected a non-negative integer");
    size_t v = 0;
    while (L->pos < L->n && L->s[L->pos] >= '0' && L->s[L->pos] <= '9') {
        size_t d = (size_t)(L->s[L->pos] - '0');
        if (v > (SIZE_MAX - d) / 10)
            return lex_fail(L, "dimension too large");
        v = v * 10 + d;
        L->pos++;
    }
    if (L->pos < L->n && (L->s[L->pos] == 'L' || L->s[L->pos] == 'l'))
        L->pos++;
    *value = v;
    return 0;
}

/* (d0, d1, ...) with an optional trailing comma; counts past 8 to report the rank. */
static int parse_shape(Lexer *L, NpyHeader *h)
{
    if (expect(L, '(') != 0)
        return -1;
    size_t rank = 0;
    while (!accept(L, ')')) {
        size_t d = 0;
        if (parse_dim(L, &d) != 0)
            return -1;
        if (rank < NPY_MAX_DIMS)
            h->shape[rank] = d;
        rank++;
        if (!accept(L, ',')) {
            if (expect(L, ')') != 0)
                return -1;
            break;
        }
    }
    if (rank > NPY_MAX_DIMS) {
        err_file(L->err, L->name, "array of rank %zu; ntkc reads at most %d dimensions", rank,
                  NPY_MAX_DIMS);
        return -1;
    }
    h->ndim = rank;
    return 0;
}

static const char *unsupported_kind(char c)
{
    switch (c) {
    case 'c': return "complex";
    case 'O': return "Python objects";
    case 'U': case 'S': case 'a': return "strings";
    case 'V': return "raw or structured records";
    case 'M': case 'm': return "dates/times";
    case 'g': return "extended precision";
    default: return "unknown";
    }
}

static int dtype_fail(Lexer *L, const char *descr, const char *why)
{
    err_file(L->err, L->name, "unsupported dtype '%s' (%s); ntkc reads float16/32/64, int8-64, uint8-64 and bool", descr, why);
    return -1;
}

/* '<f8', '>i4', '|u1', '|b1', ... */
static int parse_descr(const char *descr, Lexer *L, NpyDtype *dt)
{
    snprintf(dt->descr, sizeof dt->descr, "%s", descr);
    const char *p = descr;
    char order = '=';
    if (*p == '<' || *p == '>' || *p == '|' || *p == '=')
        order = *p++;
    char kind = *p;
    if (kind == '\0')
        return dtype_fail(L, descr, "empty");
    p++;
    size_t size = 0, digits = 0;
    while (digits < 3 && p[digits] >= '0' && p[digits] <= '9')
        size = size * 10 + (size_t)(p[digits++] - '0');
    int well_formed = digits > 0 && p[digits] == '\0';
    int ok = well_formed &&
             ((kind == 'f' && (size == 2 || size == 4 || size == 8)) ||
              ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
              (kind == 'b' && size == 1));
    if (!ok && strchr("fiub", kind) != NULL)
        return dtype_fail(L, descr, kind == 'f' && well_formed && size > 8 ? "extended precision"
                                                                             : "unsupported size");
    if (!ok)
        return dtype_fail(L, descr, unsupported_kind(kind));
    if (order == '|' && size > 1)
        return dtype_fail(L, descr, "no byte order for a multi-byte type");
    dt->kind = kind == 'f' ? NPY_KIND_FLOAT : kind == 'i' ? NPY_KIND_INT : kind == 'u' ? NPY_KIND_UINT
                                                                                       : NPY_KIND_BOOL;
    dt->size = size;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    dt->swap = size > 1 && order == '<';
#else
    dt->swap = size > 1 && order == '>';
#endif
    return 0;
}

enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4 };

static int parse_entry(Lexer *L, NpyHeader *h, unsigned *seen)
{
    char key[32];
    if (parse_string(L, key, sizeof key) != 0 || expect(L, ':') != 0)
        return -1;
    unsigned bit = strcmp(key, "descr") == 0           ? KEY_DESCR
                   : strcmp(key, "fortran_order") == 0 ? KEY_FORTRAN
                   : strcmp(key, "shape") == 0         ? KEY_SHAPE
                                                       : 0;
    if (bit == 0 || (*seen & bit)) {
        char what[64];
        snprintf(what, sizeof what, "%s key '%s'", bit ? "duplicate" : "unexpected", key);
        return lex_fail(L, what);
    }
    *seen |= bit;
    if (bit == KEY_FORTRAN)
        return parse_bool(L, &h->fortran_order);
    if (bit == KEY_SHAPE)
        return parse_shape(L, h);
    skip_ws(L);
    if (L->pos < L->n && L->s[L->pos] == '[') {
        err_file(L->err, L->name, "unsupported dtype: structured (record) arrays are not supported");
        return -1;
    }
    char descr[32];
    if (parse_string(L, descr, sizeof descr) != 0)
        return -1;
    return parse_descr(descr, L, &h->dtype);
}

static int parse_dict(Lexer *L, NpyHeader *h)
{
    unsigned seen = 0;
    if (expect(L, '{') != 0)
        return -1;
    while (!accept(L, '}')) {
        if (parse_entry(L, h, &seen) != 0)
            return -1;
        if (!accept(L, ',')) {
            if (expect(L, '}') != 0)
                return -1;
            break;
        }
    }
    skip_ws(L);
    if (L->pos != L->n)
        return lex_fail(L, "unexpected text after the dict");
    static const char *const names[] = {"descr", "fortran_order", "shape"};
    for (int i = 0; i < 3; i++)
        if (!(seen & (1u << i))) {
            err_file(L->err, L->name, "malformed header: key '%s' is missing", names[i]);
            return -1;
        }
    return 0;
}

int npy_shape_count(size_t ndim, const size_t *shape, size_t *count)
{
    size_t c = 1;
    for (size_t i = 0; i < ndim; i++)
        if (shape[i] == 0) {
            *count = 0;
            return 0;
        }
    for (size_t i = 0; i < ndim; i++) {
        if (c > SIZE_MAX / shape[i])
            return -1;
        c *= shape[i];
    }
    *count = c;
    return 0;
}

void npy_shape_str(char *buf, size_t cap, size_t ndim, const size_t *shape)
{
    if (ndim == 0) {
        snprintf(buf, cap, "()");
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ndim && used < cap; i++) {
        int n = snprintf(buf + used, cap - used, "%s%zu", i ? "\xc3\x97" : "", shape[i]);
        if (n < 0)
            return;
        used += (size_t)n;
    }
}

static const char *type_word(const NpyDtype *dt)
{
    static const char *const words[4][9] = {
        [NPY_KIND_FLOAT] = {[2] = "float16", [4] = "float32", [8] = "float64"},
        [NPY_KIND_INT] = {[1] = "int8", [2] = "int16", [4] = "int32", [8] = "int64"},
        [NPY_KIND_UINT] = {[1] = "uint8", [2] = "uint16", [4] = "uint32", [8] = "uint64"},
        [NPY_KIND_BOOL] = {[1] = "bool"},
    };
    return words[dt->kind][dt->size];
}

int npy_header_parse(const unsigned char *buf, size_t len, const char *name, NpyHeader *h,
                     ntkc_error *err)
{
    memset(h, 0, sizeof *h);
    if (npy_preamble(buf, len, name, &h->data_offset, err) != 0)
        return -1;
    if (h->data_offset > len) {
        err_file(err, name, "truncated header: it claims %zu bytes, the file has %zu",
                  h->data_offset, len);
        return -1;
    }
    size_t prefix = buf[6] == 1 ? 10 : 12;
    Lexer L = {buf + prefix, h->data_offset - prefix, 0, name, err};
    if (parse_dict(&L, h) != 0)
        return -1;
    char shape[200];
    npy_shape_str(shape, sizeof shape, h->ndim, h->shape);
    if (npy_shape_count(h->ndim, h->shape, &h->count) != 0 || h->count > SIZE_MAX / h->dtype.size) {
        err_file(err, name, "shape %s %s is too large to address", shape, type_word(&h->dtype));
        return -1;
    }
    h->nbytes = h->count * h->dtype.size;
    return 0;
}

int npy_check_data_size(const NpyHeader *h, size_t avail, const char *name, ntkc_error *err)
{
    if (avail == h->nbytes)
        return 0;
    char shape[200];
    npy_shape_str(shape, sizeof shape, h->ndim, h->shape);
    if (avail < h->nbytes)
        err_file(err, name, "truncated: header says %s %s = %zu bytes, file has %zu", shape,
                  type_word(&h->dtype), h->nbytes, avail);
    else
        err_file(err, name, "%zu trailing bytes: header says %s %s = %zu bytes, file has %zu",
                  avail - h->nbytes, shape, type_word(&h->dtype), h->nbytes, avail);
    return -1;
}

/* numpy.save: "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", then
 * spare blanks for the first axis to grow to 21 digits, then blanks and '\n' so
 * the data starts at a multiple of 64. Rank <= 8 always fits version 1.0. */
size_t npy_header_format(char *buf, size_t cap, size_t ndim, const size_t *shape)
{
    return npy_header_format_esz(buf, cap, ndim, shape, 8);
}

size_t npy_header_format_esz(char *buf, size_t cap, size_t ndim, const size_t *shape, size_t esz)
{
    char dict[NPY_WRITE_HEADER_MAX];
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    const char *descr = esz == 4 ? ">f4" : ">f8";
#else
    const char *descr = esz == 4 ? "<f4" : "<f8";
#endif
    size_t n = (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                                descr);
    for (size_t i = 0; i < ndim; i++)
        n += (size_t)snprintf(dict + n, sizeof dict - n, "%s%zu", i ? ", " : "", shape[i]);
    n += (size_t)snprintf(dict + n, sizeof dict - n, "%s), }", ndim == 1 ? "," : "");
    if (ndim > 0) {
        int digits = snprintf(NULL, 0, "%zu", shape[0]);
        for (int i = digits; i < 21; i++)
            dict[n++] = ' ';
    }
    size_t hlen = n + 1;
    size_t pad = 64 - (10 + hlen) % 64;
    size_t total = 10 + hlen + pad;
    if (total > cap)
        return 0;
    memcpy(buf, MAGIC, sizeof MAGIC);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (char)((total - 10) & 0xff);
    buf[9] = (char)((total - 10) >> 8);
    memcpy(buf + 10, dict, n);
    memset(buf + 10 + n, ' ', pad);
    buf[total - 1] = '\n';
    return total;
}
