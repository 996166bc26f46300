/* Graph kernel engine (see graph_kernel.h). One pair of graphs is one run of
 * the plan on n₁×n₂ buffers owned by the thread; each graph's own run (the
 * "prep") comes first and records the per-node variances every activation
 * needs, so a pair never recomputes a diagonal. */
#include "graph_kernel.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_abi.h"
#include "graph_agg.h"
#include "ntkc_err.h"

enum { NVARIANTS = 4, ROW_CHUNK = 32, BLAS_GRAM_FEATURES = 32 };

typedef struct Plan {
    const NtkcGraphFns *f;
    size_t features;
    int raw, mean, jk;
    int used[NVARIANTS]; /* aggregation variants (2·degree + self_loops) the plan uses */
} Plan;

typedef struct GInfo {
    size_t n;
    const double *x;  /* n × F */
    double *xt;       /* F × n */
    AggOp agg[NVARIANTS];
    double *var;  /* nvar × n, slot-major */
    double *gvar; /* nvar: variances after the readout */
} GInfo;

typedef struct GSet {
    const ntkc_graphs *g;
    GInfo *info;
    double *store; /* every var and gvar, then every xt */
    size_t maxn;
} GSet;

/* Node-pair buffers of one thread: Σ, Θ and aggregation scratch for each. */
typedef struct Work {
    double *s, *t, *s2, *t2;
} Work;

/* ---- the plan ---------------------------------------------------------- */

static int read_plan(const NtkcGraphFns *f, Plan *p, ntkc_error *err)
{
    memset(p, 0, sizeof *p);
    p->f = f;
    const int *op = f->plan();
    if (op[0] != NTKC_GOP_INPUT) {
        err_internal(err, "graph plan does not start with its input");
        return err->code;
    }
    p->features = (size_t)op[1];
    p->raw = op[2];
    int readouts = 0, next_seg = 0;
    for (op += 3; op[0] != NTKC_GOP_END; op += 3) {
        if (op[0] == NTKC_GOP_AGG && readouts == 0 && op[1] >= 0 && op[1] <= 1 && op[2] >= 0 && op[2] <= 1) {
            p->used[2 * op[1] + op[2]] = 1;
        } else if (op[0] == NTKC_GOP_READOUT && readouts++ == 0) {
            p->mean = op[1];
            p->jk = op[2];
        } else if (!(op[0] == NTKC_GOP_SEG && op[1] == next_seg++)) {
            err_internal(err, "graph plan: unexpected step %d (%d, %d)", op[0], op[1], op[2]);
            return err->code;
        }
    }
    if (readouts != 1) {
        err_internal(err, "graph plan has %d readouts", readouts);
        return err->code;
    }
    return NTKC_OK;
}

/* ---- one pair ---------------------------------------------------------- */

/* s = X₁X₂ᵀ (/F unless raw), n1×n2: rows of b's transposed features added
 * for every non-zero feature of a node of a (one per node when one-hot). */
static void input_gram(const Plan *p, const GInfo *a, const GInfo *b, double *s)
{
    size_t F = p->features, n2 = b->n;
    double scale = p->raw ? 1.0 : 1.0 / (double)F;
    if (F >= BLAS_GRAM_FEATURES) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)a->n, (int)n2, (int)F, scale, a->x, (int)F, b->x,
                    (int)F, 0.0, s, (int)n2);
        return;
    }
    memset(s, 0, a->n * n2 * sizeof *s);
    for (size_t u = 0; u < a->n; u++)
        for (size_t k = 0; k < F; k++) {
            double xk = a->x[u * F + k] * scale;
            if (xk == 0.0)
                continue;
            const double *col = b->xt + k * n2;
            for (size_t v = 0; v < n2; v++)
                s[u * n2 + v] += xk * col[v];
        }
}

static double pool(const Plan *p, const double *s, size_t count)
{
    double acc[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= count; i += 4)
        for (int k = 0; k < 4; k++)
            acc[k] += s[i + k];
    for (; i < count; i++)
        acc[0] += s[i];
    double sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    return p->mean ? sum / (double)count : sum;
}

/* Runs the plan on (a, b) and returns Σ and Θ of the pair. With prep (a == b)
 * it first records the variances each segment's activations need in a. */
static void run_pair(const Plan *p, GInfo *a, const GInfo *b, Work *w, int prep, double *out_s, double *out_t)
{
    const NtkcGraphFns *f = p->f;
    size_t n1 = a->n, n2 = b->n, count = n1 * n2;
    double *x[2] = {w->s, w->t}, *tmp[2] = {w->s2, w->t2};
    input_gram(p, a, b, x[0]);
    memset(x[1], 0, count * sizeof *x[1]);
    int t_zero = 1; /* Θ = 0 until the first dense layer: its aggregation is skipped */
    double acc_s = 0, acc_t = 0, gs = 0, gt = 0;
    /* Aggregation leaves the matrices transposed (graph_agg.h): rows are then b's nodes. */
    int pooled = 0, flipped = 0;
    for (const int *op = f->plan() + 3; op[0] != NTKC_GOP_END; op += 3) {
        switch (op[0]) {
        case NTKC_GOP_SEG:
            if (!pooled) {
                if (prep)
                    f->seg_diag(op[1], n1, x[0], n1 + 1, a->var);
                if (flipped)
                    f->seg(op[1], n2, n1, b->var, a->var, x[0], x[1], n1);
                else
                    f->seg(op[1], n1, n2, a->var, b->var, x[0], x[1], n2);
                t_zero = 0;
            } else {
                if (prep)
                    f->seg_diag(op[1], 1, &gs, 1, a->gvar);
                f->seg(op[1], 1, 1, a->gvar, b->gvar, &gs, &gt, 1);
            }
            break;
        case NTKC_GOP_AGG: {
            if (p->jk) {
                acc_s += pool(p, x[0], count);
                acc_t += t_zero ? 0.0 : pool(p, x[1], count);
            }
            int v = 2 * op[1] + op[2];
            const AggOp *rows = flipped ? &b->agg[v] : &a->agg[v], *cols = flipped ? &a->agg[v] : &b->agg[v];
            agg_apply(rows, cols, t_zero ? 1 : 2, x, tmp);
            flipped = !flipped;
            break;
        }
        case NTKC_GOP_READOUT:
            gs = pool(p, x[0], count) + acc_s;
            gt = pool(p, x[1], count) + acc_t;
            pooled = 1;
            break;
        default:
            break;
        }
    }
    *out_s = gs;
    *out_t = gt;
}

/* ---- per-graph data ---------------------------------------------------- */

static int work_alloc(Work *w, size_t n1, size_t n2)
{
    size_t count = n1 * n2 != 0 ? n1 * n2 : 1;
    w->s = malloc(count * sizeof *w->s);
    w->t = malloc(count * sizeof *w->t);
    w->s2 = malloc(count * sizeof *w->s2);
    w->t2 = malloc(count * sizeof *w->t2);
    return w->s && w->t && w->s2 && w->t2 ? 0 : -1;
}

static void work_free(Work *w)
{
    free(w->s);
    free(w->t);
    free(w->s2);
    free(w->t2);
}

static void gset_free(GSet *set)
{
    if (set->info != NULL)
        for (size_t i = 0; i < set->g->count; i++)
            for (int v = 0; v < NVARIANTS; v++)
                agg_free(&set->info[i].agg[v]);
    free(set->info);
    free(set->store);
}

/* Lays out g's graphs, builds their aggregation operators and runs each
 * graph's prep in parallel. */
static int gset_init(GSet *set, const Plan *p, const ntkc_graphs *g, GraphAggMode mode, int threads,
                     ntkc_error *err)
{
    memset(set, 0, sizeof *set);
    set->g = g;
    size_t nvar = p->f->nvar(), nodes = g->first[g->count];
    set->info = calloc(g->count, sizeof *set->info);
    set->store = malloc(((nodes + g->count) * nvar + nodes * g->features) * sizeof *set->store);
    if (set->info == NULL || set->store == NULL) {
        err_internal(err, "out of memory for %zu graphs", g->count);
        return err->code;
    }
    for (size_t i = 0; i < g->count; i++) {
        GInfo *gi = &set->info[i];
        gi->n = g->first[i + 1] - g->first[i];
        gi->x = g->x + g->first[i] * g->features;
        gi->var = set->store + g->first[i] * nvar;
        gi->gvar = set->store + nodes * nvar + i * nvar;
        gi->xt = set->store + (nodes + g->count) * nvar + g->first[i] * g->features;
        for (size_t u = 0; u < gi->n; u++)
            for (size_t k = 0; k < g->features; k++)
                gi->xt[k * gi->n + u] = gi->x[u * g->features + k];
        set->maxn = gi->n > set->maxn ? gi->n : set->maxn;
        for (int v = 0; v < NVARIANTS; v++)
            if (p->used[v] && agg_build(&gi->agg[v], g, i, v / 2, v % 2, mode, err) != NTKC_OK)
                return err->code;
    }
    int failed = 0;
#pragma omp parallel num_threads(threads) reduction(| : failed)
    {
        Work w;
        if (work_alloc(&w, set->maxn, set->maxn) != 0) {
            failed = 1;
        } else {
#pragma omp for schedule(dynamic, 8)
            for (size_t i = 0; i < g->count; i++) {
                double s, t;
                run_pair(p, &set->info[i], &set->info[i], &w, 1, &s, &t);
            }
        }
        work_free(&w);
    }
    if (failed) {
        err_internal(err, "out of memory for graphs of %zu nodes", set->maxn);
        return err->code;
    }
    return NTKC_OK;
}

/* ---- all pairs --------------------------------------------------------- */

typedef struct Pairs {
    const Plan *p;
    GSet *a, *b;
    int symmetric, threads;
    double *nngp, *ntk;
} Pairs;

/* Rows [i0, i1) of the output (columns from the row on when symmetric);
 * returns how many entries are not finite. */
static size_t run_rows(const Pairs *P, size_t i0, size_t i1, int *oom)
{
    size_t n2 = P->b->g->count, bad = 0;
    int failed = 0;
#pragma omp parallel num_threads(P->threads) reduction(+ : bad) reduction(| : failed)
    {
        Work w;
        if (work_alloc(&w, P->a->maxn, P->b->maxn) != 0) {
            failed = 1;
        } else {
#pragma omp for schedule(dynamic, 1)
            for (size_t i = i0; i < i1; i++)
                for (size_t j = P->symmetric ? i : 0; j < n2; j++) {
                    double s, t;
                    run_pair(P->p, &P->a->info[i], &P->b->info[j], &w, 0, &s, &t);
                    bad += !isfinite(s) || !isfinite(t);
                    if (P->nngp)
                        P->nngp[i * n2 + j] = s;
                    if (P->ntk)
                        P->ntk[i * n2 + j] = t;
                }
        }
        work_free(&w);
    }
    *oom = failed;
    return bad;
}

static void report_non_finite(const Pairs *P, size_t i0, size_t i1, ntkc_error *err)
{
    size_t n2 = P->b->g->count;
    for (size_t i = i0; i < i1; i++)
        for (size_t j = P->symmetric ? i : 0; j < n2; j++) {
            double s = P->nngp ? P->nngp[i * n2 + j] : 0, t = P->ntk ? P->ntk[i * n2 + j] : 0;
            if (!isfinite(s) || !isfinite(t)) {
                err_user(err,
                          "the kernel is not finite between graph %zu and graph %zu (NNGP %g, NTK %g): the "
                          "variances overflow through the layers, or leave the range in which a formula "
                          "activation's quadrature meets its error target (`ntkc derive` shows it); lower "
                          "w_std or the depth, use "
                          "aggregate(scale=degree), or scale the features",
                          i, j, s, t);
                return;
            }
        }
}

static void mirror(double *k, size_t n)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            k[i * n + j] = k[j * n + i];
}

static int run_all(const Pairs *P, const ntkc_eval_options *opts, ntkc_error *err)
{
    size_t n1 = P->a->g->count, n2 = P->b->g->count;
    size_t total = P->symmetric ? n1 * (n1 + 1) / 2 : n1 * n2, done = 0;
    for (size_t i0 = 0; i0 < n1; i0 += ROW_CHUNK) {
        size_t i1 = n1 - i0 < ROW_CHUNK ? n1 : i0 + ROW_CHUNK;
        int oom;
        if (run_rows(P, i0, i1, &oom) != 0) {
            report_non_finite(P, i0, i1, err);
            return err->code;
        }
        if (oom) {
            err_internal(err, "out of memory for the node-pair buffers");
            return err->code;
        }
        for (size_t i = i0; i < i1; i++)
            done += P->symmetric ? n2 - i : n2;
        if (opts && opts->progress && opts->progress(opts->progress_ctx, done, total) != 0) {
            err_user(err, "cancelled");
            return err->code;
        }
    }
    if (P->symmetric) {
        mirror(P->nngp, n1);
        mirror(P->ntk, n1);
    }
    return NTKC_OK;
}

static int check_set(const Plan *p, const ntkc_graphs *g, const char *which, ntkc_error *err)
{
    if (g == NULL || g->count == 0) {
        err_user(err, "the %s graph set is empty", which);
        return err->code;
    }
    if (g->features != p->features) {
        err_user(err, "the %s graph set has %zu node features, the net takes graph(%zu)", which, g->features,
                  p->features);
        return err->code;
    }
    return NTKC_OK;
}

int graph_kernel(const NtkcGraphFns *fns, const ntkc_graphs *g1, const ntkc_graphs *g2, double *nngp, double *ntk,
                 const ntkc_eval_options *opts, GraphAggMode mode, ntkc_error *err)
{
    Plan p;
    if (read_plan(fns, &p, err) != NTKC_OK || check_set(&p, g1, "first", err) != NTKC_OK ||
        (g2 && check_set(&p, g2, "second", err) != NTKC_OK))
        return err->code;
    if (nngp == NULL && ntk == NULL)
        return NTKC_OK;
    int threads = opts && opts->threads > 0 ? opts->threads : omp_get_max_threads();
    GSet a = {0}, b = {0};
    int rc = gset_init(&a, &p, g1, mode, threads, err);
    if (rc == NTKC_OK && g2 != NULL)
        rc = gset_init(&b, &p, g2, mode, threads, err);
    if (rc == NTKC_OK) {
        Pairs P = {.p = &p, .a = &a, .b = g2 ? &b : &a, .symmetric = g2 == NULL, .threads = threads,
                   .nngp = nngp, .ntk = ntk};
        rc = run_all(&P, opts, err);
    }
    if (g2 != NULL && b.g != NULL)
        gset_free(&b);
    gset_free(&a);
    return rc;
}

/* ---- one block at a time (graph_kernel.h) ------------------------------ */

struct GraphTiles {
    Plan p;
    GSet a, b;
    int symmetric;
};

int graph_tiles_open(const NtkcGraphFns *fns, const ntkc_graphs *g1, const ntkc_graphs *g2, int threads,
                     GraphTiles **out, ntkc_error *err)
{
    *out = NULL;
    GraphTiles *G = calloc(1, sizeof *G);
    if (G == NULL) {
        err_internal(err, "out of memory");
        return err->code;
    }
    int rc = read_plan(fns, &G->p, err);
    if (rc == NTKC_OK)
        rc = check_set(&G->p, g1, "first", err);
    if (rc == NTKC_OK && g2)
        rc = check_set(&G->p, g2, "second", err);
    if (rc == NTKC_OK)
        rc = gset_init(&G->a, &G->p, g1, GRAPH_AGG_AUTO, threads, err);
    if (rc == NTKC_OK && g2)
        rc = gset_init(&G->b, &G->p, g2, GRAPH_AGG_AUTO, threads, err);
    G->symmetric = g2 == NULL;
    if (rc != NTKC_OK) {
        graph_tiles_close(G);
        return rc;
    }
    *out = G;
    return NTKC_OK;
}

int graph_tiles_run(const GraphTiles *G, size_t i0, size_t r, size_t j0, size_t c, int upper, double *nngp,
                    double *ntk, size_t ld, ntkc_error *err)
{
    const GSet *b = G->symmetric ? &G->a : &G->b;
    Work w;
    if (work_alloc(&w, G->a.maxn, b->maxn) != 0) {
        work_free(&w);
        err_internal(err, "out of memory for the node-pair buffers");
        return err->code;
    }
    int rc = NTKC_OK;
    for (size_t i = 0; i < r && rc == NTKC_OK; i++)
        for (size_t j = upper ? i : 0; j < c; j++) {
            double s, t;
            run_pair(&G->p, &G->a.info[i0 + i], &b->info[j0 + j], &w, 0, &s, &t);
            if (nngp)
                nngp[i * ld + j] = s;
            if (ntk)
                ntk[i * ld + j] = t;
            if (!isfinite(s) || !isfinite(t)) {
                err_user(err,
                          "the kernel is not finite between graph %zu and graph %zu (NNGP %g, NTK %g): the "
                          "variances overflow through the layers, or leave the range in which a formula "
                          "activation's quadrature meets its error target (`ntkc derive` shows it); lower "
                          "w_std or the depth, use "
                          "aggregate(scale=degree), or scale the features",
                          i0 + i, j0 + j, s, t);
                rc = err->code;
                break;
            }
        }
    work_free(&w);
    return rc;
}

void graph_tiles_close(GraphTiles *G)
{
    if (G == NULL)
        return;
    if (G->b.g != NULL)
        gset_free(&G->b);
    if (G->a.g != NULL)
        gset_free(&G->a);
    free(G);
}
