/* exp_normalized(gamma, shift), neural-tangents' stax.ExpNormalized (the
 * "Gaussian normalized kernel" of Shankar et al., "Neural Kernels Without
 * Tangents"): with ρ = Σ12/√(Σ11Σ22) clipped to [−1, 1],
 *   T = √(Σ11Σ22)·exp(γ(ρ + shift)),   Ṫ = γ·exp(γ(ρ + shift)) = ∂T/∂Σ12,
 * so Σ ← T and Θ ← Θ·Ṫ like any activation. It is a kernel map, not an
 * elementwise φ: neural-tangents' apply_fn raises, and this entry has no host
 * φ/φ' (phi and dphi NULL, act_kernel_only). The finite-width references
 * refuse nets that use it by name (`ntkc check`, `ntkc train`); its tests are
 * identities and neural-tangents' formula written out independently
 * (tests/test_exp_normalized.c). */
#include <math.h>

#include "act_entries.h"

/* The diagonal: ρ = 1. */
static void exp_normalized_diag(const ActDef *d, const double *p, double s, double *T, double *Td)
{
    (void)d;
    double e = exp(p[0] * (1.0 + p[1]));
    *T = s * e;
    *Td = p[0] * e;
}

const ActDef act_exp_normalized = {
    .name = "exp_normalized",
    .nparams = 2,
    .params = {{"gamma", 1.0, 0.0, 1e3, 0}, {"shift", -1.0, -1e3, 1e3, 0}},
    .diag = exp_normalized_diag,
    .c_dual = "/* exp_normalized: sqrt(s11 s22)·exp(gamma·(rho + shift)), a kernel map. */\n"
              "static void ntkc_dual_exp_normalized(const double *p, double s11, double s12, double s22,\n"
              "                                     double *T, double *Td)\n"
              "{\n"
              "    double norm = sqrt(s11 * s22);\n"
              "    double rho = norm > 0.0 ? s12 / norm : 0.0;\n"
              "    rho = rho > 1.0 ? 1.0 : rho < -1.0 ? -1.0 : rho;\n"
              "    double e = exp(p[0] * (rho + p[1]));\n"
              "    *T = norm * e;\n"
              "    *Td = p[0] * e;\n"
              "}\n",
};
