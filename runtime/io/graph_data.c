/* The graph text format parser (format and conventions in graph_data.h). */
#include "graph_data.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "ntkc_err.h"

typedef struct Token {
    const char *s;
    size_t len;
    int col;
} Token;

/* One line split into whitespace-separated tokens. */
typedef struct Line {
    Token *tok;
    size_t n, cap;
    int number; /* 1-based; 0 at end of file */
} Line;

typedef struct Reader {
    const char *text, *p, *name;
    const char *end; /* the text's terminating NUL */
    int line; /* number of the line p points into */
    ntkc_error *err;
    Line cur;
} Reader;

static SrcPos pos_of(const Reader *r, int line, int col) { return (SrcPos){r->name, line, col}; }

static int push_token(Reader *r, Token t)
{
    if (r->cur.n == r->cur.cap) {
        size_t cap = r->cur.cap ? 2 * r->cur.cap : 64;
        Token *v = realloc(r->cur.tok, cap * sizeof *v);
        if (v == NULL) {
            err_internal(r->err, "out of memory reading %s", r->name);
            return -1;
        }
        r->cur.tok = v;
        r->cur.cap = cap;
    }
    r->cur.tok[r->cur.n++] = t;
    return 0;
}

/* Advances to the next non-blank line; cur.number = 0 at end of file. */
static int next_line(Reader *r)
{
    for (;;) {
        r->cur.n = 0;
        r->cur.number = 0;
        if (*r->p == '\0')
            return 0;
        const char *start = r->p;
        r->cur.number = r->line;
        while (*r->p != '\0' && *r->p != '\n') {
            if (*r->p == ' ' || *r->p == '\t' || *r->p == '\r') {
                r->p++;
                continue;
            }
            const char *t = r->p;
            while (*r->p != '\0' && *r->p != '\n' && *r->p != ' ' && *r->p != '\t' && *r->p != '\r')
                r->p++;
            if (push_token(r, (Token){t, (size_t)(r->p - t), (int)(t - start) + 1}) != 0)
                return -1;
        }
        if (*r->p == '\n')
            r->p++;
        r->line++;
        if (r->cur.n > 0)
            return 0;
    }
}

/* Token t as a C string: in buf when it fits, else malloc'd (NULL when out of
 * memory): a number is read whatever its length (leading zeros, long fractions). */
static char *token_text(const Token *t, char *buf, size_t cap)
{
    char *s = t->len < cap ? buf : malloc(t->len + 1);
    if (s != NULL) {
        memcpy(s, t->s, t->len);
        s[t->len] = '\0';
    }
    return s;
}

/* At most 40 bytes of t for a message, escaped (a hostile file's control
 * bytes never reach the terminal), "..." when cut. */
static const char *shown_token(const Token *t, char *out, size_t cap)
{
    char raw[41];
    size_t n = t->len < 40 ? t->len : 40;
    memcpy(raw, t->s, n);
    raw[n] = '\0';
    diag_escape_name(out, cap, raw);
    if (t->len > n && strlen(out) + 4 <= cap)
        strcat(out, "...");
    return out;
}

/* A whole number in [lo, hi] from token t. */
static int token_long(Reader *r, const Token *t, const char *what, long long lo, long long hi, long long *out)
{
    char buf[64], shown[200];
    char *end, *text = token_text(t, buf, sizeof buf);
    if (text == NULL)
        goto bad;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    int junk = *end != '\0' || end == text;
    if (text != buf)
        free(text);
    if (junk || errno == ERANGE)
        goto bad;
    if (v < lo || v > hi) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s must be in [%lld, %lld], got %lld", what, lo, hi, v);
        err_at(r->err, pos_of(r, r->cur.number, t->col), r->text, "%s", msg);
        return -1;
    }
    *out = v;
    return 0;
bad:
    err_at(r->err, pos_of(r, r->cur.number, t->col), r->text, "expected %s (a whole number), got '%s'", what,
           shown_token(t, shown, sizeof shown));
    return -1;
}

static int token_double(Reader *r, const Token *t, const char *what, double *out)
{
    char buf[128], shown[200];
    char *end, *text = token_text(t, buf, sizeof buf);
    if (text != NULL) {
        double v = strtod(text, &end);
        int ok = *end == '\0' && end != text && isfinite(v);
        if (text != buf)
            free(text);
        if (ok) {
            *out = v;
            return 0;
        }
    }
    err_at(r->err, pos_of(r, r->cur.number, t->col), r->text, "expected %s (a finite number), got '%s'", what,
           shown_token(t, shown, sizeof shown));
    return -1;
}

/* ---- growing arrays ---------------------------------------------------- */

typedef struct Edge {
    unsigned u, v;
} Edge;

typedef struct Build {
    ntkc_graphs *g;
    size_t nodes, tag_cap, start_cap, feat_cap;
    long long *tags;    /* per node */
    double *feat;       /* per node × file_features, when the file has features */
    Edge *edges;        /* directed edges of the current graph, as listed */
    size_t nedges, edge_cap;
    size_t nbrs, nbr_cap;
    long long max_tag;
    long file_features; /* -1 until the first node decides */
    int features_line;  /* the line that decided it */
    size_t asym, dups, loops;
    int asym_line, dup_line, loop_line;
} Build;

static int grow(void **p, size_t *cap, size_t need, size_t size, ntkc_error *err)
{
    if (need <= *cap)
        return 0;
    size_t cap2 = *cap ? *cap : 64;
    while (cap2 < need)
        cap2 *= 2;
    void *q = realloc(*p, cap2 * size);
    if (q == NULL) {
        err_internal(err, "out of memory reading a graph file");
        return -1;
    }
    *p = q;
    *cap = cap2;
    return 0;
}

static int cmp_edge(const void *a, const void *b)
{
    const Edge *x = a, *y = b;
    if (x->u != y->u)
        return x->u < y->u ? -1 : 1;
    return x->v < y->v ? -1 : (x->v > y->v);
}

static void note(size_t *count, int *line, int at)
{
    if ((*count)++ == 0)
        *line = at;
}

/* Sorts the graph's listed edges, drops duplicates, adds missing reverse
 * directions, and appends the CSR rows of its n nodes starting at node base. */
static int finish_graph(Build *b, size_t base, size_t n, const int *edge_line, ntkc_error *err)
{
    size_t m = b->nedges;
    if (m > 1) /* edges is NULL in a file without any */
        qsort(b->edges, m, sizeof *b->edges, cmp_edge);
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        if (k > 0 && cmp_edge(&b->edges[k - 1], &b->edges[i]) == 0) {
            note(&b->dups, &b->dup_line, edge_line[b->edges[i].u]);
            continue;
        }
        b->edges[k++] = b->edges[i];
    }
    m = k;
    for (size_t i = 0; i < k; i++) {
        Edge rev = {b->edges[i].v, b->edges[i].u};
        if (bsearch(&rev, b->edges, k, sizeof rev, cmp_edge) != NULL)
            continue;
        note(&b->asym, &b->asym_line, edge_line[b->edges[i].u]);
        if (grow((void **)&b->edges, &b->edge_cap, m + 1, sizeof *b->edges, err) != 0)
            return -1;
        b->edges[m++] = rev;
    }
    if (m > 1)
        qsort(b->edges, m, sizeof *b->edges, cmp_edge);
    if (grow((void **)&b->g->nbr, &b->nbr_cap, b->nbrs + m + 1, sizeof *b->g->nbr, err) != 0)
        return -1;
    size_t e = 0;
    for (size_t u = 0; u < n; u++) {
        b->g->nbr_start[base + u] = b->nbrs;
        while (e < m && b->edges[e].u == u)
            b->g->nbr[b->nbrs++] = b->edges[e++].v;
    }
    b->g->nbr_start[base + n] = b->nbrs;
    b->nedges = 0;
    return 0;
}

/* ---- lines ------------------------------------------------------------- */

/* "tag k v1 .. vk [features]" for node u of an n-node graph. */
static int read_node(Reader *r, Build *b, size_t graph, size_t u, size_t n, size_t features)
{
    const Line *L = &r->cur;
    if (L->number == 0) {
        err_at(r->err, pos_of(r, r->line > 1 ? r->line - 1 : 1, 1), NULL,
                "the file ends inside graph %zu: expected node %zu of its %zu (a line 'tag k neighbours...')",
                graph + 1, u, n);
        return -1;
    }
    if (L->n < 2) {
        err_at(r->err, pos_of(r, L->number, 1), r->text,
                "expected 'tag k neighbours...' for node %zu of graph %zu, got one value", u, graph + 1);
        return -1;
    }
    long long tag, k;
    if (token_long(r, &L->tok[0], "a node tag", INT32_MIN, INT32_MAX, &tag) != 0 ||
        token_long(r, &L->tok[1], "the neighbour count k", 0, INT32_MAX, &k) != 0)
        return -1;
    if ((size_t)k > L->n - 2) {
        char what[96];
        snprintf(what, sizeof what, "node %zu of graph %zu declares", u, graph + 1);
        err_at(r->err, pos_of(r, L->number, L->tok[1].col), r->text,
                "%s %lld neighbours but only %zu values follow", what, k, L->n - 2);
        return -1;
    }
    if (grow((void **)&b->edges, &b->edge_cap, b->nedges + (size_t)k, sizeof *b->edges, r->err) != 0)
        return -1;
    for (long long i = 0; i < k; i++) {
        long long v;
        char what[160];
        snprintf(what, sizeof what, "a neighbour of node %zu (graph %zu has %zu nodes)", u, graph + 1, n);
        if (token_long(r, &L->tok[2 + i], what, 0, (long long)n - 1, &v) != 0)
            return -1;
        if ((size_t)v == u) {
            note(&b->loops, &b->loop_line, L->number);
            continue;
        }
        b->edges[b->nedges++] = (Edge){(unsigned)u, (unsigned)v};
    }
    size_t extra = L->n - 2 - (size_t)k;
    if (b->file_features < 0) {
        b->file_features = (long)extra;
        b->features_line = L->number;
    } else if ((size_t)b->file_features != extra) {
        err_at(r->err, pos_of(r, L->number, extra ? L->tok[2 + k].col : L->tok[L->n - 1].col), r->text,
                "node %zu of graph %zu has %zu feature values after its neighbours, but line %d has %ld: every "
                "node needs the same number",
                u, graph + 1, extra, b->features_line, b->file_features);
        return -1;
    }
    if (extra > 0 && features != 0 && extra != features) {
        err_at(r->err, pos_of(r, L->number, L->tok[2 + k].col), r->text,
                "node %zu of graph %zu has %zu feature values, but the net takes graph(%zu)", u, graph + 1, extra,
                features);
        return -1;
    }
    if (extra == 0 && (tag < 0 || (features != 0 && (size_t)tag >= features))) {
        if (features)
            err_at(r->err, pos_of(r, L->number, L->tok[0].col), r->text,
                    "tag %lld of node %zu is not below %zu: without feature values the node features are one-hot "
                    "in the tag, and the net takes graph(%zu)",
                    tag, u, features, features);
        else
            err_at(r->err, pos_of(r, L->number, L->tok[0].col), r->text,
                    "tag %lld of node %zu is negative: one-hot node features need tags >= 0", tag, u);
        return -1;
    }
    size_t node = b->nodes;
    if (grow((void **)&b->tags, &b->tag_cap, node + 1, sizeof *b->tags, r->err) != 0)
        return -1;
    b->tags[node] = tag;
    b->max_tag = tag > b->max_tag ? tag : b->max_tag;
    if (extra > 0) {
        if (grow((void **)&b->feat, &b->feat_cap, (node + 1) * extra, sizeof *b->feat, r->err) != 0)
            return -1;
        for (size_t f = 0; f < extra; f++)
            if (token_double(r, &L->tok[2 + k + f], "a node feature", &b->feat[node * extra + f]) != 0)
                return -1;
    }
    b->nodes++;
    return 0;
}

/* The graph header "n label", then its n node lines. */
static int read_graph(Reader *r, Build *b, size_t graph, size_t count, size_t features)
{
    const Line *L = &r->cur;
    if (L->number == 0) {
        err_at(r->err, pos_of(r, r->line > 1 ? r->line - 1 : 1, 1), NULL,
                "the file ends after %zu graphs, but its first line announces %zu", graph, count);
        return -1;
    }
    if (L->n != 2) {
        err_at(r->err, pos_of(r, L->number, 1), r->text,
                "expected the header 'n label' of graph %zu (node count and label), got %zu values", graph + 1,
                L->n);
        return -1;
    }
    long long n;
    /* Every node needs a line of at least two numbers, so a count beyond what
     * the rest of the file can hold is refused before anything is allocated. */
    long long most = (long long)((size_t)(r->end - r->p) / 2 + 1);
    if (token_long(r, &L->tok[0], "the node count", 1, INT32_MAX, &n) != 0 ||
        token_double(r, &L->tok[1], "the graph label", &b->g->labels[graph]) != 0)
        return -1;
    if (n > most) {
        err_at(r->err, pos_of(r, L->number, L->tok[0].col), r->text,
                "graph %zu announces %lld nodes, more than the rest of the file can hold", graph + 1, n);
        return -1;
    }
    size_t base = b->nodes;
    if (grow((void **)&b->g->nbr_start, &b->start_cap, base + (size_t)n + 1, sizeof *b->g->nbr_start, r->err) != 0)
        return -1;
    int *edge_line = malloc((size_t)n * sizeof *edge_line); /* line of each node */
    if (edge_line == NULL) {
        err_internal(r->err, "out of memory reading %s", r->name);
        return -1;
    }
    int rc = 0;
    for (size_t u = 0; u < (size_t)n && rc == 0; u++) {
        rc = next_line(r);
        edge_line[u] = r->cur.number;
        if (rc == 0)
            rc = read_node(r, b, graph, u, (size_t)n, features);
    }
    if (rc == 0)
        rc = finish_graph(b, base, (size_t)n, edge_line, r->err);
    free(edge_line);
    b->g->first[graph + 1] = b->nodes;
    return rc;
}

/* One-hot features from tags, or the features as read. */
enum { MAX_ONE_HOT = 1 << 20 };

static int set_features(Reader *r, Build *b, size_t features)
{
    ntkc_graphs *g = b->g;
    size_t F = b->file_features > 0 ? (size_t)b->file_features : features ? features : (size_t)b->max_tag + 1;
    g->features = F;
    if (b->file_features > 0) {
        g->x = b->feat;
        b->feat = NULL;
        return 0;
    }
    /* One-hot widths from the data: a tag in the billions is a broken file,
     * not a vocabulary (and would ask for terabytes). */
    if (features == 0 && F > MAX_ONE_HOT) {
        err_file(r->err, r->name, "tag %zu would make %zu one-hot features, more than %d: is the tag column right?", F - 1, F, MAX_ONE_HOT);
        return -1;
    }
    if (b->nodes > SIZE_MAX / sizeof(double) / F || (g->x = calloc(b->nodes * F, sizeof *g->x)) == NULL) {
        err_file(r->err, r->name, "one-hot features for %zu nodes × %zu tags do not fit in memory", b->nodes,
                  F);
        return -1;
    }
    for (size_t v = 0; v < b->nodes; v++)
        g->x[v * F + (size_t)b->tags[v]] = 1.0;
    return 0;
}

static void add_warnings(Reader *r, Build *b)
{
    StrBuf sb;
    sb_init(&sb);
    if (b->asym)
        sb_printf(&sb,
                  "%s:%d: warning: a neighbour is listed on one side only (%zu such edges in the file); the "
                  "adjacency was made symmetric\n",
                  r->name, b->asym_line, b->asym);
    if (b->loops)
        sb_printf(&sb,
                  "%s:%d: warning: a node lists itself as a neighbour (%zu in the file); ignored, use "
                  "aggregate(self_loops=true) for self-loops\n",
                  r->name, b->loop_line, b->loops);
    if (b->dups)
        sb_printf(&sb, "%s:%d: warning: a neighbour is listed twice (%zu in the file); counted once\n", r->name,
                  b->dup_line, b->dups);
    b->g->warnings = sb.len ? sb_take(&sb) : NULL;
    sb_free(&sb);
}

static int parse(Reader *r, Build *b, size_t features)
{
    if (next_line(r) != 0)
        return -1;
    if (r->cur.number == 0) {
        err_file(r->err, r->name, "the file is empty; expected the number of graphs on its first line");
        return -1;
    }
    long long count;
    if (r->cur.n != 1) {
        err_at(r->err, pos_of(r, r->cur.number, r->cur.tok[1].col), r->text,
                "expected only the number of graphs on the first line, got %zu values", r->cur.n);
        return -1;
    }
    /* Each graph needs at least a header line: bound the count by the file. */
    long long most = (long long)((size_t)(r->end - r->p) / 2 + 1);
    if (token_long(r, &r->cur.tok[0], "the number of graphs", 1, INT32_MAX, &count) != 0)
        return -1;
    if (count > most) {
        err_at(r->err, pos_of(r, r->cur.number, r->cur.tok[0].col), r->text,
                "the first line announces %lld graphs, more than the rest of the file can hold", count);
        return -1;
    }
    int count_line = r->cur.number;
    ntkc_graphs *g = b->g;
    g->count = (size_t)count;
    if ((g->first = calloc((size_t)count + 1, sizeof *g->first)) == NULL ||
        (g->labels = calloc((size_t)count, sizeof *g->labels)) == NULL) {
        err_internal(r->err, "out of memory for %lld graphs", count);
        return -1;
    }
    for (size_t i = 0; i < (size_t)count; i++)
        if (next_line(r) != 0 || read_graph(r, b, i, (size_t)count, features) != 0)
            return -1;
    if (next_line(r) != 0)
        return -1;
    if (r->cur.number != 0) {
        err_at(r->err, pos_of(r, r->cur.number, 1), r->text,
                "unexpected content after the %lld graphs announced on line %d", count, count_line);
        return -1;
    }
    if (set_features(r, b, features) != 0)
        return -1;
    add_warnings(r, b);
    return 0;
}

ntkc_graphs *graph_data_parse(const char *text, const char *name, size_t features, ntkc_error *err)
{
    Reader r = {.text = text, .p = text, .end = text + strlen(text), .name = name ? name : "<graphs>", .line = 1,
                .err = err};
    ntkc_graphs *g = calloc(1, sizeof *g);
    Build b = {.g = g, .file_features = -1};
    int rc = g ? parse(&r, &b, features) : (err_internal(err, "out of memory"), -1);
    free(r.cur.tok);
    free(b.tags);
    free(b.feat);
    free(b.edges);
    if (rc != 0) {
        ntkc_graphs_free(g);
        return NULL;
    }
    return g;
}

void ntkc_graphs_free(ntkc_graphs *g)
{
    if (g == NULL)
        return;
    free(g->first);
    free(g->x);
    free(g->nbr_start);
    free(g->nbr);
    free(g->labels);
    free(g->warnings);
    free(g);
}
