/* The activation table: one entry per activation, holding everything every stage
 * needs — its parameters, φ and φ' on the host (for quadrature references and the
 * finite-width Monte Carlo networks), and the C text of its dual kernel that the
 * emitter pastes into generated code. Adding an activation = adding an entry. */
#ifndef NTKC_ACT_H
#define NTKC_ACT_H

#include <stddef.h>

enum { ACT_MAX_PARAMS = 8 };

typedef struct ActParam {
    const char *name;
    double def;      /* default value */
    double min, max; /* inclusive range accepted by the checks */
    int integer;     /* 1 when the value must be a whole number */
} ActParam;

typedef struct ActDef ActDef;
struct ActDef {
    const char *name;
    int nparams;
    ActParam params[ACT_MAX_PARAMS];
    /* The first nrequired parameters must be written (neural-tangents has no
     * default for them). A list like polynomial(c0, c1, ...) is nparams
     * parameters of which trailing ones default to 0. */
    int nrequired;
    /* Host φ and φ'. p holds nparams values. Formula activations carry their
     * expression trees in `user` and evaluate them here. */
    double (*phi)(const ActDef *self, double x, const double *p);
    double (*dphi)(const ActDef *self, double x, const double *p);
    /* C99 text defining exactly
     *   static void ntkc_dual_<name>(const double *p, double s11, double s12,
     *                                double s22, double *T, double *Td);
     * T = E[φ(u)φ(v)], Td = E[φ'(u)φ'(v)], (u,v) ~ N(0, [[s11,s12],[s12,s22]]).
     * It may call only libm functions declared by the emitter's prelude and
     * ntkc_acos/ntkc_asin (same bits from every back end: use them where the
     * dual is ill-conditioned, as arc-cosine kernels are at ρ = ±1), and
     * must be finite for s11, s22 >= 0 and |s12| <= sqrt(s11 s22), including
     * zero variances and s12 = ±sqrt(s11 s22). */
    const char *c_dual;
    /* The diagonal variance map on the host, in closed form and written
     * independently of c_dual: T and Td at s11 = s12 = s22 = s. NULL for
     * formula activations. Tests hold c_dual to it at correlation 1. */
    void (*diag)(const ActDef *self, const double *p, double s, double *T, double *Td);
    /* φ or φ' jumps at 0, so quadrature converges slowly. The kinked built-ins
     * are positively homogeneous, φ(r·x) = r^k·φ(x) for r > 0, which gives
     * their tests an exact reference; at a zero variance they take φ'(0) as
     * the mean of the one-sided slopes. */
    int kinked;
    /* The prep records of its input hold √v and 1/√v instead of v: the
     * branch-free pair update ntkc_relu_qr (kernel_c/ntkc_math.h) wants
     * them. Both the fully connected and the image emitters read this flag;
     * only ReLU sets it. */
    int sqrt_records;
    void *user;
};

/* 1 for a kernel map without an elementwise φ (exp_normalized): phi and dphi
 * are NULL, so no finite-width network computes it. */
static inline int act_kernel_only(const ActDef *d) { return d->phi == NULL; }

/* Built-in activation by name, or NULL. */
const ActDef *act_lookup(const char *name);
/* The built-in table, for tests and listings. */
const ActDef *const *act_builtins(size_t *count);

#endif
