/* An op's arguments as a table: the layer's row (its ParamSpecs) and the
 * values lowering bound to it. Ops of the image family carry them
 * (IrOp.args), so a new argument of an existing op is a line in its row:
 * `ntkc ir` prints every argument written or not at its default
 * (ir_print.c), the emitter passes the rows the op's descriptor names to the
 * kernel-time function (IrArgs.kernel, emit_image.c), and the finite-width
 * reference reads a value by name (ir_arg) — no field in ir.h, no printer or
 * emitter line of its own. */
#ifndef NTKC_IR_ARGS_H
#define NTKC_IR_ARGS_H

/* One argument a layer accepts. `options` (NULL-terminated) makes it an
 * enumerated name such as padding=same; its value is the option's index. */
typedef struct ParamSpec {
    const char *name;
    double def;
    double min, max; /* inclusive */
    int integer;
    int required;
    const char *const *options;
} ParamSpec;

typedef struct IrArgs {
    const ParamSpec *spec; /* the layer's row; NULL: the op has no table (ops lowering makes itself) */
    int n;
    const double *v;  /* n values: as written, else the row's default */
    const int *given; /* written in the source */
    /* The op's descriptor: the names of the rows passed, in this order, to
     * the kernel-time function after its fixed arguments (NULL-terminated;
     * NULL: none). Integer rows are written as int literals, others as
     * exact double literals. */
    const char *const *kernel;
} IrArgs;

/* The value of the argument `name`, or def when the op's row has no such
 * argument (or no row: a dense lowered as a 1×1 conv). */
double ir_arg(const IrArgs *a, const char *name, double def);
/* The row of `name`, or -1. */
int ir_arg_index(const IrArgs *a, const char *name);

#endif
