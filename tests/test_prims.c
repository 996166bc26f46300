/* Block primitives and the engine's determinism: the gcc-compiled host
 * primitives that the libtcc back end links (block loops of fully connected
 * nets, plane loops of image nets) agree with the reference definitions in
 * the emitted C for every activation of the table; the
 * deterministic arcsin/arccos are within an ulp and give the same bits in
 * vector lanes and scalar tails; results do not depend on the thread count;
 * an input paired with itself is at correlation exactly 1. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act.h"
#include "host_prims.h"
#include "util.h"

typedef int (*entry_fn)(size_t, const double *, size_t, const double *, size_t, double *, double *);
typedef void (*act_block_fn)(const double *p, size_t m, double v1, const double *v2, double *s, double *t);

/* A value the activation's parameter accepts: its default, else inside its range. */
static double param_value(const ActParam *ap)
{
    double v = isfinite(ap->def) ? ap->def : 1.0;
    if (v < ap->min || v > ap->max)
        v = isfinite(ap->min) ? (isfinite(ap->max) ? (ap->min + ap->max) / 2 : ap->min + 1) : ap->max - 1;
    return ap->integer ? ceil(v) : v;
}

static const char fc_net[] = "net t { dense(1.3, 0.2); %s; dense(1.1, 0.1); %s; dense }";

/* shape as in neural-tangents' tests: two convs, pooling over all pixel pairs */
static const char image_net[] = "net t { input image(4, 3, 2); conv(3, 1.3, 0.2); %s\n"
                                "  conv(kh=2, kw=3, w_std=1.1, b_std=0.1, padding=valid); %s; global_avg_pool; dense }";

/* The template's two %s, each NAME(args). */
static void net_with(const ActDef *def, const char *template, char *out, size_t size)
{
    char call[600];
    size_t len = (size_t)snprintf(call, sizeof call, "%s(", def->name);
    for (int k = 0; k < def->nparams; k++)
        len += (size_t)snprintf(call + len, sizeof call - len, "%s%.17g", k ? ", " : "",
                                param_value(&def->params[k]));
    snprintf(call + len, sizeof call - len, ")");
    snprintf(out, size, template, call, call);
}

static void *host_primitive(const char *prefix, const char *act_name)
{
    char name[128];
    snprintf(name, sizeof name, "%s%s", prefix, act_name);
    for (size_t i = 0; i < ntkc_host_primitive_count; i++)
        if (strcmp(ntkc_host_primitives[i].name, name) == 0)
            return (void *)ntkc_host_primitives[i].fn;
    return NULL;
}

static act_block_fn host_block(const char *act_name)
{
    void *p = host_primitive("ntkc_block_act_", act_name);
    act_block_fn f;
    memcpy(&f, &p, sizeof f);
    return p ? f : NULL;
}

/* The net of `template` with activation def, compiled for libtcc (which links
 * the library primitive named prefix + NAME), against the emitted C compiled
 * by cc: n1 × n2 entries, and with symmetric also K(x1, x1) through ntkc's
 * symmetric paths. */
static void expect_library_equals_reference(const ActDef *def, const char *template, const char *prefix, size_t n1,
                                            const double *x1, size_t n2, const double *x2, size_t dim,
                                            int symmetric)
{
    char src[1024];
    net_with(def, template, src, sizeof src);
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    cr_assert_not_null(host_primitive(prefix, def->name), "no %s%s in the library", prefix, def->name);
    void *p, *h = load_emitted_c(ntkc_net_source(net), "ntkcnet_t", &p);
    entry_fn entry;
    memcpy(&entry, &p, sizeof p);
    size_t m = n1 * (n2 > n1 ? n2 : n1);
    double *s_ref = malloc(m * sizeof *s_ref), *t_ref = malloc(m * sizeof *t_ref);
    double *s_lib = malloc(m * sizeof *s_lib), *t_lib = malloc(m * sizeof *t_lib);
    ntkc_error err;
    for (int sym = 0; sym <= symmetric; sym++) {
        size_t nb = sym ? n1 : n2;
        const double *xb = sym ? x1 : x2;
        cr_assert_eq(entry(n1, x1, nb, xb, dim, s_ref, t_ref), 0, "%s: reference failed", def->name);
        cr_assert_eq(ntkc_kernel(net, n1, x1, nb, sym ? NULL : xb, dim, s_lib, t_lib, NULL, &err), 0, "%s",
                     err.message);
        cr_expect_lt(max_rel_diff(s_lib, s_ref, n1 * nb), 1e-12, "%s: NNGP, symmetric %d", def->name, sym);
        cr_expect_lt(max_rel_diff(t_lib, t_ref, n1 * nb), 1e-12, "%s: NTK, symmetric %d", def->name, sym);
    }
    free(s_ref), free(t_ref), free(s_lib), free(t_lib);
    dlclose(h);
    ntkc_net_free(net);
}

/* 300 columns: a full block of 256 and a ragged one, so vector bodies and
 * scalar tails both run. */
Test(prims, host_primitives_equal_emitted_reference_for_every_activation)
{
    enum { N1 = 23, N2 = 300, D = 9 };
    static double x1[N1 * D], x2[N2 * D];
    fill_random(x1, N1 * D, 11);
    fill_random(x2, N2 * D, 12);
    size_t nacts;
    const ActDef *const *acts = act_builtins(&nacts);
    for (size_t a = 0; a < nacts; a++)
        expect_library_equals_reference(acts[a], fc_net, "ntkc_block_act_", N1, x1, N2, x2, D, 1);
}

/* The same for image nets, whose activations the libtcc back end runs through
 * the library's ntkc_act_plane_NAME: 13 × 13 entries (a ragged group of
 * lanes) and the symmetric 13 × 13, whose triangle takes the other paths
 * (pairs of one input set, the prep run's K(x, x)). */
Test(prims, image_plane_primitives_equal_emitted_reference_for_every_activation, .timeout = TIMEOUT(120))
{
    enum { N = 13, D = 4 * 3 * 2 };
    static double x1[N * D], x2[N * D];
    fill_random(x1, N * D, 13);
    fill_random(x2, N * D, 14);
    size_t nacts;
    const ActDef *const *acts = act_builtins(&nacts);
    for (size_t a = 0; a < nacts; a++)
        expect_library_equals_reference(acts[a], image_net, "ntkc_act_plane_", N, x1, N, x2, D, 1);
}

static double ulps(double got, long double want)
{
    double w = (double)want, ulp = nextafter(fabs(w), INFINITY) - fabs(w);
    return (double)(fabsl((long double)got - want) / ulp);
}

Test(prims, acos_and_asin_within_one_ulp)
{
    cr_expect_eq(ntkc_host_acos(1.0), 0.0);
    cr_expect_eq(ntkc_host_acos(-1.0), acos(-1.0));
    cr_expect_eq(ntkc_host_acos(0.0), acos(0.0));
    cr_expect_eq(ntkc_host_asin(1.0), asin(1.0));
    cr_expect_eq(ntkc_host_asin(-1.0), asin(-1.0));
    cr_expect_eq(ntkc_host_asin(0.0), 0.0);
    /* The reference is x87 extended precision, which valgrind does not emulate. */
    volatile long double one = 1.0L, tiny = 0x1p-60L;
    if (one + tiny == one)
        cr_skip_test("long double is no wider than double here (valgrind?): no reference for ulps");
    unsigned long long st = 77;
    double worst_acos = 0, worst_asin = 0;
    for (int i = 0; i < 400000; i++) {
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        double u = (double)(st >> 11) / 9007199254740992.0;
        /* uniform on [-1, 1], near ±1 (where acos is steep), and near 0 */
        double x = i % 4 == 0 ? 2 * u - 1 : i % 4 == 1 ? 1 - ldexp(1, -(int)(60 * u)) * u
                              : i % 4 == 2 ? -1 + ldexp(1, -(int)(60 * u)) * u
                                           : (2 * u - 1) * ldexp(1, -(int)(40 * u));
        worst_acos = fmax(worst_acos, ulps(ntkc_host_acos(x), acosl((long double)x)));
        worst_asin = fmax(worst_asin, ulps(ntkc_host_asin(x), asinl((long double)x)));
    }
    cr_expect_leq(worst_acos, 1.0, "acos: %.3f ulp", worst_acos);
    cr_expect_leq(worst_asin, 1.0, "asin: %.3f ulp", worst_asin);
}

/* relu and erf use only IEEE operations and ntkc_acos/ntkc_asin, so an entry
 * gets the same bits in a vector lane as in a scalar tail: the kernel cannot
 * depend on where a column falls in a block. */
Test(prims, block_position_does_not_change_bits)
{
    enum { M = 37 };
    const char *names[] = {"relu", "erf"};
    const double erf_p[3] = {1.3, 0.7, 0.2};
    for (int a = 0; a < 2; a++) {
        act_block_fn f = host_block(names[a]);
        cr_assert_not_null(f);
        double v2[M], s[M], t[M], s1[M], t1[M], v1 = 1.7;
        fill_random(s, M, 21 + a);
        fill_random(v2, M, 31 + a);
        for (int j = 0; j < M; j++) {
            v2[j] = 1.0 + fabs(v2[j]);
            s[j] *= sqrt(v1 * v2[j]); /* |s12| <= sqrt(s11 s22) */
            t[j] = 1.0 + j;
            s1[j] = s[j], t1[j] = t[j];
        }
        s[5] = s1[5] = sqrt(v1 * v2[5]); /* correlation 1 */
        f(erf_p, M, v1, v2, s, t);
        for (int j = 0; j < M; j++)
            f(erf_p, 1, v1, v2 + j, s1 + j, t1 + j);
        cr_expect_eq(memcmp(s, s1, sizeof s), 0, "%s: T differs between block and single calls", names[a]);
        cr_expect_eq(memcmp(t, t1, sizeof t), 0, "%s: Tdot differs between block and single calls", names[a]);
    }
}

static const char deep_net[] = "net deep { dense(1.5, 0.05); relu; repeat 2 { dense(1.5, 0.05); erf };"
                               " dense(1.2, 0.1); relu; dense(1.0) }";

/* Many tiles, so threads really split the work. */
Test(prims, thread_count_does_not_change_bits)
{
    enum { N = 600, N2 = 530, D = 7 };
    double *x = malloc(N * D * sizeof *x), *x2 = malloc(N2 * D * sizeof *x2);
    double *out[6];
    for (int i = 0; i < 6; i++)
        out[i] = malloc(N * N * sizeof *out[i]);
    fill_random(x, N * D, 41);
    fill_random(x2, N2 * D, 42);
    ntkc_net *net = compile_or_fail(deep_net, NTKC_BACKEND_TCC);
    ntkc_error err;
    for (int sym = 0; sym < 2; sym++) {
        size_t n2 = sym ? N : N2, bytes = N * n2 * sizeof(double);
        for (int th = 1; th <= 3; th++) {
            ntkc_eval_options o = {.threads = th, .tile = 128};
            double *s = out[2 * (th - 1)], *t = out[2 * (th - 1) + 1];
            cr_assert_eq(ntkc_kernel(net, N, x, n2, sym ? NULL : x2, D, s, t, &o, &err), 0, "%s", err.message);
        }
        for (int th = 2; th <= 3; th++) {
            cr_expect_eq(memcmp(out[0], out[2 * (th - 1)], bytes), 0, "NNGP, %d threads, symmetric %d", th, sym);
            cr_expect_eq(memcmp(out[1], out[2 * (th - 1) + 1], bytes), 0, "NTK, %d threads, symmetric %d", th, sym);
        }
    }
    for (int i = 0; i < 6; i++)
        free(out[i]);
    free(x);
    free(x2);
    ntkc_net_free(net);
}

/* K(x, x) at correlation 1: with Σ = w²q + b² entering each ReLU, T = Σ/2 and
 * Ṫ = 1/2 exactly. BLAS's Gram diagonal alone would leave correlations of
 * 1 − 1e-16, and Ṫ off by 1e-8 per layer. */
Test(prims, self_pairs_are_at_correlation_one)
{
    enum { N = 300, D = 50, DEPTH = 3 };
    const double w = 1.4, b = 0.1;
    double *x = malloc(N * D * sizeof *x), *s = malloc(N * N * sizeof *s), *t = malloc(N * N * sizeof *t);
    fill_random(x, N * D, 51);
    ntkc_net *net = compile_or_fail("net d { repeat 3 { dense(1.4, 0.1); relu }; dense(1.0) }", NTKC_BACKEND_TCC);
    ntkc_error err;
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, D, s, t, NULL, &err), 0, "%s", err.message);
    for (size_t i = 0; i < N; i++) {
        double q = 0, th = 0;
        for (size_t k = 0; k < D; k++)
            q += x[i * D + k] * x[i * D + k];
        q /= D;
        for (int l = 0; l < DEPTH; l++) {
            q = w * w * q + b * b;
            th = q + w * w * th;
            q /= 2, th /= 2;
        }
        th = q + th; /* readout dense(1.0) */
        cr_assert_float_eq(s[i * N + i], q, 1e-14 * q, "NNGP[%zu, %zu] = %.17g, want %.17g", i, i, s[i * N + i], q);
        cr_assert_float_eq(t[i * N + i], th, 1e-14 * th, "NTK[%zu, %zu] = %.17g, want %.17g", i, i, t[i * N + i],
                           th);
    }
    free(x), free(s), free(t);
    ntkc_net_free(net);
}
