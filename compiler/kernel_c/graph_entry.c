/* Kernel-time C: the standalone entry of a graph net. Every emitted graph
 * kernel carries this text after its plan and segment functions, and its
 * ntkcnet_NAME(g1, g2, nngp, ntk) calls ntkc_graph_kernel with them. It runs
 * the plan (compiler/abi/kernel_abi.h) as runtime/engine/graph_kernel.c
 * does, in the same order of operations for graphs aggregated through
 * sparse row sums — input Gram, aggregation leaving the matrices transposed,
 * pooling in four partial sums — but in plain C99 on one core, with no BLAS:
 * the engine's speed comes from what a vendored file cannot assume (BLAS
 * dgemm for dense graphs, OpenMP, per-graph operators built once, row sums
 * compiled for AVX2); docs/architecture.md, "Graph nets". tests/test_emit_c.c
 * checks the two agree. Compiled on its own as a check (NTKC_KERNEL_CHECK).
 * Its float32 twin (`--precision single`, graph_entry_f.c) is made by
 * kernel_c/float.sed; what stays float64 there has the type ntkc_gwide: the
 * input Gram's dot products and the readout's sums over node pairs. */
#ifdef NTKC_KERNEL_CHECK
#include <stddef.h>
void *malloc(size_t);
void free(void *);
#endif
/* @text kernel_graph_set_type */
#ifndef NTKC_GRAPH_SET_DEFINED
#define NTKC_GRAPH_SET_DEFINED
/* A set of graphs: count graphs of first[i + 1] - first[i] nodes each, node
 * features x (first[count] rows of `features` values, row-major), and the
 * undirected adjacency as CSR over all nodes: node u's neighbours are
 * nbr[nbr_start[u] .. nbr_start[u + 1] - 1], indices within u's own graph,
 * sorted, u itself excluded, every edge listed on both sides. */
struct ntkc_graph_set {
    size_t count, features;
    const size_t *first;
    const double *x;
    const size_t *nbr_start;
    const unsigned *nbr;
};
#endif
/* @end */
#ifdef NTKC_KERNEL_CHECK
int ntkc_graph_check_entry(const struct ntkc_graph_set *g1, double *nngp);
#endif
/* @text kernel_graph_entry */
/* the plan's opcodes (compiler/abi/kernel_abi.h) */
typedef double ntkc_gwide; /* float64 in both twins: sums over features and node pairs */
#ifndef NTKC_GOP_DEFINED
#define NTKC_GOP_DEFINED
enum { NTKC_GOP_END = 0, NTKC_GOP_INPUT = 1, NTKC_GOP_SEG = 2, NTKC_GOP_AGG = 3, NTKC_GOP_READOUT = 4 };
#endif

typedef void (*ntkc_gseg_fn)(int k, size_t n1, size_t n2, const double *var1, const double *var2, double *s,
                             double *t, size_t ld);
typedef void (*ntkc_gsegd_fn)(int k, size_t n, const double *d, size_t ldd, double *var);

/* One graph net's generated part, and the state of one graph. */
struct ntkc_gnet {
    const int *plan;
    size_t nvar;
    ntkc_gseg_fn seg;
    ntkc_gsegd_fn segd;
};

struct ntkc_ginfo {
    size_t n;
    const double *x;
    const size_t *nbr_start; /* the graph's own rows of the set's CSR */
    const unsigned *nbr;
    double *var, *gvar; /* nvar × n slot-major; nvar after the readout */
};

/* Â's row u (self-loop slotted in order) summed over rows of in (cols wide). */
static void ntkc_gsum_rows(const struct ntkc_ginfo *g, int self, const double *in, size_t cols, double *out)
{
    for (size_t u = 0; u < g->n; u++) {
        const unsigned *nb = g->nbr + g->nbr_start[u];
        size_t deg = g->nbr_start[u + 1] - g->nbr_start[u];
        for (size_t j = 0; j < cols; j++) {
            double a = 0;
            int self_done = !self;
            for (size_t k = 0; k <= deg; k++) {
                if (!self_done && (k == deg || nb[k] > u)) {
                    a += in[u * cols + j];
                    self_done = 1;
                }
                if (k < deg)
                    a += in[(size_t)nb[k] * cols + j];
            }
            out[u * cols + j] = a;
        }
    }
}

/* 1/deg of Â's row u, 0 for an empty row. */
static double ntkc_ginv_deg(const struct ntkc_ginfo *g, int self, size_t u)
{
    size_t row = g->nbr_start[u + 1] - g->nbr_start[u] + (self ? 1 : 0);
    return row > 0 ? 1.0 / (double)row : 0.0;
}

/* x (a->n × b->n) ← (C ∘ Â_a x Â_bᵀ)ᵀ (b->n × a->n); tmp: scratch as large. */
static void ntkc_gaggregate(const struct ntkc_ginfo *a, const struct ntkc_ginfo *b, int degree, int self, double *x,
                            double *tmp)
{
    size_t na = a->n, nb = b->n;
    ntkc_gsum_rows(a, self, x, nb, tmp);
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            x[j * na + i] = tmp[i * nb + j];
    ntkc_gsum_rows(b, self, x, na, tmp);
    for (size_t v = 0; v < nb; v++)
        for (size_t u = 0; u < na; u++)
            x[v * na + u] = degree ? tmp[v * na + u] * (ntkc_ginv_deg(b, self, v) * ntkc_ginv_deg(a, self, u))
                                   : tmp[v * na + u];
}

static ntkc_gwide ntkc_gpool(int mean, const double *s, size_t count)
{
    ntkc_gwide acc[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= count; i += 4)
        for (int k = 0; k < 4; k++)
            acc[k] += s[i + k];
    for (; i < count; i++)
        acc[0] += s[i];
    ntkc_gwide sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    return mean ? sum / (ntkc_gwide)count : sum;
}

/* The plan on the pair (a, b); prep (a == b) records a's variances first.
 * w: four buffers of a->n × b->n doubles; wg: one of as many ntkc_gwide. */
static void ntkc_gpair(const struct ntkc_gnet *net, struct ntkc_ginfo *a, const struct ntkc_ginfo *b, int prep,
                       double *const w[4], ntkc_gwide *wg, double *out_s, double *out_t)
{
    const int *op = net->plan;
    size_t F = (size_t)op[1], n1 = a->n, n2 = b->n, count = n1 * n2;
    ntkc_gwide scale = op[2] ? 1.0 : 1.0 / (ntkc_gwide)F, acc_s = 0, acc_t = 0;
    double gs = 0, gt = 0;
    double *s = w[0], *t = w[1];
    int mean = 0, jk = 0, pooled = 0, flipped = 0, t_zero = 1;
    for (const int *q = op + 3; q[0] != NTKC_GOP_END; q += 3)
        if (q[0] == NTKC_GOP_READOUT)
            mean = q[1], jk = q[2];
    for (size_t i = 0; i < count; i++)
        wg[i] = 0;
    for (size_t u = 0; u < n1; u++)
        for (size_t k = 0; k < F; k++) {
            ntkc_gwide xk = a->x[u * F + k] * scale;
            if (xk == 0)
                continue;
            for (size_t v = 0; v < n2; v++)
                wg[u * n2 + v] += xk * b->x[v * F + k];
        }
    for (size_t i = 0; i < count; i++)
        s[i] = (double)wg[i], t[i] = 0.0;
    for (op += 3; op[0] != NTKC_GOP_END; op += 3) {
        if (op[0] == NTKC_GOP_SEG && !pooled) {
            if (prep)
                net->segd(op[1], n1, s, n1 + 1, a->var);
            if (flipped)
                net->seg(op[1], n2, n1, b->var, a->var, s, t, n1);
            else
                net->seg(op[1], n1, n2, a->var, b->var, s, t, n2);
            t_zero = 0;
        } else if (op[0] == NTKC_GOP_SEG) {
            if (prep)
                net->segd(op[1], 1, &gs, 1, a->gvar);
            net->seg(op[1], 1, 1, a->gvar, b->gvar, &gs, &gt, 1);
        } else if (op[0] == NTKC_GOP_AGG) {
            if (jk) {
                acc_s += ntkc_gpool(mean, s, count);
                acc_t += t_zero ? 0.0 : ntkc_gpool(mean, t, count);
            }
            const struct ntkc_ginfo *rows = flipped ? b : a, *cols = flipped ? a : b;
            ntkc_gaggregate(rows, cols, op[1], op[2], s, w[2]);
            if (!t_zero)
                ntkc_gaggregate(rows, cols, op[1], op[2], t, w[2]);
            flipped = !flipped;
        } else if (op[0] == NTKC_GOP_READOUT) {
            gs = (double)(ntkc_gpool(mean, s, count) + acc_s);
            gt = (double)(ntkc_gpool(mean, t, count) + acc_t);
            pooled = 1;
        }
    }
    *out_s = gs;
    *out_t = gt;
}

/* 0 when set is well formed for F features; its graphs' states into info. */
static int ntkc_gset_open(const struct ntkc_graph_set *set, size_t F, size_t nvar, struct ntkc_ginfo *info,
                          double *store, size_t *maxn)
{
    if (set->features != F || set->first[0] != 0)
        return 1;
    size_t nodes = set->first[set->count];
    for (size_t i = 0; i < set->count; i++) {
        size_t lo = set->first[i], hi = set->first[i + 1];
        if (hi < lo || hi > nodes)
            return 1;
        for (size_t u = lo; u < hi; u++)
            for (size_t e = set->nbr_start[u]; e < set->nbr_start[u + 1]; e++)
                if (set->nbr[e] >= hi - lo || (e > set->nbr_start[u] && set->nbr[e] <= set->nbr[e - 1]) ||
                    set->nbr[e] == u - lo)
                    return 1;
        info[i].n = hi - lo;
        info[i].x = set->x + lo * F;
        info[i].nbr_start = set->nbr_start + lo;
        info[i].nbr = set->nbr;
        info[i].var = store + lo * nvar;
        info[i].gvar = store + nodes * nvar + i * nvar;
        *maxn = hi - lo > *maxn ? hi - lo : *maxn;
    }
    return 0;
}

/* Every graph's own run first (its variances), then every pair. */
static int ntkc_graph_kernel(const struct ntkc_gnet *net, const struct ntkc_graph_set *g1,
                             const struct ntkc_graph_set *g2, double *nngp, double *ntk)
{
    const struct ntkc_graph_set *set[2] = {g1, g2 ? g2 : g1};
    size_t F = (size_t)net->plan[1], maxn = 1, bad = 0;
    struct ntkc_ginfo *info[2] = {0, 0};
    double *store[2] = {0, 0}, *w[4] = {0, 0, 0, 0};
    ntkc_gwide *wg = 0;
    int rc = 0;
    if (g1 == 0 || g1->count == 0 || (g2 != 0 && g2->count == 0))
        return 1;
    for (int k = 0; k < (g2 ? 2 : 1) && rc == 0; k++) {
        size_t nodes = set[k]->first[set[k]->count];
        info[k] = malloc(set[k]->count * sizeof *info[k]);
        store[k] = malloc(((nodes + set[k]->count) * net->nvar + 1) * sizeof(double));
        if (info[k] == 0 || store[k] == 0)
            rc = 2;
        else if (ntkc_gset_open(set[k], F, net->nvar, info[k], store[k], &maxn) != 0)
            rc = 1;
    }
    for (int k = 0; k < 4 && rc == 0; k++)
        if ((w[k] = malloc(maxn * maxn * sizeof(double))) == 0)
            rc = 2;
    if (rc == 0 && (wg = malloc(maxn * maxn * sizeof(ntkc_gwide))) == 0)
        rc = 2;
    for (int k = 0; k < (g2 ? 2 : 1) && rc == 0; k++)
        for (size_t i = 0; i < set[k]->count; i++) {
            double s, t;
            ntkc_gpair(net, &info[k][i], &info[k][i], 1, w, wg, &s, &t);
        }
    if (!g2)
        info[1] = info[0];
    for (size_t i = 0; i < g1->count && rc == 0; i++)
        for (size_t j = g2 ? 0 : i; j < set[1]->count; j++) {
            double s, t;
            ntkc_gpair(net, &info[0][i], &info[1][j], 0, w, wg, &s, &t);
            bad += s - s != 0.0 || t - t != 0.0;
            size_t n2 = set[1]->count;
            if (nngp) {
                nngp[i * n2 + j] = s;
                if (!g2)
                    nngp[j * n2 + i] = s;
            }
            if (ntk) {
                ntk[i * n2 + j] = t;
                if (!g2)
                    ntk[j * n2 + i] = t;
            }
        }
    for (int k = 0; k < 4; k++)
        free(w[k]);
    free(wg);
    for (int k = 0; k < 2; k++) {
        free(store[k]);
        if (k == 0 || g2)
            free(info[k]);
    }
    return rc ? rc : bad ? 3 : 0;
}
/* @end */
#ifdef NTKC_KERNEL_CHECK
static void check_seg(int k, size_t n1, size_t n2, const double *var1, const double *var2, double *s, double *t,
                      size_t ld)
{
    (void)k, (void)n1, (void)n2, (void)var1, (void)var2, (void)s, (void)t, (void)ld;
}
static void check_segd(int k, size_t n, const double *d, size_t ldd, double *var)
{
    (void)k, (void)n, (void)d, (void)ldd, (void)var;
}
int ntkc_graph_check_entry(const struct ntkc_graph_set *g1, double *nngp)
{
    static const int plan[] = {NTKC_GOP_INPUT, 1, 0, NTKC_GOP_READOUT, 0, 0, NTKC_GOP_END, 0, 0};
    struct ntkc_gnet net = {plan, 1, check_seg, check_segd};
    return ntkc_graph_kernel(&net, g1, 0, nngp, 0);
}
#endif
