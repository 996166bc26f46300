/* The functions formula activations may call: host evaluation, C emission
 * and a line of documentation each (the derivative rules are in symdiff.c).
 * sigmoid and softplus are evaluated in their overflow-free forms, so the
 * simplifier can rewrite 1/(1 + exp(-x)) and log(1 + exp(x)) into them. */
#include <math.h>
#include <string.h>

#include "sym.h"

static double f_exp(double a, double b) { return (void)b, exp(a); }
static double f_log(double a, double b) { return (void)b, log(a); }
static double f_sqrt(double a, double b) { return (void)b, sqrt(a); }
static double f_sin(double a, double b) { return (void)b, sin(a); }
static double f_cos(double a, double b) { return (void)b, cos(a); }
static double f_tanh(double a, double b) { return (void)b, tanh(a); }
static double f_atan(double a, double b) { return (void)b, atan(a); }
static double f_erf(double a, double b) { return (void)b, erf(a); }
static double f_abs(double a, double b) { return (void)b, fabs(a); }
static double f_sign(double a, double b) { return (void)b, (a > 0) - (a < 0); }
static double f_step(double a, double b) { return (void)b, a >= 0 ? 1.0 : 0.0; }
static double f_max(double a, double b) { return a >= b ? a : b; }
static double f_min(double a, double b) { return a <= b ? a : b; }

static double f_sigmoid(double a, double b)
{
    (void)b;
    if (a >= 0)
        return 1.0 / (1.0 + exp(-a));
    double e = exp(a);
    return e / (1.0 + e);
}

static double f_softplus(double a, double b)
{
    (void)b;
    return (a > 0 ? a : 0.0) + log1p(exp(-fabs(a)));
}

const SymFnInfo sym_fns[FN_COUNT] = {
    [FN_EXP] = {"exp", 1, f_exp, "exp", NULL, "e^a"},
    [FN_LOG] = {"log", 1, f_log, "log", NULL, "natural logarithm"},
    [FN_SQRT] = {"sqrt", 1, f_sqrt, "sqrt", NULL, "square root"},
    [FN_SIN] = {"sin", 1, f_sin, "sin", NULL, "sine"},
    [FN_COS] = {"cos", 1, f_cos, "cos", NULL, "cosine"},
    [FN_TANH] = {"tanh", 1, f_tanh, "tanh", NULL, "hyperbolic tangent"},
    [FN_ATAN] = {"atan", 1, f_atan, "atan", NULL, "arc tangent"},
    [FN_ERF] = {"erf", 1, f_erf, "erf", NULL, "error function"},
    [FN_ABS] = {"abs", 1, f_abs, "fabs", NULL, "absolute value"},
    [FN_SIGMOID] = {"sigmoid", 1, f_sigmoid, NULL,
                    "if (a >= 0.0)\n        return 1.0 / (1.0 + exp(-a));\n"
                    "    double e = exp(a);\n    return e / (1.0 + e);",
                    "1/(1 + exp(-a)), without overflow"},
    [FN_SOFTPLUS] = {"softplus", 1, f_softplus, NULL, "return (a > 0.0 ? a : 0.0) + log1p(exp(-fabs(a)));",
                     "log(1 + exp(a)), without overflow"},
    [FN_SIGN] = {"sign", 1, f_sign, NULL, "return (double)(a > 0.0) - (double)(a < 0.0);",
                 "-1, 0 or 1 (derivative 0)"},
    [FN_STEP] = {"step", 1, f_step, NULL, "return a >= 0.0 ? 1.0 : 0.0;", "1 when a >= 0, else 0 (derivative 0)"},
    [FN_MAX] = {"max", 2, f_max, NULL, "return a >= b ? a : b;", "the larger of a and b"},
    [FN_MIN] = {"min", 2, f_min, NULL, "return a <= b ? a : b;", "the smaller of a and b"},
};

int sym_fn_lookup(const char *name)
{
    for (int i = 0; i < FN_COUNT; i++)
        if (strcmp(sym_fns[i].name, name) == 0)
            return i;
    return -1;
}
