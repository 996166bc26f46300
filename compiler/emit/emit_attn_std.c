/* Dense and conv of the all-pairs back end under param standard
 * (emit_attn_std.h). */
#include "emit_attn_std.h"

void emit_attn_dense_std(Code *c, const IrOp *op, int S, int T, const char *n)
{
    const IrDense *d = &op->u.dense;
    code_line(c, "for (int e_ = 0; e_ < %s; e_++) { /* dense (param standard), line %d */", n, op->pos.line);
    code_line(c, "    pl[%d][e_] = %s * pl[%d][e_] + %s + %s * pl[%d][e_];", T, code_lit((double)d->fan_in).s, S,
              d->has_bias ? "1.0" : "0.0", code_lit(d->w_std * d->w_std).s, T);
    code_line(c, "    pl[%d][e_] = %s * pl[%d][e_] + %s;", S, code_lit(d->w_std * d->w_std).s, S,
              code_lit(d->b_std * d->b_std).s);
    code_line(c, "}");
}

void emit_attn_conv_std(Code *c, const IrOp *op, const char *fn, const char *g, double F, int S, int T, int U,
                        const char *n_in, const char *n_out)
{
    const IrConv *cv = &op->u.conv;
    code_line(c, "/* conv (param standard), line %d: the fan-in term C·Σ_f Σ_f in pl[%d] */", op->pos.line, U);
    code_line(c, "ntkc_m_copy`(pl[%d], pl[%d], %s);", U, S, n_in);
    /* U as both kernels: equal inputs, equal outputs (b² = 0), no second scratch */
    code_line(c, "%s`(pl[%d], pl[%d], %s, %s, 0.0, 1, pl[0], it);", fn, U, U, g, code_lit((double)cv->fan_in * F).s);
    code_line(c, "%s`(pl[%d], pl[%d], %s, %s, %s, 1, pl[0], it);", fn, S, T, g, code_lit(cv->w_std * cv->w_std).s,
              code_lit(cv->b_std * cv->b_std).s);
    code_line(c, "for (int e_ = 0; e_ < %s; e_++)", n_out);
    code_line(c, "    pl[%d][e_] += pl[%d][e_] + %s;", T, U, cv->has_bias ? "1.0" : "0.0");
}
