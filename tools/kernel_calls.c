/* The call graph of the embedded kernel-time C (kernel_calls.h).
 *
 * Reads each span as the line-oriented C compiler/kernel_c/ is written in
 * (clang-format style: a definition's "{" and "}" alone at column 0, macros
 * continued with '\\') and cuts it into pieces: a static function's
 * definition (with the blank line after it), a prototype of one, and the
 * rest, which every file that carries the span keeps. A node is a static
 * function (one-line definitions included) or a macro; its closure is every
 * function its text reaches through calls, names and macros. A span's roots
 * are what its kept text reaches (struct bodies, directives). The layout is
 * checked, not guessed: a static function written otherwise stops the build,
 * since the emitters could not leave it out. */
#include "kernel_calls.h"

#include <stdlib.h>
#include <string.h>

#include "kernel_text.h"

enum { MAX_SPANS = 64, NAME_LEN = 96, MAX_RANGES = 4 };
enum { K_TOP, K_BODY, K_MACRO, K_COMMENT };

typedef struct Line {
    const char *s;
    size_t len;
    int kind;
    int owner; /* the function node whose piece holds the line, or -1 */
} Line;

typedef struct Span {
    char *name, *text;
    Line *v;
    size_t n;
} Span;

typedef struct Node {
    char name[NAME_LEN];
    int is_fn;
    int span;
    size_t first[MAX_RANGES], last[MAX_RANGES]; /* its lines (a macro may be defined under #if and #else) */
    int nranges;
    int *deps;
    size_t ndeps;
    int index; /* in the generated table, or -1 when it reaches no function */
} Node;

struct KernelCalls {
    Span span[MAX_SPANS];
    size_t nspans;
    Node *node;
    size_t nnodes, cap;
};

static void die(const char *span, size_t line, const char *msg)
{
    fprintf(stderr, "embed_text: span %s, line %zu: %s\n", span, line + 1, msg);
    exit(1);
}

static void *xrealloc(void *p, size_t size)
{
    p = realloc(p, size ? size : 1);
    if (p == NULL) {
        fputs("embed_text: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

KernelCalls *kc_new(void)
{
    KernelCalls *kc = xrealloc(NULL, sizeof *kc);
    memset(kc, 0, sizeof *kc);
    return kc;
}

static int starts(const Line *l, const char *p) { return strncmp(l->s, p, strlen(p)) == 0; }
static int is(const Line *l, const char *p) { return l->len == strlen(p) && starts(l, p); }
static int ends_with(const Line *l, char c) { return l->len > 0 && l->s[l->len - 1] == c; }
static int is_continuation(const Line *l) { return l->len > 0 && (l->s[0] == ' ' || l->s[0] == '\t'); }
static int ident_char(char c) { return c == '_' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z'); }
static int ident_start(char c) { return ident_char(c) && !(c >= '0' && c <= '9'); }

static int is_static_head(const Line *l)
{
    return starts(l, "static ") || starts(l, "NTKC_FN ") || starts(l, "NTKC_LEAF ") || starts(l, "NTKC_ROW ") ||
           starts(l, "NTKC_INLINE ");
}

/* The identifier before the first '(' of l into name; 0 if none. */
static int name_before_paren(const Line *l, char name[NAME_LEN])
{
    const char *paren = memchr(l->s, '(', l->len);
    if (paren == NULL)
        return 0;
    const char *end = paren;
    while (end > l->s && end[-1] == ' ')
        end--;
    const char *start = end;
    while (start > l->s && ident_char(start[-1]))
        start--;
    if (start == end || end - start >= NAME_LEN)
        return 0;
    memcpy(name, start, (size_t)(end - start));
    name[end - start] = '\0';
    return 1;
}

static int find_node(const KernelCalls *kc, const char *s, size_t n)
{
    for (size_t k = 0; k < kc->nnodes; k++)
        if (strncmp(kc->node[k].name, s, n) == 0 && kc->node[k].name[n] == '\0')
            return (int)k;
    return -1;
}

static void add_node(KernelCalls *kc, const char *name, int is_fn, int span, size_t first, size_t last)
{
    int k = find_node(kc, name, strlen(name));
    if (k >= 0 && (is_fn || kc->node[k].is_fn))
        die(kc->span[span].name, first, "a static function's name is defined twice");
    if (k < 0) {
        if (kc->nnodes == kc->cap)
            kc->node = xrealloc(kc->node, (kc->cap = 2 * kc->cap + 16) * sizeof *kc->node);
        k = (int)kc->nnodes++;
        kc->node[k] = (Node){.is_fn = is_fn, .span = span, .index = -1};
        snprintf(kc->node[k].name, NAME_LEN, "%s", name);
    }
    Node *d = &kc->node[k];
    if (d->nranges == MAX_RANGES)
        die(kc->span[span].name, first, "a macro defined too many times");
    d->first[d->nranges] = first;
    d->last[d->nranges++] = last;
}

void kc_add_span(KernelCalls *kc, const char *name, const char *text)
{
    if (kc->nspans == MAX_SPANS)
        die(name, 0, "too many spans");
    Span *sp = &kc->span[kc->nspans++];
    size_t len = strlen(text);
    sp->name = strcpy(xrealloc(NULL, strlen(name) + 1), name);
    sp->text = memcpy(xrealloc(NULL, len + 1), text, len + 1);
    for (const char *p = sp->text; *p; p++) /* every line ends in '\n' (embed_text) */
        if (*p == '\n')
            sp->n++;
    sp->v = xrealloc(NULL, sp->n * sizeof *sp->v);
    const char *p = sp->text;
    for (size_t i = 0; i < sp->n; i++) {
        const char *e = strchr(p, '\n');
        sp->v[i] = (Line){.s = p, .len = (size_t)(e - p), .owner = -1};
        p = e + 1;
    }
}

/* A static function definition at line i of span s, if one starts there:
 * its node and lines. Dies on a static function of another layout. */
static void read_definition(KernelCalls *kc, int s, size_t i)
{
    Span *sp = &kc->span[s];
    Line *v = sp->v;
    size_t j = i;
    while (j + 1 < sp->n && !ends_with(&v[j], ';') && !ends_with(&v[j], '}') && is_continuation(&v[j + 1]))
        j++;
    if (ends_with(&v[j], ';')) /* a prototype */
        return;
    char name[NAME_LEN];
    if (j == i && ends_with(&v[i], '}') && memchr(v[i].s, '{', v[i].len)) { /* on one line */
        if (!name_before_paren(&v[i], name))
            die(sp->name, i, "a one-line static function without a name before '('");
        add_node(kc, name, 1, s, i, i);
        return;
    }
    if (j + 1 == sp->n || !is(&v[j + 1], "{") || !name_before_paren(&v[i], name))
        die(sp->name, i, "a static function not laid out as its declarator, then \"{\" alone on a line");
    size_t k = j + 2;
    while (k < sp->n && !(v[k].len > 0 && v[k].s[0] == '}'))
        k++;
    if (k == sp->n)
        die(sp->name, i, "a static function without a \"}\" at column 0");
    add_node(kc, name, 1, s, i, k);
}

/* Line kinds as compiler/kernel_c/ writes them; definitions and macros into nodes. */
static void classify(KernelCalls *kc, int s)
{
    Span *sp = &kc->span[s];
    int state = K_TOP;
    for (size_t i = 0; i < sp->n; i++) {
        Line *l = &sp->v[i];
        if (state == K_COMMENT) {
            l->kind = K_COMMENT;
            if (strstr(l->s, "*/") && strstr(l->s, "*/") < l->s + l->len)
                state = K_TOP;
            continue;
        }
        if (state == K_MACRO || (state == K_TOP && l->len > 0 && l->s[0] == '#')) {
            int starts_macro = state == K_TOP;
            l->kind = K_MACRO;
            state = ends_with(l, '\\') ? K_MACRO : K_TOP;
            if (starts_macro && l->len > 8 && starts(l, "#define ")) {
                size_t e = i, k = 0;
                while (ends_with(&sp->v[e], '\\') && e + 1 < sp->n)
                    e++;
                char name[NAME_LEN];
                while (k + 1 < NAME_LEN && ident_char(l->s[8 + k]))
                    name[k] = l->s[8 + k], k++;
                name[k] = '\0';
                add_node(kc, name, 0, s, i, e);
            }
            continue;
        }
        if (state == K_BODY) {
            l->kind = K_BODY;
            if (l->len > 0 && l->s[0] == '}')
                state = K_TOP;
            continue;
        }
        l->kind = K_TOP;
        const char *close = strstr(l->s, "*/");
        if (starts(l, "/*") && !(close && close < l->s + l->len)) {
            l->kind = state = K_COMMENT;
            continue;
        }
        if (is(l, "{") || (l->len > 0 && l->s[0] != ' ' && ends_with(l, '{') && !starts(l, "/*"))) {
            if (is_static_head(l) && memchr(l->s, '(', l->len))
                die(sp->name, i, "a static function's \"{\" on its declarator line");
            state = K_BODY;
            continue;
        }
        if (is_static_head(l))
            read_definition(kc, s, i);
    }
}

/* The nodes named in lines [first, last] of span s, other than self, into
 * out (deduplicated); returns how many. */
static size_t named_nodes(const KernelCalls *kc, int s, size_t first, size_t last, int self, int *out, size_t have)
{
    size_t n = have;
    for (size_t i = first; i <= last; i++) {
        const Line *l = &kc->span[s].v[i];
        for (const char *p = l->s, *end = l->s + l->len; p < end;) {
            if (!ident_start(*p)) {
                p++;
                continue;
            }
            const char *w = p;
            while (p < end && ident_char(*p))
                p++;
            int k = find_node(kc, w, (size_t)(p - w)), seen = k < 0 || k == self;
            for (size_t j = 0; j < n && !seen; j++)
                seen = out[j] == k;
            if (!seen)
                out[n++] = k;
        }
    }
    return n;
}

/* reach[k] = 1 for k and every node it reaches. */
static void close_over(const KernelCalls *kc, int k, unsigned char *reach)
{
    if (reach[k])
        return;
    reach[k] = 1;
    for (size_t j = 0; j < kc->node[k].ndeps; j++)
        close_over(kc, kc->node[k].deps[j], reach);
}

/* Prototypes of function nodes become pieces of their node. */
static void mark_prototypes(KernelCalls *kc, int s)
{
    Span *sp = &kc->span[s];
    Line *v = sp->v;
    for (size_t i = 0; i < sp->n; i++) {
        if (v[i].kind != K_TOP || v[i].owner >= 0 || v[i].len == 0 || v[i].s[0] == ' ' || v[i].s[0] == '/')
            continue;
        size_t j = i;
        while (j + 1 < sp->n && !ends_with(&v[j], ';') && !ends_with(&v[j], '}') && is_continuation(&v[j + 1]))
            j++;
        char name[NAME_LEN];
        int k = ends_with(&v[j], ';') && name_before_paren(&v[i], name) ? find_node(kc, name, strlen(name)) : -1;
        if (k >= 0 && kc->node[k].is_fn)
            for (size_t m = i; m <= j; m++)
                v[m].owner = k;
        i = j;
    }
}

/* The nodes span s's kept text names: blocks outside definitions (struct
 * bodies), directives. */
static size_t span_roots(const KernelCalls *kc, int s, int *out)
{
    const Span *sp = &kc->span[s];
    size_t n = 0;
    for (size_t i = 0; i < sp->n; i++) {
        const Line *l = &sp->v[i];
        int continued = i > 0 && sp->v[i - 1].kind == K_MACRO && ends_with(&sp->v[i - 1], '\\');
        int directive = l->kind == K_MACRO && !continued && !starts(l, "#define ");
        size_t last = i;
        while (directive && ends_with(&sp->v[last], '\\') && last + 1 < sp->n)
            last++;
        if ((l->kind == K_BODY && l->owner < 0) || directive)
            n = named_nodes(kc, s, i, last, -1, out, n);
    }
    return n;
}

/* Array elements, each followed by a comma, 16 a line. */
static void put_list(FILE *out, const int *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%d,%s", i % 16 ? " " : "    ", v[i], i % 16 == 15 || i + 1 == n ? "\n" : "");
}

/* The functions of reach (nodes, by table index) into out; returns how many. */
static size_t functions_reached(const KernelCalls *kc, const unsigned char *reach, int *out)
{
    size_t n = 0;
    for (size_t k = 0; k < kc->nnodes; k++)
        if (reach[k] && kc->node[k].is_fn)
            out[n++] = kc->node[k].index;
    return n;
}

static void write_span(KernelCalls *kc, int s, FILE *out, unsigned char *reach, int *list)
{
    const Span *sp = &kc->span[s];
    fprintf(out, "static const KernelPiece %s_pieces[] = {\n", sp->name);
    size_t npieces = 0;
    for (size_t i = 0; i < sp->n;) {
        size_t j = i;
        while (j + 1 < sp->n && sp->v[j + 1].owner == sp->v[i].owner)
            j++;
        size_t start = (size_t)(sp->v[i].s - sp->text), end = (size_t)(sp->v[j].s + sp->v[j].len + 1 - sp->text);
        int owner = sp->v[i].owner;
        fprintf(out, "    {%zu, %zu, %d},\n", start, end - start, owner < 0 ? -1 : kc->node[owner].index);
        npieces++;
        i = j + 1;
    }
    if (npieces == 0)
        fputs("    {0, 0, -1},\n", out);
    fputs("};\n", out);
    memset(reach, 0, kc->nnodes);
    size_t nroots = span_roots(kc, s, list);
    for (size_t r = 0; r < nroots; r++)
        close_over(kc, list[r], reach);
    nroots = functions_reached(kc, reach, list);
    fprintf(out, "static const unsigned short %s_roots[] = {\n", sp->name);
    put_list(out, list, nroots);
    if (nroots == 0)
        fputs("    0, /* none: an array has an element */\n", out);
    fprintf(out, "};\nconst KernelText %s_parts = {%s, sizeof %s - 1, %s_pieces, %zu, %s_roots, %zu};\n\n", sp->name,
            sp->name, sp->name, sp->name, npieces, sp->name, nroots);
}

/* The generated table's nodes: every function, and every macro that reaches
 * one. The emitters find them in a net's code by their prefix. */
static size_t number_nodes(KernelCalls *kc, unsigned char *reach, int *list)
{
    size_t count = 0;
    for (size_t k = 0; k < kc->nnodes; k++) {
        memset(reach, 0, kc->nnodes);
        close_over(kc, (int)k, reach);
        reach[k] = kc->node[k].is_fn; /* a macro reaching only itself reaches nothing */
        int any = 0;
        for (size_t j = 0; j < kc->nnodes && !any; j++)
            any = reach[j] && kc->node[j].is_fn;
        if (!any)
            continue;
        const char *name = kc->node[k].name;
        if (strncmp(name, "ntkc_", 5) != 0 && strncmp(name, "NTKC_", 5) != 0)
            die(kc->span[kc->node[k].span].name, kc->node[k].first[0],
                "a static function, or a macro calling one, whose name does not start with ntkc_ or NTKC_");
        kc->node[k].index = (int)count++;
    }
    (void)list;
    if (count > KERNEL_MAX_NODES)
        die("(all)", 0, "more nodes than KERNEL_MAX_NODES (compiler/emit/kernel_text.h)");
    return count;
}

void kc_write(KernelCalls *kc, FILE *out)
{
    for (size_t s = 0; s < kc->nspans; s++)
        classify(kc, (int)s);
    int *list = xrealloc(NULL, (kc->nnodes + 1) * sizeof *list);
    unsigned char *reach = xrealloc(NULL, kc->nnodes + 1);
    for (size_t k = 0; k < kc->nnodes; k++) {
        Node *d = &kc->node[k];
        size_t n = 0;
        for (int r = 0; r < d->nranges; r++) {
            n = named_nodes(kc, d->span, d->first[r], d->last[r], (int)k, list, n);
            if (!d->is_fn)
                continue;
            Span *sp = &kc->span[d->span];
            for (size_t i = d->first[r]; i <= d->last[r]; i++)
                sp->v[i].owner = (int)k;
            if (d->last[r] + 1 < sp->n && sp->v[d->last[r] + 1].len == 0) /* the blank line after it */
                sp->v[d->last[r] + 1].owner = (int)k;
        }
        d->deps = xrealloc(NULL, (n + 1) * sizeof *d->deps);
        memcpy(d->deps, list, n * sizeof *list);
        d->ndeps = n;
    }
    for (size_t s = 0; s < kc->nspans; s++)
        mark_prototypes(kc, (int)s);
    size_t count = number_nodes(kc, reach, list);
    fputs("/* The pieces of every span and the call graph of their static functions\n"
          " * (tools/kernel_calls.c). */\n",
          out);
    for (size_t s = 0; s < kc->nspans; s++)
        write_span(kc, (int)s, out, reach, list);
    /* each node's closure: the functions it reaches, itself included */
    const KernelCalls *ckc = kc;
    fputs("const unsigned short kernel_closure[] = {\n    0, /* unused: an array has an element */\n", out);
    size_t total = 1, *first = xrealloc(NULL, (count + 1) * sizeof *first), *len = xrealloc(NULL, (count + 1) * sizeof *len);
    for (size_t k = 0; k < ckc->nnodes; k++) {
        if (ckc->node[k].index < 0)
            continue;
        memset(reach, 0, kc->nnodes);
        close_over(ckc, (int)k, reach);
        size_t n = functions_reached(ckc, reach, list);
        fprintf(out, "    /* %s */\n", ckc->node[k].name);
        put_list(out, list, n);
        first[ckc->node[k].index] = total;
        len[ckc->node[k].index] = n;
        total += n;
    }
    fputs("};\nconst KernelNode kernel_nodes[] = {\n", out);
    short slots[KERNEL_NODE_SLOTS];
    memset(slots, 0xff, sizeof slots);
    for (size_t k = 0; k < ckc->nnodes; k++) {
        int index = ckc->node[k].index;
        if (index < 0)
            continue;
        const char *name = ckc->node[k].name;
        fprintf(out, "    {\"%s\", %zu, %zu},\n", name, first[index], len[index]);
        unsigned h = kernel_name_hash(name, strlen(name)) % KERNEL_NODE_SLOTS;
        while (slots[h] >= 0)
            h = (h + 1) % KERNEL_NODE_SLOTS;
        slots[h] = (short)index;
    }
    fprintf(out, "};\nconst unsigned kernel_node_count = %zu;\nconst short kernel_node_slots[KERNEL_NODE_SLOTS] = {\n", count);
    int all[KERNEL_NODE_SLOTS];
    for (int i = 0; i < KERNEL_NODE_SLOTS; i++)
        all[i] = slots[i];
    put_list(out, all, KERNEL_NODE_SLOTS);
    fputs("};\n", out);
    free(first);
    free(len);
    free(list);
    free(reach);
    for (size_t s = 0; s < kc->nspans; s++) {
        free(kc->span[s].name);
        free(kc->span[s].text);
        free(kc->span[s].v);
    }
    for (size_t k = 0; k < kc->nnodes; k++)
        free(kc->node[k].deps);
    free(kc->node);
    free(kc);
}
