/* Block primitives, printed from one text into both places they live: each
 * net's C file (static reference definitions) and the host file compiled
 * into the library (external definitions plus a symbol table). The generic
 * ones and the arithmetic before them are real C in compiler/kernel_c/
 * (kernel_text.h); the per-activation loops are short templates here.
 * Restrict-qualified pointers and branch-free bodies let gcc vectorise every
 * loop; libtcc compiles the same text when a net is emitted stand-alone. */
#include "emit_prims.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_text.h"
#include "emit_attn.h"
#include "emit_image.h"
#include "kernel_text.h"

typedef enum PrimKind { PRIM_LOAD, PRIM_DENSE_NTK, PRIM_DENSE_STD, PRIM_STORE, PRIM_RELU_QR, PRIM_RECORDS, PRIM_NKINDS } PrimKind;

/* kernel_c/block_prims.c, one function each: declaration, newline, body. */
static const char *const generic[PRIM_NKINDS] = {
    [PRIM_LOAD] = kernel_prim_load,
    [PRIM_DENSE_NTK] = kernel_prim_dense_ntk,
    [PRIM_DENSE_STD] = kernel_prim_dense_std,
    [PRIM_STORE] = kernel_prim_store,
    [PRIM_RELU_QR] = kernel_prim_relu_qr,
    [PRIM_RECORDS] = kernel_prim_records,
};

/* The float32 versions, names suffixed _f: block_prims.c turned into
 * build/gen/kernel_c/block_prims_f.c by make (kernel_c/float.sed). */
static const char *const generic_f[PRIM_NKINDS] = {
    [PRIM_LOAD] = kernel_prim_f_load,
    [PRIM_DENSE_NTK] = kernel_prim_f_dense_ntk,
    [PRIM_DENSE_STD] = kernel_prim_f_dense_std,
    [PRIM_STORE] = kernel_prim_f_store,
    [PRIM_RELU_QR] = kernel_prim_f_relu_qr,
    [PRIM_RECORDS] = kernel_prim_f_records,
};

static const char generic_names[PRIM_NKINDS][24] = {
    [PRIM_LOAD] = "ntkc_block_load",
    [PRIM_DENSE_NTK] = "ntkc_block_dense_ntk",
    [PRIM_DENSE_STD] = "ntkc_block_dense_std",
    [PRIM_STORE] = "ntkc_block_store",
    [PRIM_RELU_QR] = "ntkc_block_relu_qr",
    [PRIM_RECORDS] = "ntkc_block_records",
};

/* The length of a primitive's declaration: up to its body's "{" line. */
static int decl_len(const char *text)
{
    const char *body = strstr(text, "\n{\n");
    if (!body) { /* kernel_c/block_prims*.c is ntkc's own: a bug */
        fprintf(stderr, "emit_prims: a primitive has no body: %.40s\n", text);
        abort();
    }
    return (int)(body - text);
}

void prim_emit_dual(StrBuf *sb, const ActDef *def)
{
    sb_printf(sb,
              "NTKC_INLINE void ntkc_dual_%s(const double *p, double s11, double s12, double s22,\n"
              "    double *T, double *Td);\n",
              def->name);
    sb_puts(sb, def->c_dual);
    sb_puts(sb, "\n");
}

int prim_uses_relu_qr(const IrOp *op)
{
    return op->kind == IR_ACT && op->rec.sqrt && !op->out.spatial;
}

int prim_graph_uses_relu_qr_f(const IrOp *op)
{
    return op->kind == IR_ACT && op->u.act.def->sqrt_records;
}

int prim_act_has_block(const ActDef *def)
{
    return def->c_dual != NULL && act_lookup(def->name) == def;
}

void prim_emit_libm(StrBuf *sb)
{
    sb_puts(sb, kernel_libm);
    sb_puts(sb, kernel_math);
}

static void act_decl(StrBuf *sb, const char *storage, const ActDef *def)
{
    sb_printf(sb,
              "%svoid ntkc_block_act_%s(const double *p, size_t m, double v1,\n"
              "    const double *restrict v2,\n"
              "    double *restrict s, double *restrict t)",
              storage, def->name);
}

/* The activation's dual applied across a block; v2 holds the column inputs'
 * variances, contiguous. */
static void act_definition(StrBuf *sb, const char *storage, const ActDef *def)
{
    act_decl(sb, storage, def);
    sb_printf(sb,
              "\n{\n"
              "    for (size_t j = 0; j < m; j++) {\n"
              "        double T, Td;\n"
              "        ntkc_dual_%s(p, v1, s[j], v2[j], &T, &Td);\n"
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

/* ntkc_act_plane (compiler/kernel_c/image_runtime.c) with the dual fixed, so the
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

static void generic_definition(StrBuf *sb, const char *storage, const char *text)
{
    sb_printf(sb, "%s%s\n", storage, text);
}

/* Which generic primitives the tile function of net calls. */
static void generic_uses(const IrNet *net, int single, int used[PRIM_NKINDS])
{
    memset(used, 0, PRIM_NKINDS * sizeof *used);
    /* the FC tile (emit.c) loads, stores and transposes records; a graph
     * net's segments work on the node-pair matrices in place */
    used[PRIM_LOAD] = used[PRIM_STORE] = net->input.kind != IR_INPUT_GRAPH;
    used[PRIM_RECORDS] = net->family == IR_FAMILY_FC; /* the FC tile (emit.c) */
    for (size_t i = 0; i < net->nops; i++)
        if (net->ops[i].kind == IR_DENSE)
            used[net->param == PARAM_NTK && !net->ops[i].u.dense.frozen ? PRIM_DENSE_NTK : PRIM_DENSE_STD] = 1;
        else if (prim_uses_relu_qr(&net->ops[i]) ||
                 (single && net->family == IR_FAMILY_GRAPH && prim_graph_uses_relu_qr_f(&net->ops[i])))
            used[PRIM_RELU_QR] = 1;
}

/* Activations whose block function the tile calls, each once, in order of
 * first use: built-ins (host copy: host = 1) or formula activations, whose
 * block function only the net's file has (host = 0). */
static int first_use_with_block(const IrNet *net, size_t i, int host)
{
    if (net->ops[i].kind != IR_ACT || prim_act_has_block(net->ops[i].u.act.def) != host)
        return 0;
    if (prim_uses_relu_qr(&net->ops[i])) /* ntkc_block_relu_qr instead */
        return 0;
    for (size_t j = 0; j < i; j++)
        if (net->ops[j].kind == IR_ACT && net->ops[j].u.act.def == net->ops[i].u.act.def)
            return 0;
    return 1;
}

void prim_emit_for_net(StrBuf *sb, const IrNet *net, int single)
{
    const char *const *text = single ? generic_f : generic;
    int used[PRIM_NKINDS];
    generic_uses(net, single, used);
    sb_puts(sb, "/* Block primitives: the loops of one layer over a block of columns. The\n"
                " * libtcc back end links optimised copies compiled into ntkc instead. */\n"
                "#ifndef NTKC_HOST_PRIMITIVES\n");
    for (int k = 0; k < PRIM_NKINDS; k++)
        if (used[k])
            generic_definition(sb, "static ", text[k]);
    for (size_t i = 0; i < net->nops; i++)
        if (!single && first_use_with_block(net, i, 1))
            act_definition(sb, "static ", net->ops[i].u.act.def);
    sb_puts(sb, "#else\n");
    for (int k = 0; k < PRIM_NKINDS; k++)
        if (used[k])
            sb_printf(sb, "%.*s;\n", decl_len(text[k]), text[k]);
    for (size_t i = 0; i < net->nops; i++)
        if (!single && first_use_with_block(net, i, 1)) {
            act_decl(sb, "", net->ops[i].u.act.def);
            sb_puts(sb, ";\n");
        }
    sb_puts(sb, "#endif\n");
    for (size_t i = 0; i < net->nops; i++)
        if (!single && first_use_with_block(net, i, 0))
            act_definition(sb, "static ", net->ops[i].u.act.def);
    sb_puts(sb, "\n");
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
                 " * compiler/emit/emit_prims.c. Do not edit. */\n"
                 "#include \"host_prims.h\"\n\n"
                 "#define NTKC_PI 3.14159265358979323846\n");
    prim_emit_libm(&sb);
    sb_puts(&sb, kernel_math_f);
    sb_puts(&sb, "\n");
    for (size_t a = 0; a < nacts; a++)
        if (prim_act_has_block(acts[a]))
            prim_emit_dual(&sb, acts[a]);
    for (int k = 0; k < PRIM_NKINDS; k++) {
        generic_definition(&sb, "", generic[k]);
        generic_definition(&sb, "", generic_f[k]);
    }
    for (size_t a = 0; a < nacts; a++)
        if (prim_act_has_block(acts[a]))
            act_definition(&sb, "", acts[a]);
    sb_puts(&sb, "double ntkc_host_acos(double x) { return ntkc_acos(x); }\n"
                 "double ntkc_host_asin(double x) { return ntkc_asin(x); }\n"
                 "double ntkc_host_snap_f(float s12, float v1, float v2) { return ntkc_snap_f(s12, v1, v2); }\n\n");
    emit_image_host_source(&sb);
    emit_attn_host_source(&sb);
    for (size_t a = 0; a < nacts; a++)
        if (prim_act_has_block(acts[a]))
            act_plane_definition(&sb, "", acts[a]);
    sb_puts(&sb, emit_image_runtime_end);
    sb_puts(&sb, "const HostPrimitive ntkc_host_primitives[] = {\n");
    for (int k = 0; k < PRIM_NKINDS; k++)
        sb_printf(&sb, "    {\"%s\", (HostFn)%s},\n    {\"%s_f\", (HostFn)%s_f},\n", generic_names[k], generic_names[k],
                  generic_names[k], generic_names[k]);
    for (size_t a = 0; a < nacts; a++)
        if (prim_act_has_block(acts[a]))
            sb_printf(&sb, "    {\"ntkc_block_act_%s\", (HostFn)ntkc_block_act_%s},\n", acts[a]->name,
                      acts[a]->name);
    emit_image_host_table(&sb);
    emit_attn_host_table(&sb);
    for (size_t a = 0; a < nacts; a++)
        if (prim_act_has_block(acts[a]))
            sb_printf(&sb, "    {\"ntkc_act_plane_%s\", (HostFn)ntkc_act_plane_%s},\n", acts[a]->name,
                      acts[a]->name);
    sb_puts(&sb, "};\n"
                 "const size_t ntkc_host_primitive_count =\n"
                 "    sizeof ntkc_host_primitives / sizeof ntkc_host_primitives[0];\n");
    return sb_take(&sb);
}
