/* hermite(n) and gabor, as neural-tangents' stax.Hermite and stax.Gabor
 * define φ (neural_tangents/_src/stax/elementwise.py), with exact duals for
 * any input variances. */
#include <math.h>

#include "act_entries.h"

#define HERMITE_MAX_DEGREE 10

/* He_n(x), the probabilists' Hermite polynomial: He_{k+1} = x·He_k − k·He_{k−1}. */
static double hermite_he(int n, double x)
{
    double prev = 1, cur = x;
    if (n == 0)
        return 1;
    for (int k = 1; k < n; k++) {
        double next = x * cur - k * prev;
        prev = cur, cur = next;
    }
    return cur;
}

static double sqrt_factorial(int n)
{
    double f = 1;
    for (int k = 2; k <= n; k++)
        f *= k;
    return sqrt(f);
}

static double hermite_phi(const ActDef *d, double x, const double *p)
{
    (void)d;
    int n = (int)p[0];
    return hermite_he(n, x) / sqrt_factorial(n);
}

/* He_n' = n·He_{n−1}. */
static double hermite_dphi(const ActDef *d, double x, const double *p)
{
    (void)d;
    int n = (int)p[0];
    return n == 0 ? 0.0 : n * hermite_he(n - 1, x) / sqrt_factorial(n);
}

/* E[He_n(u)²]/n! for u ~ N(0, s) from the monomial coefficients of He_n and
 * the Gaussian moments E[u^{2j}] = (2j − 1)!!·s^j — independent of the
 * C text's expansion in He_{n−2k}. */
static double hermite_second_moment(int n, double s)
{
    double c[HERMITE_MAX_DEGREE + 1][HERMITE_MAX_DEGREE + 1] = {{0}};
    c[0][0] = 1;
    if (n >= 1)
        c[1][1] = 1;
    for (int k = 1; k < n; k++)
        for (int j = 0; j <= k + 1; j++)
            c[k + 1][j] = (j > 0 ? c[k][j - 1] : 0) - k * c[k - 1][j];
    double e = 0;
    for (int i = 0; i <= n; i++)
        for (int j = 0; j <= n; j++)
            if ((i + j) % 2 == 0)
                e += c[n][i] * c[n][j] * act_odd_factorial2(i + j - 1) * act_ipow(s, (i + j) / 2);
    return e / (sqrt_factorial(n) * sqrt_factorial(n));
}

static void hermite_diag(const ActDef *d, const double *p, double s, double *T, double *Td)
{
    (void)d;
    int n = (int)p[0];
    *T = hermite_second_moment(n, s);
    *Td = n == 0 ? 0.0 : n * hermite_second_moment(n - 1, s);
}

/* He_n(σz) = Σ_k σ^{n−2k}(σ² − 1)^k·n!/(k!(n−2k)!2^k)·He_{n−2k}(z) and
 * E[He_a(z1)He_b(z2)] = δ_ab·a!·ρ^a give, with σ1σ2ρ = Σ12,
 *   T_n = Σ_k n!/(k!²(n−2k)!4^k)·Σ12^{n−2k}·((Σ11 − 1)(Σ22 − 1))^k,
 * which is Σ12^n at unit variances (neural-tangents' kernel, which assumes
 * them); Td = n·T_{n−1} since φ' = √n·He_{n−1}/√(n−1)!. */
const ActDef act_hermite = {
    .name = "hermite",
    .nparams = 1,
    .params = {{"n", 1.0, 0.0, HERMITE_MAX_DEGREE, 1}},
    .nrequired = 1,
    .phi = hermite_phi,
    .dphi = hermite_dphi,
    .diag = hermite_diag,
    .c_dual = "/* hermite: He_n(x)/sqrt(n!). */\n"
              "static double ntkc_hermite_sum(int n, double s12, double q)\n"
              "{\n"
              "    double a = 1.0, t = 0.0, qk = 1.0;\n"
              "    for (int k = 0; 2 * k <= n; k++) {\n"
              "        double term = a * qk;\n"
              "        for (int j = 0; j < n - 2 * k; j++)\n"
              "            term *= s12;\n"
              "        t += term;\n"
              "        a *= (double)(n - 2 * k) * (double)(n - 2 * k - 1) / (4.0 * (double)(k + 1) * (double)(k + 1));\n"
              "        qk *= q;\n"
              "    }\n"
              "    return t;\n"
              "}\n"
              "static void ntkc_dual_hermite(const double *p, double s11, double s12, double s22,\n"
              "                              double *T, double *Td)\n"
              "{\n"
              "    int n = (int)p[0];\n"
              "    double q = (s11 - 1.0) * (s22 - 1.0);\n"
              "    *T = ntkc_hermite_sum(n, s12, q);\n"
              "    *Td = n == 0 ? 0.0 : (double)n * ntkc_hermite_sum(n - 1, s12, q);\n"
              "}\n",
};

/* ---- gabor: exp(−x²)·sin(x) ------------------------------------------------ */

static double gabor_phi(const ActDef *d, double x, const double *p)
{
    (void)d, (void)p;
    return exp(-x * x) * sin(x);
}

static double gabor_dphi(const ActDef *d, double x, const double *p)
{
    (void)d, (void)p;
    return exp(-x * x) * (cos(x) - 2 * x * sin(x));
}

/* neural-tangents' diagonal (Gabor's nngp_fn_diag, and its t_dot/2 at
 * Σ11 = Σ12 = Σ22 = s), independent of the C text's derivation. */
static void gabor_diag(const ActDef *d, const double *p, double s, double *T, double *Td)
{
    (void)d, (void)p;
    double den = 1 + 4 * s, e = exp(-2 * s / den);
    double lhs = 1 - 4 * s - 16 * s * s, rhs = 1 + 12 * s + 32 * s * s;
    *T = -expm1(-2 * s / den) / (2 * sqrt(den));
    *Td = (e * lhs + rhs) / (2 * pow(den, 2.5));
}

/* With w = (u, v) ~ N(0, Σ), E[exp(−wᵀw + i·aᵀw)] = D^{−1/2}·exp(−aᵀΣ(I + 2Σ)⁻¹a/2),
 * D = det(I + 2Σ) = 1 + 2(Σ11 + Σ22) + 4(Σ11Σ22 − Σ12²) >= 1; sin u sin v =
 * (cos(u − v) − cos(u + v))/2 gives T = (e^{−A} − e^{−B})/(2√D) with
 * A, B = (Σ11 + Σ22 + 4(Σ11Σ22 − Σ12²) ∓ 2Σ12)/(2D). Td = ∂T/∂Σ12 (Price's
 * theorem), differentiated by hand: ∂D = −8Σ12. */
const ActDef act_gabor = {
    .name = "gabor",
    .phi = gabor_phi,
    .dphi = gabor_dphi,
    .diag = gabor_diag,
    .c_dual = "/* gabor: exp(-x^2)·sin(x). */\n"
              "static void ntkc_dual_gabor(const double *p, double s11, double s12, double s22,\n"
              "                            double *T, double *Td)\n"
              "{\n"
              "    (void)p;\n"
              "    double sum = s11 + s22, diff = 4.0 * (s11 * s22 - s12 * s12);\n"
              "    diff = diff > 0.0 ? diff : 0.0;\n"
              "    double d = 1.0 + 2.0 * sum + diff, root = sqrt(d);\n"
              "    double na = sum + diff - 2.0 * s12, nb = sum + diff + 2.0 * s12;\n"
              "    double ea = exp(-na / (2.0 * d)), eb = exp(-nb / (2.0 * d));\n"
              "    /* ea − eb = ea·(1 − e^{−x}), x = 2·s12/d: a series near 0 keeps the digits. */\n"
              "    double x = 2.0 * s12 / d;\n"
              "    double gap = ea * (fabs(x) < 1e-3 ? x * (1.0 - x * (0.5 - x * (1.0 / 6.0 - x * (1.0 / 24.0 - x / 120.0))))\n"
              "                                      : 1.0 - exp(-x));\n"
              "    double da = ((-8.0 * s12 - 2.0) * d + 8.0 * s12 * na) / (2.0 * d * d);\n"
              "    double db = ((-8.0 * s12 + 2.0) * d + 8.0 * s12 * nb) / (2.0 * d * d);\n"
              "    *T = gap / (2.0 * root);\n"
              "    *Td = (4.0 * s12 / d * gap - da * ea + db * eb) / (2.0 * root);\n"
              "}\n",
};
