/* Fuzz target: the language front end end to end — lexer, parser, checks,
 * lowering, emission, libtcc compilation of the emitted C, and evaluation on
 * a few fixed inputs. The oracles (each a bug when it fails, and an abort so
 * libFuzzer/AFL++ keep the input):
 *  - a rejected program gets a user error (code 1) positioned in the file,
 *    never an internal error and never an empty message;
 *  - a program the front end accepts compiles: libtcc never rejects emitted C,
 *    and the only refusal left to the emitter is a user error positioned in
 *    the file (a kernel entry's workspace past the emitted int sizes, known
 *    once the image kernel is planned);
 *  - evaluation either succeeds with finite, symmetric kernels whose
 *    diagonals are non-negative, equal for an input and its copy (with
 *    train-mode dropout, only an input's pairs with a third), or reports a
 *    user error (never NaN silently);
 *  - `ntkc ir`'s dump of every lowered net names the net and shows every op
 *    with its position, and `ntkc derive` on the file's formula activations
 *    gives their text or a positioned user error.
 * Also built into the test binary (tests/test_fuzz_replay.c) to replay the
 * corpus and the regression inputs under tests/data/fuzz/. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "ast.h"
#include "frontend.h"
#include "ir_dropout_eval.h"
#include "ir_window.h"
#include "ir_print.h"
#include "ntkc.h"
#include "ntkc_tool.h"

/* Bounds that keep one execution around a millisecond: longer inputs add no
 * new paths, and nets unrolled past a few hundred layers only make libtcc
 * slower (lowering caps them at 100k ops for users); the IR dump is checked
 * up to a few thousand ops. */
enum { FUZZ_MAX_INPUT = 4096, FUZZ_MAX_OPS = 300, FUZZ_MAX_NETS = 4, FUZZ_MAX_DUMP = 3000 };
#define FUZZ_MAX_PAIRS 2e7 /* pixel pairs summed over the ops, for evaluation (32×32 images, 20 ops) */
/* The all-pairs back end (attention, masked inputs, volumes) spends ~80 ns
 * per position pair and tap pair of a window (measured without ASan: a
 * 368-position masked volume net, 2.5e7 such terms, 2 s per evaluation and
 * 63 s in this harness; a volume conv_transpose(4) on 64 positions, 1.7e7,
 * 1.3 s and 24 s): budget ~0.2 s per evaluation. */
#define FUZZ_MAX_TERMS_ALL 2.5e6

#define FUZZ_FILE "fuzz.ntk"

static void fuzz_fail(const char *what, const char *src, const char *message)
{
    fprintf(stderr, "fuzz_frontend: %s\n--- message ---\n%s\n--- source ---\n%s\n", what, message, src);
    abort();
}

/* Every user error names the file, and with a line:col whenever one exists. */
static void check_rejection(const Diag *err, const char *src)
{
    if (err->code != DIAG_EUSER)
        fuzz_fail("rejection is not a user error", src, err->message);
    if (strncmp(err->message, FUZZ_FILE ":", strlen(FUZZ_FILE ":")) != 0)
        fuzz_fail("error message does not start with the file name", src, err->message);
}

/* Rows: a generic vector, the zero vector, a duplicate of the first, and a
 * large multiple of the first (exercises the overflow reporting). Nets that
 * declare their input size get rows of that size, up to EVAL_MAX_D. */
enum { EVAL_N = 4, EVAL_MAX_D = 1024 };

static void eval_inputs(double *x, size_t d)
{
    for (size_t k = 0; k < d; k++) {
        x[k] = 0.3 + 0.7 * (double)((k * 7919) % 13) / 13.0 - (k % 3 == 1 ? 1.5 : 0.0);
        x[d + k] = 0;
        x[2 * d + k] = x[k];
        x[3 * d + k] = 1e6 * x[k];
    }
}

/* Train-mode dropout (ir.h, IR_DROPOUT) divides the kernel of an input with
 * itself — the same row of the same array — by the rate, and not that of an
 * input with its copy (neural-tangents' x1_is_x2): there the copy's entry is
 * the one of the two rows given as two arrays. */
static void check_copy_pair(const ntkc_net *net, const double *x, size_t d, const double *nngp, const double *ntk,
                            const char *src)
{
    double cross_nngp, cross_ntk;
    ntkc_eval_options opts = {.threads = 1};
    ntkc_error err = {0};
    if (ntkc_kernel(net, 1, x, 1, x + 2 * d, d, &cross_nngp, &cross_ntk, &opts, &err) != 0)
        fuzz_fail("a pair that evaluated in one array fails in two", src, err.message);
    if (cross_nngp != nngp[2] || cross_ntk != ntk[2])
        fuzz_fail("an input and its copy give a different kernel in one array and in two", src, "");
}

static void check_kernels(const ntkc_net *net, const char *src, int dropout)
{
    size_t d = ntkc_net_input_dim(net) ? ntkc_net_input_dim(net) : 3;
    if (d > EVAL_MAX_D)
        return;
    static double x[EVAL_N * EVAL_MAX_D];
    double nngp[EVAL_N * EVAL_N], ntk[EVAL_N * EVAL_N];
    eval_inputs(x, d);
    ntkc_eval_options opts = {.threads = 1};
    ntkc_error err = {0};
    if (ntkc_kernel(net, EVAL_N, x, 0, NULL, d, nngp, ntk, &opts, &err) != 0) {
        if (err.code != NTKC_EUSER || strstr(err.message, "not finite") == NULL)
            fuzz_fail("evaluation failed with something other than a reported overflow", src, err.message);
        return;
    }
    for (size_t i = 0; i < EVAL_N; i++) {
        if (!(nngp[i * EVAL_N + i] >= 0) || !(ntk[i * EVAL_N + i] >= 0))
            fuzz_fail("negative kernel diagonal", src, "");
        for (size_t j = 0; j < EVAL_N; j++) {
            if (!isfinite(nngp[i * EVAL_N + j]) || !isfinite(ntk[i * EVAL_N + j]))
                fuzz_fail("non-finite kernel returned as success", src, "");
            if (nngp[i * EVAL_N + j] != nngp[j * EVAL_N + i] || ntk[i * EVAL_N + j] != ntk[j * EVAL_N + i])
                fuzz_fail("kernel not symmetric", src, "");
        }
    }
    /* Row 2 duplicates row 0: the pair and both self-pairs are one value
     * (the pair not with train-mode dropout: check_copy_pair), and so are
     * their entries with row 3 (computed in the same argument order;
     * swapping the arguments may move the last bit of image kernels). */
    const double *k2[2] = {nngp, ntk};
    for (int o = 0; o < 2; o++) {
        const double *k = k2[o];
        if ((!dropout && k[0] != k[2]) || k[2 * EVAL_N + 2] != k[0] || k[3] != k[2 * EVAL_N + 3])
            fuzz_fail("a duplicated input gives a different kernel", src, "");
    }
    if (dropout)
        check_copy_pair(net, x, d, nngp, ntk, src);
}

/* Ops in ops[0, n), those inside branches included. */
static size_t count_ops(const IrOp *ops, size_t n)
{
    size_t total = n;
    for (size_t i = 0; i < n; i++)
        for (size_t b = 0; ops[i].kind == IR_FANOUT && b < ops[i].u.fanout.nbranches; b++)
            total += count_ops(ops[i].u.fanout.branches[b].ops, ops[i].u.fanout.branches[b].nops);
    return total;
}

/* The IR dump: the net's name, then one line per op with "# LINE:COL". */
static void check_ir_print(const IrNet *ir, const char *src)
{
    StrBuf sb;
    sb_init(&sb);
    ir_print(&sb, ir);
    size_t values = 0, positioned = 0; /* lines "    %k = ..." and those of them with " # " */
    for (const char *line = sb.data; *line; line += strcspn(line, "\n") + (line[strcspn(line, "\n")] != '\0')) {
        size_t len = strcspn(line, "\n"), lead = strspn(line, " ");
        if (lead > 0 && line[lead] == '%') { /* memmem: strstr would scan the rest of the dump per line */
            values++;
            positioned += memmem(line, len, " # ", 3) != NULL;
        }
    }
    if (strncmp(sb.data, "# net ", 6) != 0 || strncmp(sb.data + 6, ir->name, strlen(ir->name)) != 0 ||
        values != count_ops(ir->ops, ir->nops) + 1 || positioned != values) /* the ops and the input */
        fuzz_fail("the IR dump lost the net's name or an op", src, sb.data);
    sb_free(&sb);
}

/* ntkc derive on every formula activation of a file that parsed. */
static void check_derive(const char *src)
{
    ntkc_error err = {0};
    char *text = ntkc_derive(src, FUZZ_FILE, NULL, 0, &err);
    if (text == NULL && (err.code != NTKC_EUSER || strncmp(err.message, FUZZ_FILE ":", strlen(FUZZ_FILE ":")) != 0))
        fuzz_fail("derive failed without a positioned user error", src, err.message);
    if (text != NULL && text[0] == '\0')
        fuzz_fail("derive gave no text", src, "");
    ntkc_free(text);
}

/* An estimate of an evaluation's work: the pixel pairs of every op's output,
 * summed (branches included, each from the fanout's input; a fanout's output
 * once per branch, which it assembles). all_pairs: the all-pairs back end's
 * terms instead, each pair times its window's tap pairs, attention's times
 * the positions, image_resize's times its input's extents (its axis maps sum
 * over one input axis for each entry of the larger grid: a volume resized
 * from 4×4×4 to 10×10×10 took 3 s in this harness at 1e6 pairs). in: the
 * ops' input shape. */
static double pixel_pairs(const IrOp *ops, size_t n, IrShape in, int all_pairs)
{
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        const IrOp *op = &ops[i];
        double p = op->out.spatial ? (double)op->out.h * (double)op->out.w : 1;
        const IrWindow *w = ir_op_window(op);
        double taps = w ? (double)(w->kd ? w->kd : 1) * (double)w->kh * (double)w->kw : 1;
        double per_pair = !all_pairs ? 1 : op->kind == IR_ATTENTION ? p : taps * taps;
        if (all_pairs && op->kind == IR_IMAGE_RESIZE && in.spatial) {
            double pin = (double)in.h * (double)in.w, zi = in.d ? (double)in.d : 1;
            p = p > pin ? p : pin;
            per_pair = zi + (double)in.h / zi + (double)in.w;
        }
        total += p * p * per_pair * (op->kind == IR_FANOUT ? (double)op->u.fanout.nbranches + 1 : 1);
        for (size_t b = 0; op->kind == IR_FANOUT && b < op->u.fanout.nbranches; b++)
            total += pixel_pairs(op->u.fanout.branches[b].ops, op->u.fanout.branches[b].nops, in, all_pairs);
        in = op->out;
    }
    return total;
}

/* One net the front end accepted: it must compile and evaluate cleanly. */
static void compile_accepted(const char *src, const char *net_name, const IrNet *ir)
{
    ntkc_compile_options opts = {.net_name = net_name, .backend = NTKC_BACKEND_TCC};
    ntkc_error err = {0};
    ntkc_net *net = ntkc_compile_string(src, FUZZ_FILE, &opts, &err);
    if (net == NULL && (err.code != NTKC_EUSER || strncmp(err.message, FUZZ_FILE ":", strlen(FUZZ_FILE ":")) != 0))
        fuzz_fail("the front end accepted a net that does not compile", src, err.message);
    if (net == NULL)
        return;
    /* Graph nets take graphs, not rows (fuzz_graph reads graphs; their
     * kernels are checked in tests/): compiled here, not evaluated. Past
     * FUZZ_MAX_PAIRS, seconds per input and no new paths. */
    int all_pairs = ir->family == IR_FAMILY_ATTENTION;
    double budget = all_pairs ? FUZZ_MAX_TERMS_ALL : FUZZ_MAX_PAIRS;
    IrShape in = {ir->input.h, ir->input.w, ir->input.kind == IR_INPUT_IMAGE, ir->input.depth};
    if (!ntkc_net_takes_graphs(net) && pixel_pairs(ir->ops, ir->nops, in, all_pairs) <= budget)
        check_kernels(net, src, ir_has_dropout(ir));
    ntkc_net_free(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    /* The front end reads C strings (the CLI refuses files with NUL bytes),
     * so the text is whatever comes before the first NUL. */
    char *src = malloc(size + 1);
    if (src == NULL)
        return 0;
    memcpy(src, data, size);
    src[size] = '\0';
    Arena a;
    arena_init(&a);
    Diag err = {0};
    Program *prog = frontend_parse(&a, src, FUZZ_FILE, &err);
    if (prog == NULL)
        check_rejection(&err, src);
    if (prog != NULL && prog->nacts > 0)
        check_derive(src);
    size_t nnets = prog ? program_net_count(prog) : 0;
    if (prog != NULL && nnets == 0) {
        frontend_lower(&a, prog, NULL, &err);
        check_rejection(&err, src);
    }
    for (size_t i = 0; i < nnets && i < FUZZ_MAX_NETS; i++) {
        diag_clear(&err);
        const char *name = program_net_name(prog, i);
        IrNet *ir = frontend_lower(&a, prog, name, &err);
        if (ir == NULL)
            check_rejection(&err, src);
        else if (count_ops(ir->ops, ir->nops) <= FUZZ_MAX_DUMP)
            check_ir_print(ir, src);
        if (ir != NULL && ir->nops <= FUZZ_MAX_OPS)
            compile_accepted(src, name, ir);
    }
    arena_free(&a);
    free(src);
    return 0;
}
