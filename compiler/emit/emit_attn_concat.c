/* Spatial concat in the all-pairs back end (emit_attn_concat.h). */
#include "emit_attn_concat.h"

/* IrConcatAxis → the grid's axis: 0 slices, 1 rows, 2 columns. */
static int grid_axis(IrConcatAxis a) { return a == IR_CONCAT_DEPTH ? 0 : a == IR_CONCAT_HEIGHT ? 1 : 2; }

int emit_attn_concat_spatial(const IrFanout *f) { return f->mode == IR_FANIN_CONCAT && f->axis != IR_CONCAT_CHANNELS; }

/* An op's output grid (slices, rows per slice, columns; one slice on images). */
static void op_grid(const IrOp *op, size_t g[3])
{
    g[0] = op->out.d ? op->out.d : 1;
    g[1] = op->out.h / g[0], g[2] = op->out.w;
}

void emit_attn_concat_grid(const IrOp *op, size_t out[3]) { op_grid(op, out); }

/* Branch k's output grid: its last op's, or the fanout's input for the identity. */
static void branch_grid(const IrFanout *f, size_t k, const size_t in[3], size_t g[3])
{
    const IrBranch *br = &f->branches[k];
    if (br->nops == 0) {
        g[0] = in[0], g[1] = in[1], g[2] = in[2];
        return;
    }
    op_grid(&br->ops[br->nops - 1], g);
}

/* Where branch k starts along the axis: after the branches before it. */
static size_t branch_offset(const IrFanout *f, size_t k, const size_t in[3])
{
    size_t off = 0, g[3];
    for (size_t j = 0; j < k; j++) {
        branch_grid(f, j, in, g);
        off += g[grid_axis(f->axis)];
    }
    return off;
}

/* Kernel-time helpers: copy a block X of a z·h·w grid's pairs into the
 * output's O (grid Zo·Ho·Wo), x1's positions shifted by o1 and x2's by o2
 * along axis a. */
static const char cat_text[] =
    "/* spatial concat: X (g[0] x g[1] x g[2] grid) into O (g[4] x g[5] x g[6]), shifted by o1, o2 along g[3] */\n"
    "static long ntkc_m_cat_at(const int *g, long p, int off)\n"
    "{\n"
    "    long k = p / ((long)g[1] * g[2]), y = p / g[2] % g[1], x = p % g[2];\n"
    "    k += g[3] == 0 ? off : 0, y += g[3] == 1 ? off : 0, x += g[3] == 2 ? off : 0;\n"
    "    return (k * g[5] + y) * g[6] + x;\n"
    "}\n"
    "static void ntkc_m_cat_block(NTKC_ELEM *O, const NTKC_ELEM *X, const int *g, int o1, int o2)\n"
    "{\n"
    "    long P = (long)g[0] * g[1] * g[2], Po = (long)g[4] * g[5] * g[6];\n"
    "    for (long p = 0; p < P; p++) {\n"
    "        long r = ntkc_m_cat_at(g, p, o1) * Po;\n"
    "        for (long q = 0; q < P; q++)\n"
    "            O[r + ntkc_m_cat_at(g, q, o2)] = X[p * P + q];\n"
    "    }\n"
    "}\n";

static const char *const axis_names[3] = {"depth", "height", "width"};

int emit_attn_concat_join(Code *c, StrBuf *defs, int *helper, const IrOp *op, size_t b, const size_t in[3],
                          const size_t got[3], int Sa, int Ta, int Sb, int Tb, int S, int T)
{
    const IrFanout *f = &op->u.fanout;
    size_t g[3], out[3];
    branch_grid(f, b, in, g);
    op_grid(op, out);
    if (g[0] != got[0] || g[1] != got[1] || g[2] != got[2])
        return 0;
    if (!*helper) { /* the slots' element type: float under --precision single */
        sb_printf(defs, "#ifndef NTKC_ELEM\n#define NTKC_ELEM %s\n#endif\n", c->single ? "float" : "double");
        sb_puts(defs, cat_text);
    }
    *helper = 1;
    int a = grid_axis(f->axis);
    size_t Po = out[0] * out[1] * out[2], ob = branch_offset(f, b, in);
    code_line(c, "{ /* concat along %s: branch %zu of %zu */", axis_names[a], b + 1, f->nbranches);
    c->depth++;
    code_line(c, "static const int g_[7] = {%zu, %zu, %zu, %d, %zu, %zu, %zu};", g[0], g[1], g[2], a, out[0], out[1],
              out[2]);
    if (b == 0) /* the blocks no branch writes stay 0 */
        code_line(c, "for (size_t e_ = 0; e_ < %zu; e_++) pl[%d][e_] = pl[%d][e_] = 0.0;", Po * Po, Sa, Ta);
    code_line(c, "ntkc_m_cat_block(pl[%d], pl[%d], g_, %zu, %zu);", Sa, Sb, ob, ob);
    code_line(c, "ntkc_m_cat_block(pl[%d], pl[%d], g_, %zu, %zu);", Ta, Tb, ob, ob);
    for (size_t j = 0; f->branches[b].nops == 0 && j < b; j++) /* identity × identity: the input's kernel */
        if (f->branches[j].nops == 0) {
            size_t oj = branch_offset(f, j, in);
            code_line(c, "ntkc_m_cat_block(pl[%d], pl[%d], g_, %zu, %zu);", Sa, S, ob, oj);
            code_line(c, "ntkc_m_cat_block(pl[%d], pl[%d], g_, %zu, %zu);", Sa, S, oj, ob);
            code_line(c, "ntkc_m_cat_block(pl[%d], pl[%d], g_, %zu, %zu);", Ta, T, ob, oj);
            code_line(c, "ntkc_m_cat_block(pl[%d], pl[%d], g_, %zu, %zu);", Ta, T, oj, ob);
        }
    c->depth--;
    code_line(c, "}");
    return 1;
}
