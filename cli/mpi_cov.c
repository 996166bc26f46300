/* The covariance on the process grid; the single-process formulas and their
 * derivations are runtime/predict/predict.c's, step for step. */
#include "mpi_cov.h"

#include <math.h>
#include <string.h>

#include "mpi_scalapack.h"
#include "mpi_util.h"

static const int ONE = 1;

/* a(λ, τ) = ∫_0^τ e^{−λs} ds, 0 for λ <= 0 (as runtime/predict/predict.c). */
static double flow_weight(double lambda, double tau)
{
    return lambda > 0 ? -expm1(-lambda * tau) / lambda : 0.0;
}

static size_t local_size(const Dist *d) { return dist_lld(d) * (size_t)(d->lc > 1 ? d->lc : 1); }

/* cov's upper triangle, which the symmetric updates leave, into its lower. */
static int symmetrise(const Grid *g, Dist *cov, ntkc_error *err)
{
    Dist t = {0};
    if (mpi_agree(g->comm, dist_init(g, (size_t)cov->rows, (size_t)cov->cols, &t, err), err) != 0) {
        dist_free(&t);
        return err->code;
    }
    dist_tran(1.0, cov, 0.0, &t);
    size_t lld = dist_lld(cov);
    for (size_t lj = 0; lj < (size_t)cov->lc; lj++)
        for (size_t li = 0; li < (size_t)cov->lr; li++)
            if (dist_row(g, li) > dist_col(g, lj))
                cov->a[li + lj * lld] = t.a[li + lj * lld];
    dist_free(&t);
    return 0;
}

int cov_basis_init(const Grid *g, const CovKernels *k, const Dist *v, const Dist *p, CovBasis *b, ntkc_error *err)
{
    *b = (CovBasis){.p = p};
    if (!k->ntk)
        return 0;
    size_t m = (size_t)p->rows, n = (size_t)p->cols;
    Dist kv = {0}; /* K_tt·V */
    int rc = dist_init(g, m, n, &b->s, err) || dist_init(g, n, n, &b->kv, err) || dist_init(g, n, n, &kv, err);
    if (mpi_agree(g->comm, rc ? err->code : 0, err) == 0) {
        const double one = 1.0, zero = 0.0;
        int nn = (int)n;
        dist_gemm("N", "N", 1.0, k->kst, v, 0.0, &b->s);
        pdsymm_("L", "U", &nn, &nn, &one, k->ktt->a, &ONE, &ONE, k->ktt->desc, v->a, &ONE, &ONE, v->desc, &zero, kv.a,
                &ONE, &ONE, kv.desc);
        dist_gemm("T", "N", 1.0, v, &kv, 0.0, &b->kv);
    }
    dist_free(&kv);
    return err->code;
}

void cov_basis_free(CovBasis *b)
{
    dist_free(&b->s);
    dist_free(&b->kv);
}

int cov_finite(const Grid *g, const CovKernels *k, const CovBasis *b, const double *lambda, double tau, Dist *cov,
               ntkc_error *err)
{
    int m = b->p->rows, n = b->p->cols;
    Dist q = {0}, u = {0};
    int rc = dist_init(g, (size_t)m, (size_t)n, &q, err) || (k->ntk && dist_init(g, (size_t)m, (size_t)n, &u, err));
    if (mpi_agree(g->comm, rc ? err->code : 0, err) != 0) {
        dist_free(&q), dist_free(&u);
        return err->code;
    }
    /* Q = P·diag(h): h = a(λ, τ) for the NTK, √a(λ, 2τ) for the NNGP. */
    size_t lld = dist_lld(&q);
    for (size_t lj = 0; lj < (size_t)q.lc; lj++) {
        double l = lambda[dist_col(g, lj)], h = k->ntk ? flow_weight(l, tau) : sqrt(flow_weight(l, 2 * tau));
        for (size_t li = 0; li < (size_t)q.lr; li++)
            q.a[li + lj * lld] = b->p->a[li + lj * lld] * h;
    }
    memcpy(cov->a, k->kss->a, local_size(cov) * sizeof *cov->a);
    const double one = 1.0, minus = -1.0;
    if (k->ntk) { /* U = Q·Kv/2 − S; cov = K_ss + U·Qᵀ + Q·Uᵀ */
        dist_gemm("N", "N", 0.5, &q, &b->kv, 0.0, &u);
        for (size_t i = 0; i < local_size(&u); i++)
            u.a[i] -= b->s.a[i];
        pdsyr2k_("U", "N", &m, &n, &one, u.a, &ONE, &ONE, u.desc, q.a, &ONE, &ONE, q.desc, &one, cov->a, &ONE, &ONE,
                 cov->desc);
    } else { /* cov = K_ss − Q·Qᵀ */
        pdsyrk_("U", "N", &m, &n, &minus, q.a, &ONE, &ONE, q.desc, &one, cov->a, &ONE, &ONE, cov->desc);
    }
    dist_free(&q), dist_free(&u);
    return symmetrise(g, cov, err);
}

/* NNGP: Y = u⁻ᵀ·K_ts, cov = K_ss − Yᵀ·Y. */
static void infinite_nngp(const CovKernels *k, const Dist *u, Dist *y, Dist *cov)
{
    int n = y->rows, m = y->cols;
    const double one = 1.0, minus = -1.0;
    dist_tran(1.0, k->gst, 0.0, y);
    pdtrsm_("L", "U", "T", "N", &n, &m, &one, u->a, &ONE, &ONE, u->desc, y->a, &ONE, &ONE, y->desc);
    pdsyrk_("U", "T", &m, &n, &minus, y->a, &ONE, &ONE, y->desc, &one, cov->a, &ONE, &ONE, cov->desc);
}

/* NTK: Bᵀ = Θ_r⁻¹·Θ_ts, Uᵀ = K_tt·Bᵀ/2 − K_ts, cov = K_ss + U·Bᵀ + B·Uᵀ. */
static int infinite_ntk(const CovKernels *k, const Dist *u, Dist *bt, Dist *ut, Dist *cov, ntkc_error *err)
{
    int n = bt->rows, m = bt->cols, info = 0;
    const double one = 1.0, half = 0.5, zero = 0.0;
    dist_tran(1.0, k->gst, 0.0, bt);
    pdpotrs_("U", &n, &m, u->a, &ONE, &ONE, u->desc, bt->a, &ONE, &ONE, bt->desc, &info);
    if (info != 0) {
        diag_internal(err, "Cholesky solve with the train-train NTK failed (info %d)", info);
        return err->code;
    }
    pdsymm_("L", "U", &n, &m, &half, k->ktt->a, &ONE, &ONE, k->ktt->desc, bt->a, &ONE, &ONE, bt->desc, &zero, ut->a,
            &ONE, &ONE, ut->desc);
    dist_tran(-1.0, k->kst, 1.0, ut);
    pdsyr2k_("U", "T", &m, &n, &one, ut->a, &ONE, &ONE, ut->desc, bt->a, &ONE, &ONE, bt->desc, &one, cov->a, &ONE,
             &ONE, cov->desc);
    return 0;
}

int cov_infinite(const Grid *g, const CovKernels *k, const Dist *u, Dist *cov, ntkc_error *err)
{
    size_t n = (size_t)u->rows, m = (size_t)cov->rows;
    Dist a = {0}, b = {0};
    int rc = dist_init(g, n, m, &a, err) || (k->ntk && dist_init(g, n, m, &b, err));
    if (mpi_agree(g->comm, rc ? err->code : 0, err) == 0) {
        memcpy(cov->a, k->kss->a, local_size(cov) * sizeof *cov->a);
        if (k->ntk)
            infinite_ntk(k, u, &a, &b, cov, err);
        else
            infinite_nngp(k, u, &a, cov);
    }
    dist_free(&a), dist_free(&b);
    return err->code ? err->code : symmetrise(g, cov, err);
}
