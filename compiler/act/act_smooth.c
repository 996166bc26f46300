/* Smooth activations whose dual kernels are Gaussian integrals in closed
 * form (parameterisations and defaults as neural-tangents' stax). */
#include <math.h>

#include "act_entries.h"

#define DUAL_HEAD(name)                                                                                            \
    "static void ntkc_dual_" name "(const double *p, double s11, double s12, double s22,\n"                        \
    "                              double *T, double *Td)\n"                                                       \
    "{\n"

/* ---- sigmoid_like: 0.5·erf(x/2.4020563531719796) + 0.5 ------------------- */

#define SIGMOID_LIKE_B (1 / 2.4020563531719796)

static double sigmoid_like_phi(const ActDef *d, double x, const double *p)
{
    (void)d, (void)p;
    return 0.5 * erf(SIGMOID_LIKE_B * x) + 0.5;
}

static double sigmoid_like_dphi(const ActDef *d, double x, const double *p)
{
    (void)d, (void)p;
    return 0.5 * SIGMOID_LIKE_B * 2 / sqrt(M_PI) * exp(-SIGMOID_LIKE_B * SIGMOID_LIKE_B * x * x);
}

static void sigmoid_like_diag(const ActDef *d, const double *p, double s, double *T, double *Td)
{
    (void)d, (void)p;
    double b2 = SIGMOID_LIKE_B * SIGMOID_LIKE_B;
    *T = 0.25 * 2 / M_PI * asin(2 * b2 * s / (1 + 2 * b2 * s)) + 0.25;
    *Td = 0.25 * 4 * b2 / M_PI / sqrt(1 + 4 * b2 * s);
}

/* The constant minimises the squared distance to the logistic sigmoid on
 * [-5, 5] (neural-tangents' Sigmoid_like). Dual: erf's with a = c = 1/2. */
const ActDef act_sigmoid_like = {
    .name = "sigmoid_like",
    .phi = sigmoid_like_phi,
    .dphi = sigmoid_like_dphi,
    .diag = sigmoid_like_diag,
    .c_dual = "/* sigmoid_like: 0.5·erf(x/2.4020563531719796) + 0.5. */\n" DUAL_HEAD("sigmoid_like")
              "    (void)p;\n"
              "    double b = 1.0 / 2.4020563531719796, b2 = 2.0 * b * b;\n"
              "    double q1 = 1.0 + b2 * s11, q2 = 1.0 + b2 * s22;\n"
              "    double r = b2 * s12 / sqrt(q1 * q2);\n"
              "    r = r > 1.0 ? 1.0 : (r < -1.0 ? -1.0 : r);\n"
              "    *T = 0.25 * (2.0 / NTKC_PI) * ntkc_asin(r) + 0.25;\n"
              "    double det = q1 * q2 - b2 * s12 * b2 * s12; /* >= 1 */\n"
              "    *Td = 0.25 * (2.0 * b2 / NTKC_PI) / sqrt(det > 1.0 ? det : 1.0);\n"
              "}\n",
};

/* ---- gelu: x·Φ(x) -------------------------------------------------------- */

static double gelu_phi(const ActDef *d, double x, const double *p)
{
    (void)d, (void)p;
    return 0.5 * x * erfc(-x / M_SQRT2);
}

static double gelu_dphi(const ActDef *d, double x, const double *p)
{
    (void)d, (void)p;
    return 0.5 * erfc(-x / M_SQRT2) + x * exp(-0.5 * x * x) / sqrt(2 * M_PI);
}

/* E[gelu(u)²] = s²/(π(1 + s)√(1 + 2s)) + s·atan(s/√(1 + 2s))/(2π) + s/4. */
static void gelu_diag(const ActDef *d, const double *p, double s, double *T, double *Td)
{
    (void)d, (void)p;
    double r = sqrt(1 + 2 * s), ang = atan(s / r);
    *T = s * s / (M_PI * (1 + s) * r) + s * ang / (2 * M_PI) + s / 4;
    *Td = s / (2 * M_PI * r) * (1 / (1 + 2 * s) + (1 - s * s) / ((1 + s) * (1 + s)) + 1) + 0.25 + ang / (2 * M_PI);
}

/* Exact GELU (not the tanh approximation); kernel of arXiv:2002.08517 as in
 * neural-tangents, with δ² = (1 + Σ11)(1 + Σ22) − Σ12² >= 1 + Σ11 + Σ22. */
const ActDef act_gelu = {
    .name = "gelu",
    .phi = gelu_phi,
    .dphi = gelu_dphi,
    .diag = gelu_diag,
    .c_dual = "/* gelu: x·Φ(x) with Φ the standard normal CDF. */\n" DUAL_HEAD("gelu") "    (void)p;\n"
              "    double prod = s11 * s22, prod1 = (1.0 + s11) * (1.0 + s22);\n"
              "    double d2 = prod1 - s12 * s12;\n"
              "    d2 = d2 > 1.0 ? d2 : 1.0;\n"
              "    double d = sqrt(d2), ang = atan2(s12, d);\n"
              "    *T = ((s12 * s12 + prod * d2) / (prod1 * d) + s12 * ang) / (2.0 * NTKC_PI) + 0.25 * s12;\n"
              "    *Td = s12 / (d * 2.0 * NTKC_PI) * (1.0 / d2 + (1.0 - prod) / prod1 + 1.0)\n"
              "          + 0.25 + ang / (2.0 * NTKC_PI);\n"
              "}\n",
};

/* ---- sin and cos: a·sin(b·x + c), a·cos(b·x + c) ------------------------- */

static double sin_phi(const ActDef *d, double x, const double *p) { return (void)d, p[0] * sin(p[1] * x + p[2]); }
static double sin_dphi(const ActDef *d, double x, const double *p)
{
    (void)d;
    return p[0] * p[1] * cos(p[1] * x + p[2]);
}

/* E[sin(bu+c)²] = (1 − e^(−2b²s)·cos 2c)/2 = (−expm1(−2b²s)·cos 2c + 2 sin²c)/2,
 * without the cancellation at small s; cos flips the sign of cos 2c. */
static void sincos_diag(const double *p, double sgn, double s, double *T, double *Td)
{
    double a2 = p[0] * p[0], b2 = p[1] * p[1], c2 = cos(2 * p[2]), sc2 = sin(p[2]) * sin(p[2]);
    double m = -expm1(-2 * b2 * s), e = exp(-2 * b2 * s);
    if (sgn > 0) {
        *T = a2 / 2 * (m * c2 + 2 * sc2);
        *Td = a2 * b2 / 2 * (1 + e * c2);
    } else {
        *T = a2 / 2 * (1 + e * c2);
        *Td = a2 * b2 / 2 * (m * c2 + 2 * sc2);
    }
}

static void sin_diag(const ActDef *d, const double *p, double s, double *T, double *Td)
{
    (void)d;
    sincos_diag(p, 1, s, T, Td);
}

/* With x = b²Σ12, y = b²(Σ11 + Σ22)/2 and E[sin(bu+c) sin(bv+c)] =
 * (e^(x−y) − e^(−x−y)·cos 2c)/2 (neural-tangents' Sin), written as
 *   T_sin = a²·(e^(−y) sinh x + e^(−x−y) sin²c),  Ṫ_sin = a²b²·(e^(−y) cosh x − e^(−x−y) sin²c)
 * to keep full relative accuracy at small variances (sinh for |x| < 1, where
 * the difference of exponentials cancels; |x| <= y so nothing overflows);
 * cos swaps the roles (cos(z) = sin(z + π/2)). c = 0 skips sin c. */
#define SINCOS_TERMS                                                                                               \
    "    double a2 = p[0] * p[0], b2 = p[1] * p[1], c = p[2];\n"                                                    \
    "    double sc = c == 0.0 ? 0.0 : sin(c), x = b2 * s12, y = 0.5 * b2 * (s11 + s22);\n"                        \
    "    double ep = exp(x - y), em = exp(-x - y), k = em * sc * sc;\n"                                           \
    "    double sh = fabs(x) < 1.0 ? exp(-y) * sinh(x) : 0.5 * (ep - em), ch = 0.5 * (ep + em);\n"

const ActDef act_sin = {
    .name = "sin",
    .nparams = 3,
    .params = {{"a", 1.0, -INFINITY, INFINITY, 0}, {"b", 1.0, -INFINITY, INFINITY, 0}, {"c", 0.0, -INFINITY, INFINITY, 0}},
    .phi = sin_phi,
    .dphi = sin_dphi,
    .diag = sin_diag,
    .c_dual = "/* sin: a·sin(b·x + c). */\ndouble sinh(double);\n" DUAL_HEAD("sin") SINCOS_TERMS
              "    *T = a2 * (sh + k);\n"
              "    *Td = a2 * b2 * (ch - k);\n"
              "}\n",
};

static double cos_phi(const ActDef *d, double x, const double *p) { return (void)d, p[0] * cos(p[1] * x + p[2]); }
static double cos_dphi(const ActDef *d, double x, const double *p)
{
    (void)d;
    return -p[0] * p[1] * sin(p[1] * x + p[2]);
}

static void cos_diag(const ActDef *d, const double *p, double s, double *T, double *Td)
{
    (void)d;
    sincos_diag(p, -1, s, T, Td);
}

const ActDef act_cos = {
    .name = "cos",
    .nparams = 3,
    .params = {{"a", 1.0, -INFINITY, INFINITY, 0}, {"b", 1.0, -INFINITY, INFINITY, 0}, {"c", 0.0, -INFINITY, INFINITY, 0}},
    .phi = cos_phi,
    .dphi = cos_dphi,
    .diag = cos_diag,
    .c_dual = "/* cos: a·cos(b·x + c). */\ndouble sinh(double);\n" DUAL_HEAD("cos") SINCOS_TERMS
              "    *T = a2 * (ch - k);\n"
              "    *Td = a2 * b2 * (sh + k);\n"
              "}\n",
};

/* ---- exp: a·exp(b·x) ----------------------------------------------------- */

static double exp_phi(const ActDef *d, double x, const double *p) { return (void)d, p[0] * exp(p[1] * x); }
static double exp_dphi(const ActDef *d, double x, const double *p) { return (void)d, p[0] * p[1] * exp(p[1] * x); }
static void exp_diag(const ActDef *d, const double *p, double s, double *T, double *Td)
{
    (void)d;
    *T = p[0] * p[0] * exp(2 * p[1] * p[1] * s);
    *Td = p[1] * p[1] * *T;
}

/* T = a²·e^(b²(Σ11 + Σ22 + 2Σ12)/2), Ṫ = b²T: infinite only where the true
 * value exceeds the largest double. */
const ActDef act_exp = {
    .name = "exp",
    .nparams = 2,
    .params = {{"a", 1.0, -INFINITY, INFINITY, 0}, {"b", 1.0, -INFINITY, INFINITY, 0}},
    .phi = exp_phi,
    .dphi = exp_dphi,
    .diag = exp_diag,
    .c_dual = "/* exp: a·exp(b·x). */\n" DUAL_HEAD("exp") "    double a2 = p[0] * p[0], b2 = p[1] * p[1];\n"
              "    *T = a2 * exp(0.5 * b2 * (s11 + s22 + 2.0 * s12));\n"
              "    *Td = b2 * *T;\n"
              "}\n",
};

/* ---- gaussian: a·exp(b·x²), b <= 0 ---------------------------------------- */

static double gaussian_phi(const ActDef *d, double x, const double *p)
{
    (void)d;
    return p[0] * exp(p[1] * x * x);
}

static double gaussian_dphi(const ActDef *d, double x, const double *p)
{
    (void)d;
    return 2 * p[0] * p[1] * x * exp(p[1] * x * x);
}

static void gaussian_diag(const ActDef *d, const double *p, double s, double *T, double *Td)
{
    (void)d;
    double a2 = p[0] * p[0], b = p[1], q = 1 - 4 * b * s;
    *T = a2 / sqrt(q);
    *Td = 4 * a2 * b * b * s / (q * sqrt(q));
}

/* T = a²/√det, Ṫ = 4a²b²Σ12/det^(3/2), det = (1 − 2bΣ11)(1 − 2bΣ22) − 4b²Σ12²,
 * which is >= 1 for b <= 0; for b > 0 the integrals diverge at large
 * variances, so b is limited to <= 0 (neural-tangents' default is -1). */
const ActDef act_gaussian = {
    .name = "gaussian",
    .nparams = 2,
    .params = {{"a", 1.0, -INFINITY, INFINITY, 0}, {"b", -1.0, -INFINITY, 0.0, 0}},
    .phi = gaussian_phi,
    .dphi = gaussian_dphi,
    .diag = gaussian_diag,
    .c_dual = "/* gaussian: a·exp(b·x²). */\n" DUAL_HEAD("gaussian") "    double a2 = p[0] * p[0], b = p[1];\n"
              "    double det = (1.0 - 2.0 * b * s11) * (1.0 - 2.0 * b * s22) - 4.0 * b * b * s12 * s12;\n"
              "    det = det > 1.0 ? det : 1.0;\n"
              "    double r = sqrt(det);\n"
              "    *T = a2 / r;\n"
              "    *Td = 4.0 * a2 * b * b * s12 / (det * r);\n"
              "}\n",
};

/* ---- rbf: √2·sin(√(2γ)·x + π/4) ------------------------------------------ */

static double rbf_phi(const ActDef *d, double x, const double *p)
{
    (void)d;
    return M_SQRT2 * sin(sqrt(2 * p[0]) * x + M_PI / 4);
}

static double rbf_dphi(const ActDef *d, double x, const double *p)
{
    (void)d;
    return 2 * sqrt(p[0]) * cos(sqrt(2 * p[0]) * x + M_PI / 4);
}

static void rbf_diag(const ActDef *d, const double *p, double s, double *T, double *Td)
{
    (void)d, (void)s;
    *T = 1;
    *Td = 2 * p[0];
}

/* The dual is the RBF kernel exp(−γ(Σ11 + Σ22 − 2Σ12)), Ṫ = 2γT. */
const ActDef act_rbf = {
    .name = "rbf",
    .nparams = 1,
    .params = {{"gamma", 1.0, 0.0, INFINITY, 0}},
    .phi = rbf_phi,
    .dphi = rbf_dphi,
    .diag = rbf_diag,
    .c_dual = "/* rbf: sqrt(2)·sin(sqrt(2·gamma)·x + π/4), whose dual is the RBF kernel. */\n" DUAL_HEAD("rbf")
              "    double g = p[0];\n"
              "    *T = exp(g * (2.0 * s12 - s11 - s22));\n"
              "    *Td = 2.0 * g * *T;\n"
              "}\n",
};
