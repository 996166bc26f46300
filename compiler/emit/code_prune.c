/* Unused statics out of an emitted file (code.h, code_prune_statics).
 *
 * Kernel-time C comes in whole files (compiler/kernel_c/), and a net calls
 * only part of it: a conv net without layer_norm never calls ntkc_ln_plane.
 * Rather than teaching every emitter the call graph of those files, the
 * finished text is read back as the line-oriented C the builder and
 * compiler/kernel_c/ write (clang-format style: a definition's "{" and "}"
 * at column 0, macros continued with '\\'), and only the static functions
 * reachable from the exported functions' bodies (and one-line definitions
 * and preprocessor conditionals) through function bodies and macros are
 * kept; the others go with their prototypes. One identifier scan per line. */
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

/* The macro a #define line defines into name ("" for other directives). */
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

/* Names of static definitions and macros, hashed for the identifier scan. */
enum { NAME_SLOTS = 2048 };
typedef struct Names {
    const char *name[NAME_SLOTS];
    int id[NAME_SLOTS]; /* def index, or -1 - macro index */
} Names;

static unsigned hash_name(const char *s, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static void names_add(Names *t, const char *name, int id)
{
    for (unsigned h = hash_name(name, strlen(name)) % NAME_SLOTS, k = 0; k < NAME_SLOTS; k++, h = (h + 1) % NAME_SLOTS)
        if (t->name[h] == NULL) {
            t->name[h] = name;
            t->id[h] = id;
            return;
        }
}

/* The id of s[0, n), or 0 when it names nothing (ids are offset by 1). */
static int names_find(const Names *t, const char *s, size_t n)
{
    for (unsigned h = hash_name(s, n) % NAME_SLOTS, k = 0; k < NAME_SLOTS && t->name[h]; k++, h = (h + 1) % NAME_SLOTS)
        if (strncmp(t->name[h], s, n) == 0 && t->name[h][n] == '\0')
            return t->id[h] + 1;
    return 0;
}

typedef struct Reach {
    const Line *v;
    size_t n;
    const Def *defs;
    size_t ndefs;
    const Names *names;
    const size_t *macro_start; /* first line of each macro */
    size_t nmacros;
    char *live;                /* ndefs definitions, then nmacros macros */
    size_t *stack, top;
} Reach;

/* Every identifier of line i that names a definition or macro makes it live. */
static void scan_line(Reach *r, size_t i, int self)
{
    const char *s = r->v[i].s, *end = s + r->v[i].len;
    while (s < end) {
        if (!(isalpha((unsigned char)*s) || *s == '_')) {
            s++;
            continue;
        }
        const char *w = s;
        while (s < end && ident_char(*s))
            s++;
        int id = names_find(r->names, w, (size_t)(s - w)) - 1;
        if (id == -1)
            continue;
        size_t k = id >= 0 ? (size_t)id : r->ndefs + (size_t)(-1 - id);
        if ((int)k != self && !r->live[k]) {
            r->live[k] = 1;
            r->stack[r->top++] = k;
        }
    }
}

/* Lines of definition or macro k. */
static void scan_item(Reach *r, size_t k)
{
    if (k < r->ndefs) {
        for (size_t i = r->defs[k].first; i <= r->defs[k].last; i++)
            scan_line(r, i, (int)k);
        return;
    }
    size_t i = r->macro_start[k - r->ndefs];
    do
        scan_line(r, i, (int)k);
    while (ends_with(&r->v[i], '\\') && ++i < r->n);
}

/* What the exported functions, one-line definitions and directives reach,
 * through function bodies and macros; the rest of defs is dead. */
static int mark_dead(const Line *v, size_t n, Def *defs, size_t ndefs)
{
    Names *names = calloc(1, sizeof *names);
    size_t *macro_start = malloc((n + 1) * sizeof *macro_start), nmacros = 0;
    char *in_def = calloc(n + 1, 1);
    Reach r = {v, n, defs, ndefs, names, macro_start, 0, NULL, NULL, 0};
    if (names == NULL || macro_start == NULL || in_def == NULL) {
        free(names);
        free(macro_start);
        free(in_def);
        return -1;
    }
    char (*mname)[96] = malloc((n + 1) * sizeof *mname);
    r.live = calloc(ndefs + n + 1, 1);
    r.stack = malloc((ndefs + n + 1) * sizeof *r.stack);
    int ok = mname && r.live && r.stack;
    for (size_t d = 0; ok && d < ndefs; d++) {
        names_add(names, defs[d].name, (int)d);
        memset(in_def + defs[d].first, 1, defs[d].last - defs[d].first + 1);
    }
    for (size_t i = 0; ok && i < n; i++) {
        int continued = i > 0 && v[i - 1].kind == L_MACRO && ends_with(&v[i - 1], '\\');
        if (v[i].kind != L_MACRO || continued)
            continue;
        macro_start[nmacros] = i;
        macro_name(&v[i], mname[nmacros], sizeof mname[0]);
        if (mname[nmacros][0])
            names_add(names, mname[nmacros], -1 - (int)nmacros);
        nmacros++;
    }
    r.nmacros = nmacros;
    for (size_t i = 0; ok && i < n; i++) { /* the roots */
        int one_line_def = v[i].kind == L_TOP && ends_with(&v[i], '}') && memchr(v[i].s, '{', v[i].len);
        if ((v[i].kind == L_BODY && !in_def[i]) || one_line_def)
            scan_line(&r, i, -1);
    }
    for (size_t m = 0; ok && m < nmacros; m++)
        if (mname[m][0] == '\0' && !r.live[ndefs + m]) { /* a directive */
            r.live[ndefs + m] = 1;
            r.stack[r.top++] = ndefs + m;
        }
    while (ok && r.top > 0)
        scan_item(&r, r.stack[--r.top]);
    for (size_t d = 0; ok && d < ndefs; d++)
        defs[d].dead = !r.live[d];
    free(names);
    free(macro_start);
    free(in_def);
    free(mname);
    free(r.live);
    free(r.stack);
    return ok ? 0 : -1;
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
    if (mark_dead(v, n, defs, ndefs) != 0) { /* out of memory: keep the file as it is */
        free(v);
        free(defs);
        return;
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
