/* The forward tangent (J·v) of the finite-width attention layer, per head:
 *   K̇ = Ẋ·W_k + X·V_k,  Q̇ = K̇ (linear scaling, tied) or Ẋ·W_q + X·V_q,
 *   V̇ = Ẋ·W_v + X·V_v,   Ġ = s·(Q̇·Kᵀ + Q·K̇ᵀ),   Ȧ = mech′(G)·Ġ,
 *   Ḣ = Ȧ·V + A·V̇,  out‾ = s_o·(Ḣ·W_o + H·V_o) + b_std·v_b
 * with V_· the direction's entries of each weight. The scales are those of
 * finite_attn.c's forward pass; test_train_families.c checks the tangent
 * against central differences of that pass, so the two cannot drift apart. */
#include "finite_attn_train.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

static void gemm(int ta, int tb, size_t m, size_t n, size_t k, double alpha, const double *A, size_t lda,
                 const double *B, size_t ldb, double beta, double *C, size_t ldc)
{
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n,
                (int)k, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

/* Ȧ from Ġ in place: the mechanism's Jacobian, row by row (softmax's is
 * diag(r) − r·rᵀ; the others are diagonal). */
static void mechanism_tangent(const FiniteAttn *a, const double *G, const double *A, double *dG)
{
    size_t P = a->P;
    for (size_t i = 0; i < P; i++) {
        const double *g = G + i * P, *r = A + i * P;
        double *q = dG + i * P;
        switch (a->ir->mech) {
        case IR_ATTN_SOFTMAX: {
            double dot = 0.0;
            for (size_t j = 0; j < P; j++)
                dot += r[j] * q[j];
            for (size_t j = 0; j < P; j++)
                q[j] = r[j] * (q[j] - dot);
            break;
        }
        case IR_ATTN_ABS:
            for (size_t j = 0; j < P; j++)
                q[j] *= g[j] > 0.0 ? 1.0 : g[j] < 0.0 ? -1.0 : 0.0;
            break;
        case IR_ATTN_RELU:
            for (size_t j = 0; j < P; j++)
                q[j] *= g[j] > 0.0 ? 1.0 : 0.0;
            break;
        case IR_ATTN_IDENTITY:
            break;
        }
    }
}

/* out (P×d) = tin·W + in·Vw (tin NULL: the second term alone). */
static void affine_tangent(const FiniteAttn *a, const double *in, const double *tin, const double *W,
                           const double *Vw, double *out)
{
    size_t P = a->P, C = a->ci, d = a->d;
    gemm(0, 0, P, d, C, 1.0, in, C, Vw, d, 0.0, out, d);
    if (tin)
        gemm(0, 0, P, d, C, 1.0, tin, C, W, d, 1.0, out, d);
}

void finite_attn_tangent(FiniteAttn *a, const double *params, const double *in, const double *tin, const double *v,
                         double *tout)
{
    size_t P = a->P, C = a->ci, d = a->d, H = a->heads, Hd = H * d, co = a->co;
    double sl = finite_attn_logit_scale(a);
    double *dK = a->gK, *dQ = a->gQ, *dV = a->gV, *dA = a->gA, *dH = a->gHc;
    for (size_t h = 0; h < H; h++) {
        size_t w = h * C * d;
        const double *K = a->K + h * P * d, *Q = a->Q + h * P * d, *V = a->V + h * P * d;
        const double *G = a->G + h * P * P, *A = a->A + h * P * P;
        affine_tangent(a, in, tin, params + a->wk_off + w, v + a->wk_off + w, dK);
        if (a->ir->linear)
            memcpy(dQ, dK, P * d * sizeof *dQ);
        else
            affine_tangent(a, in, tin, params + a->wq_off + w, v + a->wq_off + w, dQ);
        affine_tangent(a, in, tin, params + a->wv_off + w, v + a->wv_off + w, dV);
        gemm(0, 1, P, P, d, sl, dQ, d, K, d, 0.0, dA, P);
        gemm(0, 1, P, P, d, sl, Q, d, dK, d, 1.0, dA, P);
        mechanism_tangent(a, G, A, dA);
        gemm(0, 0, P, d, P, 1.0, dA, P, V, d, 0.0, dH + h * d, Hd);
        gemm(0, 0, P, d, P, 1.0, A, P, dV, d, 1.0, dH + h * d, Hd);
    }
    double so = finite_attn_out_scale(a);
    gemm(0, 0, P, co, Hd, so, dH, Hd, params + a->wo_off, co, 0.0, tout, co);
    gemm(0, 0, P, co, Hd, so, a->Hc, Hd, v + a->wo_off, co, 1.0, tout, co);
    if (a->ir->b_std != 0.0)
        for (size_t p = 0; p < P; p++)
            for (size_t c = 0; c < co; c++)
                tout[p * co + c] += a->ir->b_std * v[a->b_off + c];
}
