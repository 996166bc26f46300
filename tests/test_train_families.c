/* Finite-width training beyond fully connected nets (runtime/finite_model.h):
 * the image/branching and graph finite nets' parameter gradients (vjp) and
 * forward tangents (jvp) against central differences, under both
 * parameterizations (nets with dropout under their init's masks, train
 * mode); the μP refusals. The ensembles' approach to the kernel
 * prediction is in test_train_families_mc.c. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "finite_model.h"
#include "graph_testutil.h"
#include "net_internal.h"
#include "ntkc.h"
#include "util.h"

enum { ROWS = 3, NOUT = 2, WIDTH = 4 };

/* Every layer the image finite net has: conv (same, strided, circular),
 * residual and concat and product fan-ins, layer_norm, pools, flatten, global
 * pooling; smooth activations, so central differences see no kink. */
static const char CONV_NETS[] =
    "net cg {\n"
    "  input image(4, 4, 2)\n"
    "  conv(3, 1.4, 0.1)\n"
    "  residual { erf; conv(3, 1.2, 0.1) }\n"
    "  layer_norm\n"
    "  fanout { branch { erf } branch { conv(1, 1.1, 0.2) } } concat\n"
    "  fanout { branch { conv(2, 1.1, 0.0) } branch { conv(3, 1.3, 0.2) } } prod\n"
    "  avg_pool(2)\n"
    "  flatten\n"
    "  dense(1.0, 0.1)\n"
    "}\n"
    "net cg3 {\n" /* issue 21's options: layer_norm over pixels, avg_pool(normalize_edges=true) */
    "  input image(4, 4, 2)\n"
    "  conv(3, 1.4, 0.1); layer_norm(axes=all); erf\n"
    "  conv(2, 1.2); layer_norm(axes=height); relu\n"
    "  avg_pool(2, stride=1, padding=same, normalize_edges=true)\n"
    "  conv(1, 1.1); layer_norm(axes=width)\n"
    "  global_avg_pool\n"
    "  dense(1.0, 0.1)\n"
    "}\n"
    "net cgd {\n" /* dropout: the gradients under one sample's masks (each row its own) */
    "  input image(4, 4, 2)\n"
    "  conv(3, 1.4, 0.1); residual { erf; conv(3, 1.2); dropout(0.7); conv(1, 1.1, 0.1) }\n"
    "  erf; conv(2, 1.2); dropout(0.6)\n"
    "  global_avg_pool; dense(1.1); dropout(0.5); dense(1.0, 0.1)\n"
    "}\n"
    "net cg2 {\n"
    "  input image(5, 5, 1)\n"
    "  conv(3, 1.5, 0.2, stride=2, padding=circular)\n"
    "  erf\n"
    "  conv(3, 1.3, 0.1)\n"
    "  global_sum_pool\n"
    "  erf\n"
    "  dense(1.2, 0.1)\n"
    "}\n";

static const char GRAPH_NETS[] =
    "net gj { input graph(3, normalize=false); dense(1.4, 0.1); erf; aggregate(scale=uniform, self_loops=true)\n"
    "  dense(1.3, 0.2); erf; aggregate(scale=degree); dense(1.2); readout(sum, jk=true); dense(1.1, 0.1) }\n"
    "net gm { input graph(3); dense(1.5, 0.1); erf; aggregate(scale=degree, self_loops=true); readout(mean)\n"
    "  dense(1.2, 0.1); erf; dense(1.0, 0.1) }\n"
    "net gd { input graph(3); dense(1.5, 0.1); erf; dense(1.3); dropout(0.6); aggregate; readout(sum, jk=true)\n"
    "  dense(1.2, 0.1); dropout(0.5); dense(1.0, 0.1) }\n";

/* Five small graphs with random tags among 3 features: paths with a chord. */
static ntkc_graphs *small_graphs(unsigned long long seed)
{
    GraphText t = {0};
    Rand r = {seed};
    for (int g = 0; g < 5; g++) {
        unsigned n = 3 + gt_next(&r, 4), e[8][2], m = 0;
        int tags[8];
        for (unsigned u = 0; u < n; u++)
            tags[u] = (int)gt_next(&r, 3);
        for (unsigned u = 1; u < n; u++)
            e[m][0] = u - 1, e[m++][1] = u;
        e[m][0] = 0, e[m++][1] = n - 1;
        gt_add(&t, n, (const unsigned(*)[2])e, m, tags, g % 2);
    }
    char *text = gt_finish(&t);
    ntkc_graphs *g = graphs_or_fail(text, 3);
    free(text);
    return g;
}

/* Central differences with h = 1e-5 on these O(1) nets: truncation
 * h²·|f'''|/6 ~ 1e-10, rounding ~ε·|f|/h ~ 1e-11, so 1e-6 relative to the
 * largest entry leaves four orders of margin; a wrong multiplier or a
 * missing path is off by O(1). */
static const double H = 1e-5, REL = 1e-6;

static double max_abs(const double *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

/* Every parameter's gradient of ⟨u, f⟩ and the tangent J·v against central
 * differences, and ⟨u, J·v⟩ = ⟨Jᵀu, v⟩ to rounding. */
static void check_model(const IrNet *ir, const FiniteData *d, FiniteParam param)
{
    FiniteModel m;
    ntkc_error err = {0};
    cr_assert_eq(finite_model_new(ir, d, WIDTH, NOUT, param, &m, &err), 0, "%s: %s", ir->name, err.message);
    Rng rng;
    rng_seed(&rng, 11);
    finite_model_init(&m, &rng);
    size_t np = m.np, nf = d->rows * NOUT;
    double *theta = finite_model_params(&m), *grad = malloc(np * sizeof *grad), *v = malloc(np * sizeof *v);
    double *f = malloc(nf * sizeof *f), *fp = malloc(nf * sizeof *fp), *fm = malloc(nf * sizeof *fm),
           *u = malloc(nf * sizeof *u), *jv = malloc(nf * sizeof *jv);
    fill_random(u, nf, 12);
    fill_random(v, np, 13);
    cr_assert_eq(finite_model_forward(&m, d, f, &err), 0, "%s", err.message);
    cr_assert_eq(finite_model_jvp(&m, d, v, jv, &err), 0, "%s", err.message);
    cr_assert_eq(finite_model_vjp(&m, d, u, grad, &err), 0, "%s", err.message);
    double lhs = 0, rhs = 0, gscale = fmax(1.0, max_abs(grad, np));
    for (size_t i = 0; i < nf; i++)
        lhs += u[i] * jv[i];
    for (size_t p = 0; p < np; p++)
        rhs += v[p] * grad[p];
    cr_assert(fabs(lhs - rhs) <= 1e-12 * (fabs(lhs) + fabs(rhs) + 1), "%s: <u,Jv> %.17g vs <J'u,v> %.17g", ir->name,
              lhs, rhs);
    for (size_t p = 0; p < np; p++) {
        double keep = theta[p], dot = 0;
        theta[p] = keep + H;
        finite_model_forward(&m, d, fp, &err);
        theta[p] = keep - H;
        finite_model_forward(&m, d, fm, &err);
        theta[p] = keep;
        for (size_t i = 0; i < nf; i++)
            dot += u[i] * (fp[i] - fm[i]) / (2 * H);
        cr_assert(fabs(dot - grad[p]) <= REL * gscale, "%s (%s): parameter %zu of %zu: vjp %.12g, differences %.12g",
                  ir->name, param == FINITE_MUP ? "muP" : "NTK", p, np, grad[p], dot);
    }
    double *saved = malloc(np * sizeof *saved);
    memcpy(saved, theta, np * sizeof *theta);
    for (size_t p = 0; p < np; p++)
        theta[p] = saved[p] + H * v[p];
    finite_model_forward(&m, d, fp, &err);
    for (size_t p = 0; p < np; p++)
        theta[p] = saved[p] - H * v[p];
    finite_model_forward(&m, d, fm, &err);
    memcpy(theta, saved, np * sizeof *theta);
    double jscale = fmax(1.0, max_abs(jv, nf));
    for (size_t i = 0; i < nf; i++)
        cr_assert(fabs(jv[i] - (fp[i] - fm[i]) / (2 * H)) <= REL * jscale, "%s: jvp entry %zu: %.12g vs %.12g",
                  ir->name, i, jv[i], (fp[i] - fm[i]) / (2 * H));
    free(saved);
    free(grad), free(v), free(f), free(fp), free(fm), free(u), free(jv);
    finite_model_free(&m);
}

Test(train_families, conv_gradients_match_differences, .timeout = TIMEOUT(20))
{
    const char *names[] = {"cg", "cg2", "cg3", "cgd"};
    for (int k = 0; k < 4; k++) {
        ntkc_compile_options o = {.net_name = names[k], .backend = NTKC_BACKEND_TCC};
        ntkc_error err = {0};
        ntkc_net *net = ntkc_compile_string(CONV_NETS, "t.ntk", &o, &err);
        cr_assert_not_null(net, "%s", err.message);
        const IrNet *ir = ntkc_net_ir(net);
        size_t dim = ir->input.dim;
        double *x = malloc(ROWS * dim * sizeof *x);
        fill_random(x, ROWS * dim, 20 + (unsigned)k);
        FiniteData d = {.rows = ROWS, .x = x, .dim = dim};
        check_model(ir, &d, FINITE_AS_IR);
        check_model(ir, &d, FINITE_MUP);
        free(x);
        ntkc_net_free(net);
    }
}

Test(train_families, graph_gradients_match_differences, .timeout = TIMEOUT(20))
{
    const char *names[] = {"gj", "gm", "gd"};
    ntkc_graphs *g = small_graphs(5);
    FiniteData d = {.rows = ntkc_graphs_count(g), .graphs = g};
    for (int k = 0; k < 3; k++) {
        ntkc_compile_options o = {.net_name = names[k], .backend = NTKC_BACKEND_TCC};
        ntkc_error err = {0};
        ntkc_net *net = ntkc_compile_string(GRAPH_NETS, "t.ntk", &o, &err);
        cr_assert_not_null(net, "%s", err.message);
        check_model(ntkc_net_ir(net), &d, FINITE_AS_IR);
        if (k == 1) /* gj's jk readout joins the features with hidden states: no μP (below) */
            check_model(ntkc_net_ir(net), &d, FINITE_MUP);
        ntkc_net_free(net);
    }
    ntkc_graphs_free(g);
}

/* μP is refused, naming the layer and the reason, where its scalings are not
 * defined. (A fan-in joining the input's channels with hidden ones now
 * comes only from a graph's jumping knowledge: a channel concat with the raw
 * input is refused when the net compiles, test_fanout_pairs.c.) */
typedef struct Refusal {
    const char *src, *where, *what;
    FiniteParam param;
} Refusal;

static const Refusal refusals[] = {
    {"net r { input graph(3); aggregate(scale=uniform); dense(1.4); erf; readout(sum, jk=true); dense(1) }",
     "t.ntk:1:", "muP parameterization is not defined for its dense layer: its fan-in joins", FINITE_MUP},
    {"net r { input image(3, 3, 2); global_avg_pool; dense(1) }", "t.ntk:1:",
     "readout's fan-in does not grow with the width", FINITE_MUP},
    {"net r { input image(3, 3, 2); residual { conv(3, 1.2, 0.1) }; global_avg_pool; dense(1) }", "t.ntk:1:",
     "summed with a branch that passes the input through", FINITE_MUP},
    {"net r { param standard; input image(3, 3, 2); conv(3, width=4); relu; global_avg_pool; dense(1) }", "t.ntk:1:",
     "training image nets under param standard is not supported yet", FINITE_AS_IR},
    {"net r { input sequence(3, 2); dense(1.2)\n  residual { attention(pos_emb=sum) }; relu; global_avg_pool; dense(1) }",
     "t.ntk:2:", "training attention with positional embeddings", FINITE_AS_IR},
};

Test(train_families, refusals_name_the_layer_and_the_reason)
{
    ntkc_graphs *g = small_graphs(7);
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        const Refusal *c = &refusals[i];
        ntkc_net *net = compile_or_fail(c->src, NTKC_BACKEND_TCC);
        const IrNet *ir = ntkc_net_ir(net);
        double x[18] = {0};
        FiniteData d = ir->input.kind == IR_INPUT_GRAPH ? (FiniteData){.rows = ntkc_graphs_count(g), .graphs = g}
                                                        : (FiniteData){.rows = 1, .x = x, .dim = ir->input.dim};
        FiniteModel m;
        ntkc_error err = {0};
        cr_assert_neq(finite_model_new(ir, &d, 8, NOUT, c->param, &m, &err), 0, "case %zu accepted", i);
        cr_assert(strstr(err.message, c->where) != NULL && strstr(err.message, c->what) != NULL,
                  "case %zu: expected '%s' and '%s' in: %s", i, c->where, c->what, err.message);
        cr_assert_null(m.impl);
        ntkc_net_free(net);
    }
    ntkc_graphs_free(g);
}

/* Attention nets (finite_attn.h, its tangent finite_attn_train.c): every
 * mechanism under linear scaling (keys and queries tied), identity under
 * sqrt (untied W_q), several heads, the bias, attention inside residual
 * blocks after layer_norm, on sequences and images. abs and relu have kinks
 * at zero logits: at these seeds no logit lies within h of one (a crossing
 * would show as an O(1) mismatch of one parameter, not a small drift). */
static const char ATTN_NETS[] =
    "net as {\n"
    "  input sequence(4, 3)\n"
    "  dense(1.2, 0.1)\n"
    "  residual { layer_norm; attention(heads=2, mechanism=softmax, w_q=1.3, w_k=0.9, w_v=1.1, w_out=1.2, b_std=0.1) }\n"
    "  residual { layer_norm; dense(1.4, 0.1); erf; dense(1.0, 0.1) }\n"
    "  layer_norm\n"
    "  global_avg_pool\n"
    "  dense(1.0, 0.1)\n"
    "}\n"
    "net ai {\n"
    "  input sequence(3, 2)\n"
    "  dense(1.1, 0.2)\n"
    "  attention(heads=3, mechanism=identity, w_q=0.8, b_std=0.2)\n"
    "  erf\n"
    "  attention(heads=1, mechanism=abs, w_v=1.2)\n"
    "  flatten\n"
    "  dense(1.0, 0.1)\n"
    "}\n"
    "net ar {\n"
    "  input image(2, 2, 2)\n"
    "  dense(1.3, 0.1)\n"
    "  residual(0.7) { attention(heads=2, mechanism=relu, w_q=1.1, w_k=1.2) }\n"
    "  erf\n"
    "  global_sum_pool\n"
    "  dense(1.0, 0.1)\n"
    "}\n"
    "net aq {\n"
    "  input sequence(4, 2)\n"
    "  dense(1.2, 0.1)\n"
    "  residual { layer_norm; attention(heads=2, scaling=sqrt, mechanism=identity, w_q=0.9, w_k=1.1, b_std=0.1) }\n"
    "  global_avg_pool\n"
    "  dense(1.0, 0.1)\n"
    "}\n";

Test(train_families, attention_gradients_match_differences, .timeout = TIMEOUT(20))
{
    const char *names[] = {"as", "ai", "ar", "aq"};
    for (int k = 0; k < 4; k++) {
        ntkc_compile_options o = {.net_name = names[k], .backend = NTKC_BACKEND_TCC};
        ntkc_error err = {0};
        ntkc_net *net = ntkc_compile_string(ATTN_NETS, "t.ntk", &o, &err);
        cr_assert_not_null(net, "%s", err.message);
        const IrNet *ir = ntkc_net_ir(net);
        size_t dim = ir->input.dim;
        double *x = malloc(ROWS * dim * sizeof *x);
        fill_random(x, ROWS * dim, 40 + (unsigned)k);
        FiniteData d = {.rows = ROWS, .x = x, .dim = dim};
        check_model(ir, &d, FINITE_AS_IR);
        FiniteModel m;
        cr_assert_neq(finite_model_new(ir, &d, WIDTH, NOUT, FINITE_MUP, &m, &err), 0, "%s: muP accepted", names[k]);
        cr_assert(strstr(err.message, "not defined for its attention layer") != NULL, "%s", err.message);
        cr_assert_null(m.impl);
        free(x);
        ntkc_net_free(net);
    }
}
