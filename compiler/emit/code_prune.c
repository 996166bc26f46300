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

/* Character classes by table: <ctype.h> costs a call per character, and the
 * scan reads every byte of the file. 1: may start an identifier, 2: may continue one. */
static const unsigned char ident_class[256] = {
    ['_'] = 3,
    ['0'] = 2, ['1'] = 2, ['2'] = 2, ['3'] = 2, ['4'] = 2, ['5'] = 2, ['6'] = 2, ['7'] = 2, ['8'] = 2, ['9'] = 2,
#define L(c) [c] = 3, [c - 'a' + 'A'] = 3
    L('a'), L('b'), L('c'), L('d'), L('e'), L('f'), L('g'), L('h'), L('i'), L('j'), L('k'), L('l'), L('m'),
    L('n'), L('o'), L('p'), L('q'), L('r'), L('s'), L('t'), L('u'), L('v'), L('w'), L('x'), L('y'), L('z'),
#undef L
};

static int ident_char(char c) { return ident_class[(unsigned char)c] & 2; }
static int ident_start(char c) { return ident_class[(unsigned char)c] & 1; }

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

/* The lines of text[0, len), counted first so the array is allocated once. */
static size_t split_lines(const char *text, size_t len, Line **out)
{
    const char *end = text + len;
    size_t cap = 1;
    for (const char *p = text; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
        cap++;
    Line *v = malloc(cap * sizeof *v);
    size_t n = 0;
    for (const char *p = text; v && p < end && n < cap;) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        size_t l = e ? (size_t)(e - p) : (size_t)(end - p);
        v[n++] = (Line){.s = p, .len = l, .def = -1, .proto = -1};
        p += l + 1;
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
    int id[NAME_SLOTS];      /* def index, or -1 - macro index */
    unsigned char length[96]; /* length[k]: some name has k characters (most
                                 identifiers in a body are short locals: they
                                 are skipped without hashing) */
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
    size_t len = strlen(name);
    if (len < sizeof t->length)
        t->length[len] = 1;
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
    if (n >= sizeof t->length || !t->length[n])
        return 0;
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
        if (!ident_start(*s)) {
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

/* Top-level prototypes (statements ending in ';') of the dead definitions:
 * one pass over the file, each prototype's name looked up among defs. */
static void kill_prototypes(Line *v, size_t n, const Def *defs, size_t ndefs)
{
    Names *dead = calloc(1, sizeof *dead);
    if (dead == NULL) /* out of memory: the prototypes stay (harmless) */
        return;
    for (size_t d = 0; d < ndefs; d++)
        if (defs[d].dead)
            names_add(dead, defs[d].name, (int)d);
    for (size_t i = 0; i < n; i++) {
        if (v[i].kind != L_TOP || v[i].def >= 0 || v[i].len == 0 || v[i].s[0] == ' ' || v[i].s[0] == '/')
            continue;
        size_t j = i;
        while (j + 1 < n && !ends_with(&v[j], ';') && !ends_with(&v[j], '}') && is_continuation(&v[j + 1]))
            j++;
        char got[96];
        if (ends_with(&v[j], ';') && name_before_paren(v[i].s, v[i].len, got, sizeof got) &&
            names_find(dead, got, strlen(got)))
            for (size_t k = i; k <= j; k++)
                v[k].dead = 1;
        i = j;
    }
    free(dead);
}

void code_prune_statics(StrBuf *sb)
{
    Line *v;
    size_t n = split_lines(sb->data, sb->len, &v);
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
    }
    kill_prototypes(v, n, defs, ndefs);
    /* the live lines moved down in place (a line only ever moves left) */
    char *dst = sb->data;
    const char *end = sb->data + sb->len;
    for (size_t i = 0; i < n; i++) {
        if (v[i].dead)
            continue;
        memmove(dst, v[i].s, v[i].len);
        dst += v[i].len;
        if (v[i].s + v[i].len < end) /* its newline (the last line may have none) */
            *dst++ = '\n';
    }
    *dst = '\0';
    sb->len = (size_t)(dst - sb->data);
    free(v);
    free(defs);
}
