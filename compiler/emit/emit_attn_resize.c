/* image_resize on the all-pairs matrices (emit_attn_resize.h). */
#include "emit_attn_resize.h"

#include <stdlib.h>

#include "ir_resize.h"

/* The output grid: slices (1 on images), rows per slice, columns. */
static void out_grid(const IrOp *op, size_t o[3])
{
    o[0] = op->u.resize.zo ? (size_t)op->u.resize.zo : 1;
    o[1] = op->out.h / o[0], o[2] = op->out.w;
}

size_t emit_attn_resize_span(const IrOp *op, size_t z, size_t h, size_t w)
{
    size_t o[3];
    out_grid(op, o);
    return (o[0] > z ? o[0] : z) * (o[1] > h ? o[1] : h) * (o[2] > w ? o[2] : w);
}

/* The kernel-time helper: out ← R applied along axis k of the 4-D array M
 * (dims d[0..3], row-major), R m × d[k]; out has m along axis k. */
static const char axis_map_text[] =
    "/* image_resize: out <- R along axis k of M (d[0] x d[1] x d[2] x d[3]), R m x d[k] */\n"
    "static void ntkc_m_axis_map(const NTKC_ELEM *M, NTKC_ELEM *out, const int *d, int k, int m, const double *R)\n"
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

void emit_attn_resize(Code *c, StrBuf *defs, size_t *nparams, int *helper, const IrOp *op, size_t z, size_t h,
                      size_t w, int S, int T)
{
    size_t in[3] = {z, h, w}, o[3], k = (*nparams)++;
    static const char axis_name[3] = {'d', 'h', 'w'};
    out_grid(op, o);
    char rname[3][32];
    if (!*helper) { /* the slots' element type: float under --precision single */
        sb_printf(defs, "#ifndef NTKC_ELEM\n#define NTKC_ELEM %s\n#endif\n", c->single ? "float" : "double");
        sb_puts(defs, axis_map_text);
    }
    *helper = 1;
    for (int a = 0; a < 3; a++) {
        code_format(rname[a], sizeof rname[a], "ntkc_r%c%zu", axis_name[a], k);
        if (in[a] != o[a]) /* jax skips an axis that keeps its size: the identity */
            weights(defs, rname[a], &op->u.resize, in[a], o[a]);
    }
    code_line(c, "{ /* image_resize %zux%zux%zu -> %zux%zux%zu, %s, line %d */", z, h, w, o[0], o[1], o[2],
              op->u.resize.nearest ? "nearest" : op->u.resize.antialias ? "linear, antialias" : "linear",
              op->pos.line);
    c->depth++;
    /* the six axes (slice, row, column of x1, then of x2) in turn, M <-> pl[0];
     * each call sees the array as (outer, axis, inner, 1) */
    code_line(c, "for (int m_ = 0; m_ < 2; m_++) {");
    c->depth++;
    code_line(c, "@ *M = pl[m_ ? %d : %d], *src = M, *dst = pl[0], *t_;", T, S);
    size_t dims[6] = {z, h, w, z, h, w};
    int maps = 0;
    for (int ax = 0; ax < 6; ax++) {
        size_t n_out = o[ax % 3];
        if (dims[ax] == n_out)
            continue;
        size_t outer = 1, inner = 1;
        for (int j = 0; j < ax; j++)
            outer *= dims[j];
        for (int j = ax + 1; j < 6; j++)
            inner *= dims[j];
        code_line(c, "{ const int d_[4] = {%zu, %zu, %zu, 1};", outer, dims[ax], inner);
        code_line(c, "  ntkc_m_axis_map(src, dst, d_, 1, %zu, %s); t_ = src, src = dst, dst = t_; }", n_out,
                  rname[ax % 3]);
        dims[ax] = n_out;
        maps++;
    }
    if (maps % 2) /* the result is in the scratch: back to the slot */
        code_line(c, "for (size_t e_ = 0; e_ < %zu; e_++) M[e_] = src[e_];",
                  dims[0] * dims[1] * dims[2] * dims[3] * dims[4] * dims[5]);
    code_line(c, "(void)dst, (void)t_;");
    c->depth--;
    code_line(c, "}");
    c->depth--;
    code_line(c, "}");
}
