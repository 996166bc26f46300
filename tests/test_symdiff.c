/* Symbolic differentiation and simplification (compiler/sym*.c, symdiff.c):
 * derivatives against finite differences at many points, the simplified
 * forms of common activations, printing that reads back to the same values,
 * and random expressions whose simplified form must keep their value. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "ast.h"
#include "frontend.h"
#include "lower.h"
#include "strbuf.h"
#include "sym.h"

/* φ and φ' of `act f(x) = formula` as the compiler builds them. */
typedef struct Built {
    Arena a;
    const Formula *f;
    char phi[1024], dphi[2048];
} Built;

static void build(Built *b, const char *formula)
{
    arena_init(&b->a);
    /* 'quad 96': the formulas here test derivatives, and some (x^-2,
     * (2 + sin(x))^(1 + x^2/4)) have no Gaussian integral, which the default
     * rule's calibration refuses (test_act_formula.c) */
    char *src = arena_printf(&b->a, "act f(x) = %s quad 96", formula);
    Diag err = {0};
    Program *p = frontend_parse(&b->a, src, "t.ntk", &err);
    cr_assert_not_null(p, "%s: %s", formula, err.message);
    b->f = lower_formula(&b->a, p, p->acts[0], &err);
    cr_assert_not_null(b->f, "%s: %s", formula, err.message);
    StrBuf sb;
    sb_init(&sb);
    sym_print(&sb, b->f->phi, "x");
    snprintf(b->phi, sizeof b->phi, "%s", sb.data);
    sb_free(&sb);
    sb_init(&sb);
    sym_print(&sb, b->f->dphi, "x");
    snprintf(b->dphi, sizeof b->dphi, "%s", sb.data);
    sb_free(&sb);
}

/* Five-point central difference: error O(h⁴), rounding O(ε/h). */
static double fd_step(const Sym *e, double x, double step)
{
    double h = step * fmax(1, fabs(x));
    return (-sym_eval(e, x + 2 * h) + 8 * sym_eval(e, x + h) - 8 * sym_eval(e, x - h) + sym_eval(e, x - 2 * h)) /
           (12 * h);
}

static double fd(const Sym *e, double x) { return fd_step(e, x, 1e-3); }

typedef struct DiffCase {
    const char *formula;
    double lo, hi;  /* points tested */
    double kinks[4]; /* points where φ' jumps (skipped within 0.01), NAN-terminated */
} DiffCase;

static const DiffCase diff_cases[] = {
    {"x^3 - 2*x", -4, 4, {NAN}},
    {"sin(2*x)*cos(x)", -4, 4, {NAN}},
    {"exp(-x^2/2)", -4, 4, {NAN}},
    {"log(1 + x^2)", -4, 4, {NAN}},
    {"sqrt(1 + x^2)", -4, 4, {NAN}},
    {"tanh(x)", -4, 4, {NAN}},
    {"atan(3*x)", -4, 4, {NAN}},
    {"erf(x/2)", -4, 4, {NAN}},
    {"x / (1 + exp(-x))", -6, 6, {NAN}},
    {"log(1 + exp(x))", -6, 6, {NAN}},
    {"x * tanh(log(1 + exp(x)))", -6, 6, {NAN}},
    {"sigmoid(x)^2 - softplus(-x)", -6, 6, {NAN}},
    {"(2 + sin(x))^(1 + x^2/4)", -3, 3, {NAN}},
    {"1 / (1 + x^2)", -4, 4, {NAN}},
    {"exp(sin(x)) / (2 + cos(x))", -4, 4, {NAN}},
    {"2^x - x^-2", 0.2, 4, {NAN}},
    {"-(-x)^3 + (x*1 + 0)*x^1 - 0*x", -4, 4, {NAN}},
    {"x^2/sqrt(x^2 + 1) - x/x", 0.1, 4, {NAN}},
    {"exp(x)/(1 + exp(x)) + exp(x)/(1 + exp(x))^2", -6, 6, {NAN}},
    {"abs(x)*x + abs(x - 1)", -3, 3, {0, 1, NAN}},
    {"max(x, x^2 - 1)", -3, 3, {-0.6180339887498949, 1.618033988749895, NAN}},
    {"min(sin(x), cos(x))", -3, 3, {-2.356194490192345, 0.7853981633974483, NAN}},
    {"sign(x)*x^2 + step(x)*x", -3, 3, {0, NAN}},
    {"x*erf(x) + exp(-x^2)/sqrt(pi)", -4, 4, {NAN}},
};

Test(symdiff, derivatives_match_finite_differences)
{
    for (size_t c = 0; c < sizeof diff_cases / sizeof diff_cases[0]; c++) {
        const DiffCase *dc = &diff_cases[c];
        Built b;
        build(&b, dc->formula);
        int tested = 0;
        for (int i = 0; i <= 400; i++) {
            double x = dc->lo + (dc->hi - dc->lo) * i / 400.0 + 1e-7; /* off the grid of round numbers */
            int near_kink = 0;
            for (int k = 0; k < 4 && !isnan(dc->kinks[k]); k++)
                near_kink |= fabs(x - dc->kinks[k]) < 0.01;
            if (near_kink)
                continue;
            double got = sym_eval(b.f->dphi, x), want = fd(b.f->phi, x);
            double scale = fmax(1, fmax(fabs(want), fabs(sym_eval(b.f->phi, x))));
            cr_expect_leq(fabs(got - want), 1e-8 * scale, "%s at x=%.10g: phi' = %.17g, differences %.17g (phi' = %s)",
                          dc->formula, x, got, want, b.dphi);
            tested++;
        }
        cr_expect_geq(tested, 350, "%s", dc->formula);
        arena_free(&b.a);
    }
}

typedef struct Simplified {
    const char *formula, *phi, *dphi;
} Simplified;

static const Simplified simplified[] = {
    {"x / (1 + exp(-x))", "x*sigmoid(x)", "sigmoid(x) + x*sigmoid(x)*(1 - sigmoid(x))"},
    {"log(1 + exp(x))", "softplus(x)", "sigmoid(x)"},
    {"exp(x)/(1 + exp(x))", "sigmoid(x)", "sigmoid(x)*(1 - sigmoid(x))"},
    {"x^3 - 2*x", "x^3 - 2*x", "3*x^2 - 2"},
    {"exp(-x)", "exp(-x)", "-exp(-x)"},
    {"log(1 + x^2)", "log(1 + x^2)", "2*x/(1 + x^2)"},
    {"1/(1 + x^2)", "1/(1 + x^2)", "-2*x/(1 + x^2)^2"},
    {"sin(x)", "sin(x)", "cos(x)"},
    {"cos(2*x)", "cos(2*x)", "-2*sin(2*x)"},
    {"tanh(x)", "tanh(x)", "1 - tanh(x)^2"},
    {"(x*1 + 0)^1", "x", "1"},
    {"-(-x)", "x", "1"},
    {"0*exp(x) + x", "x", "1"},
    {"x - x + 3", "3", "0"},
    {"x*x*x", "x^3", "3*x^2"},
    {"2*(3*x)", "6*x", "6"},
    {"exp(x)*exp(x)", "exp(2*x)", "2*exp(2*x)"},
    {"sqrt(x^2)", "abs(x)", "sign(x)"},
    {"max(x, 0)", "max(x, 0)", "(1 + sign(x))/2"},
    {"x*tanh(softplus(x))", "x*tanh(softplus(x))", "tanh(softplus(x)) + x*(1 - tanh(softplus(x))^2)*sigmoid(x)"},
    {"a_const * x", "2.5*x", "2.5"},
};

Test(symdiff, common_forms_simplify)
{
    for (size_t i = 0; i < sizeof simplified / sizeof simplified[0]; i++) {
        Arena a;
        arena_init(&a);
        char *src = arena_printf(&a, "let a_const = 2.5\nact f(x) = %s quad 96", simplified[i].formula);
        Diag err = {0};
        Program *p = frontend_parse(&a, src, "t.ntk", &err);
        cr_assert_not_null(p, "%s", err.message);
        const Formula *f = lower_formula(&a, p, p->acts[0], &err);
        cr_assert_not_null(f, "%s", err.message);
        StrBuf sb;
        sb_init(&sb);
        sym_print(&sb, f->phi, "x");
        cr_expect_str_eq(sb.data, simplified[i].phi, "phi of %s", simplified[i].formula);
        sb_free(&sb);
        sb_init(&sb);
        sym_print(&sb, f->dphi, "x");
        cr_expect_str_eq(sb.data, simplified[i].dphi, "phi' of %s", simplified[i].formula);
        sb_free(&sb);
        arena_free(&a);
    }
}

/* What `ntkc derive` prints is an ntkc formula with the same values. */
Test(symdiff, printed_formulas_read_back)
{
    for (size_t c = 0; c < sizeof diff_cases / sizeof diff_cases[0]; c++) {
        Built b, phi, dphi;
        build(&b, diff_cases[c].formula);
        build(&phi, b.phi);
        build(&dphi, b.dphi);
        for (int i = 0; i <= 50; i++) {
            double x = diff_cases[c].lo + (diff_cases[c].hi - diff_cases[c].lo) * i / 50.0 + 1e-7;
            double v = sym_eval(b.f->phi, x), d = sym_eval(b.f->dphi, x);
            cr_expect_leq(fabs(sym_eval(phi.f->phi, x) - v), 1e-13 * fmax(1, fabs(v)), "%s reads back", b.phi);
            cr_expect_leq(fabs(sym_eval(dphi.f->phi, x) - d), 1e-13 * fmax(1, fabs(d)), "%s reads back", b.dphi);
        }
        arena_free(&b.a);
        arena_free(&phi.a);
        arena_free(&dphi.a);
    }
}

/* Derivatives stay short: at most three times the nodes of φ, plus 4 (the
 * product rule doubles a product; the chain rule adds the inner derivative). */
Test(symdiff, derivatives_stay_short)
{
    static const char *const formulas[] = {
        "x / (1 + exp(-x))",    "x * tanh(log(1 + exp(x)))", "x * (1 + erf(x / sqrt(2))) / 2",
        "exp(-x^2/2) * cos(3*x)", "(x^2 + 1)^3",            "x^3 - 2*x + 1/(1 + x^2)",
    };
    for (size_t i = 0; i < sizeof formulas / sizeof formulas[0]; i++) {
        Built b;
        build(&b, formulas[i]);
        size_t n = sym_size(b.f->phi), nd = sym_size(b.f->dphi);
        cr_expect_leq(nd, 3 * n + 4, "%s: phi = %s (%zu nodes), phi' = %s (%zu nodes)", formulas[i], b.phi, n,
                      b.dphi, nd);
        arena_free(&b.a);
    }
}

/* ---- random expressions -------------------------------------------------- */

typedef struct Rng {
    unsigned long long s;
} Rng;

static unsigned next(Rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (unsigned)(r->s >> 32);
}

/* A random expression built twice: through the simplifying constructors,
 * and as plain values along the way (`raw`, evaluated at x directly). */
typedef struct Pair {
    const Sym *sym;
    double raw;
} Pair;

static Pair random_expr(Rng *r, SymCtx *c, int depth, double x)
{
    SrcPos p = {"t.ntk", 1, 1};
    unsigned k = next(r) % (depth <= 0 ? 3 : 12);
    if (k == 0) {
        double v = (double)(int)(next(r) % 7) - 2; /* -2..4: zeros and ones included */
        return (Pair){sym_num(c, v, p), v};
    }
    if (k <= 2)
        return (Pair){sym_x(c, p), x};
    Pair a = random_expr(r, c, depth - 1, x), b = random_expr(r, c, depth - 1, x);
    switch (k) {
    case 3:
        return (Pair){sym_add(c, a.sym, b.sym, p), a.raw + b.raw};
    case 4:
        return (Pair){sym_sub(c, a.sym, b.sym, p), a.raw - b.raw};
    case 5:
    case 6:
        return (Pair){sym_mul(c, a.sym, b.sym, p), a.raw * b.raw};
    case 7:
        return (Pair){sym_neg(c, a.sym, p), -a.raw};
    case 8: { /* whole exponents 0..3, as activations use them */
        double n = next(r) % 4;
        return (Pair){sym_pow(c, a.sym, sym_num(c, n, p), p), pow(a.raw, n)};
    }
    case 9:
        return (Pair){sym_call(c, FN_SIN, a.sym, NULL, p), sin(a.raw)};
    case 10:
        return (Pair){sym_call(c, FN_TANH, a.sym, NULL, p), tanh(a.raw)};
    default: /* a denominator bounded away from 0 */
        return (Pair){sym_div(c, a.sym, sym_add(c, sym_num(c, 2, p), sym_call(c, FN_SIN, b.sym, NULL, p), p), p),
                      a.raw / (2 + sin(b.raw))};
    }
}

Test(symdiff, random_expressions_keep_their_value_and_derivative)
{
    int checked = 0;
    for (unsigned long long seed = 1; seed <= 3000; seed++) {
        Arena a;
        arena_init(&a);
        Diag err = {0};
        SymCtx c = {&a, &err, ""};
        double x = -2.5 + (double)(seed % 97) / 19.0;
        Rng r = {seed * 0x9E3779B97F4A7C15ULL | 1};
        Pair e = random_expr(&r, &c, 5, x);
        cr_assert_not_null(e.sym, "seed %llu: %s", seed, err.message);
        double v = sym_eval(e.sym, x);
        StrBuf sb;
        sb_init(&sb);
        sym_print(&sb, e.sym, "x");
        cr_expect_leq(fabs(v - e.raw), 1e-9 * fmax(1, fabs(e.raw)), "seed %llu: %s = %.17g, built as %.17g", seed,
                      sb.data, v, e.raw);
        const Sym *d = sym_diff(&c, e.sym);
        cr_assert_not_null(d, "seed %llu: %s", seed, err.message);
        /* Only where the differences have converged: fast oscillations such
         * as sin(x^8) defeat any fixed step. */
        double got = sym_eval(d, x), want = fd(e.sym, x), half = fd_step(e.sym, x, 0.5e-3);
        if (fabs(want - half) < 1e-8 * fmax(1, fabs(want)) && fabs(want) < 1e6) {
            cr_expect_leq(fabs(got - want), 1e-6 * fmax(1, fabs(want)), "seed %llu: d/dx %s at %g: %.17g vs %.17g",
                          seed, sb.data, x, got, want);
            checked++;
        }
        sb_free(&sb);
        arena_free(&a);
    }
    cr_expect_geq(checked, 2000);
}
