#include "engine.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

enum { DEFAULT_PANEL = 256, COLUMN_CHUNK = 256 };

typedef struct Job {
    const KernelFns *k;
    size_t n1, n2, dim;
    const double *x1, *x2, *prep1, *prep2;
    size_t ps; /* prep doubles per input */
    double *nngp, *ntk;
    int symmetric, threads;
} Job;

/* x1[i0..i0+r) · x2ᵀ into out rows, columns [c0, n2); the symmetric diagonal
 * square through dsyrk, mirrored so the tile sees a full square. */
static void gram_panel(const Job *J, size_t i0, size_t r, size_t c0, double *out)
{
    const double *a = J->x1 + i0 * J->dim;
    double *g = out + i0 * J->n2 + c0;
    size_t cols = J->n2 - c0;
    if (J->symmetric) {
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)r, (int)J->dim, 1.0, a, (int)J->dim, 0.0, g,
                    (int)J->n2);
        for (size_t i = 0; i < r; i++)
            for (size_t j = 0; j < i; j++)
                g[i * J->n2 + j] = g[j * J->n2 + i];
        if (cols > r)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)r, (int)(cols - r), (int)J->dim, 1.0, a,
                        (int)J->dim, J->x2 + (c0 + r) * J->dim, (int)J->dim, 0.0, g + r, (int)J->n2);
    } else {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)r, (int)cols, (int)J->dim, 1.0, a, (int)J->dim,
                    J->x2 + c0 * J->dim, (int)J->dim, 0.0, g, (int)J->n2);
    }
}

/* The recursion on rows [i0, i0+r) × columns [c0, n2), chunked over threads. */
static size_t recurse_panel(const Job *J, size_t i0, size_t r, size_t c0, const double *gram)
{
    size_t nchunks = (J->n2 - c0 + COLUMN_CHUNK - 1) / COLUMN_CHUNK;
    size_t bad = 0;
#pragma omp parallel for schedule(dynamic) reduction(+ : bad) num_threads(J->threads)
    for (size_t c = 0; c < nchunks; c++) {
        size_t j0 = c0 + c * COLUMN_CHUNK;
        size_t cols = J->n2 - j0 < COLUMN_CHUNK ? J->n2 - j0 : COLUMN_CHUNK;
        size_t at = i0 * J->n2 + j0;
        bad += J->k->tile(r, cols, J->x1 + i0 * J->dim, J->prep1 + i0 * J->ps, J->x2 + j0 * J->dim,
                          J->prep2 + j0 * J->ps, J->dim, gram ? gram + at : NULL, J->n2,
                          J->nngp ? J->nngp + at : NULL, J->ntk ? J->ntk + at : NULL, J->n2);
    }
    return bad;
}

/* Copies the panel's upper part (columns > row) into the lower triangle. */
static void mirror_panel(const Job *J, size_t i0, size_t r)
{
    double *outs[2] = {J->nngp, J->ntk};
    for (int o = 0; o < 2; o++) {
        double *a = outs[o];
        if (a == NULL)
            continue;
        size_t n = J->n2;
#pragma omp parallel for schedule(static) num_threads(J->threads)
        for (size_t j = i0; j < n; j++)
            for (size_t i = i0; i < i0 + r && i < j; i++)
                a[j * n + i] = a[i * n + j];
    }
}

static void locate_non_finite(const Job *J, size_t i0, size_t r, size_t c0, NtkcError *err)
{
    for (size_t i = i0; i < i0 + r; i++)
        for (size_t j = c0; j < J->n2; j++) {
            double s = J->nngp ? J->nngp[i * J->n2 + j] : 0, t = J->ntk ? J->ntk[i * J->n2 + j] : 0;
            if (s - s != 0.0 || t - t != 0.0) {
                diag_user(err,
                          "the kernel is not finite at entry [%zu, %zu] (NNGP %g, NTK %g): the variances "
                          "overflow through the layers; lower w_std or the depth, or scale the inputs",
                          i, j, s, t);
                return;
            }
        }
}

static int run_panels(const Job *J, const ntkc_eval_options *opts, NtkcError *err)
{
    size_t panel = opts && opts->tile ? opts->tile : DEFAULT_PANEL;
    double *gram_out = J->nngp ? J->nngp : J->ntk;
    int uses_gram = J->k->uses_gram();
    size_t total = J->symmetric ? J->n1 * (J->n1 + 1) / 2 : J->n1 * J->n2, done = 0;
    for (size_t i0 = 0; i0 < J->n1; i0 += panel) {
        size_t r = J->n1 - i0 < panel ? J->n1 - i0 : panel;
        size_t c0 = J->symmetric ? i0 : 0;
        if (uses_gram)
            gram_panel(J, i0, r, c0, gram_out);
        if (recurse_panel(J, i0, r, c0, uses_gram ? gram_out : NULL) != 0) {
            locate_non_finite(J, i0, r, c0, err);
            return err->code;
        }
        if (J->symmetric)
            mirror_panel(J, i0, r);
        done += J->symmetric ? r * (J->n2 - i0) - r * (r - 1) / 2 : r * J->n2;
        if (opts && opts->progress && opts->progress(opts->progress_ctx, done, total) != 0) {
            diag_user(err, "cancelled");
            return err->code;
        }
    }
    return 0;
}

int engine_kernel(const KernelFns *k, size_t n1, const double *x1, size_t n2, const double *x2, size_t dim,
                  double *nngp, double *ntk, const ntkc_eval_options *opts, NtkcError *err)
{
    if (nngp == NULL && ntk == NULL)
        return 0;
    if (dim > (size_t)0x7fffffff || n1 > (size_t)0x7fffffff || n2 > (size_t)0x7fffffff) {
        diag_user(err, "arrays too large for BLAS (dimensions above 2^31)");
        return err->code;
    }
    Job J = {.k = k, .n1 = n1, .n2 = x2 ? n2 : n1, .dim = dim, .x1 = x1, .x2 = x2 ? x2 : x1,
             .ps = k->prep_size(), .nngp = nngp, .ntk = ntk, .symmetric = x2 == NULL};
    J.threads = opts && opts->threads > 0 ? opts->threads : omp_get_max_threads();
    double *prep = malloc((n1 + (J.symmetric ? 0 : J.n2) + 1) * J.ps * sizeof *prep);
    if (prep == NULL) {
        diag_user(err, "out of memory for %zu per-input records", n1 + J.n2);
        return err->code;
    }
    J.prep1 = prep;
    J.prep2 = J.symmetric ? prep : prep + n1 * J.ps;
    k->prep(n1, x1, dim, prep);
    if (!J.symmetric)
        k->prep(J.n2, J.x2, dim, prep + n1 * J.ps);
    int rc = run_panels(&J, opts, err);
    free(prep);
    return rc;
}
