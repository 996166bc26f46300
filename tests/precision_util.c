/* Helpers of the float32 tests (precision_util.h). */
#include "precision_util.h"

#include <criterion/criterion.h>
#include <math.h>

ntkc_net *compile_prec(const char *source, const char *name, ntkc_precision precision, ntkc_backend backend)
{
    ntkc_error err = {0};
    ntkc_compile_options o = {.backend = backend, .precision = precision};
    ntkc_net *net = ntkc_compile_string(source, name, &o, &err);
    cr_assert_not_null(net, "%s: %s", name, err.message);
    return net;
}

double rel_to_largest(const double *a, const float *b, size_t count)
{
    double worst = 0, big = 0;
    for (size_t i = 0; i < count; i++) {
        worst = fmax(worst, fabs(a[i] - (double)b[i]));
        big = fmax(big, fabs(a[i]));
    }
    return worst / big;
}
