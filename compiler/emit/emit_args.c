/* The arguments of the image family's kernel-time calls (emit_args.h). */
#include "emit_args.h"

void emit_window_args(CodeArgs *a, const IrWindow *w, int dilated)
{
    code_arg_int(a, w->kh);
    code_arg_int(a, w->kw);
    code_arg_int(a, w->sh);
    code_arg_int(a, w->sw);
    if (dilated) {
        code_arg_int(a, w->dh);
        code_arg_int(a, w->dw);
    }
    code_arg_int(a, w->pt);
    code_arg_int(a, w->pl);
}

int emit_row_args(CodeArgs *a, const IrOp *op, Diag *err)
{
    const IrArgs *args = &op->args;
    for (const char *const *name = args->kernel; name != NULL && *name != NULL; name++) {
        int k = ir_arg_index(args, *name);
        if (k < 0) {
            diag_internal(err, "the descriptor of the op at line %d names '%s', which its table lacks",
                          op->pos.line, *name);
            return -1;
        }
        if (args->spec[k].integer)
            code_arg_int(a, (long)args->v[k]);
        else
            code_arg_lit(a, args->v[k]);
    }
    return 0;
}
