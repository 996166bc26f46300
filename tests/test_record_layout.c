/* The per-input record is counted in one place (compiler/ir/ir_record.c):
 * these tests count it by hand for small nets, and check that the code every
 * emitter writes — the attention emitter's too, which reads IrOp.rec like the
 * others — asks the engine for exactly the record lowering laid out. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "frontend.h"
#include "ir.h"
#include "net_internal.h"
#include "ntkc_tool.h"
#include "util.h"

static IrNet *lower(Arena *a, const char *src)
{
    Diag err = {0};
    Program *p = frontend_parse(a, src, "t.ntk", &err);
    IrNet *net = p ? frontend_lower(a, p, NULL, &err) : NULL;
    cr_assert_not_null(net, "%s", err.message);
    return net;
}

static void expect_rec(const IrOp *op, size_t at, size_t n, int sqrt)
{
    cr_expect(op->rec.at == at && op->rec.n == n && op->rec.sqrt == sqrt,
              "op at line %d: record at %zu, %zu values, sqrt %d; expected at %zu, %zu, %d", op->pos.line, op->rec.at,
              op->rec.n, op->rec.sqrt, at, n, sqrt);
}

/* FC: ReLU keeps √v and 1/√v (two doubles), erf its variance (one). */
Test(record_layout, fully_connected_by_hand)
{
    Arena a;
    arena_init(&a);
    IrNet *net = lower(&a, "net f { dense(1.4); relu; dense(1.2)\n erf; dense(1) }");
    cr_assert_eq(net->family, IR_FAMILY_FC);
    expect_rec(&net->ops[0], 0, 0, 0);
    expect_rec(&net->ops[1], 0, 1, 1);
    expect_rec(&net->ops[3], 2, 1, 0);
    cr_expect_eq(net->record, 3);
    arena_free(&a);
}

/* Image: one per pixel; ReLU on planes twice that, ReLU after flatten one;
 * layer_norm one per pixel. */
Test(record_layout, image_by_hand)
{
    Arena a;
    arena_init(&a);
    IrNet *net = lower(&a, "net i { input image(4, 4, 1); conv(3, 1.4); relu; conv(3, 1.4, stride=2)\n"
                           "layer_norm; erf; flatten; dense(1.3); relu; dense(1) }");
    cr_assert_eq(net->family, IR_FAMILY_IMAGE);
    expect_rec(&net->ops[1], 0, 16, 1);  /* 4×4, √ and 1/√ */
    expect_rec(&net->ops[3], 32, 4, 0);  /* 2×2 layer_norm */
    expect_rec(&net->ops[4], 36, 4, 0);  /* erf */
    expect_rec(&net->ops[7], 40, 1, 0);  /* relu on a vector */
    cr_expect_eq(net->record, 41);
    arena_free(&a);
}

/* Branches are laid out depth first; graph nets one per node and activation. */
Test(record_layout, branches_and_graphs_by_hand)
{
    Arena a;
    arena_init(&a);
    IrNet *net = lower(&a, "net r { dense(1.4); relu; residual { dense(1.1); erf; dense(1.2) }; dense(1.3); relu; dense(1) }");
    cr_assert_eq(net->family, IR_FAMILY_IMAGE);
    const IrBranch *body = &net->ops[2].u.fanout.branches[1];
    expect_rec(&net->ops[1], 0, 1, 0); /* vectors of an image-family net: the plain dual */
    expect_rec(&body->ops[1], 1, 1, 0);
    expect_rec(&net->ops[4], 2, 1, 0);
    cr_expect_eq(net->record, 3);
    IrNet *g = lower(&a, "net g { input graph(3); aggregate(); dense(1.4); relu; aggregate(); dense(1.4); erf\n"
                         "readout(mean); dense(1.2); relu; dense(1) }");
    cr_assert_eq(g->family, IR_FAMILY_GRAPH);
    cr_expect_eq(g->record, 3, "one per activation, per node (and per graph after the readout)");
    arena_free(&a);
}

/* Attention: linear scaling keeps its weights A_x (P² values), activations
 * and layer_norm one variance per position, then one each on the vector; the
 * emitted prep_size is that record plus K(x, x). */
Test(record_layout, attention_by_hand)
{
    Arena a;
    arena_init(&a);
    const char *src = "net t { input sequence(4, 2); dense(1.2); attention(heads=1, scaling=linear); layer_norm\n"
                      "relu; global_avg_pool; dense(1.3); erf; dense(1) }";
    IrNet *net = lower(&a, src);
    cr_assert_eq(net->family, IR_FAMILY_ATTENTION);
    expect_rec(&net->ops[1], 0, 16, 0);  /* A_x, 4×4 */
    expect_rec(&net->ops[2], 16, 4, 0);  /* layer_norm */
    expect_rec(&net->ops[3], 20, 4, 0);  /* relu: the plain dual on Σ(p, p) */
    expect_rec(&net->ops[6], 24, 1, 0);  /* erf on the vector */
    cr_expect_eq(net->record, 25);
    ntkc_error err = {0};
    ntkc_compile_options opts = {.backend = NTKC_BACKEND_TCC};
    ntkc_net *compiled = ntkc_compile_string(src, "t.ntk", &opts, &err);
    cr_assert_not_null(compiled, "%s", err.message);
    cr_expect_eq(ntkc_net_kernel_fns(compiled)->prep_size(), 27);
    ntkc_net_free(compiled);
    arena_free(&a);
}

/* The emitted code's own sizes agree with the layout, for every example and
 * every family (FC: the record, at least 1; image and attention: the record,
 * then K(x, x); graph: the variances per node). */
static void check_example(const char *path, const char *stem)
{
    (void)stem;
    ntkc_error err = {0};
    char *src = ntkc_read_text_file(path, &err);
    cr_assert_not_null(src, "%s", err.message);
    ntkc_compile_options opts = {.backend = NTKC_BACKEND_TCC};
    ntkc_net *net = ntkc_compile_string(src, path, &opts, &err);
    cr_assert_not_null(net, "%s: %s", path, err.message);
    const IrNet *ir = ntkc_net_ir(net);
    size_t emitted, expected;
    if (ir->family == IR_FAMILY_GRAPH) {
        emitted = ntkc_net_graph_fns(net)->nvar();
        expected = ir->record ? ir->record : 1;
    } else {
        emitted = ntkc_net_kernel_fns(net)->prep_size();
        expected = ir->family == IR_FAMILY_FC ? (ir->record ? ir->record : 1) : ir->record + 2;
    }
    cr_expect_eq(emitted, expected, "%s (family %d): the emitted record is %zu doubles, the IR's %zu", path,
                 (int)ir->family, emitted, expected);
    ntkc_net_free(net);
    free(src);
}

Test(record_layout, emitted_sizes_match_for_every_example, .timeout = TIMEOUT(120))
{
    int checked = for_each_example(check_example);
    cr_expect_geq(checked, 8, "expected every example net, found %d", checked);
}
