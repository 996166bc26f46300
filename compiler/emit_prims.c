/* Block primitives, emitted from one set of templates into both places they
 * live: each net's C file (static reference definitions) and the host file
 * compiled into the library (external definitions plus a symbol table).
 * Restrict-qualified pointers and branch-free bodies let gcc vectorise every
 * loop; libtcc compiles the same text when a net is emitted stand-alone. */
#include "emit_prims.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_text.h"
#include "emit_image.h"

typedef enum PrimKind { PRIM_LOAD, PRIM_DENSE_NTK, PRIM_DENSE_STD, PRIM_STORE, PRIM_RELU_QR, PRIM_RECORDS, PRIM_NKINDS } PrimKind;

typedef struct Prim {
    const char *decl; /* the declaration, without storage class or ';' */
    const char *body;
} Prim;

static const Prim generic[PRIM_NKINDS] = {
    [PRIM_LOAD] = {"void ntkc_block_load(size_t m, const double *restrict g, double dim,\n"
                   "    double *restrict s, double *restrict t)",
                   "{\n"
                   "    for (size_t j = 0; j < m; j++) {\n"
                   "        s[j] = g[j] / dim;\n"
                   "        t[j] = 0.0;\n"
                   "    }\n"
                   "}\n"},
    [PRIM_DENSE_NTK] = {"void ntkc_block_dense_ntk(size_t m, double w2, double b2,\n"
                        "    double *restrict s, double *restrict t)",
                        "{\n"
                        "    for (size_t j = 0; j < m; j++) {\n"
                        "        s[j] = w2 * s[j] + b2;\n"
                        "        t[j] = s[j] + w2 * t[j];\n"
                        "    }\n"
                        "}\n"},
    /* Standard parameterization (neural-tangents): Θ ← fan_in·Σ_old (+1 with
     * a bias) + w²Θ, then Σ as usual. */
    [PRIM_DENSE_STD] = {"void ntkc_block_dense_std(size_t m, double w2, double b2, double fan_in, double bias,\n"
                        "    double *restrict s, double *restrict t)",
                        "{\n"
                        "    for (size_t j = 0; j < m; j++) {\n"
                        "        t[j] = fan_in * s[j] + bias + w2 * t[j];\n"
                        "        s[j] = w2 * s[j] + b2;\n"
                        "    }\n"
                        "}\n"},
    [PRIM_STORE] = {"size_t ntkc_block_store(size_t m, const double *restrict s, const double *restrict t,\n"
                    "    double *restrict nngp, double *restrict ntk)",
                    "{\n"
                    "    size_t bad = 0;\n"
                    "    /* x - x is 0 exactly when x is finite. */\n"
                    "    for (size_t j = 0; j < m; j++)\n"
                    "        bad += (s[j] - s[j] != 0.0) | (t[j] - t[j] != 0.0);\n"
                    "    if (nngp)\n"
                    "        for (size_t j = 0; j < m; j++)\n"
                    "            nngp[j] = s[j];\n"
                    "    if (ntk)\n"
                    "        for (size_t j = 0; j < m; j++)\n"
                    "            ntk[j] = t[j];\n"
                    "    return bad;\n"
                    "}\n"},
    /* The records of cols inputs (nvar each) slot by slot: vt[k·cols + j]. */
    [PRIM_RECORDS] = {"void ntkc_block_records(size_t cols, size_t nvar, const double *restrict prep,\n"
                      "    double *restrict vt)",
                      "{\n"
                      "    for (size_t j = 0; j < cols; j++)\n"
                      "        for (size_t k = 0; k < nvar; k++)\n"
                      "            vt[k * cols + j] = prep[j * nvar + k];\n"
                      "}\n"},
    /* ReLU from records of √v and 1/√v (ntkc_relu_qr): no division per pair.
     * Columns go eight at a time, two vectors per iteration for the
     * out-of-order core to overlap (15% faster per pair than one). */
    [PRIM_RELU_QR] = {"void ntkc_block_relu_qr(size_t m, double q1, double r1, const double *restrict q2,\n"
                      "    const double *restrict r2, double *restrict s, double *restrict t)",
                      "{\n"
                      "    size_t j = 0;\n"
                      "    for (; j + 8 <= m; j += 8)\n"
                      "        for (size_t l = 0; l < 8; l++)\n"
                      "            ntkc_relu_qr(s + j + l, t + j + l, q1, r1, q2[j + l], r2[j + l]);\n"
                      "    for (; j < m; j++)\n"
                      "        ntkc_relu_qr(s + j, t + j, q1, r1, q2[j], r2[j]);\n"
                      "}\n"},
};

static const char generic_names[PRIM_NKINDS][24] = {
    [PRIM_LOAD] = "ntkc_block_load",
    [PRIM_DENSE_NTK] = "ntkc_block_dense_ntk",
    [PRIM_DENSE_STD] = "ntkc_block_dense_std",
    [PRIM_STORE] = "ntkc_block_store",
    [PRIM_RELU_QR] = "ntkc_block_relu_qr",
    [PRIM_RECORDS] = "ntkc_block_records",
};

/* arcsin and arccos in plain arithmetic and sqrt (both correctly rounded on
 * every IEEE machine), with no branch the vectoriser cannot turn into a
 * select: vectorised or not, libtcc or gcc, they give the same bits (< 1 ulp
 * from the true value). That matters because the arc-cosine kernels take
 * acos near ρ = 1, where acos′ is infinite: a 1-ulp difference between a
 * library's vector and scalar acos shows up as 1e-8 in the NTK diagonal.
 * The rational fit and the hi/lo split are fdlibm's (Sun, 1993). */
static const char math_text[] =
    "#ifndef NTKC_PI\n"
    "#define NTKC_PI 3.14159265358979323846\n"
    "#endif\n"
    "#if defined(__GNUC__) && !defined(__TINYC__)\n"
    "#define NTKC_INLINE static inline __attribute__((always_inline))\n"
    "#else\n"
    "#define NTKC_INLINE static inline\n"
    "#endif\n"
    "#define NTKC_PIO2_HI 1.57079632679489655800e+00\n"
    "#define NTKC_PIO2_LO 6.12323399573676603587e-17\n"
    "#define NTKC_PIO4_HI 7.85398163397448278999e-01\n"
    "/* asin(x) = x + x·R(x²) for |x| <= 0.5. */\n"
    "static inline double ntkc_asin_r(double z)\n"
    "{\n"
    "    double p = z * (1.66666666666666657415e-01 +\n"
    "               z * (-3.25565818622400915405e-01 +\n"
    "               z * (2.01212532134862925881e-01 +\n"
    "               z * (-4.00555345006794114027e-02 +\n"
    "               z * (7.91534994289814532176e-04 +\n"
    "               z * 3.47933107596021167570e-05)))));\n"
    "    double q = 1.0 + z * (-2.40339491173441421878e+00 +\n"
    "                     z * (2.02094576023350569471e+00 +\n"
    "                     z * (-6.88283971605453293030e-01 +\n"
    "                     z * 7.70381505559019352791e-02)));\n"
    "    return p / q;\n"
    "}\n"
    "/* The high 26 bits of s (Veltkamp's split): hi·hi is exact. */\n"
    "static inline double ntkc_hi26(double s)\n"
    "{\n"
    "    double c = s * 134217729.0;\n"
    "    return c - (c - s);\n"
    "}\n"
    "/* |x| >= 0.5 uses asin(x) = π/2 − 2·asin(√((1−|x|)/2)), √ split as hi + lo. */\n"
    "static inline double ntkc_acos(double x)\n"
    "{\n"
    "    double ax = fabs(x);\n"
    "    int small = ax < 0.5;\n"
    "    double z = small ? x * x : 0.5 - 0.5 * ax;\n"
    "    double r = ntkc_asin_r(z), s = sqrt(z);\n"
    "    double a_small = NTKC_PIO2_HI - (x - (NTKC_PIO2_LO - x * r));\n"
    "    double a_neg = 2.0 * (NTKC_PIO2_HI - (s + (r * s - NTKC_PIO2_LO)));\n"
    "    double hi = ntkc_hi26(s), lo = (z - hi * hi) / (s + hi);\n"
    "    double a_pos = 2.0 * (hi + (r * s + lo));\n"
    "    double a = small ? a_small : (x < 0 ? a_neg : a_pos);\n"
    "    return ax == 1.0 ? (x > 0 ? 0.0 : 2.0 * NTKC_PIO2_HI) : a;\n"
    "}\n"
    "static inline double ntkc_asin(double x)\n"
    "{\n"
    "    double ax = fabs(x);\n"
    "    int small = ax < 0.5;\n"
    "    double z = small ? ax * ax : 0.5 - 0.5 * ax;\n"
    "    double r = ntkc_asin_r(z), s = sqrt(z);\n"
    "    double hi = ntkc_hi26(s), lo = (z - hi * hi) / (s + hi);\n"
    "    double big = NTKC_PIO4_HI - ((2.0 * s * r - (NTKC_PIO2_LO - 2.0 * lo)) - (NTKC_PIO4_HI - 2.0 * hi));\n"
    "    double a = small ? ax + ax * r : (ax == 1.0 ? NTKC_PIO2_HI : big);\n"
    "    return x < 0 ? -a : a;\n"
    "}\n"
    "/* ReLU's arc-cosine kernel without libm's acos: the same values to a few\n"
    " * ulps, in straight-line code that compilers vectorise. asin(y) for\n"
    " * 0 <= y <= 1/2 is y + y·z·P(z), z = y²; acos(u) for u > 1/2 is\n"
    " * 2·asin(√((1-u)/2)). */\n"
    "static inline double ntkc_asin_small(double y)\n"
    "{\n"
    "    double z = y * y;\n"
    "    /* Interpolant of (asin(y)/y - 1)/z at Chebyshev nodes of z in [0, 1/4]\n"
    "     * (scripts/fit_asin.py), exact to 6e-17 relative; Estrin's scheme keeps\n"
    "     * the dependency chain short. fma is correctly rounded everywhere (one\n"
    "     * instruction where the CPU has it, else libm), so every back end gets\n"
    "     * the same bits; it makes the ReLU 12% faster than mul + add. */\n"
    "    double z2 = z * z, z4 = z2 * z2, z8 = z4 * z4;\n"
    "    double q0 = fma(z4, fma(z2, fma(0.011549086612987425, z, 0.013965009932053607),\n"
    "                            fma(0.017352757477819787, z, 0.02237215927967998)),\n"
    "                    fma(z2, fma(0.030381944441363808, z, 0.0446428571428834),\n"
    "                        fma(0.07499999999999991, z, 0.16666666666666666)));\n"
    "    double q1 = fma(z4, fma(z2, 0.0307187689951911, fma(-0.024020544918554612, z, 0.022553563638202986)),\n"
    "                    fma(z2, fma(0.0003808530332907241, z, 0.008795006076488431),\n"
    "                        fma(0.008135829925501655, z, 0.009792751320201996)));\n"
    "    return fma(y * z, fma(z8, q1, q0), y);\n"
    "}\n"
    "\n"
    "/* One pair: s, t updated from √v and 1/√v of its two pixels (the records of\n"
    " * a ReLU layer hold both: a pair takes no division and no √ of its variances).\n"
    " * Branch-free (selects only) so loops of it vectorise. q1·q2 and r1·r2 are\n"
    " * within 2 ulps of √(v1·v2) and its inverse, so a pixel paired with itself\n"
    " * gets |rho| within 4 ulps of 1 (perhaps above it): those are snapped to\n"
    " * |rho| = 1 exactly, where acos has an infinite slope (an ulp off 1 would\n"
    " * move acos by 1e-8), which also clips |rho| into [0, 1]. The snap selects\n"
    " * d·0 rather than the constant 0: a constant lets gcc thread every case of\n"
    " * the selects after it into its own copy of the arithmetic (a third square\n"
    " * root, 30% slower). With u = |rho| and a = acos(u), pi - theta is a for\n"
    " * rho < 0 and pi - a otherwise, so w = (pi - theta)·sign(rho) gives both\n"
    " * terms. Zero variance: r = 0, so rho = 0 and s = 0, as the limit gives. */\n"
    "static inline void ntkc_relu_qr(double *s, double *t, double q1, double r1, double q2, double r2)\n"
    "{\n"
    "    double norm = q1 * q2;\n"
    "    double rr = r1 * r2; /* symmetric in the two inputs; finite even for subnormal variances */\n"
    "    double rho = *s * (rr < 1.7976931348623157e308 ? rr : 1.7976931348623157e308);\n"
    "    double u = fabs(rho), d = 1.0 - u; /* 1 - u is exact for u >= 1/2 */\n"
    "    int snap = d < 8.8817841970012523e-16;\n"
    "    d = snap ? d * 0.0 : d;\n"
    "    u = snap ? 1.0 - d : u;\n"
    "    double ys = sqrt(0.5 * d);\n"
    "    double y = u > 0.5 ? ys : u;\n"
    "    double as = ntkc_asin_small(y);\n"
    "    double a = u > 0.5 ? 2.0 * as : 0.5 * NTKC_PI - as; /* acos(u) */\n"
    "    double w = rho < 0.0 ? -a : NTKC_PI - a;\n"
    "    /* √(1 − ρ²) as √((1 − u)(1 + u)) */\n"
    "    *s = norm * (sqrt(d * (1.0 + u)) + w * u) * (0.5 / NTKC_PI);\n"
    "    *t *= fabs(w) * (0.5 / NTKC_PI);\n"
    "}\n";

void prim_emit_dual(StrBuf *sb, const ActDef *def)
{
    sb_printf(sb,
              "NTKC_INLINE void ntkc_dual_%s(const double *p, double s11, double s12, double s22,\n"
              "    double *T, double *Td);\n",
              def->name);
    sb_puts(sb, def->c_dual);
    sb_puts(sb, "\n");
}

int prim_uses_relu_qr(const IrNet *net, const IrOp *op)
{
    return net->input.kind == IR_INPUT_VECTOR && op->kind == IR_ACT && op->u.act.def == act_lookup("relu");
}

int prim_act_has_block(const ActDef *def)
{
    return def->c_dual != NULL && act_lookup(def->name) == def;
}

void prim_emit_libm(StrBuf *sb)
{
    sb_puts(sb,
            "/* libm prototypes, declared here rather than included: the headers cost\n"
            " * the JIT more time than the whole kernel. With NTKC_SIMD_LIBM, gcc on\n"
            " * glibc >= 2.35 may call libmvec's vector versions (within a few ulps). */\n"
            "#if defined(NTKC_SIMD_LIBM) && defined(__GNUC__) && !defined(__clang__) && \\\n"
            "    !defined(__TINYC__) && defined(__x86_64__)\n"
            "#include <features.h>\n"
            "#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))\n"
            "#define NTKC_VEC __attribute__((__simd__(\"notinbranch\")))\n"
            "#endif\n"
            "#endif\n"
            "#ifndef NTKC_VEC\n"
            "#define NTKC_VEC\n"
            "#endif\n"
            "double sqrt(double);\ndouble fabs(double);\ndouble floor(double);\ndouble fma(double, double, double);\n"
            "NTKC_VEC double acos(double);\nNTKC_VEC double asin(double);\n"
            "NTKC_VEC double atan(double);\nNTKC_VEC double atan2(double, double);\n"
            "NTKC_VEC double exp(double);\nNTKC_VEC double log(double);\n"
            "NTKC_VEC double erf(double);\nNTKC_VEC double erfc(double);\n"
            "NTKC_VEC double sin(double);\nNTKC_VEC double cos(double);\n"
            "NTKC_VEC double tanh(double);\nNTKC_VEC double pow(double, double);\n");
    sb_puts(sb, math_text);
}

static void act_decl(StrBuf *sb, const char *storage, const ActDef *def)
{
    sb_printf(sb,
              "%svoid ntkc_block_act_%s(const double *p, size_t m, double v1,\n"
              "    const double *restrict v2, size_t stride,\n"
              "    double *restrict s, double *restrict t)",
              storage, def->name);
}

/* The activation's dual applied across a block; v2 holds the column inputs'
 * variances, stride doubles apart. */
static void act_definition(StrBuf *sb, const char *storage, const ActDef *def)
{
    act_decl(sb, storage, def);
    sb_printf(sb,
              "\n{\n"
              "    for (size_t j = 0; j < m; j++) {\n"
              "    double T, Td;\n"
              "        ntkc_dual_%s(p, v1, s[j], v2[j * stride], &T, &Td);\n"
              "        s[j] = T;\n"
              "        t[j] *= Td;\n"
              "    }\n"
              "}\n\n",
              def->name);
}

static void act_plane_decl(StrBuf *sb, const char *storage, const ActDef *def)
{
    sb_printf(sb,
              "%svoid ntkc_act_plane_%s(const double *p, double *S, double *T, int H, int W, int a, int b,\n"
              "    int ch, int cw, const double *v1, int bc, const double *v2)",
              storage, def->name);
}

/* ntkc_act_plane (compiler/image_runtime.c.in) with the dual fixed, so the
 * compiler inlines it into the lane loop and vectorises that. */
static void act_plane_definition(StrBuf *sb, const char *storage, const ActDef *def)
{
    act_plane_decl(sb, storage, def);
    sb_printf(sb, "\n{\n    NTKC_ACT_PLANE(ntkc_dual_%s);\n}\n\n", def->name);
}

void prim_emit_act_plane(StrBuf *sb, const ActDef *def)
{
    sb_puts(sb, "#ifndef NTKC_HOST_PRIMITIVES\n");
    act_plane_definition(sb, "static ", def);
    sb_puts(sb, "#else\n");
    act_plane_decl(sb, "", def);
    sb_puts(sb, ";\n#endif\n");
}

static void generic_definition(StrBuf *sb, const char *storage, PrimKind k)
{
    sb_printf(sb, "%s%s\n%s\n", storage, generic[k].decl, generic[k].body);
}

/* Which generic primitives the tile function of net calls. */
static void generic_uses(const IrNet *net, int used[PRIM_NKINDS])
{
    memset(used, 0, PRIM_NKINDS * sizeof *used);
    used[PRIM_LOAD] = used[PRIM_STORE] = 1;
    used[PRIM_RECORDS] = net->input.kind == IR_INPUT_VECTOR; /* the FC tile (emit.c) */
    for (size_t i = 0; i < net->nops; i++)
        if (net->ops[i].kind == IR_DENSE)
            used[net->param == PARAM_NTK ? PRIM_DENSE_NTK : PRIM_DENSE_STD] = 1;
        else if (prim_uses_relu_qr(net, &net->ops[i]))
            used[PRIM_RELU_QR] = 1;
}

/* Activations with a block primitive, each once, in order of first use. */
static int first_use_with_block(const IrNet *net, size_t i)
{
    if (net->ops[i].kind != IR_ACT || !prim_act_has_block(net->ops[i].u.act.def))
        return 0;
    if (prim_uses_relu_qr(net, &net->ops[i])) /* ntkc_block_relu_qr instead */
        return 0;
    for (size_t j = 0; j < i; j++)
        if (net->ops[j].kind == IR_ACT && net->ops[j].u.act.def == net->ops[i].u.act.def)
            return 0;
    return 1;
}

void prim_emit_for_net(StrBuf *sb, const IrNet *net)
{
    int used[PRIM_NKINDS];
    generic_uses(net, used);
    sb_puts(sb, "/* Block primitives: the loops of one layer over a block of columns. The\n"
                " * libtcc back end links optimised copies compiled into ntkc instead. */\n"
                "#ifndef NTKC_HOST_PRIMITIVES\n");
    for (int k = 0; k < PRIM_NKINDS; k++)
        if (used[k])
            generic_definition(sb, "static ", (PrimKind)k);
    for (size_t i = 0; i < net->nops; i++)
        if (first_use_with_block(net, i))
            act_definition(sb, "static ", net->ops[i].u.act.def);
    sb_puts(sb, "#else\n");
    for (int k = 0; k < PRIM_NKINDS; k++)
        if (used[k])
            sb_printf(sb, "%s;\n", generic[k].decl);
    for (size_t i = 0; i < net->nops; i++)
        if (first_use_with_block(net, i)) {
            act_decl(sb, "", net->ops[i].u.act.def);
            sb_puts(sb, ";\n");
        }
    sb_puts(sb, "#endif\n\n");
}

char *prim_emit_host_source(void)
{
    size_t nacts;
    const ActDef *const *acts = act_builtins(&nacts);
    for (size_t a = 0; a < nacts; a++)
        if (!c_ident_ok(acts[a]->name)) { /* the table is ntkc's own: a bug, caught at build time */
            fprintf(stderr, "gen_host_prims: activation name '%s' is not a C identifier\n", acts[a]->name);
            abort();
        }
    StrBuf sb;
    sb_init(&sb);
    sb_puts(&sb, "/* Generated by tools/gen_host_prims from the activation table and\n"
                 " * compiler/emit_prims.c. Do not edit. */\n"
                 "#include \"host_prims.h\"\n\n"
                 "#define NTKC_PI 3.14159265358979323846\n");
    prim_emit_libm(&sb);
    sb_puts(&sb, "\n");
    for (size_t a = 0; a < nacts; a++)
        if (prim_act_has_block(acts[a]))
            prim_emit_dual(&sb, acts[a]);
    for (int k = 0; k < PRIM_NKINDS; k++)
        generic_definition(&sb, "", (PrimKind)k);
    for (size_t a = 0; a < nacts; a++)
        if (prim_act_has_block(acts[a]))
            act_definition(&sb, "", acts[a]);
    sb_puts(&sb, "double ntkc_host_acos(double x) { return ntkc_acos(x); }\n"
                 "double ntkc_host_asin(double x) { return ntkc_asin(x); }\n\n");
    emit_image_host_source(&sb);
    for (size_t a = 0; a < nacts; a++)
        if (prim_act_has_block(acts[a]))
            act_plane_definition(&sb, "", acts[a]);
    sb_puts(&sb, "const HostPrimitive ntkc_host_primitives[] = {\n");
    for (int k = 0; k < PRIM_NKINDS; k++)
        sb_printf(&sb, "    {\"%s\", (HostFn)%s},\n", generic_names[k], generic_names[k]);
    for (size_t a = 0; a < nacts; a++)
        if (prim_act_has_block(acts[a]))
            sb_printf(&sb, "    {\"ntkc_block_act_%s\", (HostFn)ntkc_block_act_%s},\n", acts[a]->name,
                      acts[a]->name);
    emit_image_host_table(&sb);
    for (size_t a = 0; a < nacts; a++)
        if (prim_act_has_block(acts[a]))
            sb_printf(&sb, "    {\"ntkc_act_plane_%s\", (HostFn)ntkc_act_plane_%s},\n", acts[a]->name,
                      acts[a]->name);
    sb_puts(&sb, "};\n"
                 "const size_t ntkc_host_primitive_count =\n"
                 "    sizeof ntkc_host_primitives / sizeof ntkc_host_primitives[0];\n");
    return sb_take(&sb);
}
