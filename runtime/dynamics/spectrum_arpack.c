/* The top K eigenpairs of a dense symmetric matrix through ARPACK's reverse
 * communication: ARPACK asks for products y = G·x, one dsymv each.
 * ARPACK keeps its reverse-communication state and its random start's seed
 * in Fortran SAVE variables, so it is not reentrant: one process-wide lock
 * (the only global state here besides libtcc's) serialises its runs. */
#include <arpack/arpack.h>
#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>

#include "spectrum.h"

typedef struct Lanczos {
    a_int n, nev, ncv, lworkl;
    a_int iparam[11], ipntr[14];
    double *resid, *v, *workd, *workl, *d, *z;
    a_int *select;
} Lanczos;

static void lanczos_free(Lanczos *l)
{
    free(l->resid), free(l->v), free(l->workd), free(l->workl), free(l->d), free(l->z), free(l->select);
}

static int lanczos_alloc(Lanczos *l, size_t n, size_t K, ntkc_error *err)
{
    l->n = (a_int)n;
    l->nev = (a_int)K;
    size_t ncv = 2 * K + 1 > 20 ? 2 * K + 1 : 20; /* ARPACK's advice: ncv >= 2·nev */
    l->ncv = (a_int)(ncv < n ? ncv : n);
    l->lworkl = l->ncv * (l->ncv + 8);
    l->resid = calloc(n, sizeof(double));
    l->v = calloc(n * (size_t)l->ncv, sizeof(double));
    l->workd = calloc(3 * n, sizeof(double));
    l->workl = calloc((size_t)l->lworkl, sizeof(double));
    l->d = calloc(K, sizeof(double));
    l->z = calloc(n * K, sizeof(double));
    l->select = calloc((size_t)l->ncv, sizeof(a_int));
    if (!l->resid || !l->v || !l->workd || !l->workl || !l->d || !l->z || !l->select) {
        diag_user(err, "spectrum: out of memory for ARPACK's %d Lanczos vectors of length %zu", (int)l->ncv, n);
        return err->code;
    }
    l->iparam[0] = 1;                  /* exact shifts */
    l->iparam[2] = (a_int)(10 * n + 300); /* restarts */
    l->iparam[6] = 1;                  /* mode 1: A·x = λ·x */
    return NTKC_OK;
}

/* Runs dsaupd to convergence, one G·x per request. */
static int iterate(Lanczos *l, const double *g, ntkc_error *err)
{
    a_int ido = 0, info = 0;
    for (;;) {
        dsaupd_c(&ido, "I", l->n, "LA", l->nev, 0.0, l->resid, l->ncv, l->v, l->n, l->iparam, l->ipntr, l->workd,
                 l->workl, l->lworkl, &info);
        if (ido != 1 && ido != -1)
            break;
        const double *x = l->workd + l->ipntr[0] - 1;
        double *y = l->workd + l->ipntr[1] - 1;
        cblas_dsymv(CblasRowMajor, CblasLower, (int)l->n, 1.0, g, (int)l->n, x, 1, 0.0, y, 1);
    }
    if (info == 1)
        diag_user(err, "spectrum: ARPACK did not converge to the top %d eigenvalues in %d restarts; leave out --top "
                       "for the full spectrum", (int)l->nev, (int)l->iparam[2]);
    else if (info != 0)
        diag_internal(err, "spectrum: ARPACK dsaupd failed (info %d)", (int)info);
    return err->code;
}

int spectrum_arpack_top(size_t n, const double *g, size_t K, double *vals, double *vecs, ntkc_error *err)
{
    if (K == 0 || K >= n) {
        diag_internal(err, "spectrum: ARPACK needs 0 < K < n (K %zu, n %zu)", K, n);
        return err->code;
    }
    static pthread_mutex_t arpack_lock = PTHREAD_MUTEX_INITIALIZER;
    Lanczos l = {0};
    pthread_mutex_lock(&arpack_lock);
    if (lanczos_alloc(&l, n, K, err) == 0 && iterate(&l, g, err) == 0) {
        a_int info = 0;
        dseupd_c(1, "A", l.select, l.d, l.z, l.n, 0.0, "I", l.n, "LA", l.nev, 0.0, l.resid, l.ncv, l.v, l.n, l.iparam,
                 l.ipntr, l.workd, l.workl, l.lworkl, &info);
        if (info != 0)
            diag_internal(err, "spectrum: ARPACK dseupd failed (info %d)", (int)info);
        /* d ascending, z column-major n×K: largest first into row-major vecs */
        for (size_t i = 0; i < K && err->code == 0; i++) {
            size_t src = K - 1 - i;
            vals[i] = l.d[src];
            for (size_t r = 0; r < n; r++)
                vecs[r * K + i] = l.z[src * n + r];
        }
    }
    pthread_mutex_unlock(&arpack_lock);
    lanczos_free(&l);
    return err->code;
}
