/* dropout in the image emitter. neural-tangents' Dropout(rate, 'train')
 * multiplies by 1/rate the entries of the kernel whose two units share a
 * mask: the same input (x1 is x2, the same batch index) at the same position
 * (_diag_mul on every spatial axis pair); different positions or inputs have
 * independent masks and keep their kernel. In a plane of pixel pairs at
 * offset (a, b) those entries are the whole plane at offset (0, 0), in the
 * lanes whose x1 and x2 are the same row of the same array (as the fully
 * connected tile decides it, emit.c); the prep run (x1 = x2) scales the
 * records of the activations after it the same way. */
#include "emit_dropout.h"

void emit_dropout(Code *c, const IrOp *op, const char *S, const char *T, const char *geom, const char *a,
                  const char *b)
{
    CodeLit f = code_lit(1.0 / op->u.dropout.keep);
    code_line(c, "/* dropout(rate=%s), line %d: an input with itself, at the same position */",
              code_lit(op->u.dropout.keep).s, op->pos.line);
    if (a != NULL)
        code_open(c, "if ((%s) == 0 && (%s) == 0) {", a, b);
    else
        code_open(c, "{");
    code_line(c, "int n = ntkc_area`(%s);", geom);
    code_line(c, "for (int l = 0; l < NTKC_LANES; l++)");
    code_line(c, "    if (x1[l] == x2[l])");
    code_line(c, "        for (int k = 0; k < n; k++)");
    code_line(c, "            %s[k * NTKC_LANES + l] *= %s, %s[k * NTKC_LANES + l] *= %s;", S, f.s, T, f.s);
    code_close(c, "");
}
