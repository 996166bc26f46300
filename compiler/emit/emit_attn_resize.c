/* image_resize on the all-pairs matrices (emit_attn_resize.h). */
#include "emit_attn_resize.h"

#include <stdlib.h>

#include "ir_resize.h"

size_t emit_attn_resize_span(const IrOp *op, size_t h, size_t w)
{
    size_t ho = op->out.h, wo = op->out.w;
    return (ho > h ? ho : h) * (wo > w ? wo : w);
}

/* The kernel-time helper: out ← R applied along axis k of the 4-D array M
 * (dims d[0..3], row-major), R m × d[k]; out has m along axis k. */
static const char axis_map_text[] =
    "/* image_resize: out <- R along axis k of M (d[0] x d[1] x d[2] x d[3]), R m x d[k] */\n"
    "static void ntkc_m_axis_map(const double *M, double *out, const int *d, int k, int m, const double *R)\n"
    "{\n"
    "    int inner = 1, outer = 1;\n"
    "    for (int a = k + 1; a < 4; a++)\n"
    "        inner *= d[a];\n"
    "    for (int a = 0; a < k; a++)\n"
    "        outer *= d[a];\n"
    "    for (int o = 0; o < outer; o++)\n"
    "        for (int r = 0; r < m; r++)\n"
    "            for (int i = 0; i < inner; i++) {\n"
    "                double s = 0.0;\n"
    "                for (int j = 0; j < d[k]; j++)\n"
    "                    s += R[r * d[k] + j] * M[((size_t)o * d[k] + j) * inner + i];\n"
    "                out[((size_t)o * m + r) * inner + i] = s;\n"
    "            }\n"
    "}\n";

/* static const double NAME[] = {...}: one axis's weights. */
static void weights(StrBuf *defs, const char *name, const IrResize *r, size_t n_in, size_t n_out)
{
    double *R = malloc(n_in * n_out * sizeof *R);
    if (R == NULL) { /* no memory: the emitted file fails to compile, never computes a wrong kernel */
        sb_puts(defs, "#error \"ntkc: out of memory while emitting image_resize\"\n");
        return;
    }
    ir_resize_weights(r, n_in, n_out, R);
    sb_printf(defs, "static const double %s[%zu] = {", name, n_in * n_out);
    for (size_t k = 0; k < n_in * n_out; k++) {
        sb_puts(defs, k ? ", " : "");
        sb_double(defs, R[k]);
    }
    sb_puts(defs, "};\n");
    free(R);
}

void emit_attn_resize(Code *c, StrBuf *defs, size_t *nparams, int *helper, const IrOp *op, size_t h, size_t w,
                      int S, int T)
{
    size_t ho = op->out.h, wo = op->out.w, k = (*nparams)++;
    char rh[32], rw[32];
    code_format(rh, sizeof rh, "ntkc_rh%zu", k);
    code_format(rw, sizeof rw, "ntkc_rw%zu", k);
    if (!*helper)
        sb_puts(defs, axis_map_text);
    *helper = 1;
    weights(defs, rh, &op->u.resize, h, ho);
    weights(defs, rw, &op->u.resize, w, wo);
    code_line(c, "{ /* image_resize %zux%zu -> %zux%zu, %s, line %d */", h, w, ho, wo,
              op->u.resize.nearest ? "nearest" : op->u.resize.antialias ? "linear, antialias" : "linear",
              op->pos.line);
    c->depth++;
    /* the four axes in turn, M -> scratch -> M -> scratch -> M; d the current shape */
    code_line(c, "int d[4] = {%zu, %zu, %zu, %zu};", h, w, h, w);
    code_line(c, "for (int m_ = 0; m_ < 2; m_++) {");
    c->depth++;
    code_line(c, "double *M = pl[m_ ? %d : %d];", T, S);
    code_line(c, "d[0] = %zu, d[1] = %zu, d[2] = %zu, d[3] = %zu;", h, w, h, w);
    code_line(c, "ntkc_m_axis_map(M, pl[0], d, 0, %zu, %s);", ho, rh);
    code_line(c, "d[0] = %zu;", ho);
    code_line(c, "ntkc_m_axis_map(pl[0], M, d, 1, %zu, %s);", wo, rw);
    code_line(c, "d[1] = %zu;", wo);
    code_line(c, "ntkc_m_axis_map(M, pl[0], d, 2, %zu, %s);", ho, rh);
    code_line(c, "d[2] = %zu;", ho);
    code_line(c, "ntkc_m_axis_map(pl[0], M, d, 3, %zu, %s);", wo, rw);
    c->depth--;
    code_line(c, "}");
    c->depth--;
    code_line(c, "}");
}
