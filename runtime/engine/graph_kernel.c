/* Graph kernel engine (see graph_kernel.h). One pair of graphs is one run of
 * the plan on n₁×n₂ buffers owned by the thread; each graph's own run (the
 * "prep") comes first and records the per-node variances every activation
 * needs, so a pair never recomputes a diagonal. A float32 net (`--precision
 * single`) runs the same steps on float buffers (graph_typed.h, included
 * once per type); its kernels are widened exactly on the way out. */
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
    int single;          /* float32 segments, buffers and records */
} Plan;

typedef struct GInfo {
    size_t n;
    const double *x;  /* n × F */
    double *xt;       /* F × n */
    AggOp agg[NVARIANTS];
    void *var;  /* nvar × n, slot-major (double, or float when single) */
    void *gvar; /* nvar: variances after the readout */
} GInfo;

typedef struct GSet {
    const ntkc_graphs *g;
    GInfo *info;
    double *store; /* every xt */
    void *vars;    /* every var and gvar */
    size_t maxn;
} GSet;

/* Node-pair buffers of one thread: Σ, Θ and aggregation scratch for each
 * (double, or float when single), and the float64 input Gram of a float32
 * net. */
typedef struct Work {
    void *s, *t, *s2, *t2;
    double *g;
} Work;

/* The two outputs, double or float (either may be NULL). */
typedef struct Out {
    double *nngp, *ntk;
    float *nngp_f, *ntk_f;
} Out;

static void out_put(const Out *o, size_t at, double s, double t)
{
    if (o->nngp)
        o->nngp[at] = s;
    if (o->ntk)
        o->ntk[at] = t;
    if (o->nngp_f) /* a float32 net's entry, widened: exact */
        o->nngp_f[at] = (float)s;
    if (o->ntk_f)
        o->ntk_f[at] = (float)t;
}

static double out_nngp(const Out *o, size_t at)
{
    return o->nngp ? o->nngp[at] : o->nngp_f ? (double)o->nngp_f[at] : 0;
}

static double out_ntk(const Out *o, size_t at)
{
    return o->ntk ? o->ntk[at] : o->ntk_f ? (double)o->ntk_f[at] : 0;
}

static int out_none(const Out *o) { return !o->nngp && !o->ntk && !o->nngp_f && !o->ntk_f; }

/* ---- the plan ---------------------------------------------------------- */

static int read_plan(const NtkcGraphFns *f, int single, Plan *p, ntkc_error *err)
{
    memset(p, 0, sizeof *p);
    p->f = f;
    p->single = single;
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

/* The float32 input Gram: summed in float64 (w->g), rounded once. */
static void input_gram_f32(const Plan *p, const GInfo *a, const GInfo *b, Work *w, float *s)
{
    input_gram(p, a, b, w->g);
    for (size_t i = 0, count = a->n * b->n; i < count; i++)
        s[i] = (float)w->g[i];
}

typedef void (*GSegF64)(int k, size_t n1, size_t n2, const double *var1, const double *var2, double *s, double *t,
                        size_t ld);
typedef void (*GSegDiagF64)(int k, size_t n, const double *d, size_t ldd, double *var);

#define GRAPH_REAL double
#define GRAPH_FN(name) name##_f64
#define GRAPH_SEG GSegF64
#define GRAPH_SEGD GSegDiagF64
#define GRAPH_GRAM(p, a, b, w, s) input_gram(p, a, b, s)
#include "graph_typed.h"

#define GRAPH_REAL float
#define GRAPH_FN(name) name##_f32
#define GRAPH_SEG NtkcGSegF32
#define GRAPH_SEGD NtkcGSegDiagF32
#define GRAPH_GRAM(p, a, b, w, s) input_gram_f32(p, a, b, w, s)
#include "graph_typed.h"

static void run_pair(const Plan *p, GInfo *a, const GInfo *b, Work *w, int prep, double *out_s, double *out_t)
{
    if (p->single)
        run_pair_f32(p, a, b, w, prep, out_s, out_t);
    else
        run_pair_f64(p, a, b, w, prep, out_s, out_t);
}

/* ---- per-graph data ---------------------------------------------------- */

static int work_alloc(Work *w, size_t n1, size_t n2, int single)
{
    size_t count = n1 * n2 != 0 ? n1 * n2 : 1, esz = single ? sizeof(float) : sizeof(double);
    w->s = malloc(count * esz);
    w->t = malloc(count * esz);
    w->s2 = malloc(count * esz);
    w->t2 = malloc(count * esz);
    w->g = single ? malloc(count * sizeof *w->g) : NULL;
    return w->s && w->t && w->s2 && w->t2 && (w->g || !single) ? 0 : -1;
}

static void work_free(Work *w)
{
    free(w->s);
    free(w->t);
    free(w->s2);
    free(w->t2);
    free(w->g);
}

static void gset_free(GSet *set)
{
    if (set->info != NULL)
        for (size_t i = 0; i < set->g->count; i++)
            for (int v = 0; v < NVARIANTS; v++)
                agg_free(&set->info[i].agg[v]);
    free(set->info);
    free(set->store);
    free(set->vars);
}

/* Lays out g's graphs, builds their aggregation operators and runs each
 * graph's prep in parallel. */
static int gset_init(GSet *set, const Plan *p, const ntkc_graphs *g, GraphAggMode mode, int threads,
                     ntkc_error *err)
{
    memset(set, 0, sizeof *set);
    set->g = g;
    size_t nvar = p->f->nvar(), nodes = g->first[g->count], esz = p->single ? sizeof(float) : sizeof(double);
    set->info = calloc(g->count, sizeof *set->info);
    set->store = malloc((nodes * g->features + 1) * sizeof *set->store);
    set->vars = malloc((nodes + g->count) * nvar * esz);
    if (set->info == NULL || set->store == NULL || set->vars == NULL) {
        err_internal(err, "out of memory for %zu graphs", g->count);
        return err->code;
    }
    for (size_t i = 0; i < g->count; i++) {
        GInfo *gi = &set->info[i];
        gi->n = g->first[i + 1] - g->first[i];
        gi->x = g->x + g->first[i] * g->features;
        gi->var = (char *)set->vars + g->first[i] * nvar * esz;
        gi->gvar = (char *)set->vars + (nodes + i) * nvar * esz;
        gi->xt = set->store + g->first[i] * g->features;
        for (size_t u = 0; u < gi->n; u++)
            for (size_t k = 0; k < g->features; k++)
                gi->xt[k * gi->n + u] = gi->x[u * g->features + k];
        set->maxn = gi->n > set->maxn ? gi->n : set->maxn;
        for (int v = 0; v < NVARIANTS; v++)
            if (p->used[v] && agg_build(&gi->agg[v], g, i, v / 2, v % 2, mode, p->single, err) != NTKC_OK)
                return err->code;
    }
    int failed = 0;
#pragma omp parallel num_threads(threads) reduction(| : failed)
    {
        Work w;
        if (work_alloc(&w, set->maxn, set->maxn, p->single) != 0) {
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
    Out out;
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
        if (work_alloc(&w, P->a->maxn, P->b->maxn, P->p->single) != 0) {
            failed = 1;
        } else {
#pragma omp for schedule(dynamic, 1)
            for (size_t i = i0; i < i1; i++)
                for (size_t j = P->symmetric ? i : 0; j < n2; j++) {
                    double s, t;
                    run_pair(P->p, &P->a->info[i], &P->b->info[j], &w, 0, &s, &t);
                    bad += !isfinite(s) || !isfinite(t);
                    out_put(&P->out, i * n2 + j, s, t);
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
            double s = out_nngp(&P->out, i * n2 + j), t = out_ntk(&P->out, i * n2 + j);
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

static void mirror(const Out *o, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            out_put(o, i * n + j, out_nngp(o, j * n + i), out_ntk(o, j * n + i));
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
    if (P->symmetric)
        mirror(&P->out, n1);
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

static int kernel_out(const NtkcGraphFns *fns, int single, const ntkc_graphs *g1, const ntkc_graphs *g2,
                      const Out *out, const ntkc_eval_options *opts, GraphAggMode mode, ntkc_error *err)
{
    Plan p;
    if (read_plan(fns, single, &p, err) != NTKC_OK || check_set(&p, g1, "first", err) != NTKC_OK ||
        (g2 && check_set(&p, g2, "second", err) != NTKC_OK))
        return err->code;
    if (out_none(out))
        return NTKC_OK;
    int threads = opts && opts->threads > 0 ? opts->threads : omp_get_max_threads();
    GSet a = {0}, b = {0};
    int rc = gset_init(&a, &p, g1, mode, threads, err);
    if (rc == NTKC_OK && g2 != NULL)
        rc = gset_init(&b, &p, g2, mode, threads, err);
    if (rc == NTKC_OK) {
        Pairs P = {.p = &p, .a = &a, .b = g2 ? &b : &a, .symmetric = g2 == NULL, .threads = threads, .out = *out};
        rc = run_all(&P, opts, err);
    }
    if (g2 != NULL && b.g != NULL)
        gset_free(&b);
    gset_free(&a);
    return rc;
}

/* The plans of a kernel whose first set's variances come from fns1 (an
 * eval-mode twin): both sets checked against fns, the two nets' records of
 * one layout (graph_kernel_rows_by, graph_tiles_open_rows_by). */
static int read_rows_by_plans(const NtkcGraphFns *fns, const NtkcGraphFns *fns1, const ntkc_graphs *g1,
                              const ntkc_graphs *g2, Plan *p, Plan *p1, const char *who, ntkc_error *err)
{
    if (read_plan(fns, 0, p, err) != NTKC_OK || read_plan(fns1, 0, p1, err) != NTKC_OK ||
        check_set(p, g1, "first", err) != NTKC_OK || check_set(p, g2, "second", err) != NTKC_OK)
        return err->code;
    if (fns->nvar() != fns1->nvar() || memcmp(p->used, p1->used, sizeof p->used) != 0) {
        err_internal(err, "%s: the two nets' records differ", who);
        return err->code;
    }
    return NTKC_OK;
}

int graph_kernel_rows_by(const NtkcGraphFns *fns, const NtkcGraphFns *fns1, const ntkc_graphs *g1,
                         const ntkc_graphs *g2, double *nngp, double *ntk, const ntkc_eval_options *opts,
                         ntkc_error *err)
{
    Plan p, p1;
    if (read_rows_by_plans(fns, fns1, g1, g2, &p, &p1, "graph_kernel_rows_by", err) != NTKC_OK)
        return err->code;
    Out out = {.nngp = nngp, .ntk = ntk};
    if (out_none(&out))
        return NTKC_OK;
    int threads = opts && opts->threads > 0 ? opts->threads : omp_get_max_threads();
    GSet a = {0}, b = {0};
    int rc = gset_init(&a, &p1, g1, GRAPH_AGG_AUTO, threads, err); /* g1's variances as fns1 sees them */
    if (rc == NTKC_OK)
        rc = gset_init(&b, &p, g2, GRAPH_AGG_AUTO, threads, err);
    if (rc == NTKC_OK) {
        Pairs P = {.p = &p, .a = &a, .b = &b, .symmetric = 0, .threads = threads, .out = out};
        rc = run_all(&P, opts, err);
    }
    if (b.g != NULL)
        gset_free(&b);
    if (a.g != NULL)
        gset_free(&a);
    return rc;
}

int graph_kernel(const NtkcGraphFns *fns, const ntkc_graphs *g1, const ntkc_graphs *g2, double *nngp, double *ntk,
                 const ntkc_eval_options *opts, GraphAggMode mode, ntkc_error *err)
{
    Out out = {.nngp = nngp, .ntk = ntk};
    return kernel_out(fns, 0, g1, g2, &out, opts, mode, err);
}

int graph_kernel_f32(const NtkcGraphFns *fns, const ntkc_graphs *g1, const ntkc_graphs *g2, float *nngp, float *ntk,
                     const ntkc_eval_options *opts, GraphAggMode mode, ntkc_error *err)
{
    Out out = {.nngp_f = nngp, .ntk_f = ntk};
    return kernel_out(fns, 1, g1, g2, &out, opts, mode, err);
}

/* ---- one block at a time (graph_kernel.h) ------------------------------ */

struct GraphTiles {
    Plan p;
    GSet a, b;
    int symmetric;
};

int graph_tiles_open(const NtkcGraphFns *fns, int single, const ntkc_graphs *g1, const ntkc_graphs *g2, int threads,
                     GraphTiles **out, ntkc_error *err)
{
    *out = NULL;
    GraphTiles *G = calloc(1, sizeof *G);
    if (G == NULL) {
        err_internal(err, "out of memory");
        return err->code;
    }
    int rc = read_plan(fns, single, &G->p, err);
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

int graph_tiles_open_rows_by(const NtkcGraphFns *fns, const NtkcGraphFns *fns1, const ntkc_graphs *g1,
                             const ntkc_graphs *g2, int threads, GraphTiles **out, ntkc_error *err)
{
    *out = NULL;
    Plan p1;
    GraphTiles *G = calloc(1, sizeof *G);
    if (G == NULL) {
        err_internal(err, "out of memory");
        return err->code;
    }
    int rc = read_rows_by_plans(fns, fns1, g1, g2, &G->p, &p1, "graph_tiles_open_rows_by", err);
    if (rc == NTKC_OK) /* g1's variances as fns1 sees them (graph_kernel_rows_by) */
        rc = gset_init(&G->a, &p1, g1, GRAPH_AGG_AUTO, threads, err);
    if (rc == NTKC_OK)
        rc = gset_init(&G->b, &G->p, g2, GRAPH_AGG_AUTO, threads, err);
    if (rc != NTKC_OK) {
        graph_tiles_close(G);
        return rc;
    }
    *out = G;
    return NTKC_OK;
}

static int tiles_run(const GraphTiles *G, size_t i0, size_t r, size_t j0, size_t c, int upper, const Out *out,
                     size_t ld, ntkc_error *err)
{
    const GSet *b = G->symmetric ? &G->a : &G->b;
    Work w;
    if (work_alloc(&w, G->a.maxn, b->maxn, G->p.single) != 0) {
        work_free(&w);
        err_internal(err, "out of memory for the node-pair buffers");
        return err->code;
    }
    int rc = NTKC_OK;
    for (size_t i = 0; i < r && rc == NTKC_OK; i++)
        for (size_t j = upper ? i : 0; j < c; j++) {
            double s, t;
            run_pair(&G->p, &G->a.info[i0 + i], &b->info[j0 + j], &w, 0, &s, &t);
            out_put(out, i * ld + j, s, t);
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

int graph_tiles_run(const GraphTiles *G, size_t i0, size_t r, size_t j0, size_t c, int upper, double *nngp,
                    double *ntk, size_t ld, ntkc_error *err)
{
    if (G->p.single) {
        err_internal(err, "float64 tiles of a float32 graph net");
        return err->code;
    }
    Out out = {.nngp = nngp, .ntk = ntk};
    return tiles_run(G, i0, r, j0, c, upper, &out, ld, err);
}

int graph_tiles_run_f32(const GraphTiles *G, size_t i0, size_t r, size_t j0, size_t c, int upper, float *nngp,
                        float *ntk, size_t ld, ntkc_error *err)
{
    if (!G->p.single) {
        err_internal(err, "float32 tiles of a float64 graph net");
        return err->code;
    }
    Out out = {.nngp_f = nngp, .ntk_f = ntk};
    return tiles_run(G, i0, r, j0, c, upper, &out, ld, err);
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
