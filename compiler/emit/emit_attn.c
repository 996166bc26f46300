/* Emits the kernel of a net with attention as C99; the plan is described in
 * emit_attn.h. The per-entry function
 *   ntkcnet_NAME_entry(x1, x2, v1, v2, fill, ws, out)
 * computes out[0] = NNGP and out[1] = NTK of one pair from the prep records
 * v1, v2; with fill != NULL (x1 = x2, v1 = v2 = fill) it writes the record as
 * the computation reaches each part of it. */
#include "emit_attn.h"

#include <stdio.h>
#include <string.h>

#include "code.h"
#include "emit_internal.h"
#include "emit_prims.h"
#include "kernel_text.h"

enum { MAX_SLOTS = 64, MAX_ACTS = 64 };

typedef struct Ea {
    const IrNet *net;
    Diag *err;
    StrBuf body, defs; /* the entry's body; duals and parameter arrays */
    const ActDef *duals[MAX_ACTS];
    size_t nduals, nparams;
    size_t prep; /* doubles of the record so far */
    size_t P;    /* pixels */
    int used[MAX_SLOTS];
    int peak; /* slots ever used; slots 0 and 1 are the matrix product's scratch (2·P²) */
    Code c; /* writes the entry function's body */
} Ea;

static int slot_new(Ea *e)
{
    for (int k = 2; k < MAX_SLOTS; k++)
        if (!e->used[k]) {
            e->used[k] = 1;
            e->peak = k + 1 > e->peak ? k + 1 : e->peak;
            return k;
        }
    diag_internal(e->err, "net '%s' nests branches too deeply for the attention emitter", e->net->name);
    return 1;
}

static void slot_free(Ea *e, int k) { e->used[k] = 0; }

/* The activation's dual (once per net) and the name of its parameter array. */
static const char *act_setup(Ea *e, const IrAct *a, char *name, size_t size)
{
    int seen = 0;
    for (size_t i = 0; i < e->nduals; i++)
        seen |= e->duals[i] == a->def;
    if (!seen) {
        if (e->nduals == MAX_ACTS) {
            diag_internal(e->err, "net '%s' uses too many distinct activations", e->net->name);
            return "0";
        }
        e->duals[e->nduals++] = a->def;
        prim_emit_dual(&e->defs, a->def);
    }
    if (a->def->nparams == 0)
        return "(const double *)0";
    snprintf(name, size, "ntkc_p%zu", e->nparams++);
    sb_printf(&e->defs, "static const double %s[%d] = {", name, a->def->nparams);
    for (int k = 0; k < a->def->nparams; k++) {
        sb_puts(&e->defs, k ? ", " : "");
        sb_double(&e->defs, a->p[k]);
    }
    sb_puts(&e->defs, "};\n");
    return name;
}

/* ---- the vector part: scalars s, t --------------------------------------- */

static void emit_vec_ops(Ea *e, const IrOp *ops, size_t n);

static void emit_vec_fanout(Ea *e, const IrFanout *f)
{
    code_line(&e->c, "{ /* %s */", f->residual ? "residual" : "fanout");
    e->c.depth++;
    code_line(&e->c, "double s_in = s, t_in = t, s_acc = 0.0, t_acc = 0.0;");
    for (size_t b = 0; b < f->nbranches; b++) {
        if (b > 0)
            code_line(&e->c, "s = s_in, t = t_in;");
        emit_vec_ops(e, f->branches[b].ops, f->branches[b].nops);
        code_line(&e->c, "ntkc_m_fanin(%d, %zu, %zu, %s, &s_acc, &t_acc, &s, &t, 1);", (int)f->mode, b, f->nbranches,
             code_lit(f->branches[b].scale * f->branches[b].scale).s);
    }
    code_line(&e->c, "s = s_acc, t = t_acc;");
    e->c.depth--;
    code_line(&e->c, "}");
}

static void emit_vec_ops(Ea *e, const IrOp *ops, size_t n)
{
    for (size_t i = 0; i < n && e->err->code == DIAG_OK; i++) {
        const IrOp *op = &ops[i];
        char name[32];
        switch (op->kind) {
        case IR_DENSE: {
            double w2 = op->u.dense.w_std * op->u.dense.w_std, b2 = op->u.dense.b_std * op->u.dense.b_std;
            code_line(&e->c, op->u.dense.frozen ? "s = %s * s + %s, t = %s * t; /* dense(trainable=false), line %d */"
                                                : "s = %s * s + %s, t = %s * t + s; /* dense, line %d */",
                      code_lit(w2).s, code_lit(b2).s, code_lit(w2).s, op->pos.line);
            break;
        }
        case IR_ACT: {
            const char *p = act_setup(e, &op->u.act, name, sizeof name);
            code_line(&e->c, "if (fill) /* %s, line %d */", op->u.act.def->name, op->pos.line);
            code_line(&e->c, "    fill[%zu] = s > 0.0 ? s : 0.0;", e->prep);
            code_line(&e->c, "{");
            code_line(&e->c, "    double T_, Td_;");
            code_line(&e->c, "    ntkc_dual_%s(%s, v1[%zu], s, v2[%zu], &T_, &Td_);", op->u.act.def->name, p, e->prep,
                 e->prep);
            code_line(&e->c, "    s = T_, t *= Td_;");
            code_line(&e->c, "}");
            e->prep++;
            break;
        }
        case IR_LAYER_NORM:
            code_line(&e->c, "if (fill) /* layer_norm, line %d */", op->pos.line);
            code_line(&e->c, "    fill[%zu] = s > 0.0 ? s : 0.0;", e->prep);
            code_line(&e->c, "{");
            code_line(&e->c, "    double r_ = 1.0 / sqrt((v1[%zu] + %s) * (v2[%zu] + %s));", e->prep, code_lit(op->u.ln.eps).s,
                 e->prep, code_lit(op->u.ln.eps).s);
            code_line(&e->c, "    s *= r_, t *= r_;");
            code_line(&e->c, "}");
            e->prep++;
            break;
        case IR_FANOUT:
            emit_vec_fanout(e, &op->u.fanout);
            break;
        default:
            diag_internal(e->err, "attention emitter: op at line %d is not a vector op", op->pos.line);
            return;
        }
    }
}

/* ---- the pixel part: P×P matrices in slots pl[S], pl[T] ------------------ */

static void emit_mat_ops(Ea *e, const IrOp *ops, size_t n, int *S, int *T, size_t *stop);

static void emit_mat_fanout(Ea *e, const IrFanout *f, int *S, int *T)
{
    int Sa = slot_new(e), Ta = slot_new(e), consumed = 0;
    code_line(&e->c, "/* %s: %zu branches */", f->residual ? "residual" : "fanout", f->nbranches);
    for (size_t b = 0; b < f->nbranches && e->err->code == DIAG_OK; b++) {
        const IrBranch *br = &f->branches[b];
        int Sb = *S, Tb = *T;
        if (br->nops > 0 && b + 1 < f->nbranches) {
            Sb = slot_new(e), Tb = slot_new(e);
            code_line(&e->c, "ntkc_m_copy(pl[%d], pl[%d], NTKC_PP);", Sb, *S);
            code_line(&e->c, "ntkc_m_copy(pl[%d], pl[%d], NTKC_PP);", Tb, *T);
        }
        consumed |= br->nops > 0 && b + 1 == f->nbranches;
        size_t stop = br->nops;
        emit_mat_ops(e, br->ops, br->nops, &Sb, &Tb, &stop);
        code_line(&e->c, "ntkc_m_fanin(%d, %zu, %zu, %s, pl[%d], pl[%d], pl[%d], pl[%d], NTKC_PP);", (int)f->mode, b,
             f->nbranches, code_lit(br->scale * br->scale).s, Sa, Ta, Sb, Tb);
        if (br->nops > 0) {
            slot_free(e, Sb);
            slot_free(e, Tb);
        }
    }
    if (!consumed) {
        slot_free(e, *S);
        slot_free(e, *T);
    }
    *S = Sa;
    *T = Ta;
}

/* Before an activation or layer_norm: the prep run records Σ(p, p). */
static void emit_fill_diag(Ea *e, int S)
{
    code_line(&e->c, "if (fill)");
    code_line(&e->c, "    ntkc_m_fill_diag(fill + %zu, pl[%d], NTKC_P);", e->prep, S);
}

static void emit_mat_attention(Ea *e, const IrOp *op, int S, int T)
{
    const IrAttention *a = &op->u.attn;
    double ov = a->w_v * a->w_out, b2 = a->b_std * a->b_std;
    if (!a->linear) {
        double c = a->w_q * a->w_k * ov;
        code_line(&e->c, "ntkc_m_attn_sqrt(pl[%d], pl[%d], NTKC_PP, %s, %s); /* attention (sqrt, identity), line %d */", S,
             T, code_lit(c * c).s, code_lit(b2).s, op->pos.line);
        return;
    }
    code_line(&e->c, "if (fill) /* attention, line %d: the weights A_x */", op->pos.line);
    code_line(&e->c, "    ntkc_m_weights(pl[%d], NTKC_P, %d, %s, fill + %zu);", S, (int)a->mech, code_lit(a->w_q * a->w_k).s,
         e->prep);
    code_line(&e->c, "ntkc_m_attn_linear(v1 + %zu, v2 + %zu, pl[%d], pl[%d], NTKC_P, %s, %s, pl[0]);", e->prep, e->prep, S,
         T, code_lit(ov * ov).s, code_lit(b2).s);
    e->prep += e->P * e->P;
}

/* Emits ops until one reduces the pixels to a vector: *stop is its index
 * (n when none does). */
static void emit_mat_ops(Ea *e, const IrOp *ops, size_t n, int *S, int *T, size_t *stop)
{
    char name[32];
    for (size_t i = 0; i < n && e->err->code == DIAG_OK; i++) {
        const IrOp *op = &ops[i];
        switch (op->kind) {
        case IR_DENSE:
            code_line(&e->c, "%s(pl[%d], pl[%d], NTKC_PP, %s, %s); /* dense, line %d */",
                 op->u.dense.frozen ? "ntkc_m_dense_frozen" : "ntkc_m_dense", *S, *T,
                 code_lit(op->u.dense.w_std * op->u.dense.w_std).s, code_lit(op->u.dense.b_std * op->u.dense.b_std).s,
                 op->pos.line);
            break;
        case IR_ACT: {
            const char *p = act_setup(e, &op->u.act, name, sizeof name);
            emit_fill_diag(e, *S);
            code_line(&e->c, "ntkc_m_act(ntkc_dual_%s, %s, pl[%d], pl[%d], NTKC_P, v1 + %zu, v2 + %zu); /* line %d */",
                 op->u.act.def->name, p, *S, *T, e->prep, e->prep, op->pos.line);
            e->prep += e->P;
            break;
        }
        case IR_LAYER_NORM:
            emit_fill_diag(e, *S);
            code_line(&e->c, "ntkc_m_ln(pl[%d], pl[%d], NTKC_P, v1 + %zu, v2 + %zu, %s); /* layer_norm, line %d */", *S, *T,
                 e->prep, e->prep, code_lit(op->u.ln.eps).s, op->pos.line);
            e->prep += e->P;
            break;
        case IR_ATTENTION:
            emit_mat_attention(e, op, *S, *T);
            break;
        case IR_FANOUT:
            emit_mat_fanout(e, &op->u.fanout, S, T);
            break;
        case IR_GLOBAL_POOL: {
            double c = op->u.gpool.average ? 1.0 / (double)e->P : 1.0;
            code_line(&e->c, "ntkc_m_global(pl[%d], pl[%d], NTKC_PP, %s, &s, &t); /* %s, line %d */", *S, *T, code_lit(c * c).s,
                 op->u.gpool.average ? "global_avg_pool" : "global_sum_pool", op->pos.line);
            *stop = i;
            return;
        }
        case IR_FLATTEN:
            code_line(&e->c, "ntkc_m_flatten(pl[%d], pl[%d], NTKC_P, &s, &t); /* flatten, line %d */", *S, *T, op->pos.line);
            *stop = i;
            return;
        default:
            diag_internal(e->err, "attention emitter: op at line %d has no matrix form", op->pos.line);
            return;
        }
    }
}

/* ---- the ABI functions ---------------------------------------------------- */

static void emit_functions(StrBuf *sb, const Ea *e, size_t ws)
{
    const char *n = e->net->name;
    size_t ps = e->prep + 2; /* the record, then K(x, x): NNGP and NTK */
    sb_printf(sb, "size_t ntkcnet_%s_prep_size(void) { return %zu; }\n\n", n, ps);
    sb_printf(sb, "int ntkcnet_%s_uses_gram(void) { return 0; }\n\n", n);
    sb_printf(sb,
              "void ntkcnet_%s_prep(size_t n, const double *x, size_t dim, double *prep)\n"
              "{\n"
              "    double *ws = malloc(%zu * sizeof(double)), out[2];\n"
              "    if (!ws) { /* no memory: poison the records so every entry reports non-finite */\n"
              "        for (size_t k = 0; k < n * %zu; k++)\n"
              "            prep[k] = 0.0 / 0.0;\n"
              "        return;\n"
              "    }\n"
              "    for (size_t i = 0; i < n; i++) {\n"
              "        double *rec = prep + i * %zu;\n"
              "        ntkcnet_%s_entry(x + i * dim, x + i * dim, rec, rec, rec, ws, out);\n"
              "        rec[%zu] = out[0], rec[%zu] = out[1];\n"
              "    }\n"
              "    free(ws);\n"
              "}\n\n",
              n, ws, ps, ps, n, ps - 2, ps - 1);
    sb_printf(sb,
              "size_t ntkcnet_%s_tile(size_t rows, size_t cols,\n"
              "                    const double *x1, const double *prep1,\n"
              "                    const double *x2, const double *prep2, size_t dim,\n"
              "                    const double *gram, size_t ldg,\n"
              "                    double *nngp, double *ntk, size_t ldo)\n"
              "{\n"
              "    double *ws = malloc(%zu * sizeof(double)), out[2];\n"
              "    size_t bad = 0;\n"
              "    (void)gram, (void)ldg;\n"
              "    if (!ws)\n"
              "        return rows * cols;\n"
              "    for (size_t i = 0; i < rows; i++)\n"
              "        for (size_t j = 0; j < cols; j++) {\n"
              "            ntkcnet_%s_entry(x1 + i * dim, x2 + j * dim, prep1 + i * %zu, prep2 + j * %zu, 0, ws, out);\n"
              "            bad += ntkc_m_put(nngp, ntk, i * ldo + j, out[0], out[1]);\n"
              "        }\n"
              "    free(ws);\n"
              "    return bad;\n"
              "}\n\n",
              n, ws, n, ps, ps);
    sb_printf(sb,
              "int ntkcnet_%s(size_t n1, const double *x1, size_t n2, const double *x2,\n"
              "            size_t dim, double *nngp, double *ntk)\n"
              "{\n"
              "    if (dim != %zu)\n"
              "        return 1;\n"
              "    double *p1 = malloc((n1 + n2 + 1) * %zu * sizeof(double));\n"
              "    if (!p1)\n"
              "        return 2;\n"
              "    double *p2 = p1 + n1 * %zu;\n"
              "    ntkcnet_%s_prep(n1, x1, dim, p1);\n"
              "    ntkcnet_%s_prep(n2, x2, dim, p2);\n"
              "    size_t bad = ntkcnet_%s_tile(n1, n2, x1, p1, x2, p2, dim, 0, 0, nngp, ntk, n2);\n"
              "    free(p1);\n"
              "    return bad ? 3 : 0;\n"
              "}\n",
              n, e->net->input.dim, ps, ps, n, n, n);
}

void emit_attn_host_source(StrBuf *sb)
{
    /* after emit_image_host_source, which defines NTKC_FN (external linkage) */
    sb_puts(sb, "\n/* Attention-kernel helpers (compiler/kernel_c/attn_runtime.c) */\n");
    sb_puts(sb, emit_attn_runtime_common);
    sb_puts(sb, emit_attn_runtime_functions);
}

void emit_attn_host_table(StrBuf *sb)
{
    for (unsigned i = 0; i < emit_attn_runtime_count; i++)
        sb_printf(sb, "    {\"%s\", (HostFn)%s},\n", emit_attn_runtime_names[i], emit_attn_runtime_names[i]);
}

char *emit_attn_c(const IrNet *net, const char *source_name, Diag *err)
{
    if (net->input.kind != IR_INPUT_IMAGE) {
        diag_internal(err, "attention emitter: net '%s' does not take images or sequences", net->name);
        return NULL;
    }
    Ea e = {.net = net, .err = err, .peak = 4, .P = net->input.h * net->input.w};
    sb_init(&e.body);
    sb_init(&e.defs);
    code_init(&e.c, &e.body, net->name);
    e.c.depth = 1;
    e.used[0] = e.used[1] = e.used[2] = e.used[3] = 1;
    int S = 2, T = 3;
    size_t stop = net->nops;
    code_line(&e.c, "ntkc_m_load(x1, x2, NTKC_P, %zu, pl[2], pl[3]);", net->input.c);
    emit_mat_ops(&e, net->ops, net->nops, &S, &T, &stop);
    if (err->code == DIAG_OK && stop == net->nops)
        diag_internal(err, "net '%s' does not reduce its pixels with global pooling or flatten", net->name);
    if (err->code == DIAG_OK)
        emit_vec_ops(&e, net->ops + stop + 1, net->nops - stop - 1);
    if (err->code != DIAG_OK) {
        sb_free(&e.body);
        sb_free(&e.defs);
        return NULL;
    }
    size_t pp = e.P * e.P, ws = (size_t)e.peak * pp;
    StrBuf sb;
    sb_init(&sb);
    Code c;
    code_init(&c, &sb, net->name);
    c.bad_name |= e.c.bad_name;
    emit_prelude(&c, net, source_name);
    emit_api_prototypes(&c, net);
    sb_printf(&sb, "#define NTKC_P %zu\n#define NTKC_PP %zu\n", e.P, pp);
    sb_puts(&sb, emit_attn_runtime_common);
    sb_puts(&sb, "\n#ifndef NTKC_HOST_PRIMITIVES\n#define NTKC_FN static inline\n");
    sb_puts(&sb, emit_attn_runtime_functions);
    sb_puts(&sb, "#else /* the library's optimised copies */\n");
    sb_puts(&sb, emit_attn_runtime_decls);
    sb_puts(&sb, "#endif\n\n");
    sb_puts(&sb, e.defs.data ? e.defs.data : "");
    sb_printf(&sb,
              "\n/* One entry: out[0] = NNGP, out[1] = NTK of (x1, x2); v1, v2 their prep\n"
              " * records; fill != NULL: the prep run on (x, x), writing the record. */\n"
              "static void ntkcnet_%s_entry(const double *x1, const double *x2, const double *v1, const double *v2,\n"
              "                          double *fill, double *ws, double *out)\n"
              "{\n"
              "    double s = 0.0, t = 0.0, *pl[%d];\n"
              "    for (int k = 0; k < %d; k++)\n"
              "        pl[k] = ws + k * (size_t)NTKC_PP;\n"
              "    (void)v1, (void)v2, (void)fill;\n",
              net->name, e.peak, e.peak);
    sb_puts(&sb, e.body.data);
    sb_puts(&sb, "    out[0] = s, out[1] = t;\n}\n\n");
    emit_functions(&sb, &e, ws);
    sb_free(&e.body);
    sb_free(&e.defs);
    return emit_finish(&c, &sb, err);
}
