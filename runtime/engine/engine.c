/* The output is cut into square tiles (edge opts->tile; default 512, less for
 * image kernels: default_edge); each tile is one task for an OpenMP thread:
 * its Gram block by BLAS straight into the output, the JIT'd tile function in
 * place over it, and — when x1 = x2 — its transpose into the lower triangle,
 * so only the upper triangle's tiles are tasks. One parallel region covers
 * the whole output: no barrier between the BLAS and the recursion, and
 * dynamic scheduling over equal tiles keeps every core busy up to the last
 * tile.
 *
 * BLAS runs single-threaded inside the tasks: the OpenMP threads are the
 * parallelism. OpenBLAS's own threads would otherwise spin (sched_yield)
 * beside ours, on the same cores, for about 0.1 s after every call. */
#include "engine.h"
#include "ntkc_err.h"

#include <cblas.h>
#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <omp.h>
#include <stdlib.h>
#include <string.h>

enum { DEFAULT_TILE = 512, MIRROR_BLOCK = 32, PREP_ROWS = 256 };

typedef struct Job {
    const NtkcTileFns *k;
    size_t n1, n2, dim;
    const double *x1, *x2, *prep1, *prep2;
    /* single precision (engine_kernel_f32): prep, outputs and Gram are
     * float, through the *_f pointers below; x1_f/x2_f are the inputs rounded
     * to float for sgemm/ssyrk */
    int single;
    const float *x1_f, *x2_f, *prep1_f, *prep2_f;
    float *nngp_f, *ntk_f, *gram_f;
    float *xf_store;
    size_t ps;   /* prep doubles per input */
    size_t edge; /* tile edge */
    size_t rows_t, cols_t; /* tiles down and across */
    double *nngp, *ntk;
    double *gram; /* where BLAS writes (nngp, else ntk); NULL when the kernel reads x itself */
    int symmetric, threads;
    int same_inputs; /* row i of x1 is row i of x2 */
    const double *sq1, *sq2; /* Σx² of every row, summed as the emitted prep sums it */
    /* Where entry (i, j) lives: (i − oi)·ldo + (j − oj) in nngp/ntk/gram. The
     * whole output: ldo = n2, origin 0. One tile in its own buffer (local):
     * ldo = its width, origin its corner, and no mirror outside the tile. */
    size_t ldo, oi, oj;
    int local;
    double *prep_store, *sq_store; /* owned: prep1/prep2 and sq1/sq2 point in */
} Job;

typedef struct Tile {
    size_t i0, r, j0, c;
    int diagonal;
} Tile;

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

static size_t at(const Job *J, size_t i, size_t j) { return (i - J->oi) * J->ldo + (j - J->oj); }

static size_t task_count(const Job *J)
{
    return J->symmetric ? J->rows_t * (J->rows_t + 1) / 2 : J->rows_t * J->cols_t;
}

/* Task t in row-major order over the tiles computed (the upper triangle's
 * when symmetric): row p of the triangle starts at p·P − p(p−1)/2. */
static Tile task_tile(const Job *J, size_t t)
{
    size_t p, c;
    if (J->symmetric) {
        size_t P = J->rows_t, lo = 0, hi = P - 1;
        while (lo < hi) {
            size_t mid = (lo + hi + 1) / 2;
            if (mid * P - mid * (mid - 1) / 2 <= t)
                lo = mid;
            else
                hi = mid - 1;
        }
        p = lo;
        c = p + (t - (p * P - p * (p - 1) / 2));
    } else {
        p = t / J->cols_t;
        c = t % J->cols_t;
    }
    Tile T = {.i0 = p * J->edge, .j0 = c * J->edge, .diagonal = J->symmetric && p == c};
    T.r = min_size(J->edge, J->n1 - T.i0);
    T.c = min_size(J->edge, J->n2 - T.j0);
    return T;
}

/* Kernels with a triangle function (image nets) cost up to a second per
 * entry: tiles then shrink, down to one pass of lanes, until every thread
 * has several, so a few hundred inputs still use every core. */
static size_t default_edge(const NtkcTileFns *k, size_t n, int threads)
{
    if (k->tri == NULL)
        return DEFAULT_TILE;
    size_t edge = (n / (4 * (size_t)threads) + NTKC_LANES - 1) / NTKC_LANES * NTKC_LANES;
    return edge < NTKC_LANES ? NTKC_LANES : edge > DEFAULT_TILE ? DEFAULT_TILE : edge;
}

/* Entries the tile computes (the upper triangle only on the diagonal). */
static size_t tile_entries(const Tile *T) { return T->diagonal ? T->r * (T->r + 1) / 2 : T->r * T->c; }

/* The functions that depend on the scalar type, once per type (engine_typed.h). */
typedef size_t (*TileF64)(size_t rows, size_t cols, const double *x1, const double *prep1, const double *x2,
                          const double *prep2, size_t dim, const double *gram, size_t ldg, double *nngp, double *ntk,
                          size_t ldo); /* NtkcTileFns.tile */
#define ENGINE_REAL double
#define ENGINE_FN(name) name##_f64
#define ENGINE_F(field) field
#define ENGINE_TILE TileF64
#define ENGINE_SYRK cblas_dsyrk
#define ENGINE_GEMM cblas_dgemm
#define ENGINE_ONE 1.0
#define ENGINE_ZERO 0.0
/* the dot product's rounding bound, both sums counted */
#define ENGINE_TOL(dim) (2.02 * (dim) * 2.220446049250313e-16)
#define ENGINE_STREAM_N 2
#define ENGINE_STREAM(dst, src, stride) _mm_stream_pd(dst, _mm_set_pd((src)[stride], (src)[0]))
#include "engine_typed.h"

#define ENGINE_REAL float
#define ENGINE_FN(name) name##_f32
#define ENGINE_F(field) field##_f
#define ENGINE_TILE NtkcTileF32
#define ENGINE_SYRK cblas_ssyrk
#define ENGINE_GEMM cblas_sgemm
#define ENGINE_ONE 1.0f
#define ENGINE_ZERO 0.0f
/* the float dot product's bound, plus the rounding of x to float and of Σx²
 * (summed in float64 by the prep) to float */
#define ENGINE_TOL(dim) ((2.02 * (dim) + 4.0) * 1.1920928955078125e-07)
#define ENGINE_STREAM_N 4
#define ENGINE_STREAM(dst, src, stride)                                                                            \
    _mm_stream_ps(dst, _mm_set_ps((src)[3 * (stride)], (src)[2 * (stride)], (src)[stride], (src)[0]))
#include "engine_typed.h"

static void gram_tile(const Job *J, const Tile *T)
{
    if (J->single)
        gram_tile_f32(J, T);
    else
        gram_tile_f64(J, T);
}

/* Inputs that are copies of each other (up to sign) must have correlation
 * exactly ±1, as the true kernel has: near 1 the arc-cosine kernels have
 * infinite slope, and BLAS's summation order leaves the Gram entry 1 ± ε off
 * the variances the emitted prep sums in index order (ε = 1e-16 moves Ṫ by
 * 1e-8 per layer, 1e-6 at depth 200). So an entry of two rows with the same
 * Σx² that lies within the rounding bound of a dot product (2·d·ε relative,
 * both sums counted) of ±Σx² is set to exactly ±Σx²; the recursion then
 * carries the pair exactly like the variance of either input. This covers
 * the diagonal (an input with itself) and duplicated inputs alike. */
static void exact_parallel(const Job *J, const Tile *T)
{
    if (J->single)
        exact_parallel_f32(J, T);
    else
        exact_parallel_f64(J, T);
}

/* Σx² per row in index order — the emitted prep's own sum. */
static void row_squares(const Job *J, size_t n, const double *x, double *sq)
{
#pragma omp parallel for schedule(static) num_threads(J->threads)
    for (size_t i = 0; i < n; i++) {
        const double *xi = x + i * J->dim;
        double s = 0;
        for (size_t k = 0; k < J->dim; k++)
            s += xi[k] * xi[k];
        sq[i] = s;
    }
}

static size_t run_kernel(const Job *J, size_t i0, size_t r, size_t j0, size_t c)
{
    return J->single ? run_kernel_f32(J, i0, r, j0, c) : run_kernel_f64(J, i0, r, j0, c);
}

static void mirror_rows(const Job *J, const Tile *T, size_t r0, size_t r1)
{
    if (J->local && !T->diagonal)
        return; /* the caller writes the mirror image */
    if (J->single)
        mirror_rows_f32(J, T, r0, r1);
    else
        mirror_rows_f64(J, T, r0, r1);
}

/* One task; returns how many entries are not finite. */
static size_t run_tile(const Job *J, const Tile *T)
{
    if (J->gram || J->gram_f) {
        gram_tile(J, T);
        exact_parallel(J, T);
    }
    size_t bad = 0;
    if (J->k->tri != NULL || !J->symmetric) { /* image kernels: entries cost far more than their mirror */
        if (T->diagonal && J->k->tri != NULL && J->single)
            bad += ((NtkcTriF32)(void (*)(void))J->k->tri)( /* its own type when single: kernel_abi.h */
                T->r, J->x1 + T->i0 * J->dim, J->prep1_f + T->i0 * J->ps, J->dim,
                J->nngp_f ? J->nngp_f + at(J, T->i0, T->j0) : NULL, J->ntk_f ? J->ntk_f + at(J, T->i0, T->j0) : NULL,
                J->ldo);
        else if (T->diagonal && J->k->tri != NULL)
            bad += J->k->tri(T->r, J->x1 + T->i0 * J->dim, J->prep1 + T->i0 * J->ps, J->dim,
                             J->nngp ? J->nngp + at(J, T->i0, T->j0) : NULL,
                             J->ntk ? J->ntk + at(J, T->i0, T->j0) : NULL, J->ldo);
        else
            bad += run_kernel(J, T->i0, T->r, T->j0, T->c);
        if (J->symmetric)
            mirror_rows(J, T, 0, T->r);
        return bad;
    }
    /* A symmetric FC kernel goes in bands of rows, each mirrored while it is
     * still in cache (on the diagonal: the upper triangle, row by row). */
    for (size_t b = 0; b < T->r; b += MIRROR_BLOCK) {
        size_t e = min_size(b + MIRROR_BLOCK, T->r);
        if (T->diagonal)
            for (size_t i = b; i < e; i++)
                bad += run_kernel(J, T->i0 + i, 1, T->j0 + i, T->r - i);
        else
            bad += run_kernel(J, T->i0 + b, e - b, T->j0, T->c);
        mirror_rows(J, T, b, e);
    }
    return bad;
}

static void locate_non_finite(const Job *J, const Tile *T, ntkc_error *err)
{
    int has_s = J->single ? J->nngp_f != NULL : J->nngp != NULL, has_t = J->single ? J->ntk_f != NULL : J->ntk != NULL;
    for (size_t i = T->i0; i < T->i0 + T->r; i++)
        for (size_t j = T->diagonal ? i : T->j0; j < T->j0 + T->c; j++) {
            double s = J->single ? (J->nngp_f ? J->nngp_f[at(J, i, j)] : 0) : J->nngp ? J->nngp[at(J, i, j)] : 0;
            double t = J->single ? (J->ntk_f ? J->ntk_f[at(J, i, j)] : 0) : J->ntk ? J->ntk[at(J, i, j)] : 0;
            if (s - s != 0.0 || t - t != 0.0) {
                /* only the kernels computed: an absent one is no 0 */
                char values[96];
                if (has_s && has_t)
                    snprintf(values, sizeof values, "NNGP %g, NTK %g", s, t);
                else if (has_s)
                    snprintf(values, sizeof values, "NNGP %g", s);
                else
                    snprintf(values, sizeof values, "NTK %g", t);
                err_user(err,
                          "the kernel is not finite at entry [%zu, %zu] (%s): the variances "
                          "overflow through the layers, or leave the range in which a formula activation's "
                          "quadrature meets its error target (`ntkc derive` shows it); lower w_std or the depth, "
                          "or scale the inputs",
                          i, j, values);
                return;
            }
        }
    /* The emitted tiles report every entry and write none exactly when
     * their workspace cannot be allocated (emit_image.c, attn_runtime.c). */
    err_user(err,
             "out of memory: the kernel's working memory for entries [%zu, %zu] onward could not be allocated "
             "(image and all-pairs nets hold position-pair matrices per thread): use fewer threads or smaller "
             "inputs",
             T->i0, T->diagonal ? T->i0 : T->j0);
}

typedef struct Outcome {
    size_t done, reported; /* entries computed; the last count the callback saw */
    size_t first_bad;      /* lowest task with a non-finite entry, or SIZE_MAX */
    int stop, cancelled;
} Outcome;

/* Only the calling thread (thread 0 of the team) calls the user's callback. */
static void report_progress(const ntkc_eval_options *opts, Outcome *o, size_t done, size_t total)
{
    if (opts == NULL || opts->progress == NULL || omp_get_thread_num() != 0 || done <= o->reported)
        return;
    o->reported = done;
    if (opts->progress(opts->progress_ctx, done, total) != 0) {
#pragma omp atomic write
        o->stop = 1;
        o->cancelled = 1;
    }
}

static void run_tasks(const Job *J, const ntkc_eval_options *opts, Outcome *o)
{
    size_t ntasks = task_count(J);
    size_t total = J->symmetric ? J->n1 * (J->n1 + 1) / 2 : J->n1 * J->n2;
#pragma omp parallel for schedule(dynamic, 1) num_threads(J->threads)
    for (size_t t = 0; t < ntasks; t++) {
        int stop;
#pragma omp atomic read
        stop = o->stop;
        if (stop)
            continue;
        Tile T = task_tile(J, t);
        if (run_tile(J, &T) != 0) {
#pragma omp critical(ntkc_engine_bad)
            o->first_bad = t < o->first_bad ? t : o->first_bad;
#pragma omp atomic write
            o->stop = 1;
        }
        size_t done;
#pragma omp atomic capture
        done = o->done += tile_entries(&T);
        report_progress(opts, o, done, total);
    }
    if (!o->stop && o->reported < total && opts && opts->progress &&
        opts->progress(opts->progress_ctx, total, total) != 0)
        o->cancelled = 1;
}

/* Per-input records, in parallel (the JIT'd prep is single-threaded code). */
static void run_prep(const Job *J, const NtkcTileFns *k, size_t n, const double *x, void *prep)
{
    size_t rows = J->k->tri ? min_size(PREP_ROWS, default_edge(J->k, n, J->threads)) : PREP_ROWS;
    size_t chunks = (n + rows - 1) / rows;
    NtkcPrepF32 prep_f = (NtkcPrepF32)(void (*)(void))k->prep; /* its own type when single: kernel_abi.h */
#pragma omp parallel for schedule(dynamic, 1) num_threads(J->threads)
    for (size_t c = 0; c < chunks; c++) {
        size_t i0 = c * rows;
        if (J->single)
            prep_f(min_size(rows, n - i0), x + i0 * J->dim, J->dim, (float *)prep + i0 * J->ps);
        else
            k->prep(min_size(rows, n - i0), x + i0 * J->dim, J->dim, (double *)prep + i0 * J->ps);
    }
}

/* The inputs rounded to float, for sgemm/ssyrk. */
static int round_inputs(Job *J, ntkc_error *err)
{
    size_t n = J->n1 + (J->same_inputs ? 0 : J->n2);
    float *xf = malloc((n * J->dim + 1) * sizeof *xf);
    if (xf == NULL) {
        err_user(err, "out of memory for the float32 copy of %zu inputs", n);
        return err->code;
    }
#pragma omp parallel for schedule(static) num_threads(J->threads)
    for (size_t i = 0; i < J->n1 * J->dim; i++)
        xf[i] = (float)J->x1[i];
    if (!J->same_inputs)
#pragma omp parallel for schedule(static) num_threads(J->threads)
        for (size_t i = 0; i < J->n2 * J->dim; i++)
            xf[J->n1 * J->dim + i] = (float)J->x2[i];
    J->xf_store = xf;
    J->x1_f = xf;
    J->x2_f = J->same_inputs ? xf : xf + J->n1 * J->dim;
    return 0;
}

/* Checks the sizes, lays out the tiling and computes every input's record
 * (and Σx²), x1's by k1's prep (k's, or an eval-mode twin's: engine.h). On
 * success the caller owes job_close. */
static int job_open(Job *J, const NtkcTileFns *k, const NtkcTileFns *k1, int single, size_t n1, const double *x1,
                    size_t n2, const double *x2, size_t dim, size_t edge, int threads, int edge_threads,
                    ntkc_error *err)
{
    if (dim > (size_t)0x7fffffff || n1 > (size_t)0x7fffffff || n2 > (size_t)0x7fffffff) {
        err_user(err, "arrays too large for BLAS (dimensions above 2^31)");
        return err->code;
    }
    *J = (Job){.k = k, .n1 = n1, .n2 = x2 ? n2 : n1, .dim = dim, .x1 = x1, .x2 = x2 ? x2 : x1,
               .ps = k->prep_size(), .symmetric = x2 == NULL, .same_inputs = x2 == NULL || x2 == x1};
    J->threads = threads;
    J->single = single;
    J->edge = edge ? edge : default_edge(k, n1, edge_threads);
    J->rows_t = (n1 + J->edge - 1) / J->edge;
    J->cols_t = (J->n2 + J->edge - 1) / J->edge;
    J->ldo = J->n2;
    size_t esz = single ? sizeof(float) : sizeof(double);
    double *prep = malloc((n1 + (J->symmetric ? 0 : J->n2) + 1) * J->ps * esz);
    double *sq = k->uses_gram() ? malloc((n1 + (J->same_inputs ? 0 : J->n2) + 1) * sizeof *sq) : NULL;
    if (prep == NULL || (k->uses_gram() && sq == NULL)) {
        free(prep);
        free(sq);
        err_user(err, "out of memory for %zu per-input records", n1 + J->n2);
        return err->code;
    }
    J->prep_store = prep, J->sq_store = sq;
    if (single) {
        float *pf = (float *)(void *)prep;
        J->prep1_f = pf;
        J->prep2_f = J->symmetric ? pf : pf + n1 * J->ps;
        run_prep(J, k1, n1, x1, pf);
        if (!J->symmetric)
            run_prep(J, k, J->n2, J->x2, pf + n1 * J->ps);
        if (k->uses_gram() && round_inputs(J, err) != 0) {
            free(prep);
            free(sq);
            return err->code;
        }
    } else {
        J->prep1 = prep;
        J->prep2 = J->symmetric ? prep : prep + n1 * J->ps;
        run_prep(J, k1, n1, x1, prep);
        if (!J->symmetric)
            run_prep(J, k, J->n2, J->x2, prep + n1 * J->ps);
    }
    if (sq != NULL) {
        J->sq1 = sq;
        J->sq2 = J->same_inputs ? sq : sq + n1;
        row_squares(J, n1, x1, sq);
        if (!J->same_inputs)
            row_squares(J, J->n2, J->x2, sq + n1);
    }
    return 0;
}

static void job_close(Job *J)
{
    free(J->prep_store);
    free(J->sq_store);
    free(J->xf_store);
}

/* Both precisions: outputs are double (nngp, ntk) or float (nngp_f, ntk_f). */
static int engine_run(const NtkcTileFns *k, const NtkcTileFns *k1, int single, size_t n1, const double *x1, size_t n2, const double *x2,
                      size_t dim, double *nngp, double *ntk, float *nngp_f, float *ntk_f,
                      const ntkc_eval_options *opts, ntkc_error *err)
{
    if (nngp == NULL && ntk == NULL && nngp_f == NULL && ntk_f == NULL)
        return 0;
    if (n1 == 0 || (x2 && n2 == 0))
        return 0;
    int threads = opts && opts->threads > 0 ? opts->threads : omp_get_max_threads();
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    Job J;
    int rc = job_open(&J, k, k1, single, n1, x1, n2, x2, dim, opts ? opts->tile : 0, threads, threads, err);
    if (rc != 0) {
        openblas_set_num_threads(blas_threads);
        return rc;
    }
    J.nngp = nngp, J.ntk = ntk;
    J.gram = k->uses_gram() ? (nngp ? nngp : ntk) : NULL;
    J.nngp_f = nngp_f, J.ntk_f = ntk_f;
    J.gram_f = k->uses_gram() ? (nngp_f ? nngp_f : ntk_f) : NULL;
    Outcome o = {.first_bad = (size_t)-1};
    run_tasks(&J, opts, &o);
    openblas_set_num_threads(blas_threads);
    job_close(&J);
    if (o.first_bad != (size_t)-1) {
        Tile T = task_tile(&J, o.first_bad);
        locate_non_finite(&J, &T, err);
        return err->code;
    }
    if (o.cancelled) {
        err_user(err, "cancelled");
        return err->code;
    }
    return 0;
}

int engine_kernel(const NtkcTileFns *k, size_t n1, const double *x1, size_t n2, const double *x2, size_t dim,
                  double *nngp, double *ntk, const ntkc_eval_options *opts, ntkc_error *err)
{
    return engine_run(k, k, 0, n1, x1, n2, x2, dim, nngp, ntk, NULL, NULL, opts, err);
}

/* What x1's records by k1 need (engine_kernel_rows_by, engine_tiles_open_rows_by): two arrays (never the
 * symmetric kernel) and records of one layout. */
static int rows_by_ok(const NtkcTileFns *k, const NtkcTileFns *k1, const double *x1, const double *x2,
                      const char *who, ntkc_error *err)
{
    if (x2 == NULL || x2 == x1 || k->prep_size() != k1->prep_size()) {
        err_internal(err, "%s: the inputs must be two arrays and the records of one layout", who);
        return err->code;
    }
    return 0;
}

int engine_kernel_rows_by(const NtkcTileFns *k, const NtkcTileFns *k1, size_t n1, const double *x1, size_t n2,
                          const double *x2, size_t dim, double *nngp, double *ntk, const ntkc_eval_options *opts,
                          ntkc_error *err)
{
    if (rows_by_ok(k, k1, x1, x2, "engine_kernel_rows_by", err) != 0)
        return err->code;
    return engine_run(k, k1, 0, n1, x1, n2, x2, dim, nngp, ntk, NULL, NULL, opts, err);
}

int engine_kernel_f32(const NtkcTileFns *k, size_t n1, const double *x1, size_t n2, const double *x2, size_t dim,
                      float *nngp, float *ntk, const ntkc_eval_options *opts, ntkc_error *err)
{
    return engine_run(k, k, 1, n1, x1, n2, x2, dim, NULL, NULL, nngp, ntk, opts, err);
}

/* ---- one tile at a time (engine.h) -------------------------------------- */

struct EngineTiles {
    Job job;
    int blas_threads;
};

/* k1 makes x1's records (k itself, or an eval-mode twin: engine_tiles_open_rows_by). */
static int tiles_open(const NtkcTileFns *k, const NtkcTileFns *k1, int single, size_t n1, const double *x1, size_t n2,
                      const double *x2, size_t dim, size_t edge, int threads, int edge_threads, EngineTiles **out,
                      ntkc_error *err)
{
    *out = NULL;
    EngineTiles *e = calloc(1, sizeof *e);
    if (e == NULL) {
        err_internal(err, "out of memory");
        return err->code;
    }
    e->blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    int rc = job_open(&e->job, k, k1, single, n1, x1, n2, x2, dim, edge, threads, edge_threads, err);
    if (rc != 0) {
        openblas_set_num_threads(e->blas_threads);
        free(e);
        return rc;
    }
    *out = e;
    return 0;
}

int engine_tiles_open(const NtkcTileFns *k, int single, size_t n1, const double *x1, size_t n2, const double *x2,
                      size_t dim, size_t edge, int threads, int edge_threads, EngineTiles **out, ntkc_error *err)
{
    return tiles_open(k, k, single, n1, x1, n2, x2, dim, edge, threads, edge_threads, out, err);
}

int engine_tiles_open_rows_by(const NtkcTileFns *k, const NtkcTileFns *k1, size_t n1, const double *x1, size_t n2,
                              const double *x2, size_t dim, size_t edge, int threads, int edge_threads,
                              EngineTiles **out, ntkc_error *err)
{
    *out = NULL;
    if (rows_by_ok(k, k1, x1, x2, "engine_tiles_open_rows_by", err) != 0)
        return err->code;
    return tiles_open(k, k1, 0, n1, x1, n2, x2, dim, edge, threads, edge_threads, out, err);
}

size_t engine_tiles_count(const EngineTiles *e) { return e->job.n1 && e->job.n2 ? task_count(&e->job) : 0; }

EngineRect engine_tiles_rect(const EngineTiles *e, size_t t)
{
    Tile T = task_tile(&e->job, t);
    return (EngineRect){.i0 = T.i0, .r = T.r, .j0 = T.j0, .c = T.c, .diagonal = T.diagonal};
}

/* Tile t into double (nngp, ntk) or float (nngp_f, ntk_f) buffers. */
static int tiles_run(const EngineTiles *e, size_t t, double *nngp, double *ntk, float *nngp_f, float *ntk_f,
                     ntkc_error *err)
{
    Job L = e->job;
    if (L.single != (nngp_f || ntk_f) || (L.single && (nngp || ntk))) {
        err_internal(err, "a %s tile asked for in %s precision", L.single ? "float32" : "float64",
                     L.single ? "double" : "single");
        return err->code;
    }
    Tile T = task_tile(&L, t);
    L.nngp = nngp, L.ntk = ntk;
    L.gram = L.k->uses_gram() ? (nngp ? nngp : ntk) : NULL;
    L.nngp_f = nngp_f, L.ntk_f = ntk_f;
    L.gram_f = L.k->uses_gram() ? (nngp_f ? nngp_f : ntk_f) : NULL;
    L.ldo = T.c, L.oi = T.i0, L.oj = T.j0, L.local = 1;
    if (nngp == NULL && ntk == NULL && nngp_f == NULL && ntk_f == NULL)
        return 0;
    if (run_tile(&L, &T) != 0) {
        locate_non_finite(&L, &T, err);
        return err->code;
    }
    return 0;
}

int engine_tiles_run(const EngineTiles *e, size_t t, double *nngp, double *ntk, ntkc_error *err)
{
    return tiles_run(e, t, nngp, ntk, NULL, NULL, err);
}

int engine_tiles_run_f32(const EngineTiles *e, size_t t, float *nngp, float *ntk, ntkc_error *err)
{
    return tiles_run(e, t, NULL, NULL, nngp, ntk, err);
}

void engine_tiles_close(EngineTiles *e)
{
    if (e == NULL)
        return;
    openblas_set_num_threads(e->blas_threads);
    job_close(&e->job);
    free(e);
}
