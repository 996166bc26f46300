/* The same kernel by every route: emitted C compiled by the system compiler,
 * the libtcc JIT through the library's tiled engine, and the cc back end;
 * plus the identities every kernel must satisfy. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char deep_net[] = "net deep {\n"
                               "    dense(1.5, 0.05); relu\n"
                               "    repeat 2 { dense(1.5, 0.05); erf }\n"
                               "    dense(1.2, 0.1); relu; dense(1.0)\n"
                               "}\n";

typedef int (*entry_fn)(size_t, const double *, size_t, const double *, size_t, double *, double *);

Test(pipeline, emitted_c_equals_jit_and_library)
{
    enum { N1 = 37, N2 = 29, D = 11 };
    double x1[N1 * D], x2[N2 * D];
    fill_random(x1, N1 * D, 1);
    fill_random(x2, N2 * D, 2);
    ntkc_net *net = compile_or_fail(deep_net, NTKC_BACKEND_TCC);
    entry_fn entry;
    void *p, *h = load_emitted_c(ntkc_net_source(net), "ntkcnet_deep", &p);
    memcpy(&entry, &p, sizeof p);
    static double s_cc[N1 * N2], t_cc[N1 * N2], s_lib[N1 * N2], t_lib[N1 * N2];
    cr_assert_eq(entry(N1, x1, N2, x2, D, s_cc, t_cc), 0);
    ntkc_error err;
    ntkc_eval_options opts = {.tile = 8};
    cr_assert_eq(ntkc_kernel(net, N1, x1, N2, x2, D, s_lib, t_lib, &opts, &err), 0, "%s", err.message);
    cr_expect_lt(max_rel_diff(s_lib, s_cc, N1 * N2), 1e-12);
    cr_expect_lt(max_rel_diff(t_lib, t_cc, N1 * N2), 1e-12);
    dlclose(h);
    ntkc_net_free(net);
}

Test(pipeline, cc_backend_equals_tcc_backend)
{
    enum { N = 40, D = 9 };
    double x[N * D];
    fill_random(x, N * D, 3);
    ntkc_net *a = compile_or_fail(deep_net, NTKC_BACKEND_TCC), *b = compile_or_fail(deep_net, NTKC_BACKEND_CC);
    static double sa[N * N], ta[N * N], sb[N * N], tb[N * N];
    ntkc_error err;
    cr_assert_eq(ntkc_kernel(a, N, x, 0, NULL, D, sa, ta, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(b, N, x, 0, NULL, D, sb, tb, NULL, &err), 0, "%s", err.message);
    cr_expect_lt(max_rel_diff(sa, sb, N * N), 1e-12);
    cr_expect_lt(max_rel_diff(ta, tb, N * N), 1e-12);
    ntkc_net_free(a);
    ntkc_net_free(b);
}

/* The symmetric path (one triangle, mirrored, dsyrk) equals the general one,
 * is exactly symmetric, PSD, and independent of tile size and thread count. */
Test(pipeline, symmetric_path_tiles_threads)
{
    enum { N = 70, D = 13 };
    double x[N * D];
    fill_random(x, N * D, 4);
    ntkc_net *net = compile_or_fail(deep_net, NTKC_BACKEND_TCC);
    static double s1[N * N], t1[N * N], s2[N * N], t2[N * N], s3[N * N], t3[N * N];
    ntkc_error err;
    ntkc_eval_options one = {.threads = 1, .tile = 16}, two = {.threads = 2, .tile = 16}, big = {.tile = 1000};
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, D, s1, t1, &one, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, D, s2, t2, &two, &err), 0, "%s", err.message);
    cr_expect_eq(memcmp(s1, s2, sizeof s1), 0, "NNGP differs with the thread count");
    cr_expect_eq(memcmp(t1, t2, sizeof t1), 0, "NTK differs with the thread count");
    cr_assert_eq(ntkc_kernel(net, N, x, N, x, D, s3, t3, &big, &err), 0, "%s", err.message);
    cr_expect_lt(max_rel_diff(s1, s3, N * N), 1e-13);
    cr_expect_lt(max_rel_diff(t1, t3, N * N), 1e-13);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            cr_assert_eq(s1[i * N + j], s1[j * N + i]);
            cr_assert_eq(t1[i * N + j], t1[j * N + i]);
        }
    cr_expect_gt(min_eigenvalue(s1, N), -1e-10 * s1[0]);
    cr_expect_gt(min_eigenvalue(t1, N), -1e-10 * t1[0]);
    ntkc_net_free(net);
}

/* Σ = XXᵀ/d at the input: one linear layer gives w²XXᵀ/d + b², Θ = Σ. */
Test(pipeline, input_kernel_is_gram_over_d)
{
    enum { N = 12, D = 7 };
    double x[N * D], s[N * N], t[N * N];
    fill_random(x, N * D, 5);
    ntkc_net *net = compile_or_fail("net lin { dense(2.0, 0.5) }", NTKC_BACKEND_TCC);
    ntkc_error err;
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, D, s, t, NULL, &err), 0, "%s", err.message);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double g = 0;
            for (size_t k = 0; k < D; k++)
                g += x[i * D + k] * x[j * D + k];
            double want = 4.0 * g / D + 0.25;
            cr_assert_float_eq(s[i * N + j], want, 1e-14 * fabs(want) + 1e-15);
            cr_assert_float_eq(t[i * N + j], want, 1e-14 * fabs(want) + 1e-15);
        }
    ntkc_net_free(net);
}

/* One hidden ReLU layer on inputs with |x|² = d, so Σ_in = cos θ:
 * arc-cosine kernel (Cho & Saul): Σ = w²(sin θ + (π−θ)cos θ)/(2π),
 * Θ = Σ + w² cos θ (π−θ)/(2π) for a linear readout dense(1). */
Test(pipeline, relu_arc_cosine_formulas)
{
    enum { D = 2, NA = 9 };
    const double w = 1.3;
    ntkc_net *net = compile_or_fail("net r { dense(1.3); relu; dense(1.0) }", NTKC_BACKEND_TCC);
    for (int a = 0; a < NA; a++) {
        double theta = M_PI * a / (NA - 1);
        double x[2 * D] = {sqrt(2.0), 0, sqrt(2.0) * cos(theta), sqrt(2.0) * sin(theta)};
        double s[4], t[4];
        ntkc_error err;
        cr_assert_eq(ntkc_kernel(net, 2, x, 0, NULL, D, s, t, NULL, &err), 0, "%s", err.message);
        double sigma = w * w * (sin(theta) + (M_PI - theta) * cos(theta)) / (2 * M_PI);
        double ntk = sigma + w * w * cos(theta) * (M_PI - theta) / (2 * M_PI);
        cr_expect_float_eq(s[1], sigma, 1e-13, "theta %g: NNGP %.17g vs %.17g", theta, s[1], sigma);
        cr_expect_float_eq(t[1], ntk, 1e-13, "theta %g: NTK %.17g vs %.17g", theta, t[1], ntk);
        cr_expect_float_eq(s[0], w * w / 2, 1e-13);
        cr_expect_float_eq(t[0], w * w, 1e-13);
    }
    ntkc_net_free(net);
}

/* Zero inputs and exactly repeated inputs (correlation 1) stay finite. */
Test(pipeline, zero_and_duplicate_inputs_are_finite)
{
    enum { D = 4 };
    double x[3 * D] = {0, 0, 0, 0, 1, 2, 3, 4, 1, 2, 3, 4};
    double s[9], t[9];
    ntkc_net *net = compile_or_fail("net z { dense(1.4); relu; dense(1.4); erf; dense(1.4); relu; dense }",
                                    NTKC_BACKEND_TCC);
    ntkc_error err;
    cr_assert_eq(ntkc_kernel(net, 3, x, 0, NULL, D, s, t, NULL, &err), 0, "%s", err.message);
    for (int i = 0; i < 9; i++) {
        cr_assert(isfinite(s[i]) && isfinite(t[i]), "entry %d not finite", i);
    }
    cr_expect_eq(s[0], 0.0);
    cr_expect_float_eq(s[4], s[5], 1e-15 * s[4]);
    cr_expect_float_eq(t[4], t[5], 1e-15 * t[4]);
    ntkc_net_free(net);
}

/* Depth 200 with a large w_std overflows: an error naming an entry, never Inf in the output. */
Test(pipeline, overflow_is_reported)
{
    double x[4] = {1, 2, 3, 4}, s[4], t[4];
    ntkc_net *net = compile_or_fail("net big { repeat 200 { dense(16.0); relu }; dense }", NTKC_BACKEND_TCC);
    ntkc_error err;
    cr_assert_eq(ntkc_kernel(net, 2, x, 0, NULL, 2, s, t, NULL, &err), 1);
    cr_expect(strstr(err.message, "not finite") != NULL, "%s", err.message);
    ntkc_net_free(net);
}

/* Issue 14: an input met by a copy of itself in the second set gives exactly
 * the diagonal of the symmetric kernel, after a ReLU too, for every kinked
 * activation (before the ±1 snap in their duals sign's NNGP was 0.9999999905
 * instead of 1 and abs's NTK was 9.5e-9 off), with both back ends. */
Test(pipeline, copy_of_an_input_gives_the_diagonal)
{
    static const char *acts[] = {"sign", "abs", "leaky_relu(0.2)", "abrelu(-0.3, 1.2)", "step",
                                 "rectified_monomial(2)", "relu", "erf", "gelu"};
    double x[2] = {1, 2}, copy[2] = {1, 2};
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++)
        for (int be = 0; be < 2; be++) {
            char src[200];
            snprintf(src, sizeof src, "net n { dense(1.59571, 0.168953); relu; dense(1.40665, 0.296198); %s }",
                     acts[a]);
            ntkc_net *net = compile_or_fail(src, be ? NTKC_BACKEND_CC : NTKC_BACKEND_TCC);
            double s1, t1, s2, t2;
            ntkc_error err;
            cr_assert_eq(ntkc_kernel(net, 1, x, 0, NULL, 2, &s1, &t1, NULL, &err), 0, "%s", err.message);
            cr_assert_eq(ntkc_kernel(net, 1, x, 1, copy, 2, &s2, &t2, NULL, &err), 0, "%s", err.message);
            cr_expect_eq(s1, s2, "%s (%s): NNGP %.17g with itself, %.17g with a copy", acts[a], be ? "cc" : "tcc", s1,
                         s2);
            cr_expect_eq(t1, t2, "%s (%s): NTK %.17g with itself, %.17g with a copy", acts[a], be ? "cc" : "tcc", t1,
                         t2);
            if (strcmp(acts[a], "sign") == 0)
                cr_expect_eq(s1, 1.0, "sign: NNGP of an input with itself %.17g", s1);
            ntkc_net_free(net);
        }
}

/* The back ends agree bit for bit (README), also where libtcc compiles a
 * per-element loop of libm calls (layer_norm nets): before, gcc's build called
 * libmvec's vector exp there (5e-16 off libm's; 4.7e-9 once a ReLU amplified
 * it at correlation one, x met by a copy of itself). */
Test(pipeline, back_ends_agree_bit_for_bit)
{
    static const char *nets[] = {"net n { dense; layer_norm; exp; dense; relu }",
                                 "net n { dense(1.2, 0.1); erf; dense; gelu; dense; exp(1, 0.3); dense }",
                                 "act t(x) = tanh(x)\nnet n { dense(1.3, 0.2); relu; dense(1.5, 0.1); t; dense }"};
    enum { N1 = 13, N2 = 11, D = 3 };
    double x1[N1 * D], x2[N2 * D];
    fill_random(x1, N1 * D, 21);
    fill_random(x2, N2 * D, 22);
    memcpy(x2, x1, D * sizeof *x1); /* x2[0] is a copy of x1[0] */
    for (size_t k = 0; k < sizeof nets / sizeof nets[0]; k++) {
        ntkc_net *a = compile_or_fail(nets[k], NTKC_BACKEND_TCC), *b = compile_or_fail(nets[k], NTKC_BACKEND_CC);
        static double sa[N1 * N2], ta[N1 * N2], sb[N1 * N2], tb[N1 * N2];
        ntkc_error err;
        cr_assert_eq(ntkc_kernel(a, N1, x1, N2, x2, D, sa, ta, NULL, &err), 0, "%s", err.message);
        cr_assert_eq(ntkc_kernel(b, N1, x1, N2, x2, D, sb, tb, NULL, &err), 0, "%s", err.message);
        cr_expect_eq(memcmp(sa, sb, sizeof sa), 0, "%s: NNGP differs between libtcc and cc (max rel %g)", nets[k],
                     max_rel_diff(sa, sb, N1 * N2));
        cr_expect_eq(memcmp(ta, tb, sizeof ta), 0, "%s: NTK differs between libtcc and cc (max rel %g)", nets[k],
                     max_rel_diff(ta, tb, N1 * N2));
        ntkc_net_free(a);
        ntkc_net_free(b);
    }
}
