/* Polynomial activations. For a polynomial φ and (u, v) Gaussian,
 *   E[φ(u)φ(v)] = Σ_m Σ12^m/m! · E[φ^(m)(u)] · E[φ^(m)(v)]
 * (Isserlis, grouping the pairings by how many join u to v), a finite sum,
 * exact at every correlation; Ṫ is the same sum for φ'. */
#include <math.h>

#include "act_entries.h"

enum { MONOMIAL_MAX_DEGREE = 10, POLY_TERMS = ACT_MAX_PARAMS };

double act_ipow(double x, int n)
{
    double r = 1;
    while (n-- > 0)
        r *= x;
    return r;
}

double act_odd_factorial2(int k) /* k!! for odd k, (-1)!! = 1 */
{
    double r = 1;
    for (; k > 1; k -= 2)
        r *= k;
    return r;
}

/* ---- monomial: x^n -------------------------------------------------------- */

static double monomial_phi(const ActDef *d, double x, const double *p) { return (void)d, act_ipow(x, (int)p[0]); }
static double monomial_dphi(const ActDef *d, double x, const double *p)
{
    (void)d;
    int n = (int)p[0];
    return n == 0 ? 0.0 : n * act_ipow(x, n - 1);
}

/* E[u^2n] = (2n − 1)!!·s^n. */
static void monomial_diag(const ActDef *d, const double *p, double s, double *T, double *Td)
{
    (void)d;
    int n = (int)p[0];
    *T = act_odd_factorial2(2 * n - 1) * act_ipow(s, n);
    *Td = n == 0 ? 0.0 : n * n * act_odd_factorial2(2 * n - 3) * act_ipow(s, n - 1);
}

/* E[u^n v^n] = Σ_m C[n][m]·Σ12^m·(Σ11Σ22)^((n−m)/2) with
 * C[n][m] = (n!/(n−m)!·(n−m−1)!!)²/m! for n − m even (the sum above with
 * φ = x^n); Ṫ = n²·E[u^(n−1) v^(n−1)]. Horner in Σ11Σ22: no division. */
const ActDef act_monomial = {
    .name = "monomial",
    .nparams = 1,
    .params = {{"n", 1.0, 0.0, MONOMIAL_MAX_DEGREE, 1}},
    .nrequired = 1,
    .phi = monomial_phi,
    .dphi = monomial_dphi,
    .diag = monomial_diag,
    .c_dual = "/* monomial: x^n. */\n"
              "static void ntkc_dual_monomial(const double *p, double s11, double s12, double s22,\n"
              "                               double *T, double *Td)\n"
              "{\n"
              "    static const double C[11][11] = {\n"
              "        {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},\n"
              "        {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},\n"
              "        {1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0},\n"
              "        {0, 9, 0, 6, 0, 0, 0, 0, 0, 0, 0},\n"
              "        {9, 0, 72, 0, 24, 0, 0, 0, 0, 0, 0},\n"
              "        {0, 225, 0, 600, 0, 120, 0, 0, 0, 0, 0},\n"
              "        {225, 0, 4050, 0, 5400, 0, 720, 0, 0, 0, 0},\n"
              "        {0, 11025, 0, 66150, 0, 52920, 0, 5040, 0, 0, 0},\n"
              "        {11025, 0, 352800, 0, 1058400, 0, 564480, 0, 40320, 0, 0},\n"
              "        {0, 893025, 0, 9525600, 0, 17146080, 0, 6531840, 0, 362880, 0},\n"
              "        {893025, 0, 44651250, 0, 238140000, 0, 285768000, 0, 81648000, 0, 3628800},\n"
              "    };\n"
              "    int n = (int)p[0];\n"
              "    double prod = s11 * s22, sp[11];\n"
              "    sp[0] = 1.0;\n"
              "    for (int i = 1; i <= n; i++)\n"
              "        sp[i] = sp[i - 1] * s12;\n"
              "    double out[2] = {0.0, 0.0};\n"
              "    for (int k = 0; k < 2 && n - k >= 0; k++) {\n"
              "        int d = n - k;\n"
              "        double acc = 0.0;\n"
              "        for (int j = d / 2; j >= 0; j--)\n"
              "            acc = acc * prod + C[d][d - 2 * j] * sp[d - 2 * j];\n"
              "        out[k] = acc;\n"
              "    }\n"
              "    *T = out[0];\n"
              "    *Td = (double)(n * n) * out[1];\n"
              "}\n",
};

/* ---- polynomial: c0 + c1·x + ... + c7·x^7 --------------------------------- */

static double poly_phi(const ActDef *d, double x, const double *p)
{
    (void)d;
    double r = 0;
    for (int j = POLY_TERMS - 1; j >= 0; j--)
        r = r * x + p[j];
    return r;
}

static double poly_dphi(const ActDef *d, double x, const double *p)
{
    (void)d;
    double r = 0;
    for (int j = POLY_TERMS - 1; j >= 1; j--)
        r = r * x + j * p[j];
    return r;
}

/* Σ_{j,k} c_j c_k E[u^(j+k)] with E[u^2m] = (2m − 1)!!·s^m: a direct double
 * sum, independent of the Hermite form the C text uses. */
static double poly_square_mean(const double *c, int n, double s)
{
    double t = 0;
    for (int j = 0; j < n; j++)
        for (int k = 0; k < n; k++)
            if ((j + k) % 2 == 0)
                t += c[j] * c[k] * act_odd_factorial2(j + k - 1) * act_ipow(s, (j + k) / 2);
    return t;
}

static void poly_diag(const ActDef *d, const double *p, double s, double *T, double *Td)
{
    (void)d;
    double dc[POLY_TERMS];
    for (int j = 0; j < POLY_TERMS - 1; j++)
        dc[j] = (j + 1) * p[j + 1];
    *T = poly_square_mean(p, POLY_TERMS, s);
    *Td = poly_square_mean(dc, POLY_TERMS - 1, s);
}

/* A[m] = E[φ^(m)(u)] = Σ_{j ≥ m, j − m even} c_j·F[j][m]·Σ11^((j−m)/2) with
 * F[j][m] = j!/(j−m)!·(j−m−1)!!, then T = Σ_m Σ12^m/m!·A1[m]·A2[m] and
 * Ṫ = Σ_m Σ12^m/m!·A1[m+1]·A2[m+1]. Coefficients are parameters c0..c7 (up
 * to degree 7); at least c0 must be written, the rest default to 0. */
const ActDef act_polynomial = {
    .name = "polynomial",
    .nparams = POLY_TERMS,
    .params = {{"c0", 0.0, -INFINITY, INFINITY, 0},
               {"c1", 0.0, -INFINITY, INFINITY, 0},
               {"c2", 0.0, -INFINITY, INFINITY, 0},
               {"c3", 0.0, -INFINITY, INFINITY, 0},
               {"c4", 0.0, -INFINITY, INFINITY, 0},
               {"c5", 0.0, -INFINITY, INFINITY, 0},
               {"c6", 0.0, -INFINITY, INFINITY, 0},
               {"c7", 0.0, -INFINITY, INFINITY, 0}},
    .nrequired = 1,
    .phi = poly_phi,
    .dphi = poly_dphi,
    .diag = poly_diag,
    .c_dual = "/* polynomial: c0 + c1·x + ... + c7·x^7. */\n"
              "static void ntkc_dual_polynomial(const double *p, double s11, double s12, double s22,\n"
              "                                 double *T, double *Td)\n"
              "{\n"
              "    static const double F[8][8] = {\n"
              "        {1, 0, 0, 0, 0, 0, 0, 0},\n"
              "        {0, 1, 0, 0, 0, 0, 0, 0},\n"
              "        {1, 0, 2, 0, 0, 0, 0, 0},\n"
              "        {0, 3, 0, 6, 0, 0, 0, 0},\n"
              "        {3, 0, 12, 0, 24, 0, 0, 0},\n"
              "        {0, 15, 0, 60, 0, 120, 0, 0},\n"
              "        {15, 0, 90, 0, 360, 0, 720, 0},\n"
              "        {0, 105, 0, 630, 0, 2520, 0, 5040},\n"
              "    };\n"
              "    double A1[9], A2[9];\n"
              "    for (int m = 0; m < 8; m++) {\n"
              "        double a1 = 0.0, a2 = 0.0;\n"
              "        for (int j = m + 2 * ((7 - m) / 2); j >= m; j -= 2) {\n"
              "            a1 = a1 * s11 + p[j] * F[j][m];\n"
              "            a2 = a2 * s22 + p[j] * F[j][m];\n"
              "        }\n"
              "        A1[m] = a1;\n"
              "        A2[m] = a2;\n"
              "    }\n"
              "    A1[8] = A2[8] = 0.0;\n"
              "    double t = 0.0, td = 0.0, w = 1.0; /* w = s12^m/m! */\n"
              "    for (int m = 0; m < 8; m++) {\n"
              "        t += w * A1[m] * A2[m];\n"
              "        td += w * A1[m + 1] * A2[m + 1];\n"
              "        w *= s12 / (double)(m + 1);\n"
              "    }\n"
              "    *T = t;\n"
              "    *Td = td;\n"
              "}\n",
};
