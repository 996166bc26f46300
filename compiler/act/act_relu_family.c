/* The kinked activations, all positively homogeneous: piecewise linear
 * a·min(x, 0) + b·max(x, 0) (leaky_relu, abs, abrelu; relu is in
 * act_table.c), sign, step, and the rectified monomials max(x, 0)^n, whose
 * duals are the arc-cosine kernels of Cho & Saul (2009).
 *
 * Exactness at the edges: the correlation is clipped into [-1, 1], so
 * Σ12 = ±√(Σ11Σ22) gives θ = 0 or π exactly; a zero variance gives
 * correlation 0, which yields φ(0)·E[φ(v)] for T and takes φ'(0) as the mean
 * of the one-sided slopes for Ṫ. step (φ(0) = 1) is the one activation whose
 * T at a zero variance is not the correlation-0 value: it is special-cased. */
#include <math.h>

#include "act_entries.h"

/* ---- a·min(x, 0) + b·max(x, 0) ------------------------------------------ */

/* T = k·√(Σ11Σ22 − Σ12²) + Ṫ·Σ12,  Ṫ = (a² + b²)/2 − k·θ,  k = (a − b)²/(2π),
 * θ = arccos ρ (neural-tangents' ABRelu). a and b are set by each entry. */
#define ABRELU_BODY                                                                                                \
    ACT_C_CORRELATION                                                                                              \
    "    double theta = ntkc_acos(rho), k = (a - b) * (a - b) / (2.0 * NTKC_PI);\n"                                     \
    "    *Td = 0.5 * (a * a + b * b) - k * theta;\n"                                                               \
    "    *T = norm * (k * sqrt(1.0 - rho * rho) + *Td * rho);\n"                                                   \
    "}\n"

#define ABRELU_HEAD(name)                                                                                          \
    "static void ntkc_dual_" name "(const double *p, double s11, double s12, double s22,\n"                        \
    "                             double *T, double *Td)\n"                                                        \
    "{\n"

static double pw_phi(double a, double b, double x) { return x > 0 ? b * x : a * x; }
static double pw_dphi(double a, double b, double x) { return x > 0 ? b : (x < 0 ? a : 0.5 * (a + b)); }

/* E[φ(u)²] = (a² + b²)/2·s, E[φ'(u)²] = (a² + b²)/2 (at s = 0: φ'(0)² = ((a + b)/2)²). */
static void pw_diag(double a, double b, double s, double *T, double *Td)
{
    *T = 0.5 * (a * a + b * b) * s;
    *Td = s > 0 ? 0.5 * (a * a + b * b) : 0.25 * (a + b) * (a + b);
}

static double leaky_phi(const ActDef *d, double x, const double *p) { return (void)d, pw_phi(p[0], 1, x); }
static double leaky_dphi(const ActDef *d, double x, const double *p) { return (void)d, pw_dphi(p[0], 1, x); }
static void leaky_diag(const ActDef *d, const double *p, double s, double *T, double *Td)
{
    (void)d;
    pw_diag(p[0], 1, s, T, Td);
}

const ActDef act_leaky_relu = {
    .name = "leaky_relu",
    .nparams = 1,
    .params = {{"alpha", 0.0, -INFINITY, INFINITY, 0}},
    .nrequired = 1,
    .phi = leaky_phi,
    .dphi = leaky_dphi,
    .diag = leaky_diag,
    .kinked = 1,
    .c_dual = "/* leaky_relu: alpha·min(x, 0) + max(x, 0). */\n" ABRELU_HEAD("leaky_relu") "    double a = p[0], b = 1.0;\n"
        ABRELU_BODY,
};

static double abs_phi(const ActDef *d, double x, const double *p) { return (void)d, (void)p, fabs(x); }
static double abs_dphi(const ActDef *d, double x, const double *p) { return (void)d, (void)p, pw_dphi(-1, 1, x); }
static void abs_diag(const ActDef *d, const double *p, double s, double *T, double *Td)
{
    (void)d, (void)p;
    pw_diag(-1, 1, s, T, Td);
}

const ActDef act_abs = {
    .name = "abs",
    .phi = abs_phi,
    .dphi = abs_dphi,
    .diag = abs_diag,
    .kinked = 1,
    .c_dual = "/* abs: |x| = -min(x, 0) + max(x, 0). */\n" ABRELU_HEAD("abs") "    double a = -1.0, b = 1.0;\n"
                                                                            "    (void)p;\n" ABRELU_BODY,
};

static double abrelu_phi(const ActDef *d, double x, const double *p) { return (void)d, pw_phi(p[0], p[1], x); }
static double abrelu_dphi(const ActDef *d, double x, const double *p) { return (void)d, pw_dphi(p[0], p[1], x); }
static void abrelu_diag(const ActDef *d, const double *p, double s, double *T, double *Td)
{
    (void)d;
    pw_diag(p[0], p[1], s, T, Td);
}

const ActDef act_abrelu = {
    .name = "abrelu",
    .nparams = 2,
    .params = {{"a", 0.0, -INFINITY, INFINITY, 0}, {"b", 1.0, -INFINITY, INFINITY, 0}},
    .nrequired = 2,
    .phi = abrelu_phi,
    .dphi = abrelu_dphi,
    .diag = abrelu_diag,
    .kinked = 1,
    .c_dual = "/* abrelu: a·min(x, 0) + b·max(x, 0). */\n" ABRELU_HEAD("abrelu") "    double a = p[0], b = p[1];\n"
        ABRELU_BODY,
};

/* ---- sign and step ------------------------------------------------------- */

static double sign_phi(const ActDef *d, double x, const double *p) { return (void)d, (void)p, (x > 0) - (x < 0); }
static double zero_dphi(const ActDef *d, double x, const double *p) { return (void)d, (void)p, (void)x, 0.0; }
static void sign_diag(const ActDef *d, const double *p, double s, double *T, double *Td)
{
    (void)d, (void)p;
    *T = s > 0 ? 1 : 0; /* sign(0) = 0 */
    *Td = 0;
}

/* Ṫ = 0 as in neural-tangents: φ' = 0 almost everywhere (the delta at 0 is
 * not a function; the finite networks' gradients agree). */
const ActDef act_sign = {
    .name = "sign",
    .phi = sign_phi,
    .dphi = zero_dphi,
    .diag = sign_diag,
    .kinked = 1,
    .c_dual = "/* sign: T = (2/π)·asin ρ, Ṫ = 0. */\n"
              "static void ntkc_dual_sign(const double *p, double s11, double s12, double s22,\n"
              "                           double *T, double *Td)\n"
              "{\n"
              "    (void)p;\n" ACT_C_CORRELATION "    *T = 2.0 * ntkc_asin(rho) / NTKC_PI;\n"
              "    *Td = 0.0;\n"
              "}\n",
};

static double step_phi(const ActDef *d, double x, const double *p) { return (void)d, (void)p, x >= 0 ? 1.0 : 0.0; }
static void step_diag(const ActDef *d, const double *p, double s, double *T, double *Td)
{
    (void)d, (void)p;
    *T = s > 0 ? 0.5 : 1.0; /* step(0) = 1 */
    *Td = 0;
}

/* T at a zero variance: step(0) = 1 times E[step(v)] = 1/2 (or 1). */
#define STEP_ZERO_VARIANCE                                                                                         \
    "    if (s11 == 0.0 || s22 == 0.0) {\n"                                                                        \
    "        *T = (s11 == 0.0 ? 1.0 : 0.5) * (s22 == 0.0 ? 1.0 : 0.5);\n"                                          \
    "        *Td = 0.0;\n"                                                                                        \
    "        return;\n"                                                                                           \
    "    }\n"

const ActDef act_step = {
    .name = "step",
    .phi = step_phi,
    .dphi = zero_dphi,
    .diag = step_diag,
    .kinked = 1,
    .c_dual = "/* step: 1 for x >= 0, else 0 (rectified_monomial(0)); T = (π − θ)/(2π), Ṫ = 0. */\n"
              "static void ntkc_dual_step(const double *p, double s11, double s12, double s22,\n"
              "                           double *T, double *Td)\n"
              "{\n"
              "    (void)p;\n" STEP_ZERO_VARIANCE ACT_C_CORRELATION
              "    *T = (NTKC_PI - ntkc_acos(rho)) / (2.0 * NTKC_PI);\n"
              "    *Td = 0.0;\n"
              "}\n",
};

/* ---- max(x, 0)^n --------------------------------------------------------- */

enum { RECT_MAX_DEGREE = 6 };

static double rect_phi(const ActDef *d, double x, const double *p)
{
    (void)d;
    return x >= 0 ? act_ipow(x, (int)p[0]) : 0.0; /* as neural-tangents: (x >= 0)·x^n, so 1 at 0 for n = 0 */
}

static double rect_dphi(const ActDef *d, double x, const double *p)
{
    (void)d;
    int n = (int)p[0];
    if (n == 0)
        return 0;
    if (n == 1)
        return x > 0 ? 1 : (x < 0 ? 0 : 0.5);
    return x > 0 ? n * act_ipow(x, n - 1) : 0.0;
}

/* E[max(u, 0)^2n] = (2n − 1)!!·s^n/2. */
static void rect_diag(const ActDef *d, const double *p, double s, double *T, double *Td)
{
    int n = (int)p[0];
    if (n == 0) {
        step_diag(d, p, s, T, Td);
        return;
    }
    *T = act_odd_factorial2(2 * n - 1) * act_ipow(s, n) / 2;
    if (n == 1)
        *Td = s > 0 ? 0.5 : 0.25;
    else
        *Td = n * n * act_odd_factorial2(2 * n - 3) * act_ipow(s, n - 1) / 2;
}

/* E[φ(u)φ(v)] = (Σ11Σ22)^(n/2)·J_n(θ)/(2π) with Cho & Saul's
 * J_n(θ) = (−1)^n sin^(2n+1)θ (1/sinθ ∂/∂θ)^n ((π − θ)/sinθ), and Ṫ = n²·(same
 * for n − 1) (Price's theorem). Differentiating the definition gives
 * J_{n+1} = (2n + 1) cosθ J_n − sinθ J_n', so J_n = (π − θ)·P_n(cosθ) +
 * sinθ·Q_n(cosθ) with P_{n+1} = (2n + 1)c P_n + (1 − c²)P_n',
 * Q_{n+1} = 2n c Q_n + P_n + (1 − c²)Q_n', P_0 = 1, Q_0 = 0: the tables below
 * (coefficients of c^0..c^6). Both terms vanish at θ = π, so ρ = −1 gives 0. */
const ActDef act_rectified_monomial = {
    .name = "rectified_monomial",
    .nparams = 1,
    .params = {{"n", 1.0, 0.0, RECT_MAX_DEGREE, 1}},
    .nrequired = 1,
    .phi = rect_phi,
    .dphi = rect_dphi,
    .diag = rect_diag,
    .kinked = 1,
    .c_dual =
        "/* rectified_monomial: max(x, 0)^n, arc-cosine kernel of order n (Cho & Saul 2009). */\n"
        "static void ntkc_dual_rectified_monomial(const double *p, double s11, double s12, double s22,\n"
        "                                         double *T, double *Td)\n"
        "{\n"
        "    static const double P[7][7] = {\n"
        "        {1, 0, 0, 0, 0, 0, 0},\n"
        "        {0, 1, 0, 0, 0, 0, 0},\n"
        "        {1, 0, 2, 0, 0, 0, 0},\n"
        "        {0, 9, 0, 6, 0, 0, 0},\n"
        "        {9, 0, 72, 0, 24, 0, 0},\n"
        "        {0, 225, 0, 600, 0, 120, 0},\n"
        "        {225, 0, 4050, 0, 5400, 0, 720},\n"
        "    };\n"
        "    static const double Q[7][7] = {\n"
        "        {0, 0, 0, 0, 0, 0, 0},\n"
        "        {1, 0, 0, 0, 0, 0, 0},\n"
        "        {0, 3, 0, 0, 0, 0, 0},\n"
        "        {4, 0, 11, 0, 0, 0, 0},\n"
        "        {0, 55, 0, 50, 0, 0, 0},\n"
        "        {64, 0, 607, 0, 274, 0, 0},\n"
        "        {0, 2079, 0, 6552, 0, 1764, 0},\n"
        "    };\n"
        "    int n = (int)p[0];\n"
        "    if (n == 0) {\n" STEP_ZERO_VARIANCE "    }\n" ACT_C_CORRELATION
        "    double pi_theta = NTKC_PI - ntkc_acos(rho), sn = sqrt(1.0 - rho * rho);\n"
        "    double J[2] = {0.0, 0.0}; /* J_n, J_{n-1} */\n"
        "    for (int k = 0; k < 2 && n - k >= 0; k++) {\n"
        "        int m = n - k;\n"
        "        double pp = 0.0, qq = 0.0;\n"
        "        for (int i = m; i >= 0; i--) {\n"
        "            pp = pp * rho + P[m][i];\n"
        "            qq = qq * rho + Q[m][i];\n"
        "        }\n"
        "        J[k] = pi_theta * pp + sn * qq;\n"
        "    }\n"
        "    double scale = 1.0; /* norm^(n-1) */\n"
        "    for (int i = 1; i < n; i++)\n"
        "        scale *= norm;\n"
        "    *T = (n == 0 ? 1.0 : scale * norm) * J[0] / (2.0 * NTKC_PI);\n"
        "    *Td = n == 0 ? 0.0 : (double)(n * n) * scale * J[1] / (2.0 * NTKC_PI);\n"
        "}\n",
};
