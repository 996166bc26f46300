/* Checks and lowering through the front-end API: IR contents (defaults,
 * unrolling, constants, standard parameterization), net selection and every
 * semantic error with its position. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act.h"
#include "arena.h"
#include "frontend.h"
#include "ir.h"
#include "util.h"

typedef struct Lowered {
    Arena a;
    Diag err;
    Program *p;
    IrNet *ir;
} Lowered;

static void lower(Lowered *r, const char *src, const char *net)
{
    arena_init(&r->a);
    diag_clear(&r->err);
    r->ir = NULL;
    r->p = frontend_parse(&r->a, src, "t.ntk", &r->err);
    if (r->p != NULL)
        r->ir = frontend_lower(&r->a, r->p, net, &r->err);
}

static IrNet *lower_ok(Lowered *r, const char *src, const char *net)
{
    lower(r, src, net);
    cr_assert_not_null(r->ir, "%s", r->err.message);
    return r->ir;
}

static void expect_dense(const IrOp *op, double w, double b, int has_bias)
{
    cr_assert_eq(op->kind, IR_DENSE, "op at %d:%d is not dense", op->pos.line, op->pos.col);
    cr_expect_float_eq(op->u.dense.w_std, w, 0);
    cr_expect_float_eq(op->u.dense.b_std, b, 0);
    cr_expect_eq(op->u.dense.has_bias, has_bias);
}

static void expect_act(const IrOp *op, const char *name)
{
    cr_assert_eq(op->kind, IR_ACT, "op at %d:%d is not an activation", op->pos.line, op->pos.col);
    cr_expect_str_eq(op->u.act.def->name, name);
}

static const char *example =
    "# fc.ntk\n"
    "let W = 1.5\n"
    "net mlp {\n"
    "    let B = 0.05\n"
    "    param ntk\n"
    "    dense(w_std=W, b_std=B)\n"
    "    relu\n"
    "    repeat 2 { dense(1.5, 0.05); erf }\n"
    "    dense(1.2); erf(a=2, b=0.5)\n"
    "    dense(1.0)\n"
    "}\n"
    "net other { dense(2); relu; dense }\n";

Test(lower, example_net_unrolled_with_defaults)
{
    Lowered r;
    IrNet *ir = lower_ok(&r, example, "mlp");
    cr_expect_str_eq(ir->name, "mlp");
    cr_expect_eq(ir->param, PARAM_NTK);
    cr_expect_eq(ir->input.kind, IR_INPUT_VECTOR);
    cr_expect_eq(ir->input.dim, 0);
    cr_assert_eq(ir->nops, 9);
    expect_dense(&ir->ops[0], 1.5, 0.05, 1);
    expect_act(&ir->ops[1], "relu");
    for (int k = 0; k < 2; k++) {
        expect_dense(&ir->ops[2 + 2 * k], 1.5, 0.05, 1);
        expect_act(&ir->ops[3 + 2 * k], "erf");
        cr_expect_float_eq(ir->ops[3 + 2 * k].u.act.p[0], 1, 0); /* erf defaults a=1, b=1, c=0 */
        cr_expect_float_eq(ir->ops[3 + 2 * k].u.act.p[1], 1, 0);
        cr_expect_float_eq(ir->ops[3 + 2 * k].u.act.p[2], 0, 0);
        cr_expect_eq(ir->ops[2 + 2 * k].pos.line, 8);
        cr_expect_eq(ir->ops[2 + 2 * k].pos.col, 16);
    }
    expect_dense(&ir->ops[6], 1.2, 0.0, 0);
    expect_act(&ir->ops[7], "erf");
    cr_expect_float_eq(ir->ops[7].u.act.p[0], 2, 0);
    cr_expect_float_eq(ir->ops[7].u.act.p[1], 0.5, 0);
    cr_expect_float_eq(ir->ops[7].u.act.p[2], 0, 0);
    expect_dense(&ir->ops[8], 1.0, 0.0, 0);
    cr_expect_eq(ir->ops[8].pos.line, 10);
    cr_expect_eq(ir->ops[8].pos.col, 5);
    arena_free(&r.a);

    ir = lower_ok(&r, example, "other");
    cr_assert_eq(ir->nops, 3);
    expect_dense(&ir->ops[0], 2, 0, 0);
    expect_dense(&ir->ops[2], 1, 0, 0); /* bare dense: w_std 1, b_std 0 */
    arena_free(&r.a);
}

Test(lower, net_listing_and_selection)
{
    Lowered r;
    lower(&r, example, NULL);
    cr_assert_not_null(r.p);
    cr_expect_eq(program_net_count(r.p), 2);
    cr_expect_str_eq(program_net_name(r.p, 0), "mlp");
    cr_expect_str_eq(program_net_name(r.p, 1), "other");
    cr_expect_null(program_net_name(r.p, 2));
    cr_expect_null(r.ir);
    cr_expect_str_eq(r.err.message, "t.ntk: error: file has 2 nets (mlp, other); choose one with --net");
    arena_free(&r.a);
    expect_error_in(example, "mpl", "", "no net named 'mpl' in this file (its nets: mlp, other)");
    expect_error_in("let X = 1", NULL, "", "file defines no net");
    IrNet *ir = lower_ok(&r, "net only { dense }", NULL);
    cr_expect_str_eq(ir->name, "only");
    arena_free(&r.a);
}

Test(lower, activation_arguments_positional_and_keyword)
{
    Lowered r;
    IrNet *ir = lower_ok(&r, "net n { dense; erf(2, 0.5, -1); dense; erf(c=3, a=-2); dense; identity() }", NULL);
    cr_assert_eq(ir->nops, 6);
    double want1[] = {2, 0.5, -1}, want2[] = {-2, 1, 3};
    for (int k = 0; k < 3; k++) {
        cr_expect_float_eq(ir->ops[1].u.act.p[k], want1[k], 0);
        cr_expect_float_eq(ir->ops[3].u.act.p[k], want2[k], 0);
    }
    expect_act(&ir->ops[5], "identity");
    arena_free(&r.a);
}

Test(lower, constants_and_shadowing)
{
    Lowered r;
    IrNet *ir = lower_ok(&r, "let W = 2\nlet B = -W\nlet C = 3\n"
                             "net a { let W = 0.5; let D = -B; dense(W, D); relu; dense(w_std=C) }\n"
                             "net b { dense(W, -B) }\n",
                         "a");
    expect_dense(&ir->ops[0], 0.5, 2, 1); /* net-level W shadows the file's */
    expect_dense(&ir->ops[2], 3, 0, 0);
    arena_free(&r.a);
    ir = lower_ok(&r, "let W = 2\nlet B = -W\nnet a { let W = 0.5 }\nnet b { dense(W, -B) }\n", "b");
    expect_dense(&ir->ops[0], 2, 2, 1); /* net a's W does not leak */
    arena_free(&r.a);
    /* Net constants are defined before the layers run: a layer may use one defined below it. */
    ir = lower_ok(&r, "net a { dense(W); let W = 3 }", NULL);
    expect_dense(&ir->ops[0], 3, 0, 0);
    arena_free(&r.a);
    /* A net constant's value sees the file constant it shadows. */
    ir = lower_ok(&r, "let W = 2\nnet a { let W = W; dense(W) }", NULL);
    expect_dense(&ir->ops[0], 2, 0, 0);
    arena_free(&r.a);
}

Test(lower, nested_repeat_unrolls)
{
    Lowered r;
    IrNet *ir = lower_ok(&r, "let N = 3\nnet n { repeat N { repeat 2 { dense(2); relu } }; dense }", NULL);
    cr_assert_eq(ir->nops, 13);
    for (int k = 0; k < 6; k++) {
        expect_dense(&ir->ops[2 * k], 2, 0, 0);
        expect_act(&ir->ops[2 * k + 1], "relu");
    }
    expect_dense(&ir->ops[12], 1, 0, 0);
    arena_free(&r.a);
}

Test(lower, standard_parameterization)
{
    Lowered r;
    IrNet *ir = lower_ok(&r,
                         "net s {\n param standard\n dense(width=512, w_std=1.5, b_std=0.05); relu\n"
                         " repeat 2 { dense(1.5, width=256); erf }\n dense(2, 0)\n}",
                         NULL);
    cr_expect_eq(ir->param, PARAM_STANDARD);
    cr_assert_eq(ir->nops, 7);
    long width[] = {512, 256, 256, 0}, fan_in[] = {0, 512, 256, 256};
    int bias[] = {1, 0, 0, 1};
    for (int k = 0; k < 4; k++) {
        const IrOp *op = &ir->ops[2 * k];
        cr_assert_eq(op->kind, IR_DENSE);
        cr_expect_eq(op->u.dense.width, width[k], "dense %d", k);
        cr_expect_eq(op->u.dense.fan_in, fan_in[k], "dense %d", k);
        cr_expect_eq(op->u.dense.has_bias, bias[k], "dense %d", k);
    }
    cr_expect_float_eq(ir->ops[6].u.dense.w_std, 2, 0);
    arena_free(&r.a);
    /* The last dense may state its width too. */
    ir = lower_ok(&r, "net s { param standard; dense(width=8); relu; dense(width=1) }", NULL);
    cr_expect_eq(ir->ops[2].u.dense.width, 1);
    cr_expect_eq(ir->ops[2].u.dense.fan_in, 8);
    arena_free(&r.a);
    ir = lower_ok(&r, "net s { let P = 1; param ntk; dense }", NULL);
    cr_expect_eq(ir->param, PARAM_NTK);
    cr_expect_eq(ir->ops[0].u.dense.width, 0);
    arena_free(&r.a);
}

Test(lower, example_files)
{
    static const struct {
        const char *path;
        const char *net;
        size_t nops;
    } files[] = {{"examples/fc.ntk", "fc", 7}, {"examples/relu5.ntk", "relu5", 11}, {"examples/standard.ntk", "standard", 5}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        FILE *f = fopen(files[i].path, "rb");
        cr_assert_not_null(f, "%s (tests run from the repo root)", files[i].path);
        char buf[8192];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        Lowered r;
        IrNet *ir = lower_ok(&r, buf, NULL);
        cr_expect_str_eq(ir->name, files[i].net);
        cr_expect_eq(ir->nops, files[i].nops, "%s", files[i].path);
        arena_free(&r.a);
    }
}

Test(lower, layer_errors)
{
    expect_error_in("net n {\n  dense\n  rleu\n}", NULL, "3:3", "unknown layer 'rleu'; did you mean 'relu'?");
    expect_error_in("net n { dense; densse }", NULL, "1:16", "did you mean 'dense'?");
    expect_error_in("net n { dense; repaet { relu } }", NULL, "1:16", "did you mean 'repeat'?");
    expect_error_in("net n { dense; repaet 2 { relu } }", NULL, "1:23", "('repaet' is not a keyword; did you mean 'repeat'?)");
    expect_error_in("net n { dense; softmax }", NULL, "1:16", "unknown layer 'softmax' (known layers: dense, conv, conv_transpose, conv_local, image_resize, avg_pool, sum_pool, global_avg_pool, global_sum_pool, index, flatten, layer_norm, dropout, residual, fanout, attention, aggregate, readout, relu, leaky_relu, abs, abrelu, erf, sigmoid_like, gelu, sin, cos, sign, step, exp, gaussian, rbf, monomial, rectified_monomial, polynomial, identity, hermite, gabor, exp_normalized)");
    expect_error_in("net n { relu; dense }", NULL, "1:9", "relu at 1:9 needs a Gaussian input (the output of a dense or conv layer); its input is the net's input itself");
    expect_error_in("net n { repeat 2 { erf }; dense }", NULL, "1:20", "erf at 1:20 needs a Gaussian input");
    expect_error_in("net n { dense; repeat 2 { erf }; dense }", NULL, "1:27",
                 "erf at 1:27 needs a Gaussian input (the output of a dense or conv layer); its input comes from this same "
                 "erf in the previous pass of its 'repeat' block");
    expect_error_in("net n { }", NULL, "1:5", "net 'n' has no layers");
    expect_error_in("net n { let A = 1; param ntk }", NULL, "1:5", "net 'n' has no layers");
    expect_error_in("net n { dense { relu } }", NULL, "1:15", "'dense' does not take a block");
    expect_error_in("net n { dense\n input vector(3) }", NULL, "2:2", "'input' must come before the first layer of net 'n'");
    expect_error_in("act sq(x) = x*x\nnet n { sq; dense }", NULL, "2:9", "sq at 2:9 needs a Gaussian input");
    expect_error_in("act dense(x) = x", NULL, "1:5", "activation 'dense' has the name of a built-in layer");
    expect_error_in("act relu(x) = x", NULL, "1:5", "activation 'relu' is built in; choose another name");
    expect_error_in("net n { dense; repeat 100001 { dense } }", NULL, "1:32", "more than 100000 layers");
}

Test(lower, argument_errors)
{
    expect_error_in("net n { dense(wstd=1) }", NULL, "1:15", "unknown argument 'wstd' for 'dense'; did you mean 'w_std'? (its arguments: w_std, b_std, width, trainable)");
    expect_error_in("net n { dense(1, 2, 3, true, 4) }", NULL, "1:30", "too many positional arguments for 'dense': it takes at most 4 (w_std, b_std, width, trainable)");
    expect_error_in("net n { dense; relu(1) }", NULL, "1:21", "'relu' takes no arguments");
    expect_error_in("net n { dense; relu(a=1) }", NULL, "1:21", "'relu' takes no arguments, got 'a'");
    expect_error_in("net n { dense(1.5, w_std=2) }", NULL, "1:20", "duplicate argument 'w_std' for 'dense' (first given at 1:15)");
    expect_error_in("net n { dense(b_std=1, b_std=2) }", NULL, "1:24", "duplicate argument 'b_std'");
    expect_error_in("net n { dense(-1.5) }", NULL, "1:15", "'w_std' of 'dense' must be non-negative, got -1.5");
    expect_error_in("let B = 0.1\nnet n { dense(b_std=-B) }", NULL, "2:21", "'b_std' of 'dense' must be non-negative, got -0.1");
    expect_error_in("net n { dense(W) }", NULL, "1:15", "undefined constant 'W'");
    expect_error_in("let Wd = 1\nnet n { dense(-Wx) }", NULL, "2:16", "undefined constant 'Wx'; did you mean 'Wd'?");
    expect_error_in("net n { dense(w_std=same) }", NULL, "1:21", "undefined constant 'same'");
}

Test(lower, range_errors_of_activation_parameters)
{
    /* Every range in the table: one past each finite bound is an error at the value. */
    size_t n;
    const ActDef *const *acts = act_builtins(&n);
    int checked = 0;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < acts[i]->nparams; k++) {
            const ActParam *p = &acts[i]->params[k];
            if (isinf(p->min) && isinf(p->max))
                continue;
            double bad = isfinite(p->min) ? p->min - 1 : p->max + 1;
            char src[256], where[32], what[128];
            int col = snprintf(src, sizeof src, "net n { dense; %s(%s=", acts[i]->name, p->name) + 1;
            snprintf(src + col - 1, sizeof src - (size_t)col + 1, "%.17g) }", bad);
            snprintf(where, sizeof where, "1:%d", col);
            snprintf(what, sizeof what, "'%s' of '%s' must be", p->name, acts[i]->name);
            expect_error_in(src, NULL, where, what);
            checked++;
        }
    /* dense's width has a range of its own: a whole number >= 1. */
    expect_error_in("net n { param standard; dense(width=0); dense }", NULL, "1:37", "'width' of 'dense' must be a whole number >= 1, got 0");
    expect_error_in("net n { param standard; dense(width=2.5); dense }", NULL, "1:37", "got 2.5");
    cr_expect_geq(checked, 4, "gaussian's b, rbf's gamma, monomial's and rectified_monomial's n");
    expect_error_in("net n { dense; rectified_monomial(7) }", NULL, "1:35", "'n' of 'rectified_monomial' must be a whole number in [0, 6], got 7");
    expect_error_in("net n { dense; monomial(-1) }", NULL, "1:25", "'n' of 'monomial' must be a whole number in [0, 10], got -1");
    expect_error_in("net n { dense; monomial(1.5) }", NULL, "1:25", "got 1.5");
    expect_error_in("net n { dense; leaky_relu }", NULL, "1:16", "missing required argument 'alpha' for 'leaky_relu'");
    expect_error_in("net n { dense; abrelu(0.1) }", NULL, "1:16", "missing required argument 'b' for 'abrelu'");
    expect_error_in("net n { dense; polynomial }", NULL, "1:16", "missing required argument 'c0' for 'polynomial'");
    expect_error_in("net n { dense; polynomial(1, 2, 3, 4, 5, 6, 7, 8, 9) }", NULL, "1:51", "too many positional arguments for 'polynomial': it takes at most 8");
}

Test(lower, param_and_repeat_errors)
{
    expect_error_in("net n { dense; param standard }", NULL, "1:16", "'param' must come before the first layer of net 'n'");
    expect_error_in("net n { param ntk\n param standard\n dense }", NULL, "2:2", "'param' given twice in net 'n' (first at 1:9)");
    expect_error_in("net n { param wide; dense }", NULL, "1:15", "unknown parameterization 'wide' (expected 'ntk' or 'standard')");
    expect_error_in("net n { dense; repeat 2 { param ntk } }", NULL, "1:27", "'param' is only allowed at net level");
    expect_error_in("net n { dense; repeat 2 { let X = 1; relu } }", NULL, "1:27", "'let' is only allowed at file or net level");
    expect_error_in("net n { dense; repeat 0 { relu } }", NULL, "1:23", "the 'repeat' count must be a positive whole number, got 0");
    expect_error_in("net n { dense; repeat 1.5 { relu } }", NULL, "1:23", "got 1.5");
    expect_error_in("net n { dense; repeat -2 { relu } }", NULL, "1:23", "got -2");
    expect_error_in("net n { dense; repeat K { relu } }", NULL, "1:23", "undefined constant 'K'");
    expect_error_in("net n { dense; repeat 2 { } }", NULL, "1:25", "empty 'repeat' block");
    expect_error_in("net n { dense(width=8); relu; dense }", NULL, "1:15", "'width' only applies to 'param standard'");
    expect_error_in("net n {\n param standard\n dense(width=8); relu\n dense; relu\n dense }", NULL, "4:2",
                 "missing required argument 'width' for 'dense'");
    expect_error_in("let A = 1\nnet n { let A = 2; let A = 3; dense }", NULL, "2:20", "constant 'A' is already defined in net 'n' at 2:9");
    expect_error_in("let A = Z\nnet n { dense }", NULL, "1:9", "undefined constant 'Z'");
}
