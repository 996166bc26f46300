/* Closed-form dual kernels. Each entry's c_dual is pasted verbatim into
 * generated code; phi/dphi are the host versions used by the quadrature
 * references and the finite-width checks. Conventions: a zero variance gives
 * correlation 0 (the kernel is then 0 for homogeneous activations whatever Ṫ
 * is, since Σ12 = 0 there), correlations are clipped into [-1, 1]. */
#include "act.h"

#include <math.h>
#include <string.h>

#include "act_entries.h"

static double relu_phi(const ActDef *self, double x, const double *p)
{
    (void)self, (void)p;
    return x > 0 ? x : 0;
}

static double relu_dphi(const ActDef *self, double x, const double *p)
{
    (void)self, (void)p;
    return x > 0 ? 1 : (x < 0 ? 0 : 0.5);
}

static void relu_diag(const ActDef *self, const double *p, double s, double *T, double *Td)
{
    (void)self, (void)p;
    *T = s / 2;
    *Td = s > 0 ? 0.5 : 0.25;
}

static const ActDef act_relu = {
    .name = "relu",
    .nparams = 0,
    .phi = relu_phi,
    .dphi = relu_dphi,
    .diag = relu_diag,
    .kinked = 1,
    .sqrt_records = 1,
    .c_dual =
        "/* ReLU: arc-cosine kernel of order 1 (Cho & Saul 2009). */\n"
        "static void ntkc_dual_relu(const double *p, double s11, double s12, double s22,\n"
        "                           double *T, double *Td)\n"
        "{\n"
        "    (void)p;\n"
        ACT_C_CORRELATION
        "    double theta = ntkc_acos(rho);\n"
        "    /* sin(acos(rho)) = sqrt(1 - rho^2): one transcendental per pair. */\n"
        "    *T = norm * (sqrt(1.0 - rho * rho) + (NTKC_PI - theta) * rho) * (0.5 / NTKC_PI);\n"
        "    *Td = (NTKC_PI - theta) * (0.5 / NTKC_PI);\n"
        "}\n",
};

static double erf_phi(const ActDef *self, double x, const double *p)
{
    (void)self;
    return p[0] * erf(p[1] * x) + p[2];
}

static double erf_dphi(const ActDef *self, double x, const double *p)
{
    (void)self;
    return p[0] * p[1] * 2.0 / sqrt(M_PI) * exp(-p[1] * p[1] * x * x);
}

/* E[erf(bu)²] = (2/π)·asin(2b²s/(1 + 2b²s)); E[erf'(bu)²]·b² = (4b²/π)/√(1 + 4b²s). */
static void erf_diag(const ActDef *self, const double *p, double s, double *T, double *Td)
{
    (void)self;
    double a = p[0], b2 = p[1] * p[1], c = p[2];
    *T = a * a * 2 / M_PI * asin(2 * b2 * s / (1 + 2 * b2 * s)) + c * c;
    *Td = a * a * 4 * b2 / M_PI / sqrt(1 + 4 * b2 * s);
}

static const ActDef act_erf = {
    .name = "erf",
    .nparams = 3,
    .params = {{"a", 1.0, -INFINITY, INFINITY, 0},
               {"b", 1.0, -INFINITY, INFINITY, 0},
               {"c", 0.0, -INFINITY, INFINITY, 0}},
    .phi = erf_phi,
    .dphi = erf_dphi,
    .diag = erf_diag,
    .c_dual =
        "/* a·erf(b·x) + c (Williams 1997). */\n"
        "static void ntkc_dual_erf(const double *p, double s11, double s12, double s22,\n"
        "                          double *T, double *Td)\n"
        "{\n"
        "    double a = p[0], b2 = 2.0 * p[1] * p[1], c = p[2];\n"
        "    double q1 = 1.0 + b2 * s11, q2 = 1.0 + b2 * s22;\n"
        "    double r = b2 * s12 / sqrt(q1 * q2);\n"
        "    r = r > 1.0 ? 1.0 : (r < -1.0 ? -1.0 : r);\n"
        "    *T = a * a * (2.0 / NTKC_PI) * ntkc_asin(r) + c * c;\n"
        "    /* q1 q2 - (b2 s12)^2 >= q1 + q2 - 1 >= 1 whenever |s12| <= sqrt(s11 s22). */\n"
        "    double det = q1 * q2 - b2 * s12 * b2 * s12;\n"
        "    *Td = a * a * (2.0 * b2 / NTKC_PI) / sqrt(det > 1.0 ? det : 1.0);\n"
        "}\n",
};

static double identity_phi(const ActDef *self, double x, const double *p)
{
    (void)self, (void)p;
    return x;
}

static double identity_dphi(const ActDef *self, double x, const double *p)
{
    (void)self, (void)p, (void)x;
    return 1.0;
}

static void identity_diag(const ActDef *self, const double *p, double s, double *T, double *Td)
{
    (void)self, (void)p;
    *T = s;
    *Td = 1;
}

static const ActDef act_identity = {
    .name = "identity",
    .nparams = 0,
    .phi = identity_phi,
    .dphi = identity_dphi,
    .diag = identity_diag,
    .c_dual =
        "static void ntkc_dual_identity(const double *p, double s11, double s12, double s22,\n"
        "                               double *T, double *Td)\n"
        "{\n"
        "    (void)p, (void)s11, (void)s22;\n"
        "    *T = s12;\n"
        "    *Td = 1.0;\n"
        "}\n",
};

/* The registry, in the order of the language reference. */
static const ActDef *const builtins[] = {
    &act_relu,     &act_leaky_relu, &act_abs,      &act_abrelu,   &act_erf,
    &act_sigmoid_like, &act_gelu,   &act_sin,      &act_cos,      &act_sign,
    &act_step,     &act_exp,        &act_gaussian, &act_rbf,      &act_monomial,
    &act_rectified_monomial, &act_polynomial, &act_identity, &act_hermite, &act_gabor,
    &act_exp_normalized,
};

const ActDef *const *act_builtins(size_t *count)
{
    *count = sizeof builtins / sizeof builtins[0];
    return builtins;
}

const ActDef *act_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(builtins[i]->name, name) == 0)
            return builtins[i];
    return NULL;
}
