/* Lowering of inputs, image layers and branches: the IR they produce
 * (shapes, windows, padding, branches) and every error, with its position. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "frontend.h"
#include "ir.h"
#include "util.h"

typedef struct Lowered {
    Arena a;
    Diag err;
    IrNet *ir;
} Lowered;

static void lower(Lowered *r, const char *src)
{
    arena_init(&r->a);
    diag_clear(&r->err);
    r->ir = NULL;
    Program *p = frontend_parse(&r->a, src, "t.ntk", &r->err);
    if (p != NULL)
        r->ir = frontend_lower(&r->a, p, NULL, &r->err);
}

Test(conv_lower, the_issue_net_lowers_with_shapes)
{
    Lowered r;
    lower(&r, "net cntk {\n"
              "    input image(32, 32, 3)\n"
              "    conv(3, w_std=1.414, b_std=0.0)\n"
              "    repeat 3 {\n"
              "        residual { relu; conv(3, 1.414, 0.1); relu; conv(3, 1.414, 0.1) }\n"
              "    }\n"
              "    avg_pool(2)\n"
              "    relu\n"
              "    conv(3, 1.414, 0.1, stride=2, padding=circular)\n"
              "    global_avg_pool\n"
              "    dense(1.0)\n"
              "}\n");
    cr_assert_not_null(r.ir, "%s", r.err.message);
    const IrNet *n = r.ir;
    cr_expect_eq(n->input.kind, IR_INPUT_IMAGE);
    cr_expect_eq(n->input.dim, 32 * 32 * 3);
    cr_assert_eq(n->nops, 1 + 3 + 5);
    cr_expect_eq(n->ops[0].kind, IR_CONV);
    cr_expect_eq(n->ops[0].u.conv.win.kh, 3);
    cr_expect_eq(n->ops[0].u.conv.win.pt, 1);
    cr_expect_eq(n->ops[0].u.conv.win.pad, IR_PAD_SAME);
    const IrOp *res = &n->ops[1];
    cr_assert_eq(res->kind, IR_FANOUT);
    cr_expect_eq(res->u.fanout.mode, IR_FANIN_SUM);
    cr_assert_eq(res->u.fanout.nbranches, 2);
    cr_expect_eq(res->u.fanout.branches[0].nops, 0);
    cr_expect_eq(res->u.fanout.branches[1].nops, 4);
    cr_expect(res->gaussian, "the pre-activation residual stream stays Gaussian");
    const IrOp *pool = &n->ops[4];
    cr_assert_eq(pool->kind, IR_POOL);
    cr_expect_eq(pool->u.pool.win.sh, 2, "pool stride defaults to the window");
    cr_expect_eq(pool->u.pool.win.pad, IR_PAD_VALID);
    cr_expect_eq(pool->out.h, 16);
    const IrOp *c = &n->ops[6];
    cr_expect_eq(c->u.conv.win.pad, IR_PAD_CIRCULAR);
    cr_expect_eq(c->out.h, 8);
    cr_expect_eq(c->out.w, 8);
    cr_expect_eq(n->ops[7].kind, IR_GLOBAL_POOL);
    cr_expect_eq(n->ops[7].out.spatial, 0);
    arena_free(&r.a);
}

Test(conv_lower, windows_and_sequences)
{
    Lowered r;
    lower(&r, "net s { input sequence(10, 4); conv(3, stride=2); avg_pool(2, padding=same); flatten; dense }");
    cr_assert_not_null(r.ir, "%s", r.err.message);
    cr_expect_eq(r.ir->input.h, 1);
    cr_expect_eq(r.ir->input.w, 10);
    cr_expect_eq(r.ir->ops[0].u.conv.win.kh, 1, "sequence windows are 1-D");
    cr_expect_eq(r.ir->ops[0].u.conv.win.sh, 1);
    cr_expect_eq(r.ir->ops[0].out.w, 5);
    cr_expect_eq(r.ir->ops[1].out.w, 3);
    arena_free(&r.a);
    lower(&r, "net r { input image(9, 8, 1); conv(kh=3, kw=1, sh=2, padding=valid); sum_pool(kh=1, kw=2); flatten; dense }");
    cr_assert_not_null(r.ir, "%s", r.err.message);
    cr_expect_eq(r.ir->ops[0].out.h, 4);
    cr_expect_eq(r.ir->ops[0].out.w, 8);
    cr_expect_eq(r.ir->ops[1].out.h, 4);
    cr_expect_eq(r.ir->ops[1].out.w, 4);
    cr_expect_eq(r.ir->ops[1].u.pool.average, 0);
    arena_free(&r.a);
}

/* As neural-tangents: windows and strides larger than the image, with same
 * or circular padding (lax's SAME pads, wrapped for circular). */
Test(conv_lower, windows_and_strides_larger_than_the_image)
{
    Lowered r;
    lower(&r, "net n { input image(4, 3, 1); conv(5); conv(kh=2, kw=7, padding=circular); conv(1, stride=9)\n"
              "  avg_pool(6, padding=same); conv(1, sh=5, sw=1, padding=valid); flatten; dense }");
    cr_assert_not_null(r.ir, "%s", r.err.message);
    const IrWindow *w = &r.ir->ops[0].u.conv.win;
    cr_expect(r.ir->ops[0].out.h == 4 && r.ir->ops[0].out.w == 3, "same padding keeps the size");
    cr_expect(w->pt == 2 && w->pl == 2, "4 rows and 4 columns padded, half before: got %d, %d", w->pt, w->pl);
    w = &r.ir->ops[1].u.conv.win;
    cr_expect(r.ir->ops[1].out.h == 4 && r.ir->ops[1].out.w == 3);
    cr_expect(w->pt == 0 && w->pl == 3, "kh 2 on 4: 1 padded, 0 before; kw 7 on 3: 6 padded, 3 before");
    w = &r.ir->ops[2].u.conv.win;
    cr_expect(r.ir->ops[2].out.h == 1 && r.ir->ops[2].out.w == 1, "a stride past the image leaves one pixel");
    cr_expect(w->sh == 4 && w->sw == 3, "and is stored as the image's size: %d, %d", w->sh, w->sw);
    cr_expect(r.ir->ops[3].out.h == 1 && r.ir->ops[3].out.w == 1);
    cr_expect_eq(r.ir->ops[3].u.pool.win.pt, 2, "6 on 1 pixel: 5 padded, 2 before");
    cr_expect(r.ir->ops[4].out.h == 1 && r.ir->ops[4].u.conv.win.sh == 1);
    arena_free(&r.a);
}

Test(conv_lower, shape_errors)
{
    expect_error("net n { dense; conv(3); dense }", "1:16", "'conv' is an image layer but net 'n' works on vectors");
    expect_error("net n { input image(4, 4, 1); flatten; flatten; dense }", "1:40",
                 "'flatten' after 'flatten' at 1:31");
    expect_error("net n { input image(4, 4, 1); global_avg_pool; conv(1); dense }", "1:48",
                 "'conv' after 'global_avg_pool' at 1:31");
    expect_error("net n { input image(4, 4, 1); conv(5, padding=valid); flatten; dense }", "1:36",
                 "window 5 with padding=valid on an image height of 4 gives an output of size 0");
    expect_error("net n { input sequence(3, 1); avg_pool(4); flatten; dense }", "1:40",
                 "window 4 with padding=valid on a sequence length of 3 gives an output of size 0");
    expect_error("net n { input image(4, 4, 1); avg_pool(2); avg_pool(2); avg_pool(2); flatten; dense }", "1:66",
                 "window 2 with padding=valid on an image height of 1 gives an output of size 0");
    expect_error("net n {\n input image(4, 4, 1)\n conv(3)\n relu }", "1:5", "net 'n' ends on an image (4×4 pixels)");
    expect_error("net n { input image(4, 4, 1); conv(3, padding=mirror); flatten; dense }", "1:47",
                 "unknown padding 'mirror' for 'conv'");
    expect_error("net n { input image(4, 4, 1); conv(3, kh=3); flatten; dense }", "1:39", "either as size or as kh/kw");
    expect_error("net n { input sequence(8, 2); conv(kh=3, kw=3); flatten; dense }", "1:36", "kh must be 1");
    expect_error("net n { input picture(4, 4, 1); dense }", "1:15", "unknown input kind 'picture'");
    expect_error("net n { input image(4, 4); dense }", "1:9", "missing required argument 'channels' for 'input image'");
    expect_error("net n { input image(4, 4, 1); input image(4, 4, 1); flatten; dense }", "1:31", "'input' given twice");
    expect_error("net n { param standard; input image(4, 4, 1); conv(3); flatten; dense }", "1:47",
                 "missing required argument 'width' for 'conv'");
    expect_error("net n { param standard; input image(4, 4, 1); conv(3, width=2); residual { conv(3) }; flatten; dense }",
                 "1:76", "under param standard every dense or conv layer inside a residual or fanout block needs "
                         "width=N");
}

Test(conv_lower, dense_after_global_pool_is_fine)
{
    Lowered r;
    lower(&r, "net n { input image(4, 4, 2); conv(3); relu; global_avg_pool; dense(1.2); relu; layer_norm; dense }");
    cr_expect_null(r.ir, "layer_norm after relu must be refused");
    cr_expect(strstr(r.err.message, "layer_norm at 1:81 needs a Gaussian input (the output of a dense or conv layer); "
                                    "its input comes from relu at 1:75") != NULL,
              "%s", r.err.message);
    arena_free(&r.a);
    lower(&r, "net n { input image(4, 4, 2); conv(3); relu; global_avg_pool; dense(1.2); layer_norm; relu; dense }");
    cr_assert_not_null(r.ir, "%s", r.err.message);
    cr_expect_eq(r.ir->ops[4].kind, IR_LAYER_NORM);
    cr_expect_float_eq(r.ir->ops[4].u.ln.eps, 1e-12, 0);
    arena_free(&r.a);
}

Test(conv_lower, branch_errors)
{
    expect_error("net n { input image(4, 4, 1); conv(3); residual { conv(3); relu }; flatten; dense }", "1:60",
                 "a residual block must end in an affine layer (dense, conv or attention), not 'relu'");
    expect_error("net n { input image(4, 4, 1); conv(3); fanout { branch { conv(3); erf } branch { conv(1); relu } } sum; "
                 "flatten; dense }",
                 "1:67", "branch 1 of this 'fanout' sum ends in 'erf'");
    expect_error("net n { dense; fanout { branch { } branch { } } prod; dense }", "1:36", "two identity branches");
    expect_error("net n { input image(4, 4, 1); conv(3); fanout { branch { conv(3) } branch { conv(3, stride=2) } } "
                 "sum; flatten; dense }",
                 "1:68", "branch 2 ends with shape 2×2");
    expect_error("net n { dense; fanout { branch { dense } branch { dense } }; dense }", "1:16",
                 "needs its fan-in after the block: sum, prod or concat");
    expect_error("net n { dense; fanout { branch { dense } branch { dense } } mean; dense }", "1:61",
                 "unknown fan-in 'mean'");
    expect_error("net n { dense; fanout { branch { dense }; dense } sum; dense }", "1:43",
                 "a 'fanout' block holds only 'branch { ... }' blocks");
    expect_error("net n { dense; branch { dense }; dense }", "1:16", "'branch' blocks belong directly inside");
    expect_error("net n { input image(4, 4, 1); conv(3); residual { conv(3); global_avg_pool }; dense }",
                 "1:40", "the residual block changes the shape from 4×4 to a vector");
    expect_error("net n { input image(4, 4, 1); conv(3); residual { conv(3, stride=2) }; flatten; dense }", "1:40",
                 "changes the shape from 4×4 to 2×2");
    expect_error("net n { dense; residual(alpha=-1) { dense }; dense }", "1:31", "'alpha' of 'residual' must be");
    expect_error("net n { dense; residual { dense } sum; dense }", "1:35", "'residual' takes nothing after its block");
}

/* dilation / dh / dw: the window's span (k−1)·d+1 sets the output size and
 * the padding, as lax's rhs_dilation does; |F| stays k·k. */
Test(conv_lower, dilated_windows)
{
    Lowered r;
    lower(&r, "net n { input image(9, 8, 1); conv(3, dilation=2); conv(3, dilation=3, padding=valid)\n"
              "  conv(kh=2, kw=3, dh=4, dw=2, stride=2, padding=circular); conv(3, dilation=2, dh=1); flatten; dense }");
    cr_assert_not_null(r.ir, "%s", r.err.message);
    const IrWindow *w0 = &r.ir->ops[0].u.conv.win, *w1 = &r.ir->ops[1].u.conv.win;
    const IrWindow *w2 = &r.ir->ops[2].u.conv.win, *w3 = &r.ir->ops[3].u.conv.win;
    cr_expect(w0->dh == 2 && w0->dw == 2 && w0->pt == 2 && w0->pl == 2, "same: span 5 pads 2 before");
    cr_expect(r.ir->ops[0].out.h == 9 && r.ir->ops[0].out.w == 8);
    cr_expect(r.ir->ops[1].out.h == 9 - 6 && r.ir->ops[1].out.w == 8 - 6, "valid: 7 spans, outputs n − 6");
    cr_expect(w1->pt == 0 && w1->dh == 3);
    /* circular, span 5×5, stride 2 on 3×2: ceil(n/2) outputs, total = (o−1)·2 + 5 − n */
    cr_expect(w2->dh == 4 && w2->dw == 2 && r.ir->ops[2].out.h == 2 && r.ir->ops[2].out.w == 1);
    cr_expect(w2->pt == (2 + 5 - 3) / 2 && w2->pl == (0 + 5 - 2) / 2);
    cr_expect(w3->dh == 1 && w3->dw == 2, "dh overrides dilation on its axis");
    cr_expect(w1->kh == 3 && w1->kw == 3, "the taps stay k");
    arena_free(&r.a);
    lower(&r, "net s { input sequence(10, 2); conv(3, dilation=4); avg_pool(2); flatten; dense }");
    cr_assert_not_null(r.ir, "%s", r.err.message);
    cr_expect(r.ir->ops[0].u.conv.win.dh == 1 && r.ir->ops[0].u.conv.win.dw == 4 && r.ir->ops[0].u.conv.win.pl == 4);
    cr_expect(r.ir->ops[1].u.pool.win.dh == 1 && r.ir->ops[1].u.pool.win.dw == 1, "pools are not dilated");
    arena_free(&r.a);
}

Test(conv_lower, dilation_errors)
{
    expect_error("net n { input image(5, 5, 1); conv(3, dilation=3, padding=valid); flatten; dense }", "1:36",
                 "window 3 with dilation 3 spans 7 pixels; with padding=valid on an image height of 5");
    expect_error("net n { input image(5, 5, 1); conv(3, dilation=0); flatten; dense }", "1:48", "'dilation'");
    expect_error("net n { input image(5, 5, 1); conv(3, dw=2.5); flatten; dense }", "1:42", "'dw'");
    expect_error("net n { input sequence(8, 2); conv(3, dh=2); flatten; dense }", "1:39", "dh must be 1");
    expect_error("net n { input image(5, 5, 1); avg_pool(2, dilation=2); flatten; dense }", "1:43",
                 "unknown argument 'dilation'");
    expect_error("net n { input image(5, 5, 1); conv(1000, dilation=1002); flatten; dense }", "1:36",
                 "window 1000 with dilation 1002 spans 1000999 pixels along the height (at most 1000000)");
    expect_error("net n { dense; conv(3, dilation=2); dense }", "1:16", "'conv' is an image layer");
}
