/* Graph nets through the front end: the IR of input/aggregate/readout with
 * their enumerated arguments, and every graph-specific error with its position. */
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
    Program *p = frontend_parse(&r->a, src, "g.ntk", &r->err);
    r->ir = p ? frontend_lower(&r->a, p, NULL, &r->err) : NULL;
}

Test(graph_lower, gntk_example_lowers_to_graph_ir)
{
    Lowered r;
    lower(&r, "let c = 1.5\n"
              "net g { input graph(7, normalize=false)\n"
              "  repeat 2 { aggregate(scale=degree, self_loops=false); dense(c); relu }\n"
              "  aggregate\n"
              "  readout(mean, jk=true); dense(1, 0.1); relu; dense }");
    cr_assert_not_null(r.ir, "%s", r.err.message);
    const IrNet *ir = r.ir;
    cr_expect_eq(ir->input.kind, IR_INPUT_GRAPH);
    cr_expect_eq(ir->input.dim, 7);
    cr_expect_eq(ir->input.raw_gram, 1);
    const IrOpKind want[] = {IR_AGGREGATE, IR_DENSE, IR_ACT, IR_AGGREGATE, IR_DENSE, IR_ACT, IR_AGGREGATE,
                             IR_READOUT,   IR_DENSE, IR_ACT, IR_DENSE};
    cr_assert_eq(ir->nops, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < ir->nops; i++)
        cr_expect_eq(ir->ops[i].kind, want[i], "op %zu", i);
    cr_expect_eq(ir->ops[0].u.aggregate.degree, 1);
    cr_expect_eq(ir->ops[0].u.aggregate.self_loops, 0);
    cr_expect_eq(ir->ops[6].u.aggregate.degree, 0); /* defaults: uniform, self-loops */
    cr_expect_eq(ir->ops[6].u.aggregate.self_loops, 1);
    cr_expect_eq(ir->ops[7].u.readout.mean, 1);
    cr_expect_eq(ir->ops[7].u.readout.jk, 1);
    cr_expect_eq(ir->ops[7].pos.line, 5);
    arena_free(&r.a);

    lower(&r, "net g { input graph(features=2); dense; relu; readout }");
    cr_assert_not_null(r.ir, "%s", r.err.message);
    cr_expect_eq(r.ir->input.raw_gram, 0);
    cr_expect_eq(r.ir->ops[2].u.readout.mean, 0);
    cr_expect_eq(r.ir->ops[2].u.readout.jk, 0);
    arena_free(&r.a);

    lower(&r, "net v { input vector(5); dense; relu; dense }");
    cr_assert_not_null(r.ir, "%s", r.err.message);
    cr_expect_eq(r.ir->input.kind, IR_INPUT_VECTOR);
    cr_expect_eq(r.ir->input.dim, 5);
    arena_free(&r.a);
}

Test(graph_lower, errors)
{
    expect_error("net n { dense; aggregate; readout }", "1:16", "'aggregate' needs graph inputs: declare 'input graph(F)'");
    expect_error("net n { dense; readout }", "1:16", "'readout' needs graph inputs");
    expect_error("net n { input graph(2); dense; readout; readout }", "1:41", "'readout' given twice in net 'n' (first at 1:32)");
    expect_error("net n { input graph(2); dense; relu }", "1:5", "graph net 'n' has no 'readout'");
    expect_error("net n { input graph(2); dense; readout; aggregate }", "1:41", "'aggregate' after 'readout' (at 1:32)");
    expect_error("net n { input graph(2); aggregate(scale=degre); dense; readout }", "1:41",
                 "unknown scale 'degre' for 'aggregate'; did you mean 'degree'? (one of: uniform, degree)");
    expect_error("net n { input graph(2); aggregate(self_loops=1); dense; readout }", "1:46",
                 "'self_loops' of 'aggregate' must be one of: false, true");
    expect_error("net n { input graph(2); dense; readout(max) }", "1:40", "unknown pool 'max' for 'readout'; did you mean 'mean'? (one of: sum, mean)");
    expect_error("net n { input graph(2); dense; readout(sum, jk=yes) }", "1:48", "unknown jk 'yes' for 'readout' (one of: false, true)");
    expect_error("net n { input graph(2); input graph(2); dense; readout }", "1:25", "'input' given twice in net 'n' (first at 1:9)");
    expect_error("net n { repeat 2 { input graph(2) }; dense; readout }", "1:20", "'input' is only allowed at net level, not inside a block");
    expect_error("net n { input grahp(2); dense }", "1:15", "unknown input kind 'grahp'; did you mean 'graph'? (known: image, sequence, volume, vector, graph)");
    expect_error("net n { input graph(); dense; readout }", "1:9", "missing required argument 'features' for 'input graph'");
    expect_error("net n { input graph(0); dense; readout }", "1:21", "'features' of 'input graph' must be a whole number >= 1");
    expect_error("net n { input graph(2, normalize=no); dense; readout }", "1:34", "unknown normalize 'no' for 'input graph' (one of: false, true)");
    expect_error("net n { param standard; input graph(2); dense; readout }", "1:9", "'param standard' is not supported for graphs");
    expect_error("net n { input graph(2); aggregate; relu; readout }", "1:36",
                 "relu at 1:36 needs a Gaussian input (the output of a dense or conv layer); its input comes from "
                 "aggregate at 1:25, a linear map of the net's input, which is not Gaussian");
    expect_error("net n { input graph(2); dense; residual { dense }; readout }", "1:32",
                 "graph net 'n' takes dense layers, activations, 'dropout', 'aggregate' and 'readout' only");
}
