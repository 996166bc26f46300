#include "graph_testutil.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(GraphText *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (t->buf && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = t->cap * 2 + (size_t)n + 64;
        t->buf = realloc(t->buf, t->cap);
        cr_assert_not_null(t->buf);
    }
}

void gt_add(GraphText *t, size_t n, const unsigned (*edges)[2], size_t nedges, const int *tags, int label)
{
    put(t, "%zu %d\n", n, label);
    for (size_t u = 0; u < n; u++) {
        size_t k = 0;
        for (size_t e = 0; e < nedges; e++)
            k += (edges[e][0] == u) + (edges[e][1] == u);
        put(t, "%d %zu", tags ? tags[u] : 0, k);
        for (size_t e = 0; e < nedges; e++) {
            if (edges[e][0] == u)
                put(t, " %u", edges[e][1]);
            if (edges[e][1] == u)
                put(t, " %u", edges[e][0]);
        }
        put(t, "\n");
    }
    t->count++;
}

unsigned gt_next(Rand *r, unsigned bound)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (unsigned)((r->s >> 11) % bound);
}

void gt_add_cycles_paths_stars(GraphText *t, Rand *r, size_t count, int *labels)
{
    size_t *order = malloc(count * sizeof *order);
    cr_assert_not_null(order);
    for (size_t i = 0; i < count; i++)
        order[i] = i;
    for (size_t i = count - 1; i > 0 && count > 0; i--) { /* shuffle so train and test mix the classes */
        size_t j = gt_next(r, (unsigned)(i + 1)), tmp = order[i];
        order[i] = order[j], order[j] = tmp;
    }
    for (size_t k = 0; k < count; k++) {
        size_t i = order[k], cls = i % 3, n = 8 + gt_next(r, 13), m = 0;
        unsigned e[20][2];
        for (size_t u = 1; u < n; u++)
            e[m][0] = cls == 2 ? 0 : (unsigned)(u - 1), e[m++][1] = (unsigned)u;
        if (cls == 0)
            e[m][0] = (unsigned)(n - 1), e[m++][1] = 0;
        gt_add(t, n, (const unsigned(*)[2])e, m, NULL, (int)cls);
        labels[k] = (int)cls;
    }
    free(order);
}

char *gt_finish(GraphText *t)
{
    char head[32];
    int h = snprintf(head, sizeof head, "%zu\n", t->count);
    char *out = malloc((size_t)h + t->len + 1);
    cr_assert_not_null(out);
    memcpy(out, head, (size_t)h);
    memcpy(out + h, t->buf ? t->buf : "", t->len);
    out[(size_t)h + t->len] = '\0';
    free(t->buf);
    memset(t, 0, sizeof *t);
    return out;
}

ntkc_graphs *graphs_or_fail(const char *text, size_t features)
{
    ntkc_error err = {0};
    ntkc_graphs *g = ntkc_graphs_parse(text, "test-graphs.txt", features, &err);
    cr_assert_not_null(g, "graph parse failed: %s", err.message);
    return g;
}
