/* Gauss–Hermite rule for N(0, 1). The nodes are the eigenvalues of the Jacobi
 * matrix of the monic probabilists' Hermite polynomials (zero diagonal,
 * off-diagonal √k), found by implicit QL; Newton on the orthonormal
 * polynomial then polishes them. The weight of a node is 1/Σ_k q_k(z)², with
 * q_k = He_k/√k!; q_k reaches e^(z²/4) ≈ 1e430 at the outer nodes of a
 * 1000-point rule, so the recurrence carries a power-of-two scale. */
#include "gauss_hermite.h"

#include <math.h>
#include <stdlib.h>

/* Eigenvalues of the symmetric tridiagonal matrix with diagonal d and
 * off-diagonal e (e[i] couples i and i+1, e[n-1] unused), into d. */
static int tridiag_eigenvalues(int n, double *d, double *e)
{
    e[n - 1] = 0.0;
    for (int l = 0; l < n; l++) {
        int iter = 0, m;
        do {
            for (m = l; m < n - 1; m++) {
                double dd = fabs(d[m]) + fabs(d[m + 1]);
                if (fabs(e[m]) <= 0x1p-53 * dd)
                    break;
            }
            if (m == l)
                break;
            if (iter++ == 100)
                return -1;
            double g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            double r = hypot(g, 1.0);
            g = d[m] - d[l] + e[l] / (g + copysign(r, g));
            double s = 1.0, c = 1.0, p = 0.0;
            int i;
            for (i = m - 1; i >= l; i--) {
                double f = s * e[i], b = c * e[i];
                r = hypot(f, g);
                e[i + 1] = r;
                if (r == 0.0) { /* split: deflate and restart this block */
                    d[i + 1] -= p;
                    e[m] = 0.0;
                    break;
                }
                s = f / r;
                c = g / r;
                g = d[i + 1] - p;
                r = (d[i] - g) * s + 2.0 * c * b;
                p = s * r;
                d[i + 1] = g + p;
                g = c * r - b;
            }
            if (i >= l)
                continue;
            d[l] -= p;
            e[l] = g;
            e[m] = 0.0;
        } while (m != l);
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* q_n(z) and q_{n-1}(z) times 2^-scale, and log Σ_{k<n} q_k(z)². */
static void orthonormal_hermite(int n, double z, double *qn, double *qn1, double *log_sum)
{
    double prev = 0.0, cur = 1.0, sum = 0.0;
    int scale = 0; /* every value is multiplied by 2^-scale */
    for (int k = 0; k < n; k++) {
        sum += cur * cur;
        double next = (z * cur - sqrt((double)k) * prev) / sqrt((double)k + 1.0);
        prev = cur;
        cur = next;
        if (fabs(cur) > 0x1p400) {
            cur = ldexp(cur, -400);
            prev = ldexp(prev, -400);
            sum = ldexp(sum, -800);
            scale += 400;
        }
    }
    *qn = cur;
    *qn1 = prev;
    *log_sum = log(sum) + 2.0 * scale * M_LN2;
}

int gauss_hermite(int n, double *z, double *w)
{
    if (n < 1 || n > GH_MAX_POINTS)
        return -1;
    double *e = malloc((size_t)n * sizeof *e);
    if (e == NULL)
        return -1;
    for (int i = 0; i < n; i++) {
        z[i] = 0.0;
        e[i] = sqrt((double)i + 1.0);
    }
    int rc = tridiag_eigenvalues(n, z, e);
    free(e);
    if (rc != 0)
        return -1;
    qsort(z, (size_t)n, sizeof *z, cmp_double);
    for (int i = 0; i < n; i++) {
        double qn, qn1, ls;
        for (int it = 0; it < 3; it++) {
            orthonormal_hermite(n, z[i], &qn, &qn1, &ls);
            if (qn1 != 0.0)
                z[i] -= qn / (sqrt((double)n) * qn1); /* q_n' = √n q_{n-1} */
        }
    }
    /* The rule is symmetric: make it so exactly. */
    for (int i = 0; i < n / 2; i++) {
        double m = 0.5 * (z[n - 1 - i] - z[i]);
        z[i] = -m;
        z[n - 1 - i] = m;
    }
    if (n % 2)
        z[n / 2] = 0.0;
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        double qn, qn1, ls;
        orthonormal_hermite(n, z[i], &qn, &qn1, &ls);
        w[i] = exp(-ls);
    }
    for (int i = 0; i < n / 2; i++)
        w[i] = w[n - 1 - i] = 0.5 * (w[i] + w[n - 1 - i]);
    for (int i = 0; i < n; i++)
        total += w[i];
    for (int i = 0; i < n; i++)
        w[i] /= total;
    return 0;
}
