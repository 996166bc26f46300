/* Unused statics out of an emitted file (code.h, code_prune_statics).
 *
 * Kernel-time C comes in whole files (compiler/kernel_c/), and a net calls
 * only part of it: a conv net without layer_norm never calls ntkc_ln_plane.
 * Rather than teaching every emitter the call graph of those files, the
 * finished text is read back as the line-oriented C the builder and
 * compiler/kernel_c/ write (clang-format style: a definition's "{" and "}"
 * at column 0, macros continued with '\\'), and every static function that no
 * kept function body or macro mentions is dropped with its prototypes, until
 * nothing changes. Exported functions (no static) are roots. */
#include "code.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef enum { L_TOP, L_BODY, L_MACRO, L_COMMENT } LineKind;

typedef struct Line {
    const char *s;
    size_t len;
    LineKind kind;
    int def;   /* first line of a static function definition: its index in defs */
    int proto; /* part of a top-level prototype of defs[proto] */
    int dead;
} Line;

typedef struct Def {
    char name[96];
    size_t first, last; /* lines [first, last] */
    int dead;
} Def;

static int starts(const Line *l, const char *p) { return strncmp(l->s, p, strlen(p)) == 0; }
static int is(const Line *l, const char *p) { return l->len == strlen(p) && starts(l, p); }

static int ends_with(const Line *l, char c) { return l->len > 0 && l->s[l->len - 1] == c; }

/* An indented line (not blank): a declarator continued. */
static int is_continuation(const Line *l) { return l->len > 0 && (l->s[0] == ' ' || l->s[0] == '\t'); }

static int ident_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* The identifier before the first '(' of text[0, len) into name; 0 if none. */
static int name_before_paren(const char *text, size_t len, char *name, size_t size)
{
    const char *paren = memchr(text, '(', len);
    if (paren == NULL)
        return 0;
    const char *end = paren;
    while (end > text && end[-1] == ' ')
        end--;
    const char *start = end;
    while (start > text && ident_char(start[-1]))
        start--;
    if (start == end || (size_t)(end - start) >= size)
        return 0;
    memcpy(name, start, (size_t)(end - start));
    name[end - start] = '\0';
    return 1;
}

/* Whole-word occurrences of name in s[0, len). */
static int mentions(const char *s, size_t len, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(s + i, name, n) == 0 && (i == 0 || !ident_char(s[i - 1])) &&
            (i + n == len || !ident_char(s[i + n])))
            return 1;
    return 0;
}

static size_t split_lines(const char *text, Line **out)
{
    size_t n = 0, cap = 256;
    Line *v = malloc(cap * sizeof *v);
    for (const char *p = text; *p && v;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (n == cap) {
            Line *w = realloc(v, (cap *= 2) * sizeof *v);
            if (w == NULL) {
                free(v);
                v = NULL;
                break;
            }
            v = w;
        }
        v[n++] = (Line){.s = p, .len = len, .def = -1, .proto = -1};
        p = e ? e + 1 : p + len;
    }
    *out = v;
    return v ? n : 0;
}

static int is_static_head(const Line *l)
{
    return starts(l, "static ") || starts(l, "NTKC_FN ") || starts(l, "NTKC_LEAF ") || starts(l, "NTKC_ROW ") ||
           starts(l, "NTKC_INLINE ");
}

/* Marks what every line is; collects static definitions into defs. */
static size_t classify(Line *v, size_t n, Def *defs, size_t cap)
{
    size_t ndefs = 0;
    LineKind state = L_TOP;
    for (size_t i = 0; i < n; i++) {
        Line *l = &v[i];
        if (state == L_COMMENT) {
            l->kind = L_COMMENT;
            if (memmem(l->s, l->len, "*/", 2))
                state = L_TOP;
            continue;
        }
        if (state == L_MACRO || (state == L_TOP && l->len > 0 && l->s[0] == '#')) {
            l->kind = L_MACRO;
            state = l->len > 0 && l->s[l->len - 1] == '\\' ? L_MACRO : L_TOP;
            continue;
        }
        if (state == L_BODY) {
            l->kind = L_BODY;
            if (l->len > 0 && l->s[0] == '}')
                state = L_TOP;
            continue;
        }
        l->kind = L_TOP;
        if (starts(l, "/*") && !memmem(l->s, l->len, "*/", 2)) {
            l->kind = state = L_COMMENT;
            continue;
        }
        if (is(l, "{") || (l->len > 0 && l->s[0] != ' ' && l->s[l->len - 1] == '{' && !starts(l, "/*"))) {
            state = L_BODY;
            continue;
        }
        if (!is_static_head(l) || ndefs == cap)
            continue;
        /* the declarator: this line and its indented continuations, up to a
         * ';' (a prototype) or a "{" line next (a definition); anything else
         * (a one-line definition, "{ ... }" on the line) is kept as it is */
        size_t j = i;
        while (j + 1 < n && !ends_with(&v[j], ';') && !ends_with(&v[j], '}') && is_continuation(&v[j + 1]))
            j++;
        if (j + 1 < n && is(&v[j + 1], "{") && name_before_paren(l->s, l->len, defs[ndefs].name, sizeof defs[0].name)) {
            size_t k = j + 1;
            while (k < n && !(v[k].len > 0 && v[k].s[0] == '}'))
                k++;
            if (k == n) /* no end: not the layout this reads; keep it */
                continue;
            defs[ndefs].first = i;
            defs[ndefs].last = k;
            defs[ndefs].dead = 0;
            l->def = (int)ndefs++;
        }
    }
    return ndefs;
}

static int in_dead_def(const Def *defs, size_t ndefs, size_t i)
{
    for (size_t e = 0; e < ndefs; e++)
        if (defs[e].dead && i >= defs[e].first && i <= defs[e].last)
            return 1;
    return 0;
}

/* The macro whose #define starts at line `at` (or a directive that defines
 * nothing: "" ) into name. */
static void macro_name(const Line *l, char *name, size_t size)
{
    name[0] = '\0';
    const char *p = l->s, *end = l->s + l->len;
    if (l->len < 8 || strncmp(p, "#define ", 8) != 0)
        return;
    p += 8;
    size_t k = 0;
    while (p < end && ident_char(*p) && k + 1 < size)
        name[k++] = *p++;
    name[k] = '\0';
}

/* 1 when a macro defined at line `start` is used by a kept body or by
 * another macro (directives that define nothing count as used). */
static int macro_live(const Line *v, size_t n, const Def *defs, size_t ndefs, size_t start)
{
    char name[96];
    macro_name(&v[start], name, sizeof name);
    if (name[0] == '\0')
        return 1;
    for (size_t i = 0; i < n; i++) {
        if (v[i].kind == L_BODY && !in_dead_def(defs, ndefs, i) && mentions(v[i].s, v[i].len, name))
            return 1;
        if (v[i].kind == L_MACRO && i != start && (i == 0 || v[i - 1].kind != L_MACRO ||
                                                   v[i - 1].s[v[i - 1].len ? v[i - 1].len - 1 : 0] != '\\') &&
            mentions(v[i].s, v[i].len, name))
            return 1;
    }
    return 0;
}

/* 1 when a kept definition other than d's own, or a used macro, mentions d. */
static int referenced(const Line *v, size_t n, const Def *defs, size_t ndefs, size_t d)
{
    size_t macro_start = 0;
    for (size_t i = 0; i < n; i++) {
        int continued = i > 0 && v[i - 1].kind == L_MACRO && v[i - 1].len > 0 && v[i - 1].s[v[i - 1].len - 1] == '\\';
        if (v[i].kind == L_MACRO && !continued)
            macro_start = i;
        if (i >= defs[d].first && i <= defs[d].last)
            continue;
        if (v[i].kind == L_BODY && !in_dead_def(defs, ndefs, i) && mentions(v[i].s, v[i].len, defs[d].name))
            return 1;
        if (v[i].kind == L_MACRO && mentions(v[i].s, v[i].len, defs[d].name) && macro_live(v, n, defs, ndefs, macro_start))
            return 1;
    }
    return 0;
}

/* Top-level prototypes (statements ending in ';') that declare name. */
static void kill_prototypes(Line *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].kind != L_TOP || v[i].def >= 0 || v[i].len == 0 || v[i].s[0] == ' ' || v[i].s[0] == '/')
            continue;
        size_t j = i;
        while (j + 1 < n && !ends_with(&v[j], ';') && !ends_with(&v[j], '}') && is_continuation(&v[j + 1]))
            j++;
        char got[96];
        if (ends_with(&v[j], ';') && name_before_paren(v[i].s, v[i].len, got, sizeof got) &&
            strcmp(got, name) == 0)
            for (size_t k = i; k <= j; k++)
                v[k].dead = 1;
        i = j;
    }
}

void code_prune_statics(StrBuf *sb)
{
    Line *v;
    size_t n = split_lines(sb->data, &v);
    enum { MAX_DEFS = 512 };
    Def *defs = malloc(MAX_DEFS * sizeof *defs);
    if (n == 0 || defs == NULL) { /* out of memory: keep the file as it is */
        free(v);
        free(defs);
        return;
    }
    size_t ndefs = classify(v, n, defs, MAX_DEFS);
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t d = 0; d < ndefs; d++)
            if (!defs[d].dead && !referenced(v, n, defs, ndefs, d))
                defs[d].dead = changed = 1;
    }
    for (size_t d = 0; d < ndefs; d++) {
        if (!defs[d].dead)
            continue;
        for (size_t i = defs[d].first; i <= defs[d].last; i++)
            v[i].dead = 1;
        /* a blank line after the definition goes with it */
        if (defs[d].last + 1 < n && v[defs[d].last + 1].len == 0)
            v[defs[d].last + 1].dead = 1;
        kill_prototypes(v, n, defs[d].name);
    }
    StrBuf out;
    sb_init(&out);
    for (size_t i = 0; i < n; i++) {
        if (v[i].dead)
            continue;
        char *line = strndup(v[i].s, v[i].len);
        if (line == NULL) {
            sb_free(&out);
            free(v);
            free(defs);
            return;
        }
        sb_puts(&out, line);
        sb_puts(&out, "\n");
        free(line);
    }
    free(v);
    free(defs);
    sb_free(sb);
    *sb = out;
}
