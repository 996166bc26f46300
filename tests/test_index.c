/* index(k): the readout by one position (neural-tangents' Index on the
 * position axis; a transformer's first-token readout). Checked against the
 * fully connected back end: before any layer that mixes positions, a
 * sequence net read at token k is the same net without the sequence on
 * x[:, k, :] (dense acts on each token alone; the per-token input kernel is
 * x·x'/C as the vector one is x·x'/d with d = C). Monte Carlo with
 * attention before the readout: tests/test_monte_carlo.c (attention_index_*). */
#include <criterion/criterion.h>
#include <math.h>

#include "net_internal.h"
#include "ntkc.h"
#include "util.h"

enum { N = 5 };

static void check_token(const char *seq_net, const char *fc_net, size_t positions, size_t channels, size_t k)
{
    ntkc_net *a = compile_or_fail(seq_net, NTKC_BACKEND_TCC), *b = compile_or_fail(fc_net, NTKC_BACKEND_TCC);
    cr_assert_eq(ntkc_net_ir(a)->family, IR_FAMILY_ATTENTION, "index: the all-pairs back end");
    size_t d = positions * channels;
    double x[N * 64], xk[N * 8], s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    fill_random(x, N * d, 11);
    for (size_t i = 0; i < N; i++)
        for (size_t c = 0; c < channels; c++)
            xk[i * channels + c] = x[i * d + k * channels + c];
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(a, N, x, 0, NULL, d, s1, t1, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(b, N, xk, 0, NULL, channels, s2, t2, NULL, &err), 0, "%s", err.message);
    for (size_t e = 0; e < N * N; e++) {
        cr_expect(fabs(s1[e] - s2[e]) <= 1e-13 * fabs(s2[e]), "NNGP entry %zu: %.17g vs %.17g", e, s1[e], s2[e]);
        cr_expect(fabs(t1[e] - t2[e]) <= 1e-13 * fabs(t2[e]), "NTK entry %zu: %.17g vs %.17g", e, t1[e], t2[e]);
    }
    ntkc_net_free(a);
    ntkc_net_free(b);
}

Test(index, a_token_of_a_sequence_is_the_vector_net_on_that_token)
{
    check_token("net s { input sequence(4, 3); dense(1.3, 0.1); relu; dense(1.2); index(2); erf; dense(1.1) }",
                "net f { dense(1.3, 0.1); relu; dense(1.2); erf; dense(1.1) }", 4, 3, 2);
    check_token("net s { input sequence(4, 3); dense(1.3, 0.1); relu; index(0); dense(1.1) }",
                "net f { dense(1.3, 0.1); relu; dense(1.1) }", 4, 3, 0);
}

Test(index, a_pixel_of_an_image_in_row_major_order)
{
    check_token("net s { input image(2, 3, 2); dense(1.4, 0.2); gelu; index(4); dense(0.9) }",
                "net f { dense(1.4, 0.2); gelu; dense(0.9) }", 6, 2, 4);
}

Test(index, positions_outside_the_input_are_refused_by_name)
{
    expect_error("net s { input sequence(4, 3); dense; relu; index(4); dense }", "1:50",
                 "index(4): the input of this layer has 4 positions (0 to 3)");
    expect_error("net s { input sequence(6, 3); conv(3, stride=2); relu; index(0); dense }", "1:31",
                 "which has an index readout");
}

/* neural-tangents' Index refuses the channel axis in kernel_fn; ntkc's
 * refusal names the reason (a finite slice of the infinite axis), on images
 * and on vectors alike. */
Test(index, channels_are_refused_with_the_reason)
{
    expect_error("net s { input sequence(4, 3); dense; relu; index(0, axis=channels); dense }", "1:53",
                 "'index(axis=channels)' has no infinite-width kernel");
    expect_error("net s { dense; relu; index(1, axis=channels); dense }", "1:31", "finite fan-in");
    expect_error("net s { input sequence(4, 3); dense; relu; index(0, axis=rows); dense }", "1:58", "unknown axis 'rows'");
}
