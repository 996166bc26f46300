/* layer_norm(axes=height|width|all|depth) on the all-pairs back end (issue 21:
 * nets with attention or masked inputs, and volumes). Checked against the
 * image family's planes (emit_image.c, ntkc_fill_ln_axes), a different back
 * end, by identities:
 *  - `masked=true` sends an image or sequence net to the all-pairs back end
 *    with the same layers; on unpadded data its kernels are the image net's;
 *  - padding left out: every input padded at the end to a longer grid gives
 *    the shorter image net's kernels (a `same` conv reads padded positions as
 *    the zeros of its own padding; global_avg_pool averages the real ones),
 *    so the groups' means must skip the padded positions;
 *  - a volume of one slice (windows kd = 1) is the image net, axes alike; a
 *    volume of one row per slice (H = 1) is the image of its slices' rows
 *    (D × W), where depth is the image's height; one column per slice
 *    (W = 1): depth is the image's height, height its width.
 * Against independent numpy recursions (attention nets, masks of different
 * lengths, volumes): python/tests/test_volume.py, test_attention_masks.py;
 * Monte Carlo: tests/test_monte_carlo.c (pairs_layer_norm_*). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir_print.h"
#include "net_internal.h"
#include "ntkc.h"
#include "util.h"

enum { N = 4 };

/* Inputs whose positions differ in scale (by up to e^1.6), so the groups'
 * mean variances differ from each other and from the positions' own. */
static void scaled_inputs(double *x, size_t n, size_t P, size_t C, unsigned long long seed)
{
    fill_random(x, n * P * C, seed);
    for (size_t i = 0; i < n; i++)
        for (size_t p = 0; p < P; p++)
            for (size_t c = 0; c < C; c++)
                x[(i * P + p) * C + c] *= exp(0.4 * (double)(p % 5) - 0.3 * (double)(p / 5 % 3));
}

static void kernels(ntkc_net *net, size_t n, const double *x, size_t dim, double *s, double *t)
{
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, n, x, 0, NULL, dim, s, t, NULL, &err), 0, "%s", err.message);
}

/* max |got − want| / max |want|. */
static double rel_diff(const double *got, const double *want, size_t count)
{
    double num = 0, den = 0;
    for (size_t e = 0; e < count; e++) {
        num = fmax(num, fabs(got[e] - want[e]));
        den = fmax(den, fabs(want[e]));
    }
    return num / den;
}

/* Net a (the all-pairs back end) on xa against net b (the image family's
 * planes) on xb, N inputs each: within 1e-13; returns the worst difference. */
static double expect_same(const char *a_src, const double *xa, size_t da, const char *b_src, const double *xb,
                          size_t db)
{
    ntkc_net *a = compile_or_fail(a_src, NTKC_BACKEND_TCC), *b = compile_or_fail(b_src, NTKC_BACKEND_TCC);
    cr_assert_eq(ntkc_net_ir(a)->family, IR_FAMILY_ATTENTION, "the all-pairs back end:\n%s", a_src);
    cr_assert_eq(ntkc_net_ir(b)->family, IR_FAMILY_IMAGE, "the image family's planes:\n%s", b_src);
    double s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    kernels(a, N, xa, da, s1, t1);
    kernels(b, N, xb, db, s2, t2);
    double es = rel_diff(s1, s2, N * N), et = rel_diff(t1, t2, N * N);
    for (size_t e = 0; e < N * N; e++)
        cr_assert(isfinite(s1[e]) && isfinite(t1[e]), "entry %zu not finite:\n%s", e, a_src);
    cr_expect(es <= 1e-13 && et <= 1e-13, "NNGP %.3g, NTK %.3g relative difference:\n%s\nagainst\n%s", es, et, a_src,
              b_src);
    ntkc_net_free(a);
    ntkc_net_free(b);
    return fmax(es, et);
}

static const char *const axes[] = {"height", "width", "all"};

static const char *const image_net =
    "net a { input image(3, 4, 2%s); conv(3, 1.3, 0.1); layer_norm(axes=%s); relu; conv(3, 1.2, 0.1)\n"
    "  residual { layer_norm(axes=%s); erf; conv(3, 1.1) }; avg_pool(2, stride=1, padding=same)\n"
    "  layer_norm(axes=%s); relu; global_avg_pool; dense(1.1) }";
static const char *const sequence_net =
    "net s { input sequence(%d, 2%s); conv(3, 1.3, 0.1); layer_norm(axes=%s); relu; dense(1.2, 0.1)\n"
    "  layer_norm(axes=%s); erf; conv(3, 1.1); relu; global_avg_pool; dense }";

Test(ln_pairs, masked_true_is_the_image_back_end)
{
    double x[N * 12 * 2], worst = 0;
    scaled_inputs(x, N, 12, 2, 3);
    for (int k = 0; k < 3; k++) {
        const char *u = axes[k], *v = axes[(k + 1) % 3], *w = axes[(k + 2) % 3];
        char a[512], b[512];
        snprintf(a, sizeof a, image_net, ", masked=true", u, v, w);
        snprintf(b, sizeof b, image_net, "", u, v, w);
        worst = fmax(worst, expect_same(a, x, 24, b, x, 24));
        snprintf(a, sizeof a, sequence_net, 6, ", masked=true", u, v);
        snprintf(b, sizeof b, sequence_net, 6, "", u, v);
        worst = fmax(worst, expect_same(a, x, 12, b, x, 12));
    }
    cr_log_info("masked=true against the image back end: worst relative difference %.3g", worst);
}

/* Inputs padded at the end: a sequence of 6 with 4 real tokens is the
 * sequence of 4; an image of 3×5 with two padded columns the 3×3 image. */
Test(ln_pairs, padded_positions_stay_out_of_the_groups)
{
    double x4[N * 4 * 2], x6[N * 6 * 2], x9[N * 9 * 2], x15[N * 15 * 2], worst = 0;
    scaled_inputs(x4, N, 4, 2, 5);
    scaled_inputs(x9, N, 9, 2, 6);
    for (size_t i = 0; i < N; i++)
        for (size_t p = 0; p < 6; p++)
            for (size_t c = 0; c < 2; c++)
                x6[(i * 6 + p) * 2 + c] = p < 4 ? x4[(i * 4 + p) * 2 + c] : NAN;
    for (size_t i = 0; i < N; i++)
        for (size_t p = 0; p < 15; p++)
            for (size_t c = 0; c < 2; c++)
                x15[(i * 15 + p) * 2 + c] = p % 5 < 3 ? x9[(i * 9 + p / 5 * 3 + p % 5) * 2 + c] : NAN;
    static const char *const img =
        "net a { input image(3, %d, 2%s); conv(3, 1.3, 0.1); layer_norm(axes=%s); relu; conv(3, 1.2, 0.1)\n"
        "  layer_norm(axes=%s); erf; global_avg_pool; dense(1.1) }";
    for (int k = 0; k < 3; k++) {
        char a[512], b[512];
        snprintf(a, sizeof a, sequence_net, 6, ", masked=true", axes[k], axes[(k + 1) % 3]);
        snprintf(b, sizeof b, sequence_net, 4, "", axes[k], axes[(k + 1) % 3]);
        worst = fmax(worst, expect_same(a, x6, 12, b, x4, 8));
        snprintf(a, sizeof a, img, 5, ", masked=true", axes[k], axes[(k + 2) % 3]);
        snprintf(b, sizeof b, img, 3, "", axes[k], axes[(k + 2) % 3]);
        worst = fmax(worst, expect_same(a, x15, 30, b, x9, 18));
    }
    cr_log_info("padded inputs against the shorter image nets: worst relative difference %.3g", worst);
}

/* A volume net (D, H, W) with windows (kd, kh, kw) and layer_norms over
 * va, vb against the image net (ih, iw) with windows (kh', kw') over ia, ib. */
typedef struct VolCase {
    int d, h, w, kd, kh, kw;
    const char *va, *vb;
    int ih, iw, ikh, ikw;
    const char *ia, *ib;
} VolCase;

Test(ln_pairs, volumes_are_the_image_nets_of_their_flat_grids)
{
    static const VolCase cases[] = {
        {1, 3, 4, 1, 3, 3, "height", "width", 3, 4, 3, 3, "height", "width"},
        {1, 3, 4, 1, 2, 3, "all", "depth", 3, 4, 2, 3, "all", "channels"}, /* one slice: depth is one position */
        {3, 1, 4, 3, 1, 3, "depth", "width", 3, 4, 3, 3, "height", "width"},
        {3, 1, 4, 2, 1, 3, "height", "all", 3, 4, 2, 3, "channels", "all"}, /* one row: height is one position */
        {3, 4, 1, 3, 3, 1, "depth", "height", 3, 4, 3, 3, "height", "width"},
        {3, 4, 1, 2, 3, 1, "width", "all", 3, 4, 2, 3, "channels", "all"},
    };
    static const char *const vol =
        "net v { input volume(%d, %d, %d, 2); conv(kd=%d, kh=%d, kw=%d, w_std=1.3, b_std=0.1); layer_norm(axes=%s)\n"
        "  relu; conv(kd=%d, kh=%d, kw=%d, w_std=1.2); layer_norm(axes=%s); erf; global_avg_pool; dense(1.1) }";
    static const char *const img =
        "net i { input image(%d, %d, 2); conv(kh=%d, kw=%d, w_std=1.3, b_std=0.1); layer_norm(axes=%s)\n"
        "  relu; conv(kh=%d, kw=%d, w_std=1.2); layer_norm(axes=%s); erf; global_avg_pool; dense(1.1) }";
    double x[N * 12 * 2], worst = 0;
    scaled_inputs(x, N, 12, 2, 7);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const VolCase *c = &cases[k];
        char a[512], b[512];
        snprintf(a, sizeof a, vol, c->d, c->h, c->w, c->kd, c->kh, c->kw, c->va, c->kd, c->kh, c->kw, c->vb);
        snprintf(b, sizeof b, img, c->ih, c->iw, c->ikh, c->ikw, c->ia, c->ikh, c->ikw, c->ib);
        worst = fmax(worst, expect_same(a, x, 24, b, x, 24));
    }
    cr_log_info("volumes against the image nets: worst relative difference %.3g", worst);
}

/* An input of zeros reaching a layer_norm through bias-free layers: its
 * variances are 0 and ε keeps the division finite (0/√ε·… = 0); its kernels
 * are the image back end's, and finite in attention nets and volumes. */
Test(ln_pairs, zero_inputs_give_finite_kernels)
{
    static const char *const zero_net =
        "net z { input image(3, 4, 2%s); conv(3, 1.3); layer_norm(axes=%s); relu; conv(3, 1.2, 0.1)\n"
        "  layer_norm(axes=%s); relu; global_avg_pool; dense(1.1) }";
    double x[N * 12 * 2];
    scaled_inputs(x, N, 12, 2, 9);
    memset(x + 12 * 2, 0, 12 * 2 * sizeof *x);
    for (int k = 0; k < 3; k++) {
        char a[512], b[512];
        snprintf(a, sizeof a, zero_net, ", masked=true", axes[k], axes[(k + 1) % 3]);
        snprintf(b, sizeof b, zero_net, "", axes[k], axes[(k + 1) % 3]);
        expect_same(a, x, 24, b, x, 24);
    }
    const char *nets[] = {
        "net v { input volume(3, 2, 2, 2); conv(2, 1.3); layer_norm(axes=depth); relu; conv(2, 1.2)\n"
        "  layer_norm(axes=all); relu; global_avg_pool; dense }",
        "net t { input image(3, 4, 2); dense(1.2); layer_norm(axes=width); attention(w_q=1.3, b_std=0.1)\n"
        "  layer_norm(axes=height); relu; global_avg_pool; dense }",
    };
    for (size_t k = 0; k < 2; k++) {
        ntkc_net *net = compile_or_fail(nets[k], NTKC_BACKEND_TCC);
        double s[N * N], t[N * N];
        kernels(net, N, x, 24, s, t);
        for (size_t e = 0; e < N * N; e++)
            cr_expect(isfinite(s[e]) && isfinite(t[e]), "entry %zu: %g, %g\n%s", e, s[e], t[e], nets[k]);
        ntkc_net_free(net);
    }
}

Test(ln_pairs, ir_and_errors)
{
    ntkc_net *net = compile_or_fail("net v { input volume(2, 2, 2, 1); conv(2); layer_norm(axes=depth); relu\n"
                                    "  conv(2); layer_norm(axes=height); relu; global_avg_pool; dense }",
                                    NTKC_BACKEND_TCC);
    StrBuf sb;
    sb_init(&sb);
    ir_print(&sb, ntkc_net_ir(net));
    cr_expect(strstr(sb.data, ", over channels and depth") != NULL, "%s", sb.data);
    cr_expect(strstr(sb.data, ", over channels and height") != NULL, "%s", sb.data);
    sb_free(&sb);
    ntkc_net_free(net);
    expect_error("net n { input image(3, 3, 1); conv(2); layer_norm(axes=depth); flatten; dense }", "1:51",
                 "'layer_norm(axes=depth)' on an image: only volumes (input volume(D, H, W, C)) have a depth axis");
    expect_error("net n { input sequence(4, 2); dense; layer_norm(axes=depth); attention; global_avg_pool; dense }",
                 "1:49", "'layer_norm(axes=depth)' on a sequence");
    expect_error("net n { input volume(2, 2, 2, 1); conv(2); global_avg_pool; layer_norm(axes=depth); dense }",
                 "1:72", "'layer_norm(axes=depth)' on a vector: it has no depth");
    expect_error("net n { input volume(2, 2, 2, 1); conv(2); layer_norm(axes=spatial); global_avg_pool; dense }",
                 "1:55", "has no infinite-width kernel");
}
