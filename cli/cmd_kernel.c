/* ntkc kernel: NNGP and NTK on .npy data, written as .npy through memory
 * maps so an output larger than memory streams to disk tile by tile. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "proc_limits.h"
#include "data.h"
#include "kernel_inputs.h"
#include "masks.h"
#include "ntkc_tool.h"
#include "progress.h"

static const char help[] =
    "usage: ntkc kernel NET.ntk X1.npy [X2.npy] [--ntk K.npy] [--nngp S.npy]\n"
    "                   [--mask M1.npy | --lengths L1.npy] [--mask2 M2.npy | --lengths2 L2.npy]\n"
    "                   [--net NAME] [--backend tcc|cc] [--threads N] [--quiet]\n"
    "                   [--precision double|single] [--dropout-mixed]\n"
    "\n"
    "Computes the NTK and/or NNGP kernel of the net between the rows of X1 and\n"
    "X2 (X2 defaults to X1; then one triangle is computed and mirrored). Inputs\n"
    "are (n, d) arrays of float64/float32/integers; outputs are n1 × n2 float64,\n"
    "or float32 with --precision single (float32 arithmetic, every family;\n"
    "errors against float64 in docs/precision.md).\n"
    "At least one of --ntk and --nngp is required. Outputs appear only when the\n"
    "whole computation succeeded. Prints a one-line summary unless --quiet.\n"
    "\n"
    "When the net declares 'input graph(F)', X1 and X2 are graph files in the\n"
    "GIN/GNTK text format instead (README, \"Graphs\") and the kernels are\n"
    "between their graphs.\n"
    "\n"
    "Variable-length sequences (nets with attention): --mask gives X1's padding,\n"
    "an (n, L) array (images: (n, H, W); volumes declared masked: (n, D, H, W))\n"
    "with 1 (true) at padded positions and 0\n"
    "elsewhere, as neural-tangents' masks; --lengths an (n,) array of lengths\n"
    "(positions from the length on are padding). --mask2/--lengths2 for X2.\n"
    "Padded values are ignored: the kernels do not depend on them.\n"
    "\n"
    "--dropout-mixed (nets with dropout in train mode): X1's inputs in eval mode\n"
    "(every dropout the identity) against X2's under their own masks (X2 defaults\n"
    "to X1: each input against itself under its mask), no input of one side\n"
    "sharing a mask with the other — the test-train kernel of nets trained with\n"
    "fresh masks every step and predicting without dropout (`ntkc predict\n"
    "--dropout fresh`; README, \"Training dynamics\"). Not symmetric. Without\n"
    "dropout it is the ordinary kernel. Float64 only (not --precision single).\n";

/* Entries computed between two releases of the output pages written so far:
 * about 8 MB of each output, and some 50 MB of pages touched. */
enum { RELEASE_EVERY = 1 << 20 };

typedef struct Streaming {
    Progress progress;
    NpyOut *outs[2];
    size_t released; /* entries done at the last release */
} Streaming;

/* Progress, and resident memory bounded whatever the output's size: written
 * pages leave this process's map but stay in the page cache, bound for the file. */
static int stream_progress(void *ctx, size_t done, size_t total)
{
    Streaming *s = ctx;
    if (done - s->released >= RELEASE_EVERY) {
        npy_out_release(s->outs[0]);
        npy_out_release(s->outs[1]);
        s->released = done;
    }
    return progress_show(&s->progress, done, total);
}

typedef struct KernelArgs {
    const char *net_name, *ntk, *nngp, *backend, *threads, *quiet, *precision, *mixed;
    const char *mask[2], *lengths[2]; /* padding of X1, X2 (masks.h) */
    int single;
    double compile_seconds;
} KernelArgs;

/* Reading the diagonal maps a page per row, and the kernel maps 16 around
 * each (fault-around): release as we go, or RSS would reach 6% of the output. */
static double diagonal_mean(NpyOut *o, size_t n1, size_t n2, int single)
{
    const double *k = single ? NULL : npy_out_data(o);
    const float *kf = single ? npy_out_data_f32(o) : NULL;
    size_t n = n1 < n2 ? n1 : n2;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += single ? (double)kf[i * n2 + i] : k[i * n2 + i];
        if (i % 1024 == 1023)
            npy_out_release(o);
    }
    return sum / (double)n;
}

/* One line on stdout: what was computed, how fast, and a sanity figure. */
static void print_summary(const ntkc_net *net, size_t n1, size_t n2, NpyOut *nngp, NpyOut *ntk,
                          const KernelArgs *a, double seconds)
{
    printf("%s: %zu x %zu %s%s%s in %.3f s (compile %.1f ms)", ntkc_net_name(net), n1, n2, ntk ? "NTK" : "",
           ntk && nngp ? " + " : "", nngp ? "NNGP" : "", seconds, 1e3 * a->compile_seconds);
    if (ntk)
        printf("; NTK diagonal mean %.6g", diagonal_mean(ntk, n1, n2, a->single));
    if (nngp)
        printf("; NNGP diagonal mean %.6g", diagonal_mean(nngp, n1, n2, a->single));
    if (a->single)
        printf(" (float32)");
    if (a->mixed)
        printf(" (dropout-mixed: X1 in eval mode, X2 under masks)");
    putchar('\n');
}

static int compute_and_write(const ntkc_net *net, const KernelInputs *in, const KernelArgs *a, int threads,
                             ntkc_error *err)
{
    size_t n1 = in->n1, n2 = in->n2, shape[2] = {n1, n2};
    NpyOut *ntk = NULL, *nngp = NULL;
    size_t esz = a->single ? sizeof(float) : sizeof(double);
    size_t out_bytes = n1 * n2 * esz * (size_t)((a->ntk != NULL) + (a->nngp != NULL));
    if (check_run_memory(out_bytes, threads, a->ntk ? a->ntk : a->nngp, err) != 0)
        return err->code;
    NpyOut *(*create)(const char *, size_t, const size_t *, ntkc_error *) =
        a->single ? npy_out_create_f32 : npy_out_create;
    if (a->ntk && (ntk = create(a->ntk, 2, shape, err)) == NULL)
        return err->code;
    if (a->nngp && (nngp = create(a->nngp, 2, shape, err)) == NULL) {
        npy_out_abort(ntk);
        return err->code;
    }
    Streaming stream = {.outs = {ntk, nngp}};
    Progress *progress = &stream.progress;
    progress_start(progress, "kernel");
    ntkc_eval_options opts = {.threads = threads, .progress = stream_progress, .progress_ctx = &stream};
    int rc;
    const double *x2 = in->second ? in->x2.data : NULL;
    if (a->single) {
        float *nngp_out = nngp ? npy_out_data_f32(nngp) : NULL, *ntk_out = ntk ? npy_out_data_f32(ntk) : NULL;
        rc = in->g1 ? ntkc_kernel_graphs_f32(net, in->g1, in->g2, nngp_out, ntk_out, &opts, err)
                    : ntkc_kernel_f32(net, n1, in->x1.data, n2, x2, in->x1.shape[1], nngp_out, ntk_out, &opts, err);
    } else if (a->mixed) {
        double *nngp_out = nngp ? npy_out_data(nngp) : NULL, *ntk_out = ntk ? npy_out_data(ntk) : NULL;
        rc = in->g1 ? ntkc_kernel_graphs_dropout_mixed(net, in->g1, in->g2, nngp_out, ntk_out, &opts, err)
                    : ntkc_kernel_dropout_mixed(net, n1, in->x1.data, n2, x2, in->x1.shape[1], nngp_out, ntk_out,
                                                &opts, err);
    } else {
        double *nngp_out = nngp ? npy_out_data(nngp) : NULL, *ntk_out = ntk ? npy_out_data(ntk) : NULL;
        rc = in->g1 ? ntkc_kernel_graphs(net, in->g1, in->g2, nngp_out, ntk_out, &opts, err)
                    : ntkc_kernel(net, n1, in->x1.data, n2, x2, in->x1.shape[1], nngp_out, ntk_out, &opts, err);
    }
    if (rc == 0 && !a->quiet)
        print_summary(net, n1, n2, nngp, ntk, a, progress_seconds(progress));
    if (rc == 0) { /* both outputs or neither */
        NpyOut *outs[2] = {ntk, nngp};
        return npy_out_commit_all(outs, 2, err);
    }
    npy_out_abort(ntk);
    npy_out_abort(nngp);
    return rc;
}

static int run(const Args *args, KernelArgs *a, ntkc_error *err)
{
    ntkc_backend backend;
    ntkc_precision precision;
    if (parse_backend("kernel", a->backend, &backend) != 0 || parse_precision("kernel", a->precision, &precision) != 0)
        return 1;
    a->single = precision == NTKC_PRECISION_SINGLE;
    if (a->single && a->mixed) {
        err_user(err, "--dropout-mixed is computed in double precision only: drop --precision single");
        return err->code;
    }
    long threads = a->threads ? args_count("kernel", "--threads", a->threads, ARGS_MAX_THREADS) : 0;
    if (threads < 0)
        return 1;
    const char *inputs[2] = {args->positional[1], args->npositional > 2 ? args->positional[2] : NULL};
    const char *read[7] = {inputs[0], inputs[1], args->positional[0], /* the net file too */
                           a->mask[0], a->mask[1], a->lengths[0], a->lengths[1]};
    if ((a->ntk && check_output_not_input(a->ntk, read, 7, err)) ||
        (a->nngp && check_output_not_input(a->nngp, read, 7, err)))
        return err->code;
    for (int k = 0; k < 2; k++)
        if (a->mask[k] && a->lengths[k]) {
            err_user(err, "give --mask%s or --lengths%s, not both", k ? "2" : "", k ? "2" : "");
            return err->code;
        }
    if (a->ntk && a->nngp && npy_same_file(a->ntk, a->nngp)) {
        err_user(err, "--ntk and --nngp name the same file %s%s%s%s", a->ntk, strcmp(a->ntk, a->nngp) ? " (as " : "",
                  strcmp(a->ntk, a->nngp) ? a->nngp : "", strcmp(a->ntk, a->nngp) ? ")" : "");
        return err->code;
    }
    const char *outs[2] = {a->ntk, a->nngp};
    note_stale_temps(outs, 2);
    ntkc_compile_options copts = {.net_name = a->net_name, .backend = backend, .precision = precision};
    Progress clock;
    progress_start(&clock, "compile");
    ntkc_net *net = ntkc_compile_file(args->positional[0], &copts, err);
    if (net == NULL)
        return err->code;
    a->compile_seconds = progress_seconds(&clock);
    KernelInputs in = {0};
    int rc = kernel_inputs_load(net, inputs, a->quiet != NULL, &in, err);
    if (rc == 0)
        rc = apply_mask_file(net, &in.x1, inputs[0], a->mask[0], a->lengths[0], err);
    if (rc == 0 && (a->mask[1] || a->lengths[1]) && !in.second)
        err_user(err, "--mask2/--lengths2 need a second input X2.npy"), rc = err->code;
    if (rc == 0 && in.second)
        rc = apply_mask_file(net, &in.x2, inputs[1], a->mask[1], a->lengths[1], err);
    if (rc == 0)
        rc = compute_and_write(net, &in, a, (int)threads, err);
    kernel_inputs_free(&in);
    ntkc_net_free(net);
    return rc;
}

int cmd_kernel(int argc, char **argv)
{
    KernelArgs a = {0};
    const OptSpec specs[] = {{"--ntk", 1, &a.ntk},         {"--nngp", 1, &a.nngp}, {"--net", 1, &a.net_name},
                             {"--backend", 1, &a.backend}, {"--threads", 1, &a.threads}, {"--quiet", 0, &a.quiet},
                             {"--mask", 1, &a.mask[0]},    {"--mask2", 1, &a.mask[1]},
                             {"--lengths", 1, &a.lengths[0]}, {"--lengths2", 1, &a.lengths[1]},
                             {"--precision", 1, &a.precision}, {"--dropout-mixed", 0, &a.mixed},
                             {NULL, 0, NULL}};
    Args args;
    if (args_parse("kernel", argc, argv, specs, &args) != 0)
        return 1;
    if (args.help) {
        fputs(help, stdout);
        return 0;
    }
    if (args.npositional < 2 || args.npositional > 3 || (!a.ntk && !a.nngp)) {
        fputs(help, stderr);
        fprintf(stderr, "\nntkc kernel: %s\n",
                args.npositional < 2 ? "needs NET.ntk and X1.npy"
                : args.npositional > 3 ? "too many arguments"
                                       : "give --ntk and/or --nngp");
        return 1;
    }
    ntkc_error err = {0};
    int rc = run(&args, &a, &err);
    return rc == 0 ? 0 : (err.code ? report_error(&err) : rc);
}
