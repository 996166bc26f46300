/* Volumes with a fanout's concat along depth, height or width and with
 * image_resize (issue 21; emit_attn_concat.c, emit_attn_resize.c) against the
 * image family, a different back end (emit_image.c's planes, ntkc_fanin4,
 * ntkc_cross4 and its resize): a volume of one slice whose windows have one
 * depth tap is the image net, for concat along height and width (identity
 * branches beside fresh ones: the cross blocks) and for 2-D resizing. Along
 * depth: copies of one slice (nearest resizing to D slices, or identity
 * branches concatenated along depth) make every slice pair the image net's
 * position pairs, so global pooling gives the image net exactly. Against an independent numpy
 * recursion: python/tests/test_volume_concat_resize.py; Monte Carlo:
 * tests/test_monte_carlo.c (volume_concat_resize). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "net_internal.h"
#include "ntkc.h"
#include "util.h"

enum { N = 4 };

static void kernels(ntkc_net *net, size_t n, const double *x, size_t dim, double *s, double *t)
{
    ntkc_error err = {0};
    cr_assert_eq(ntkc_kernel(net, n, x, 0, NULL, dim, s, t, NULL, &err), 0, "%s", err.message);
}

/* The worst relative difference of two kernels. */
static double worst(const double *got, const double *want, size_t count)
{
    double w = 0;
    for (size_t e = 0; e < count; e++) {
        double r = fabs(got[e] - want[e]) / fabs(want[e]);
        w = r > w ? r : w;
    }
    return w;
}

static void same_as_image(const char *vol, const char *img, size_t dim)
{
    ntkc_net *a = compile_or_fail(vol, NTKC_BACKEND_TCC), *b = compile_or_fail(img, NTKC_BACKEND_TCC);
    cr_assert_eq(ntkc_net_ir(a)->family, IR_FAMILY_ATTENTION, "volumes: the all-pairs back end");
    cr_assert_eq(ntkc_net_ir(b)->family, IR_FAMILY_IMAGE, "the image net: the plane back end");
    double *x = malloc(N * dim * sizeof *x), s1[N * N], t1[N * N], s2[N * N], t2[N * N];
    fill_random(x, N * dim, 7);
    kernels(a, N, x, dim, s1, t1);
    kernels(b, N, x, dim, s2, t2);
    double ws = worst(s1, s2, N * N), wt = worst(t1, t2, N * N);
    cr_log_info("NNGP %.3g, NTK %.3g relative difference from the image net", ws, wt);
    cr_expect(ws <= 1e-13 && wt <= 1e-13, "NNGP %.3g, NTK %.3g relative difference for\n%s", ws, wt, vol);
    free(x);
    ntkc_net_free(a);
    ntkc_net_free(b);
}

Test(volume_concat_resize, one_slice_concat_is_the_image_net)
{
    /* height: an identity, a fresh conv and a second identity (cross blocks
     * between the identities are the input's kernel) */
    same_as_image("net v { input volume(1, 3, 2, 2); conv(kd=1, kh=2, kw=2, w_std=1.4, b_std=0.1)\n"
                  "  fanout(axis=height) { branch { } branch { conv(kd=1, kh=3, kw=1, w_std=1.2) } branch { } } concat\n"
                  "  relu; conv(kd=1, kh=2, kw=2); erf; global_avg_pool; dense(1.1) }",
                  "net i { input image(3, 2, 2); conv(2, 1.4, 0.1)\n"
                  "  fanout(axis=height) { branch { } branch { conv(kh=3, kw=1, w_std=1.2) } branch { } } concat\n"
                  "  relu; conv(2); erf; global_avg_pool; dense(1.1) }",
                  12);
    /* width: two fresh branches, flatten (equal positions only) */
    same_as_image("net v { input volume(1, 2, 3, 1); dense(1.3, 0.2)\n"
                  "  fanout(axis=width) { branch { dense(1.1) } branch { conv(kd=1, kh=1, kw=2, b_std=0.3) } } concat\n"
                  "  relu; flatten; dense(0.9) }",
                  "net i { input image(2, 3, 1); dense(1.3, 0.2)\n"
                  "  fanout(axis=width) { branch { dense(1.1) } branch { conv(kh=1, kw=2, b_std=0.3) } } concat\n"
                  "  relu; flatten; dense(0.9) }",
                  6);
}

Test(volume_concat_resize, one_slice_resize_is_the_image_net)
{
    same_as_image("net v { input volume(1, 3, 4, 2); conv(kd=1, kh=2, kw=2, w_std=1.4, b_std=0.1); relu\n"
                  "  image_resize(5, 2); conv(kd=1, kh=2, kw=2, w_std=1.2); erf\n"
                  "  image_resize(2, 3, method=nearest); global_avg_pool; dense }",
                  "net i { input image(3, 4, 2); conv(2, 1.4, 0.1); relu\n"
                  "  image_resize(5, 2); conv(2, 1.2); erf\n"
                  "  image_resize(2, 3, method=nearest); global_avg_pool; dense }",
                  24);
    same_as_image("net v { input volume(1, 4, 3, 1); dense(1.2, 0.1); relu\n"
                  "  image_resize(2, 5, method=bilinear, antialias=false, d=1); flatten; dense(1.1) }",
                  "net i { input image(4, 3, 1); dense(1.2, 0.1); relu\n"
                  "  image_resize(2, 5, method=bilinear, antialias=false); flatten; dense(1.1) }",
                  12);
}

/* Nearest resizing of one slice to three copies it: every slice pair is the
 * image net's position pairs, so global pooling (the mean over all pairs)
 * gives the image net's kernel; and concatenating a one-slice volume's
 * identity with itself along depth is the same copy. */
Test(volume_concat_resize, copied_slices_pool_to_the_image_net)
{
    same_as_image("net v { input volume(1, 3, 3, 2); conv(kd=1, kh=2, kw=2, w_std=1.3, b_std=0.2)\n"
                  "  image_resize(3, 3, method=nearest, d=3); relu; global_avg_pool; dense(1.2) }",
                  "net i { input image(3, 3, 2); conv(2, 1.3, 0.2); relu; global_avg_pool; dense(1.2) }", 18);
    same_as_image("net v { input volume(1, 3, 3, 2); conv(kd=1, kh=2, kw=2, w_std=1.3, b_std=0.2)\n"
                  "  fanout(axis=depth) { branch { } branch { } } concat; relu; global_avg_pool; dense(1.2) }",
                  "net i { input image(3, 3, 2); conv(2, 1.3, 0.2); relu; global_avg_pool; dense(1.2) }", 18);
}

/* The all-pairs kernels hold every position pair: grids grown past 4096
 * positions by a concat or image_resize are refused by name. */
Test(volume_concat_resize, grids_grown_too_far_are_refused)
{
    expect_error("net v { input volume(4, 4, 4, 1); conv(2); image_resize(30, 30, d=5); global_avg_pool; dense }",
                 "1:44", "'image_resize' outputs 4500 positions of a volume (input volume at 1:9)");
    expect_error("net v { input volume(8, 8, 8, 1); conv(2); fanout(axis=width) { branch { } branch { } branch { } "
                 "branch { } } concat; fanout(axis=depth) { branch { } branch { } branch { } branch { } } concat\n"
                 "  global_avg_pool; dense }",
                 "1:119", "this concat outputs 8192 positions of a volume (input volume at 1:9)");
}

/* Inside branches (each from the fanout's grid, which it may change): a
 * concat nested in a branch, image_resize and windows that move the grid
 * before a later concat or sum joins the branches; against the image back
 * end's pixel-pair fanouts (ntkc_fanin4, ntkc_cross4 by each branch's
 * offset). */
Test(volume_concat_resize, branches_that_change_the_grid_are_the_image_net)
{
    /* nested width concat (its identity cross blocks), resize to the
     * input's grid, an outer identity beside it, and a branch resized down */
    same_as_image("net v { input volume(1, 3, 2, 2); conv(kd=1, kh=2, kw=2, w_std=1.4, b_std=0.1)\n"
                  "  fanout(axis=height) { branch { } branch { fanout(axis=width) { branch { conv(kd=1, kh=2, kw=2) }\n"
                  "    branch { } } concat; conv(kd=1, kh=2, kw=2, w_std=1.2); image_resize(3, 2) }\n"
                  "    branch { image_resize(2, 2); conv(kd=1, kh=2, kw=2, b_std=0.2) } } concat\n"
                  "  relu; conv(kd=1, kh=2, kw=2); erf; global_avg_pool; dense(1.1) }",
                  "net i { input image(3, 2, 2); conv(2, 1.4, 0.1)\n"
                  "  fanout(axis=height) { branch { } branch { fanout(axis=width) { branch { conv(2) }\n"
                  "    branch { } } concat; conv(2, 1.2); image_resize(3, 2) }\n"
                  "    branch { image_resize(2, 2); conv(2, b_std=0.2) } } concat\n"
                  "  relu; conv(2); erf; global_avg_pool; dense(1.1) }",
                  12);
    /* a residual whose block concatenates and resizes back to its input's grid */
    same_as_image("net v { input volume(1, 3, 2, 2); conv(kd=1, kh=2, kw=2, w_std=1.4, b_std=0.1)\n"
                  "  residual(alpha=0.8) { fanout(axis=width) { branch { conv(kd=1, kh=2, kw=2) } branch { } } concat\n"
                  "    conv(kd=1, kh=2, kw=2, w_std=1.3); image_resize(3, 2, method=nearest) }\n"
                  "  relu; conv(kd=1, kh=2, kw=2); erf; global_avg_pool; dense(1.1) }",
                  "net i { input image(3, 2, 2); conv(2, 1.4, 0.1)\n"
                  "  residual(alpha=0.8) { fanout(axis=width) { branch { conv(2) } branch { } } concat\n"
                  "    conv(2, 1.3); image_resize(3, 2, method=nearest) }\n"
                  "  relu; conv(2); erf; global_avg_pool; dense(1.1) }",
                  12);
    /* pooling, a strided valid conv and a resize of different widths joined along width */
    same_as_image("net v { input volume(1, 4, 4, 2); conv(kd=1, kh=2, kw=2, w_std=1.4, b_std=0.1)\n"
                  "  fanout(axis=width) { branch { avg_pool(kd=1, kh=2, kw=2); conv(kd=1, kh=2, kw=2) }\n"
                  "    branch { conv(kd=1, kh=2, kw=2, stride=2, padding=valid); relu; conv(1) }\n"
                  "    branch { sum_pool(kd=1, kh=2, kw=2); image_resize(2, 3); conv(kd=1, kh=2, kw=2) } } concat\n"
                  "  relu; conv(kd=1, kh=2, kw=2); erf; global_avg_pool; dense(1.1) }",
                  "net i { input image(4, 4, 2); conv(2, 1.4, 0.1)\n"
                  "  fanout(axis=width) { branch { avg_pool(2); conv(2) }\n"
                  "    branch { conv(2, stride=2, padding=valid); relu; conv(1) }\n"
                  "    branch { sum_pool(2); image_resize(2, 3); conv(2) } } concat\n"
                  "  relu; conv(2); erf; global_avg_pool; dense(1.1) }",
                  32);
    /* summed branches that pool and resize to one grid */
    same_as_image("net v { input volume(1, 4, 4, 1); dense(1.2, 0.1)\n"
                  "  fanout { branch { conv(kd=1, kh=2, kw=2, stride=2, padding=valid) } branch { image_resize(2, 2) }\n"
                  "    branch { avg_pool(kd=1, kh=2, kw=2); dense(0.9) } } sum; relu; flatten; dense }",
                  "net i { input image(4, 4, 1); dense(1.2, 0.1)\n"
                  "  fanout { branch { conv(2, stride=2, padding=valid) } branch { image_resize(2, 2) }\n"
                  "    branch { avg_pool(2); dense(0.9) } } sum; relu; flatten; dense }",
                  16);
}

/* What stays refused inside branches: summed branches ending on different
 * slices (the same rows), grids grown past 4096 positions, resizing and
 * spatial concat on masked volumes, and a nested concat whose identity
 * branch would meet an outer identity (their cross block is neither a
 * branch's own kernel, the input's, nor 0). */
Test(volume_concat_resize, branch_grids_that_cannot_join_are_refused)
{
    expect_error("net v { input volume(2, 3, 3, 1); conv(2); fanout { branch { image_resize(2, 3, d=3) }\n"
                 "  branch { conv(2); image_resize(3, 3, d=2) } } sum; global_avg_pool; dense }",
                 "2:3", "branch 2 ends with shape 2×3×3 but branch 1 with 3×2×3: the branches of a fanout must agree");
    expect_error("net v { input volume(4, 4, 4, 1); conv(2); fanout(axis=depth) { branch { conv(2); "
                 "image_resize(30, 30, d=5) } branch { conv(2); image_resize(30, 30, d=5) } } concat; global_avg_pool; "
                 "dense }",
                 "1:83", "'image_resize' outputs 4500 positions of a volume (input volume at 1:9)");
    expect_error("net v { input volume(2, 3, 3, 1, masked=true); conv(2); fanout(axis=depth) { branch { conv(2) }\n"
                 "  branch { conv(2); image_resize(3, 3) } } concat; global_avg_pool; dense }",
                 "1:57", "concatenates along a spatial axis: the joined grid's mask is not defined");
    expect_error("net v { input volume(2, 3, 3, 1, masked=true); conv(2); fanout { branch { conv(2) }\n"
                 "  branch { conv(2); image_resize(3, 3, method=nearest) } } sum; global_avg_pool; dense }",
                 "2:21", "'image_resize' in net 'v', whose input is masked (masked=true at 1:9)");
    expect_error("net v { input volume(2, 3, 2, 1); conv(2); fanout(axis=height) { branch { }\n"
                 "  branch { fanout(axis=width) { branch { conv(2) } branch { } } concat; image_resize(3, 2) } } concat\n"
                 "  global_avg_pool; dense }",
                 "2:73", "branch 2 of this 'fanout' spatial concat ends in 'image_resize': a spatial concat of kernels "
                         "needs independent branches");
}
