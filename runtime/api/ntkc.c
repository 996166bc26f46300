/* The library's front door: source → IR → C → JIT → evaluation. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "c_text.h"
#include "emit.h"
#include "engine.h"
#include "family.h"
#include "frontend.h"
#include "ir_dropout_eval.h"
#include "jit.h"
#include "net_internal.h"
#include "ntkc_padding.h"
#include "ntkc.h"
#include "ntkc_err.h"

struct ntkc_net {
    Arena arena; /* AST and IR of the compilation */
    const IrNet *ir;
    char *c_source;
    JitModule *jit;
    NetFns fns; /* bound from the ABI of the family's engine */
    int single; /* compiled with NTKC_PRECISION_SINGLE: float32 tile ABI */
    ntkc_backend backend;
    const ntkc_net *twin_of; /* ntkc_net_dropout_eval: the net this is the eval-mode twin of */
};

/* Reads at most limit bytes of text, refusing a NUL byte as soon as one
 * arrives: /dev/zero, /dev/urandom or a runaway pipe stop at the first NUL or
 * at the limit instead of growing memory without bound. Pipes and FIFOs are
 * read once, like files. */
char *ntkc_read_text_file_max(const char *path, size_t limit, const char *what, ntkc_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        err_user(err, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    int too_big = 0, nul = 0;
    for (size_t got; buf != NULL && (got = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
        nul = memchr(buf + len, '\0', got) != NULL;
        len += got;
        too_big = len > limit;
        if (nul || too_big)
            break;
        if (cap - len - 1 == 0) {
            size_t grown = cap * 2 > limit + 2 ? limit + 2 : cap * 2; /* room to see limit + 1 bytes */
            char *bigger = realloc(buf, grown);
            if (bigger == NULL)
                free(buf);
            buf = bigger;
            cap = grown;
        }
    }
    int failed = buf == NULL || ferror(f);
    int saved = errno;
    fclose(f);
    if (failed || nul || too_big) {
        free(buf);
        if (nul)
            err_file(err, path, "contains a NUL byte; is it a text file?");
        else if (too_big)
            err_file(err, path, "larger than %zu MiB, the limit for %s", limit >> 20, what);
        else
            err_user(err, "cannot read %s: %s", path, buf == NULL ? "out of memory" : strerror(saved));
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

char *ntkc_read_text_file(const char *path, ntkc_error *err)
{
    return ntkc_read_text_file_max(path, NTKC_SOURCE_MAX, "net sources", err);
}

/* The stages of a compilation that allocate from its arena. */
typedef struct Stages {
    ntkc_net *net;   /* ntkc_compile_string: parse, lower, emit */
    Arena *arena;    /* ntkc_emit: parse, lower, emit into c */
    const char *source, *name, *net_name;
    char *c;
    ntkc_error *err;
    int header; /* ntkc_emit_header: the prototypes instead of the file */
    int single; /* float32 kernel (emit_net_c_prec) */
} Stages;

/* The compiler reports into its Diag; the caller's ntkc_error gets it here. */
static void run_stages(Stages *s)
{
    Diag diag = {0};
    Program *prog = frontend_parse(s->arena, s->source, s->name, &diag);
    IrNet *ir = prog ? frontend_lower(s->arena, prog, s->net_name, &diag) : NULL;
    if (s->net != NULL)
        s->net->ir = ir;
    if (ir != NULL)
        s->c = s->header ? emit_net_h_prec(ir, s->name, s->single, &diag) : emit_net_c_prec(ir, s->name, s->single, &diag);
    err_from_diag(s->err, &diag);
}

/* Runs the stages with the arena's allocation failures caught: out of memory
 * while compiling is a user error (the source is too large for the memory
 * limit) reported by name, not an abort. Returns -1 then. */
static int run_stages_guarded(Stages *s)
{
    jmp_buf oom;
    if (setjmp(oom) != 0) {
        s->arena->on_oom = NULL;
        free(s->c);
        s->c = NULL;
        err_clear(s->err);
        err_file(s->err, s->name,
                  "out of memory while compiling the net (it needs more memory than the limit allows; "
                  "raise the memory limit or shorten the source)");
        return -1;
    }
    s->arena->on_oom = &oom;
    run_stages(s);
    s->arena->on_oom = NULL;
    return 0;
}

ntkc_net *ntkc_compile_string(const char *source, const char *filename, const ntkc_compile_options *opts,
                              ntkc_error *err)
{
    err_clear(err);
    ntkc_net *net = calloc(1, sizeof *net);
    if (net == NULL) {
        err_internal(err, "out of memory");
        return NULL;
    }
    arena_init(&net->arena);
    const char *name = filename ? filename : "<string>";
    if (opts && opts->precision != NTKC_PRECISION_DOUBLE && opts->precision != NTKC_PRECISION_SINGLE) {
        free(net);
        err_user(err, "unknown precision %d (NTKC_PRECISION_DOUBLE or NTKC_PRECISION_SINGLE)", (int)opts->precision);
        return NULL;
    }
    net->single = opts && opts->precision == NTKC_PRECISION_SINGLE;
    net->backend = opts && opts->backend == NTKC_BACKEND_CC ? NTKC_BACKEND_CC : NTKC_BACKEND_TCC;
    Stages s = {net, &net->arena, source, name, opts ? opts->net_name : NULL, NULL, err, 0, net->single};
    if (run_stages_guarded(&s) != 0)
        net->ir = NULL;
    net->c_source = s.c;
    if (net->c_source != NULL)
        net->jit = jit_compile(net->backend == NTKC_BACKEND_CC ? JIT_CC : JIT_TCC, net->c_source, name, err);
    if (net->jit == NULL || family_bind(net_family(net->ir)->engine, net->ir->name, net->jit, &net->fns, err) != 0) {
        ntkc_net_free(net);
        return NULL;
    }
    return net;
}

ntkc_net *ntkc_net_dropout_eval(const ntkc_net *net, ntkc_error *err)
{
    err_clear(err);
    if (!ir_has_dropout(net->ir)) {
        err_user(err, "net '%s' has no dropout in train mode: it has no eval-mode twin", net->ir->name);
        return NULL;
    }
    ntkc_net *twin = calloc(1, sizeof *twin);
    if (twin == NULL) {
        err_internal(err, "out of memory");
        return NULL;
    }
    arena_init(&twin->arena);
    twin->single = net->single, twin->backend = net->backend, twin->twin_of = net;
    const char *name = net->ir->pos.file ? net->ir->pos.file : "<string>";
    Diag diag = {0};
    twin->ir = ir_dropout_eval_copy(&twin->arena, net->ir);
    twin->c_source = emit_net_c_prec(twin->ir, name, twin->single, &diag);
    err_from_diag(err, &diag);
    if (twin->c_source != NULL)
        twin->jit = jit_compile(twin->backend == NTKC_BACKEND_CC ? JIT_CC : JIT_TCC, twin->c_source, name, err);
    if (twin->jit == NULL ||
        family_bind(net_family(twin->ir)->engine, twin->ir->name, twin->jit, &twin->fns, err) != 0) {
        ntkc_net_free(twin);
        return NULL;
    }
    return twin;
}

int ntkc_net_is_twin_of(const ntkc_net *twin, const ntkc_net *net) { return twin->twin_of == net; }

ntkc_net *ntkc_compile_file(const char *path, const ntkc_compile_options *opts, ntkc_error *err)
{
    err_clear(err);
    char *text = ntkc_read_text_file(path, err);
    if (text == NULL)
        return NULL;
    ntkc_net *net = ntkc_compile_string(text, path, opts, err);
    free(text);
    return net;
}

char *ntkc_emit_precision(const char *source, const char *filename, const char *net_name, ntkc_precision precision,
                          int header, ntkc_error *err)
{
    err_clear(err);
    Arena arena;
    arena_init(&arena);
    Stages s = {NULL,   &arena, source, filename ? filename : "<string>", net_name, NULL, err, header != 0,
                precision == NTKC_PRECISION_SINGLE};
    run_stages_guarded(&s);
    arena_free(&arena);
    return s.c;
}

char *ntkc_emit(const char *source, const char *filename, const char *net_name, ntkc_error *err)
{
    return ntkc_emit_precision(source, filename, net_name, NTKC_PRECISION_DOUBLE, 0, err);
}

char *ntkc_emit_header(const char *source, const char *filename, const char *net_name, ntkc_error *err)
{
    return ntkc_emit_precision(source, filename, net_name, NTKC_PRECISION_DOUBLE, 1, err);
}

void ntkc_free(void *p) { free(p); }

const char *ntkc_version(void) { return NTKC_VERSION; }

void ntkc_net_free(ntkc_net *net)
{
    if (net == NULL)
        return;
    jit_free(net->jit);
    free(net->c_source);
    arena_free(&net->arena);
    free(net);
}

const char *ntkc_net_name(const ntkc_net *net) { return net->ir->name; }
size_t ntkc_net_input_dim(const ntkc_net *net) { return net->ir->input.dim; }

int ntkc_net_input_shape(const ntkc_net *net, size_t shape[4])
{
    const IrInput *in = &net->ir->input;
    if (in->kind == IR_INPUT_IMAGE && in->depth) { /* rows stack the slices (ir.h) */
        shape[0] = in->depth, shape[1] = in->h / in->depth, shape[2] = in->w, shape[3] = in->c;
        return 4;
    }
    if (in->kind == IR_INPUT_IMAGE && in->sequence) {
        shape[0] = in->w, shape[1] = in->c;
        return 2;
    }
    if (in->kind == IR_INPUT_IMAGE) {
        shape[0] = in->h, shape[1] = in->w, shape[2] = in->c;
        return 3;
    }
    shape[0] = in->dim;
    return in->dim ? 1 : 0;
}
const char *ntkc_net_source(const ntkc_net *net) { return net->c_source; }
const IrNet *ntkc_net_ir(const ntkc_net *net) { return net->ir; }
const NtkcTileFns *ntkc_net_kernel_fns(const ntkc_net *net) { return &net->fns.tile; }
const NtkcGraphFns *ntkc_net_graph_fns(const ntkc_net *net) { return &net->fns.graph; }
int ntkc_net_takes_graphs(const ntkc_net *net) { return net_family(net->ir)->engine->inputs == NET_GRAPHS; }

ntkc_precision ntkc_net_precision(const ntkc_net *net)
{
    return net->single ? NTKC_PRECISION_SINGLE : NTKC_PRECISION_DOUBLE;
}

int ntkc_net_is_single(const ntkc_net *net) { return net->single; }

/* What ntkc_kernel and ntkc_kernel_f32 check before the engine runs. */
static int check_kernel_call(const ntkc_net *net, size_t n1, const double *x1, size_t n2, const double *x2,
                             size_t dim, int single, ntkc_error *err)
{
    if (net->single != single) {
        err_user(err, "net '%s' was compiled for %s precision: use %s", net->ir->name,
                 net->single ? "single" : "double", net->single ? "ntkc_kernel_f32" : "ntkc_kernel");
        return err->code;
    }
    if (ntkc_net_takes_graphs(net)) {
        err_user(err, "net '%s' takes graphs (input graph): use ntkc_kernel_graphs", net->ir->name);
        return err->code;
    }
    if (dim == 0) {
        err_user(err, "inputs have no features (dim = 0)");
        return err->code;
    }
    const IrInput *in = &net->ir->input;
    if (in->dim != 0 && dim != in->dim) {
        if (in->kind == IR_INPUT_IMAGE)
            err_user(err, "net '%s' takes %s of %zu values each (%zu×%zu×%zu, NHWC), the data have %zu per input",
                      net->ir->name, in->sequence ? "sequences" : "images", in->dim, in->h, in->w, in->c, dim);
        else
            err_user(err, "net '%s' takes inputs of %zu features, the data have %zu", net->ir->name, in->dim, dim);
        return err->code;
    }
    if (padding_check(net, n1, x1, dim, "x1", err) != 0 || (x2 && padding_check(net, n2, x2, dim, "x2", err) != 0))
        return err->code;
    return 0;
}

int ntkc_kernel(const ntkc_net *net, size_t n1, const double *x1, size_t n2, const double *x2, size_t dim,
                double *nngp, double *ntk, const ntkc_eval_options *opts, ntkc_error *err)
{
    err_clear(err);
    if (check_kernel_call(net, n1, x1, n2, x2, dim, 0, err) != 0)
        return err->code;
    return engine_kernel(&net->fns.tile, n1, x1, n2, x2, dim, nngp, ntk, opts, err);
}

int ntkc_kernel_dropout_mixed_twin(const ntkc_net *net, const ntkc_net *twin, size_t n1, const double *x1, size_t n2,
                              const double *x2, size_t dim, double *nngp, double *ntk, const ntkc_eval_options *opts,
                              ntkc_error *err)
{
    err_clear(err);
    if (twin->twin_of != net || x1 == NULL || x2 == NULL) {
        err_internal(err, "ntkc_kernel_dropout_mixed_twin: needs a net, its eval-mode twin and two inputs");
        return err->code;
    }
    if (check_kernel_call(net, n1, x1, n2, x2, dim, 0, err) != 0)
        return err->code;
    if (n1 == 0 || n2 == 0)
        return 0;
    /* x2 copied, always: the tile scales a pair whose rows are one row of memory (dropout's input with
     * itself), and no input of x1 may share a mask with one of x2, even where the arrays overlap */
    double *copy = malloc(n2 * dim * sizeof *copy);
    if (copy == NULL) {
        err_user(err, "out of memory for a copy of %zu inputs", n2);
        return err->code;
    }
    memcpy(copy, x2, n2 * dim * sizeof *copy);
    int rc = engine_kernel_rows_by(&net->fns.tile, &twin->fns.tile, n1, x1, n2, copy, dim, nngp, ntk, opts, err);
    free(copy);
    return rc;
}

int ntkc_kernel_f32(const ntkc_net *net, size_t n1, const double *x1, size_t n2, const double *x2, size_t dim,
                    float *nngp, float *ntk, const ntkc_eval_options *opts, ntkc_error *err)
{
    err_clear(err);
    if (check_kernel_call(net, n1, x1, n2, x2, dim, 1, err) != 0)
        return err->code;
    return engine_kernel_f32(&net->fns.tile, n1, x1, n2, x2, dim, nngp, ntk, opts, err);
}
