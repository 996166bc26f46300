/* ntkc spectrum: the eigenvalues of a net's kernel on data and what they say
 * about training it by gradient descent (ntkc_spectrum), with a figure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "data.h"
#include "graph_inputs.h"
#include "ntkc_tool.h"
#include "plot.h"
#include "targets.h"

static const char help[] =
    "usage: ntkc spectrum NET.ntk X.npy|GRAPHS [--targets Y.npy|--labels] [--kernel ntk|nngp] [--top K]\n"
    "                     [--eigenvalues OUT.npy] [--reach L] [--plot FILE]\n"
    "                     [--net NAME] [--backend tcc|cc] [--threads N] [--quiet]\n"
    "\n"
    "The eigenvalues of the net's kernel G on the rows of X (for a graph net, on the\n"
    "graphs of a graph file, as ntkc kernel takes them), and what they mean for\n"
    "training by gradient descent on L = |f(X) - Y|² / (2·n·k) with time t = learning\n"
    "rate × steps (ntkc predict's conventions, neural-tangents'):\n"
    "  lambda_max, lambda_min, condition number, effective rank (tr G)²/|G|_F²\n"
    "  (the participation ratio of the eigenvalues), and the largest stable learning\n"
    "  rate 2·n·k/lambda_max (neural_tangents.predict.max_learning_rate, momentum 0).\n"
    "With --targets: the energy of Y along each eigenvector, the loss curve L(t) of\n"
    "the infinitely wide net in closed form, the time it takes to reach --reach L\n"
    "(default L(0)/100), the kernel-target alignment <G, YYᵀ>/(|G| |YYᵀ|) and\n"
    "Arora et al. 2019's sqrt(2·yᵀG⁻¹y/n) per output.\n"
    "\n"
    "  --targets Y.npy      (n, k) targets or (n,) class labels (one-hot)\n"
    "  --labels             graph nets: the graph file's labels as the targets\n"
    "                       (classes, one-hot), as ntkc predict takes them\n"
    "  --kernel ntk|nngp    the kernel (default ntk: every layer trained)\n"
    "  --top K              only the K largest eigenvalues, by ARPACK (Lanczos), for\n"
    "                       large n; the measures that need them all are left out\n"
    "  --eigenvalues E.npy  float64 (count,), largest first\n"
    "  --plot FILE          FILE.svg and FILE.png (gnuplot): the spectrum, the energy\n"
    "                       of Y per eigendirection and the loss curve; FILE.dat and\n"
    "                       FILE.gp hold the data and the script\n";

typedef struct SpecArgs {
    const char *targets, *labels, *kernel, *top, *eigenvalues, *reach, *plot, *net_name, *backend, *threads, *quiet;
} SpecArgs;

static int parse_options(const SpecArgs *a, ntkc_spectrum_options *o, ntkc_backend *backend)
{
    memset(o, 0, sizeof *o);
    if (parse_backend("spectrum", a->backend, backend) != 0)
        return 1;
    long threads = a->threads ? args_count("spectrum", "--threads", a->threads, ARGS_MAX_THREADS) : 0;
    long top = a->top ? args_positive("spectrum", "--top", a->top) : 0;
    double reach = a->reach ? args_positive_real("spectrum", "--reach", a->reach) : 0;
    if (threads < 0 || top < 0 || reach < 0)
        return 1;
    o->eval.threads = (int)threads;
    o->top = (size_t)top;
    o->reach = reach;
    if (a->kernel == NULL || strcmp(a->kernel, "ntk") == 0)
        o->kernel = NTKC_PREDICT_NTK;
    else if (strcmp(a->kernel, "nngp") == 0)
        o->kernel = NTKC_PREDICT_NNGP;
    else {
        fprintf(stderr, "ntkc spectrum: --kernel must be ntk or nngp, not '%s'\n", a->kernel);
        return 1;
    }
    return 0;
}

/* Eight times spaced evenly in log from n·k/λ_max to where the curve flattens. */
static void curve_times(const ntkc_spectrum_result *r, double *times, size_t count)
{
    double t0 = (double)r->n * (double)r->k / r->lambda_max;
    double t1 = isfinite(r->reach_time) && r->reach_time > 100 * t0 ? r->reach_time : 100 * t0;
    t1 = t1 < 1e8 * t0 ? t1 : 1e8 * t0;
    for (size_t i = 0; i < count; i++)
        times[i] = t0 * pow(t1 / t0, (double)i / (double)(count - 1));
}

static void print_number(const char *label, double v, const char *why_not)
{
    if (isnan(v))
        printf("  %-26s n/a (%s)\n", label, why_not);
    else
        printf("  %-26s %.6g\n", label, v);
}

static void print_summary(const ntkc_net *net, const ntkc_spectrum_options *o, const ntkc_spectrum_result *r,
                          const Targets *t)
{
    const char *partial = "needs the whole spectrum: leave out --top";
    printf("%s: %s spectrum of %zu inputs, %s\n", ntkc_net_name(net), o->kernel == NTKC_PREDICT_NNGP ? "NNGP" : "NTK",
           r->n, o->top ? "top eigenvalues by ARPACK" : "all eigenvalues by LAPACK dsyevd");
    print_number("lambda_max", r->lambda_max, "");
    print_number("lambda_min", r->lambda_min, partial);
    if (isinf(r->condition))
        printf("  %-26s inf (singular: lambda_min <= 0)\n", "condition number");
    else
        print_number("condition number", r->condition, partial);
    printf("  %-26s %.6g of %zu  [(sum lambda)^2 / sum lambda^2]\n", "effective rank", r->effective_rank, r->n);
    printf("  %-26s %.6g  [2·n·k/lambda_max, k = %zu]\n", "largest stable lr", r->max_lr, t ? t->k : (size_t)1);
    if (t == NULL)
        return;
    double top_energy = 0, total = 2 * r->loss0 * (double)r->n * (double)r->k;
    for (size_t i = 0; i < r->count && i < 10; i++)
        for (size_t c = 0; c < r->k; c++)
            top_energy += r->energy[i * r->k + c];
    printf("  %-26s %.4g of |Y|^2 along the top %zu eigenvectors\n", "target energy", top_energy / total,
           r->count < 10 ? r->count : (size_t)10);
    printf("  %-26s %.6g  [uncentred]\n", "kernel-target alignment", r->alignment);
    printf("  %-26s", "sqrt(2 y'G^-1 y / n)");
    for (size_t c = 0; c < r->k && c < 10; c++)
        printf(isnan(r->arora[c]) ? " n/a" : " %.4g", r->arora[c]);
    if (r->k > 10)
        printf(" ... (%zu outputs)", r->k);
    puts(!isnan(r->arora[0]) ? "" : o->top ? "  (needs the whole spectrum)" : "  (G is numerically singular)");
    if (o->top)
        return;
    printf("  loss L(0) = %.6g, L(inf) = %.6g; reaches %.6g at t = %.6g\n", r->loss0, r->loss_inf, r->reach,
           r->reach_time);
    double times[8];
    curve_times(r, times, 8);
    printf("  t:   ");
    for (int i = 0; i < 8; i++)
        printf(" %10.4g", times[i]);
    printf("\n  L(t):");
    for (int i = 0; i < 8; i++)
        printf(" %10.4g", ntkc_spectrum_loss(r, times[i]));
    putchar('\n');
}

/* ---- the figure ---- */

typedef struct SpecPlot {
    const ntkc_spectrum_result *r;
    int targets, curve;
} SpecPlot;

static int write_data(const Plot *p, const ntkc_spectrum_result *r, int targets, ntkc_error *err)
{
    char path[4200];
    FILE *f = fopen(plot_path(p, ".dat", path, sizeof path), "w");
    if (f == NULL) {
        err_user(err, "--plot: cannot write %s", path);
        return err->code;
    }
    double total = targets ? 2 * r->loss0 * (double)r->n * (double)r->k : 1;
    fprintf(f, "# index eigenvalue energy_fraction cumulative_energy\n");
    double cum = 0;
    for (size_t i = 0; i < r->count; i++) {
        double e = 0;
        for (size_t c = 0; targets && c < r->k; c++)
            e += r->energy[i * r->k + c];
        cum += e / total;
        fprintf(f, "%zu %.17g %.17g %.17g\n", i + 1, r->eigenvalues[i], targets ? e / total : NAN, targets ? cum : NAN);
    }
    if (targets && r->count == r->n) { /* second block: the loss curve */
        fprintf(f, "\n\n# time loss\n");
        double times[200];
        curve_times(r, times, 8); /* range only */
        double t0 = times[0] / 100, t1 = times[7] * 10;
        for (int i = 0; i < 200; i++) {
            double t = t0 * pow(t1 / t0, i / 199.0);
            fprintf(f, "%.17g %.17g\n", t, ntkc_spectrum_loss(r, t));
        }
    }
    if (fclose(f) != 0) {
        err_user(err, "--plot: cannot write %s", path);
        return err->code;
    }
    return NTKC_OK;
}

static void spectrum_body(FILE *f, const Plot *p, void *ctx)
{
    const SpecPlot *s = ctx;
    char dat[4200];
    plot_path(p, ".dat", dat, sizeof dat);
    int panels = 1 + s->targets + s->curve;
    fprintf(f, "set multiplot layout 1,%d\nset grid\nset key top right\n", panels);
    fputs("set logscale xy\nset format y '10^{%T}'\nset xlabel 'eigenvalue index i (largest first)'\n"
          "set ylabel 'eigenvalue {/Symbol l}_i'\nset title 'kernel spectrum'\n", f);
    fputs("plot ", f);
    plot_quote(f, dat);
    fputs(" index 0 using 1:2 with linespoints pt 7 ps 0.4 title '{/Symbol l}_i'\n", f);
    if (s->targets) {
        fputs("set ylabel 'fraction of |Y|^2'\nset title 'energy of the targets per eigendirection'\n"
              "set key bottom left\nset yrange [1e-8:1.5]\nplot ", f);
        plot_quote(f, dat);
        fputs(" index 0 using 1:($3 > 0 ? $3 : NaN) with points pt 7 ps 0.3 title '(v_i^T Y)^2 / |Y|^2', ", f);
        plot_quote(f, dat);
        fputs(" index 0 using 1:4 with lines lw 2 title 'cumulative'\nset yrange [*:*]\nset key top right\n", f);
    }
    if (s->curve) {
        fputs("set format x '10^{%T}'\nset xlabel 'time t = learning rate × steps'\n"
              "set ylabel 'training loss |f - Y|^2 / (2nk)'\nset title 'loss of the infinitely wide net'\nplot ", f);
        plot_quote(f, dat);
        fputs(" index 1 using 1:2 with lines lw 2 title 'L(t), closed form'\n", f);
    }
}

/* ---- the command ---- */

static int write_eigenvalues(const char *path, const ntkc_spectrum_result *r, ntkc_error *err)
{
    size_t shape[1] = {r->count};
    NpyOut *o = npy_out_create(path, 1, shape, err);
    if (o == NULL)
        return err->code;
    memcpy(npy_out_data(o), r->eigenvalues, r->count * sizeof *r->eigenvalues);
    return npy_out_commit(o, err);
}

/* The data: rows of X, or a graph set for a graph net. */
typedef struct SpecInputs {
    NpyArray x;
    ntkc_graphs *g;
} SpecInputs;

/* The inputs, and the targets asked for (none: t->y stays NULL). */
static int load_spectrum_inputs(const ntkc_net *net, const char *x_path, const SpecArgs *a, SpecInputs *in, Targets *t,
                       ntkc_error *err)
{
    if (a->labels && !ntkc_net_takes_graphs(net)) {
        err_user(err, "--labels: net '%s' takes arrays, which carry no labels (only the graph files of a graph "
                       "net do); give --targets Y.npy", ntkc_net_name(net));
        return err->code;
    }
    if (a->labels && a->targets) {
        err_user(err, "--labels and --targets both name the targets: give one");
        return err->code;
    }
    if (!ntkc_net_takes_graphs(net)) {
        if (load_net_inputs(net, x_path, &in->x, err))
            return err->code;
        return a->targets ? targets_load_train(a->targets, in->x.shape[0], x_path, "inputs", t, err) : NTKC_OK;
    }
    if ((in->g = load_graphs(x_path, net, a->quiet != NULL, err)) == NULL)
        return err->code;
    size_t n = ntkc_graphs_count(in->g);
    if (a->labels)
        return targets_from_labels(x_path, ntkc_graphs_labels(in->g), n, NULL, t, err);
    return a->targets ? targets_load_train(a->targets, n, x_path, "graphs", t, err) : NTKC_OK;
}

static int run(const char *net_path, const char *x_path, const SpecArgs *a, ntkc_error *err)
{
    ntkc_spectrum_options o;
    ntkc_backend backend;
    Plot plot;
    if (parse_options(a, &o, &backend) != 0)
        return 1;
    if (a->plot && plot_init(&plot, a->plot, err))
        return err->code;
    const char *inputs[] = {x_path, a->targets};
    if (a->eigenvalues && check_output_not_input(a->eigenvalues, inputs, a->targets ? 2 : 1, err))
        return err->code;
    ntkc_compile_options copts = {.net_name = a->net_name, .backend = backend};
    ntkc_net *net = ntkc_compile_file(net_path, &copts, err);
    SpecInputs in = {0};
    Targets t = {0};
    ntkc_spectrum_result r = {0};
    int rc = net ? load_spectrum_inputs(net, x_path, a, &in, &t, err) : err->code;
    int with_targets = t.y != NULL;
    if (rc == 0 && in.g)
        rc = ntkc_spectrum_graphs(net, in.g, t.y, t.k, &o, &r, err);
    else if (rc == 0)
        rc = ntkc_spectrum(net, in.x.shape[0], in.x.data, in.x.shape[1], t.y, t.k, &o, &r, err);
    if (rc == 0 && !a->quiet)
        print_summary(net, &o, &r, with_targets ? &t : NULL);
    if (rc == 0 && a->eigenvalues)
        rc = write_eigenvalues(a->eigenvalues, &r, err);
    if (rc == 0 && a->plot) {
        SpecPlot sp = {.r = &r, .targets = with_targets, .curve = with_targets && o.top == 0};
        rc = write_data(&plot, &r, sp.targets, err);
        if (rc == 0)
            rc = plot_write_script(&plot, 420 * (1 + sp.targets + sp.curve), 420, spectrum_body, &sp, err);
        if (rc == 0)
            rc = plot_render(&plot, a->quiet != NULL, err);
    }
    ntkc_spectrum_result_free(&r);
    targets_free(&t);
    npy_free(&in.x);
    ntkc_graphs_free(in.g);
    ntkc_net_free(net);
    return rc;
}

int cmd_spectrum(int argc, char **argv)
{
    SpecArgs a = {0};
    const OptSpec specs[] = {{"--targets", 1, &a.targets}, {"--labels", 0, &a.labels},
                             {"--kernel", 1, &a.kernel},
                             {"--top", 1, &a.top},         {"--eigenvalues", 1, &a.eigenvalues},
                             {"--reach", 1, &a.reach},     {"--plot", 1, &a.plot},
                             {"--net", 1, &a.net_name},    {"--backend", 1, &a.backend},
                             {"--threads", 1, &a.threads}, {"--quiet", 0, &a.quiet},
                             {NULL, 0, NULL}};
    Args args;
    if (args_parse("spectrum", argc, argv, specs, &args) != 0)
        return 1;
    if (args.help) {
        fputs(help, stdout);
        return 0;
    }
    if (args.npositional != 2) {
        fputs(help, stderr);
        fprintf(stderr, "\nntkc spectrum: expected NET.ntk and X.npy, got %zu arguments\n", args.npositional);
        return 1;
    }
    ntkc_error err = {0};
    int rc = run(args.positional[0], args.positional[1], &a, &err);
    return rc == 0 ? 0 : (err.code ? report_error(&err) : rc);
}
