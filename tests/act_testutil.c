#include "act_testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit_prims.h"
#include "gauss_hermite.h"
#include "strbuf.h"

/* What the emitter provides to c_dual texts: libm prototypes, ntkc_acos,
 * ntkc_asin, NTKC_PI. */
static void prelude(StrBuf *sb)
{
    sb_puts(sb, "typedef __SIZE_TYPE__ size_t;\n#define NTKC_PI 3.14159265358979323846\n");
    prim_emit_libm(sb);
}

JitModule *act_jit_duals(const ActDef *const *defs, size_t n, DualFn *fns)
{
    StrBuf sb;
    sb_init(&sb);
    prelude(&sb);
    for (size_t i = 0; i < n; i++) {
        sb_puts(&sb, defs[i]->c_dual);
        /* A non-static entry per dual, so the symbol can be looked up. */
        sb_printf(&sb,
                  "void test_dual_%s(const double *p, double s11, double s12, double s22, double *T, double *Td)\n"
                  "{ ntkc_dual_%s(p, s11, s12, s22, T, Td); }\n",
                  defs[i]->name, defs[i]->name);
    }
    ntkc_error err = {0};
    JitModule *m = jit_compile(JIT_TCC, sb.data, "duals (test)", &err);
    cr_assert_not_null(m, "the c_dual texts do not compile: %s", err.message);
    sb_free(&sb);
    for (size_t i = 0; i < n; i++) {
        char name[256];
        snprintf(name, sizeof name, "test_dual_%s", defs[i]->name);
        void *sym = jit_symbol(m, name);
        cr_assert_not_null(sym, "missing %s", name);
        memcpy(&fns[i], &sym, sizeof sym);
    }
    return m;
}

static double eval(const ActDef *def, const double *p, int which, double x)
{
    return which ? def->dphi(def, x, p) : def->phi(def, x, p);
}

double act_gh_reference(const ActDef *def, const double *p, int which, int n, double s11, double rho, double s22)
{
    double *z = malloc(2 * (size_t)n * sizeof *z), *w = z + n;
    cr_assert_eq(gauss_hermite(n, z, w), 0);
    double a = sqrt(s11), b = sqrt(s22);
    double c = b * rho, d = b * sqrt(1 - rho * rho), t = 0;
    for (int i = 0; i < n; i++) {
        if (w[i] == 0)
            continue;
        double inner = 0;
        for (int j = 0; j < n; j++)
            if (w[j] > 0)
                inner += w[j] * eval(def, p, which, c * z[i] + d * z[j]);
        t += w[i] * eval(def, p, which, a * z[i]) * inner;
    }
    free(z);
    return t;
}

int act_homogeneous_degree(const ActDef *def, const double *p, int which)
{
    static const double xs[] = {-3.1, -1.0, -0.37, 0.41, 1.0, 2.7};
    static const double rs[] = {0.25, 2.0, 7.5};
    int k = -2;
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        double f = eval(def, p, which, xs[i]);
        if (f == 0)
            continue;
        int d = (int)lround(log2(fabs(eval(def, p, which, 2 * xs[i]) / f)));
        if (k == -2)
            k = d;
        else if (k != d)
            return -1;
        for (size_t j = 0; j < sizeof rs / sizeof rs[0]; j++) {
            double want = pow(rs[j], d) * f, got = eval(def, p, which, rs[j] * xs[i]);
            if (fabs(got - want) > 1e-12 * fabs(want))
                return -1;
        }
    }
    return k;
}

/* Gauss-Legendre on [-1, 1] by Newton on P_n. */
enum { GL_N = 40 };
static void gauss_legendre(double *x, double *w)
{
    for (int i = 0; i < GL_N; i++) {
        double t = cos(M_PI * (i + 0.75) / (GL_N + 0.5)), dp = 1;
        for (int it = 0; it < 100; it++) {
            double p0 = 1, p1 = t;
            for (int k = 2; k <= GL_N; k++) {
                double p2 = ((2 * k - 1) * t * p1 - (k - 1) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            dp = GL_N * (t * p1 - p0) / (t * t - 1);
            double step = p1 / dp;
            t -= step;
            if (fabs(step) < 1e-16)
                break;
        }
        x[i] = t;
        w[i] = 2 / ((1 - t * t) * dp * dp);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double act_polar_reference(const ActDef *def, const double *p, int which, int k, double s11, double rho,
                           double s22)
{
    if (k == -2)
        return 0; /* identically zero */
    double a = sqrt(s11), b = sqrt(s22);
    double sg = sqrt(1 - rho * rho);
    /* u = r·a·cos t, v = r·b·(ρ cos t + σ sin t); kinks where either is 0. */
    double brk[6] = {0, M_PI / 2, 3 * M_PI / 2, 2 * M_PI, 0, 0};
    double t0 = atan2(-rho, sg);
    t0 = t0 < 0 ? t0 + M_PI : t0; /* in [0, π) */
    brk[4] = t0;
    brk[5] = t0 + M_PI;
    qsort(brk, 6, sizeof brk[0], cmp_double);
    double x[GL_N], w[GL_N], total = 0;
    gauss_legendre(x, w);
    for (int s = 0; s + 1 < 6; s++) {
        double lo = brk[s], hi = brk[s + 1], h = (hi - lo) / 2;
        if (h <= 0)
            continue;
        for (int i = 0; i < GL_N; i++) {
            double t = lo + h * (1 + x[i]);
            double u = a * cos(t), v = b * (rho * cos(t) + sg * sin(t));
            total += h * w[i] * eval(def, p, which, u) * eval(def, p, which, v);
        }
    }
    double radial = ldexp(1.0, k); /* ∫ r^(2k+1) e^(−r²/2) dr = 2^k k! */
    for (int i = 2; i <= k; i++)
        radial *= i;
    return radial * total / (2 * M_PI);
}

double act_rel_err(double got, double want, double scale)
{
    if (!isfinite(got))
        return INFINITY;
    return fabs(got - want) / fmax(fabs(want), scale);
}
