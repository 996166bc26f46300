#include "conv_compare.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "conv_reference.h"
#include "net_internal.h"
#include "util.h"

/* |got − want| / (1 + |want|), expected ≤ tol. */
static double expect_entry(double got, double want, double tol, const char *what, const char *pair, size_t i,
                           size_t j, const char *src)
{
    double err = fabs(got - want) / (1 + fabs(want));
    cr_expect(fabs(got - want) <= tol * (1 + fabs(want)), "%s%s[%zu,%zu] %.17g vs %.17g\n%s", what, pair, i, j, got,
              want, src);
    return err;
}

double expect_conv_reference(ntkc_net *net, const char *src, size_t n1, const double *x1, size_t n2,
                             const double *x2, double tol, double *s, double *t)
{
    const IrNet *ir = ntkc_net_ir(net);
    size_t d = ir->input.dim;
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, n1, x1, x2 ? n2 : 0, x2, d, s, t, NULL, &err), 0, "%s", err.message);
    const double *y = x2 ? x2 : x1;
    const char *pair = x2 ? "(x1, x2)" : "";
    double worst = 0;
    for (size_t i = 0; i < n1; i++)
        for (size_t j = 0; j < n2; j++) {
            double rs, rt;
            conv_reference(ir, d, x1 + i * d, y + j * d, &rs, &rt);
            worst = fmax(worst, expect_entry(s[i * n2 + j], rs, tol, "NNGP", pair, i, j, src));
            worst = fmax(worst, expect_entry(t[i * n2 + j], rt, tol, "NTK", pair, i, j, src));
        }
    return worst;
}

void check_conv_reference(const char *src, size_t n, unsigned long long seed, int both_backends, double tol)
{
    for (int be = 0; be < 1 + both_backends; be++) {
        ntkc_net *net = compile_or_fail(src, be ? NTKC_BACKEND_CC : NTKC_BACKEND_TCC);
        size_t d = ntkc_net_ir(net)->input.dim;
        double *x = malloc(n * d * sizeof *x), *s = malloc(n * n * sizeof *s), *t = malloc(n * n * sizeof *t);
        fill_random(x, n * d, seed);
        double worst = expect_conv_reference(net, src, n, x, n, NULL, tol, s, t);
        if (getenv("NTKC_REPORT"))
            fprintf(stderr, "%s vs the pixel-pair reference: worst relative error %.3g\n%s\n",
                    be ? "cc" : "tcc", worst, src);
        free(x);
        free(s);
        free(t);
        ntkc_net_free(net);
    }
}
