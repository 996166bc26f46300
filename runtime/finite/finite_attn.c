/* Forward and backward pass of the finite-width attention layer
 * (finite_attn.h), with BLAS for every product. */
#include "finite_attn.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int finite_attn_init(FiniteAttn *a, const IrAttention *ir, size_t P, size_t ci, size_t co, size_t width,
                     size_t *nparams)
{
    memset(a, 0, sizeof *a);
    a->ir = ir, a->P = P, a->ci = ci, a->co = co, a->heads = (size_t)ir->heads;
    a->d = width / a->heads ? width / a->heads : 1;
    double cp = ir->pos_emb == 2 ? ir->pos_channels * (double)ci : ir->pos_emb == 1 ? (double)ci : 0.0;
    if (cp != floor(cp) || (ir->pos_emb == 2 && cp < 1.0))
        return -2;
    a->cp = (size_t)cp;
    a->ch = ir->pos_emb == 2 ? ci + a->cp : ci;
    a->cv = ir->val_pos_emb ? a->ch : ci;
    size_t H = a->heads, d = a->d, n = *nparams, ch = a->ch;
    a->p_off = n;
    a->wq_off = n, n += ir->linear ? 0 : H * ch * d;
    a->wk_off = n, n += H * ch * d;
    a->wv_off = n, n += H * a->cv * d;
    a->wo_off = n, n += H * d * co;
    a->b_off = n, n += ir->b_std != 0.0 ? co : 0;
    a->e_off = n, n += P * a->cp;
    a->p_count = n - a->p_off;
    *nparams = n;
    size_t hpd = H * P * d, hpp = H * P * P;
    a->K = calloc(hpd, sizeof(double)), a->Q = calloc(hpd, sizeof(double)), a->V = calloc(hpd, sizeof(double));
    a->G = calloc(hpp, sizeof(double)), a->A = calloc(hpp, sizeof(double)), a->Hc = calloc(hpd, sizeof(double));
    a->gHc = calloc(hpd, sizeof(double)), a->gA = calloc(P * P, sizeof(double));
    a->gV = calloc(P * d, sizeof(double)), a->gK = calloc(P * d, sizeof(double)), a->gQ = calloc(P * d, sizeof(double));
    a->X = calloc(P * ch, sizeof(double)), a->gX = calloc(P * ch, sizeof(double));
    a->gXv = calloc(P * ch, sizeof(double));
    return a->K && a->Q && a->V && a->G && a->A && a->Hc && a->gHc && a->gA && a->gV && a->gK && a->gQ && a->X &&
                   a->gX && a->gXv
               ? 0
               : -1;
}

void finite_attn_free(FiniteAttn *a)
{
    double *bufs[] = {a->K, a->Q, a->V, a->G, a->A, a->Hc, a->gHc, a->gA, a->gV, a->gK, a->gQ, a->X, a->gX, a->gXv};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    memset(a, 0, sizeof *a);
}

/* C (m×n) = alpha·op(A)·op(B) + beta·C, row-major, leading dimensions given. */
static void gemm(int ta, int tb, size_t m, size_t n, size_t k, double alpha, const double *A, size_t lda,
                 const double *B, size_t ldb, double beta, double *C, size_t ldc)
{
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n,
                (int)k, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

double finite_attn_logit_scale(const FiniteAttn *a)
{
    double d = (double)a->d;
    return a->ir->w_q * a->ir->w_k / ((double)a->ch * (a->ir->linear ? d : sqrt(d)));
}

static void mechanism(const FiniteAttn *a, const double *G, double *A)
{
    size_t P = a->P;
    for (size_t i = 0; i < P; i++) {
        const double *g = G + i * P;
        double *r = A + i * P;
        switch (a->ir->mech) {
        case IR_ATTN_SOFTMAX: { /* over the unpadded keys (neural-tangents: padded logits -1e20) */
            const double *k = a->mask;
            double m = 0.0, z = 0.0;
            for (size_t j = 0, seen = 0; j < P; j++)
                if ((!k || k[j] != 0.0) && (!seen || g[j] > m))
                    m = g[j], seen = 1;
            for (size_t j = 0; j < P; j++)
                z += r[j] = !k || k[j] != 0.0 ? exp(g[j] - m) : 0.0;
            for (size_t j = 0; j < P; j++)
                r[j] /= z;
            break;
        }
        case IR_ATTN_IDENTITY:
            memcpy(r, g, P * sizeof *r);
            break;
        case IR_ATTN_ABS:
            for (size_t j = 0; j < P; j++)
                r[j] = fabs(g[j]);
            break;
        case IR_ATTN_RELU:
            for (size_t j = 0; j < P; j++)
                r[j] = g[j] > 0.0 ? g[j] : 0.0;
            break;
        }
    }
}

double finite_attn_out_scale(const FiniteAttn *a)
{
    return a->ir->w_v * a->ir->w_out / sqrt((double)(a->d * a->heads * a->cv));
}

/* X̂ from the layer's input: the input, with w_pos·E added (sum) or
 * appended (concat) at unpadded positions. */
static const double *embedded(FiniteAttn *a, const double *params, const double *in)
{
    if (a->ir->pos_emb == 0)
        return in;
    size_t P = a->P, C = a->ci, ch = a->ch, cp = a->cp;
    const double *E = params + a->e_off;
    for (size_t p = 0; p < P; p++) {
        double w = a->mask && a->mask[p] == 0.0 ? 0.0 : a->ir->w_pos;
        double *x = a->X + p * ch;
        memcpy(x, in + p * C, C * sizeof *x);
        double *e = a->ir->pos_emb == 1 ? x : x + C;
        for (size_t c = 0; c < cp; c++)
            e[c] = (a->ir->pos_emb == 1 ? e[c] : 0.0) + w * E[p * cp + c];
    }
    return a->X;
}

void finite_attn_forward(FiniteAttn *a, const double *params, const double *in, double *out)
{
    size_t P = a->P, ch = a->ch, cv = a->cv, d = a->d, H = a->heads, Hd = H * d;
    const double *X = embedded(a, params, in), *Xv = a->ir->val_pos_emb ? X : in;
    for (size_t h = 0; h < H; h++) {
        double *K = a->K + h * P * d, *Q = a->Q + h * P * d, *V = a->V + h * P * d;
        double *G = a->G + h * P * P, *A = a->A + h * P * P;
        gemm(0, 0, P, d, ch, 1.0, X, ch, params + a->wk_off + h * ch * d, d, 0.0, K, d);
        if (a->ir->linear)
            memcpy(Q, K, P * d * sizeof *Q);
        else
            gemm(0, 0, P, d, ch, 1.0, X, ch, params + a->wq_off + h * ch * d, d, 0.0, Q, d);
        gemm(0, 1, P, P, d, finite_attn_logit_scale(a), Q, d, K, d, 0.0, G, P);
        mechanism(a, G, A);
        gemm(0, 0, P, d, cv, 1.0, Xv, cv, params + a->wv_off + h * cv * d, d, 0.0, V, d);
        gemm(0, 0, P, d, P, 1.0, A, P, V, d, 0.0, a->Hc + h * d, Hd);
    }
    gemm(0, 0, P, a->co, Hd, finite_attn_out_scale(a), a->Hc, Hd, params + a->wo_off, a->co, 0.0, out, a->co);
    if (a->ir->b_std != 0.0)
        for (size_t p = 0; p < P; p++)
            for (size_t c = 0; c < a->co; c++)
                out[p * a->co + c] += a->ir->b_std * params[a->b_off + c];
}

/* ∂f/∂G from ∂f/∂A (in place in gA), for the row-wise mechanism. */
static void mechanism_grad(const FiniteAttn *a, const double *G, const double *A, double *gA)
{
    size_t P = a->P;
    for (size_t i = 0; i < P; i++) {
        const double *g = G + i * P, *r = A + i * P;
        double *q = gA + i * P;
        if (a->ir->mech == IR_ATTN_SOFTMAX) {
            double dot = 0.0;
            for (size_t j = 0; j < P; j++)
                dot += r[j] * q[j];
            for (size_t j = 0; j < P; j++)
                q[j] = r[j] * (q[j] - dot);
        } else if (a->ir->mech == IR_ATTN_ABS) {
            for (size_t j = 0; j < P; j++)
                q[j] *= g[j] > 0.0 ? 1.0 : g[j] < 0.0 ? -1.0 : 0.0;
        } else if (a->ir->mech == IR_ATTN_RELU) {
            for (size_t j = 0; j < P; j++)
                q[j] *= g[j] > 0.0 ? 1.0 : 0.0;
        }
    }
}

/* From the gradients of X̂ (gX, keys and queries) and of the values' input
 * (gXv): E's gradient (its own range of grad) and the layer input's (gin,
 * unless NULL). */
static void embedding_grads(FiniteAttn *a, double *grad, double *gin)
{
    size_t P = a->P, C = a->ci, ch = a->ch, cv = a->cv, cp = a->cp, at = a->ir->pos_emb == 1 ? 0 : C;
    double *gE = grad + a->e_off;
    for (size_t p = 0; p < P; p++) {
        double w = a->mask && a->mask[p] == 0.0 ? 0.0 : a->ir->w_pos;
        const double *gx = a->gX + p * ch, *gv = a->gXv + p * cv;
        for (size_t c = 0; c < cp; c++)
            gE[p * cp + c] = w * (gx[at + c] + (a->ir->val_pos_emb ? gv[at + c] : 0.0));
        for (size_t c = 0; gin && c < C; c++)
            gin[p * C + c] = gx[c] + gv[c];
    }
}

void finite_attn_backward(FiniteAttn *a, const double *params, const double *in, const double *gout, double *grad,
                          double *gin)
{
    size_t P = a->P, ch = a->ch, cv = a->cv, d = a->d, H = a->heads, Hd = H * d, co = a->co;
    double so = finite_attn_out_scale(a), sl = finite_attn_logit_scale(a);
    int pe = a->ir->pos_emb != 0;
    const double *X = pe ? a->X : in, *Xv = a->ir->val_pos_emb ? X : in;
    /* with embeddings, the inputs' gradients go to gX (keys, queries) and
     * gXv (values) first; without, both are the layer input's */
    double *gX = pe ? a->gX : gin, *gXv = pe ? a->gXv : gin;
    gemm(1, 0, Hd, co, P, so, a->Hc, Hd, gout, co, 0.0, grad + a->wo_off, co);
    if (a->ir->b_std != 0.0)
        for (size_t c = 0; c < co; c++) {
            double s = 0.0;
            for (size_t p = 0; p < P; p++)
                s += gout[p * co + c];
            grad[a->b_off + c] = a->ir->b_std * s;
        }
    gemm(0, 1, P, Hd, co, so, gout, co, params + a->wo_off, co, 0.0, a->gHc, Hd);
    if (gX)
        memset(gX, 0, P * ch * sizeof *gX);
    if (gXv && gXv != gX)
        memset(gXv, 0, P * cv * sizeof *gXv);
    for (size_t h = 0; h < H; h++) {
        const double *K = a->K + h * P * d, *Q = a->Q + h * P * d, *V = a->V + h * P * d;
        const double *G = a->G + h * P * P, *A = a->A + h * P * P, *gH = a->gHc + h * d;
        const double *Wk = params + a->wk_off + h * ch * d, *Wv = params + a->wv_off + h * cv * d;
        gemm(0, 1, P, P, d, 1.0, gH, Hd, V, d, 0.0, a->gA, P);   /* ∂f/∂A = gH·Vᵀ */
        gemm(1, 0, P, d, P, 1.0, A, P, gH, Hd, 0.0, a->gV, d);   /* ∂f/∂V = Aᵀ·gH */
        gemm(1, 0, cv, d, P, 1.0, Xv, cv, a->gV, d, 0.0, grad + a->wv_off + h * cv * d, d);
        if (gXv)
            gemm(0, 1, P, cv, d, 1.0, a->gV, d, Wv, d, 1.0, gXv, cv);
        mechanism_grad(a, G, A, a->gA);                          /* now ∂f/∂G */
        gemm(0, 0, P, d, P, sl, a->gA, P, K, d, 0.0, a->gQ, d);  /* ∂f/∂Q = s·gG·K */
        gemm(1, 0, P, d, P, sl, a->gA, P, Q, d, 0.0, a->gK, d);  /* ∂f/∂K = s·gGᵀ·Q */
        if (a->ir->linear) { /* tied: K = Q = X̂·W_k */
            for (size_t e = 0; e < P * d; e++)
                a->gK[e] += a->gQ[e];
        } else {
            const double *Wq = params + a->wq_off + h * ch * d;
            gemm(1, 0, ch, d, P, 1.0, X, ch, a->gQ, d, 0.0, grad + a->wq_off + h * ch * d, d);
            if (gX)
                gemm(0, 1, P, ch, d, 1.0, a->gQ, d, Wq, d, 1.0, gX, ch);
        }
        gemm(1, 0, ch, d, P, 1.0, X, ch, a->gK, d, 0.0, grad + a->wk_off + h * ch * d, d);
        if (gX)
            gemm(0, 1, P, ch, d, 1.0, a->gK, d, Wk, d, 1.0, gX, ch);
    }
    if (pe)
        embedding_grads(a, grad, gin);
}
