/* Spatial concat in the all-pairs back end (emit_attn_concat.h). */
#include "emit_attn_concat.h"

/* IrConcatAxis → the grid's axis: 0 slices, 1 rows, 2 columns. */
static int grid_axis(IrConcatAxis a) { return a == IR_CONCAT_DEPTH ? 0 : a == IR_CONCAT_HEIGHT ? 1 : 2; }

int emit_attn_concat_spatial(const IrFanout *f) { return f->mode == IR_FANIN_CONCAT && f->axis != IR_CONCAT_CHANNELS; }

void emit_attn_concat_grid(const IrFanout *f, const size_t in[3], size_t out[3])
{
    for (int a = 0; a < 3; a++)
        out[a] = in[a] * (a == grid_axis(f->axis) ? f->nbranches : 1);
}

/* Kernel-time helpers: copy a branch's (z·h·w)² block X into the output's
 * O, x1's positions shifted by o1 and x2's by o2 along axis a (the output
 * n times as long there). */
static const char cat_text[] =
    "/* spatial concat: X (z x h x w grid) into O (n times as long along axis a), shifted by o1, o2 */\n"
    "static long ntkc_m_cat_at(const int *g, long p, int off)\n"
    "{\n"
    "    int Ho = g[1] * (g[3] == 1 ? g[4] : 1), Wo = g[2] * (g[3] == 2 ? g[4] : 1);\n"
    "    long k = p / ((long)g[1] * g[2]), y = p / g[2] % g[1], x = p % g[2];\n"
    "    k += g[3] == 0 ? off : 0, y += g[3] == 1 ? off : 0, x += g[3] == 2 ? off : 0;\n"
    "    return (k * Ho + y) * Wo + x;\n"
    "}\n"
    "static void ntkc_m_cat_block(NTKC_ELEM *O, const NTKC_ELEM *X, const int *g, int o1, int o2)\n"
    "{\n"
    "    long P = (long)g[0] * g[1] * g[2], Po = P * g[4];\n"
    "    for (long p = 0; p < P; p++) {\n"
    "        long r = ntkc_m_cat_at(g, p, o1) * Po;\n"
    "        for (long q = 0; q < P; q++)\n"
    "            O[r + ntkc_m_cat_at(g, q, o2)] = X[p * P + q];\n"
    "    }\n"
    "}\n";

void emit_attn_concat_join(Code *c, StrBuf *defs, int *helper, const IrFanout *f, size_t b, const size_t in[3],
                           int Sa, int Ta, int Sb, int Tb, int S, int T)
{
    if (!*helper) { /* the slots' element type: float under --precision single */
        sb_printf(defs, "#ifndef NTKC_ELEM\n#define NTKC_ELEM %s\n#endif\n", c->single ? "float" : "double");
        sb_puts(defs, cat_text);
    }
    *helper = 1;
    int a = grid_axis(f->axis);
    size_t n = in[a], P = in[0] * in[1] * in[2], Po = P * f->nbranches;
    code_line(c, "{ /* concat along %s: branch %zu of %zu */",
              a == 0 ? "depth" : a == 1 ? "height" : "width", b + 1, f->nbranches);
    c->depth++;
    code_line(c, "static const int g_[5] = {%zu, %zu, %zu, %d, %zu};", in[0], in[1], in[2], a, f->nbranches);
    if (b == 0) /* the blocks no branch writes stay 0 */
        code_line(c, "for (size_t e_ = 0; e_ < %zu; e_++) pl[%d][e_] = pl[%d][e_] = 0.0;", Po * Po, Sa, Ta);
    code_line(c, "ntkc_m_cat_block(pl[%d], pl[%d], g_, %zu, %zu);", Sa, Sb, b * n, b * n);
    code_line(c, "ntkc_m_cat_block(pl[%d], pl[%d], g_, %zu, %zu);", Ta, Tb, b * n, b * n);
    for (size_t j = 0; f->branches[b].nops == 0 && j < b; j++) /* identity × identity: the input's kernel */
        if (f->branches[j].nops == 0) {
            code_line(c, "ntkc_m_cat_block(pl[%d], pl[%d], g_, %zu, %zu);", Sa, S, b * n, j * n);
            code_line(c, "ntkc_m_cat_block(pl[%d], pl[%d], g_, %zu, %zu);", Sa, S, j * n, b * n);
            code_line(c, "ntkc_m_cat_block(pl[%d], pl[%d], g_, %zu, %zu);", Ta, T, b * n, j * n);
            code_line(c, "ntkc_m_cat_block(pl[%d], pl[%d], g_, %zu, %zu);", Ta, T, j * n, b * n);
        }
    c->depth--;
    code_line(c, "}");
}
