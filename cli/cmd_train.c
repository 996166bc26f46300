/* ntkc train: ensembles of finite-width networks trained by gradient descent
 * next to the infinitely wide net's prediction (ntkc_train_finite), under the
 * NTK parameterization and/or μP, with a table and a figure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "plot.h"
#include "predict_data.h"

static const char help[] =
    "usage: ntkc train NET.ntk --train X.npy --targets Y.npy --test Xt.npy [--test-targets Yt.npy]\n"
    "                  --width W[,W...] --lr LR --steps T [--seeds S] [--param ntk|mup|both]\n"
    "                  [--checkpoints C] [--seed N] [--no-linearized] [--plot FILE]\n"
    "                  [--loss mse|xent] [--momentum M]\n"
    "                  [--net NAME] [--backend tcc|cc] [--threads N] [--quiet]\n"
    "\n"
    "Trains S finite-width networks per width (fully connected, image, attention and graph\n"
    "nets: ntkc check's finite networks, readout k units wide) by full-batch\n"
    "gradient descent on L = |f(X) - Y|² / (2·n·k), T steps of learning rate LR —\n"
    "time t = LR × steps, as in ntkc predict — and sets them beside the infinitely\n"
    "wide net's prediction at the same times. Per width, at the last time:\n"
    "  train/test L      mean over seeds (test with --test-targets)\n"
    "  kernel move       |Θ_t - Θ_0|_F / |Θ_0|_F of the empirical NTK on X\n"
    "  |f - f_lin|       RMS on Xt between each net and its linearisation around\n"
    "                    its initialisation, trained the same way\n"
    "  mean dist, z      |mean_seeds f(Xt) - mu|/|mu| against ntkc predict's mean\n"
    "                    mu; z = RMS of (mean - mu)/sqrt(C_ii/S), ~1 when only the\n"
    "                    finite number of seeds separates them\n"
    "  cov dist          |C_seeds - C|_F/|C|_F against ntkc predict's covariance,\n"
    "                    beside what S seeds alone give (sampling)\n"
    "and the log-log slopes against width (the lazy regime: about -1/2).\n"
    "\n"
    "  --param ntk|mup|both  ntk (default): the NTK parameterization; mup: the\n"
    "                    maximal-update (mean-field) parameterization of Yang & Hu\n"
    "                    2021 with one learning rate for all layers (abc-form,\n"
    "                    c = 0), whose kernel keeps moving at every width; both:\n"
    "                    the two side by side\n"
    "  --seeds S         initialisations per width (default 8, at least 2)\n"
    "  --checkpoints C   recorded times besides 0 (default 10)\n"
    "  --loss xent       softmax cross-entropy -sum y·log softmax(f) / (n·k) on\n"
    "                    one-hot targets instead of MSE\n"
    "  --momentum M      heavy-ball momentum M in [0, 1): v <- M·v - LR·grad,\n"
    "                    theta <- theta + v\n"
    "                    With either, each net is set beside the infinite-width\n"
    "                    training ODE from its own initial outputs (ntkc predict\n"
    "                    --fx0 --loss --momentum): mean dist is then\n"
    "                    sqrt(sum_s |f_s - f_s^ODE|^2 / sum_s |f_s^ODE|^2) on Xt,\n"
    "                    z and cov dist are left out (test L: MSE only)\n"
    "  --plot FILE       FILE.svg and FILE.png (gnuplot): kernel movement and\n"
    "                    distances against width, loss curves against time\n"
    "For a graph net (input graph(F)), --train and --test are graph files as\n"
    "ntkc kernel takes them, and --targets may be left out to train on the\n"
    "training file's labels (as ntkc predict does).\n"
    "Use ntkc spectrum for the largest stable learning rate.\n";

typedef struct TrainArgs {
    const char *train, *targets, *test, *test_targets, *width, *lr, *steps, *seeds, *param, *checkpoints, *seed;
    const char *no_lin, *plot, *net_name, *backend, *threads, *quiet, *loss, *momentum;
} TrainArgs;

typedef struct Setup {
    size_t *widths, nwidths;
    ntkc_train_options o;
    int ntk, mup;
    ntkc_backend backend;
} Setup;

static int parse_widths(const char *text, Setup *s)
{
    size_t count = 1;
    for (const char *p = text; *p; p++)
        count += *p == ',';
    s->widths = calloc(count, sizeof *s->widths);
    if (s->widths == NULL)
        return 1;
    const char *p = text;
    for (s->nwidths = 0; s->nwidths < count; s->nwidths++) {
        char *end;
        long long w = strtoll(p, &end, 10);
        if (end == p || (*end != ',' && *end != '\0') || w <= 0 || w > 1 << 24) {
            fprintf(stderr, "ntkc train: --width expects positive whole numbers up to 16777216 separated by "
                            "commas, got '%s'\n", text);
            return 1;
        }
        s->widths[s->nwidths] = (size_t)w;
        p = *end ? end + 1 : end;
    }
    return 0;
}

/* --loss mse|xent and --momentum m (in [0, 1)). */
static int parse_loss(const TrainArgs *a, ntkc_train_options *o)
{
    if (a->loss && strcmp(a->loss, "mse") != 0 && strcmp(a->loss, "xent") != 0) {
        fprintf(stderr, "ntkc train: --loss must be mse or xent, not '%s'\n", a->loss);
        return 1;
    }
    o->loss = a->loss && strcmp(a->loss, "xent") == 0 ? NTKC_LOSS_XENT : NTKC_LOSS_MSE;
    if (a->momentum == NULL)
        return 0;
    char *end;
    o->momentum_on = 1;
    o->momentum = strtod(a->momentum, &end);
    if (end == a->momentum || *end != '\0' || !(o->momentum >= 0 && o->momentum < 1)) {
        fprintf(stderr, "ntkc train: --momentum expects a number in [0, 1), got '%s'\n", a->momentum);
        return 1;
    }
    return 0;
}

static int parse_setup(const TrainArgs *a, Setup *s)
{
    memset(s, 0, sizeof *s);
    if (parse_backend("train", a->backend, &s->backend) != 0 || parse_widths(a->width, s) != 0)
        return 1;
    long seeds = a->seeds ? args_positive("train", "--seeds", a->seeds) : 8;
    long steps = args_positive("train", "--steps", a->steps);
    long checkpoints = a->checkpoints ? args_positive("train", "--checkpoints", a->checkpoints) : 10;
    long threads = a->threads ? args_positive("train", "--threads", a->threads) : 0;
    double lr = args_positive_real("train", "--lr", a->lr);
    if (seeds < 0 || steps < 0 || checkpoints < 0 || threads < 0 || lr < 0)
        return 1;
    if (seeds < 2) {
        fputs("ntkc train: --seeds must be at least 2 (the ensemble's covariance needs them)\n", stderr);
        return 1;
    }
    unsigned long long seed = 0;
    if (a->seed) {
        char *end;
        seed = strtoull(a->seed, &end, 10);
        if (end == a->seed || *end != '\0' || a->seed[0] == '-') {
            fprintf(stderr, "ntkc train: --seed expects a whole number >= 0, got '%s'\n", a->seed);
            return 1;
        }
    }
    const char *param = a->param ? a->param : "ntk";
    s->ntk = strcmp(param, "ntk") == 0 || strcmp(param, "both") == 0;
    s->mup = strcmp(param, "mup") == 0 || strcmp(param, "both") == 0;
    if (!s->ntk && !s->mup) {
        fprintf(stderr, "ntkc train: --param must be ntk, mup or both, not '%s'\n", param);
        return 1;
    }
    s->o = (ntkc_train_options){.widths = s->widths, .nwidths = s->nwidths, .seeds = (size_t)seeds, .seed = seed,
                                .lr = lr, .steps = (size_t)steps, .checkpoints = (size_t)checkpoints,
                                .linearized = a->no_lin == NULL, .eval = {.threads = (int)threads}};
    return parse_loss(a, &s->o);
}

/* ---- the table ---- */

static void print_cell(double v)
{
    if (isnan(v))
        printf(" %10s", "-");
    else
        printf(" %10.4g", v);
}

static void print_table(const char *title, const Setup *s, const ntkc_train_result *r, int ntk)
{
    size_t last = r->ntimes - 1;
    printf("%s, t = %g (%zu steps):\n", title, r->times[last], s->o.steps);
    printf("  %8s %10s %10s %10s %10s %10s %10s %10s %10s\n", "width", "train L", "test L", "kernel mv",
           "|f-f_lin|", ntk ? "mean dist" : "", ntk ? "mean z" : "", ntk ? "cov dist" : "", ntk ? "(sampling)" : "");
    if (ntk) {
        printf("  %8s", "inf");
        print_cell(r->inf_train_loss[last]);
        print_cell(r->inf_test_loss[last]);
        print_cell(0), print_cell(0), print_cell(0), print_cell(NAN), print_cell(0), print_cell(NAN);
        putchar('\n');
    }
    for (size_t w = 0; w < r->nwidths; w++) {
        size_t at = w * r->ntimes + last;
        printf("  %8zu", s->widths[w]);
        print_cell(r->train_loss[at]);
        print_cell(r->test_loss[at]);
        print_cell(r->kernel_move[at]);
        print_cell(r->lin_dist[at]);
        if (ntk)
            print_cell(r->mean_dist[at]), print_cell(r->mean_z[at]), print_cell(r->cov_dist[at]),
                print_cell(r->cov_floor[at]);
        putchar('\n');
    }
    printf("  log-log slope against width: kernel move %.3f", r->slope_kernel_move);
    if (!isnan(r->slope_lin_dist))
        printf(", |f - f_lin| %.3f", r->slope_lin_dist);
    if (ntk)
        printf(", mean dist %.3f", r->slope_mean_dist);
    printf("%s\n", ntk ? "  (lazy regime: about -1/2)" : "  (muP: the kernel moves at every width)");
}

/* ---- the figure ---- */

typedef struct TrainPlot {
    const Setup *s;
    const ntkc_train_result *ntk, *mup;
    int test; /* test losses present */
} TrainPlot;

static void width_block(FILE *f, const Setup *s, const ntkc_train_result *r)
{
    size_t last = r->ntimes - 1;
    fprintf(f, "# width kernel_move lin_dist mean_dist mean_z cov_dist train_loss test_loss\n");
    for (size_t w = 0; w < r->nwidths; w++) {
        size_t at = w * r->ntimes + last;
        fprintf(f, "%zu %.10g %.10g %.10g %.10g %.10g %.10g %.10g\n", s->widths[w], r->kernel_move[at],
                r->lin_dist[at], r->mean_dist[at], r->mean_z[at], r->cov_dist[at], r->train_loss[at],
                r->test_loss[at]);
    }
    fputs("\n\n", f);
}

/* Blocks: NTK widths, μP widths, then per width of the first result its
 * curve (time train test), and the infinite-width curve. */
static int write_data(const Plot *p, const TrainPlot *tp, ntkc_error *err)
{
    char path[4200];
    FILE *f = fopen(plot_path(p, ".dat", path, sizeof path), "w");
    if (f == NULL) {
        err_user(err, "--plot: cannot write %s", path);
        return err->code;
    }
    const ntkc_train_result *first = tp->ntk ? tp->ntk : tp->mup;
    width_block(f, tp->s, tp->ntk ? tp->ntk : tp->mup);
    width_block(f, tp->s, tp->mup ? tp->mup : tp->ntk);
    for (size_t w = 0; w < first->nwidths; w++) {
        fprintf(f, "# width %zu: time train_loss test_loss\n", tp->s->widths[w]);
        for (size_t c = 0; c < first->ntimes; c++)
            fprintf(f, "%.10g %.10g %.10g\n", first->times[c], first->train_loss[w * first->ntimes + c],
                    first->test_loss[w * first->ntimes + c]);
        fputs("\n\n", f);
    }
    fprintf(f, "# infinite width: time train_loss test_loss\n");
    for (size_t c = 0; c < first->ntimes; c++)
        fprintf(f, "%.10g %.10g %.10g\n", first->times[c], first->inf_train_loss[c], first->inf_test_loss[c]);
    if (fclose(f) != 0) {
        err_user(err, "--plot: cannot write %s", path);
        return err->code;
    }
    return NTKC_OK;
}

static void train_body(FILE *f, const Plot *p, void *ctx)
{
    const TrainPlot *tp = ctx;
    char dat[4200];
    plot_path(p, ".dat", dat, sizeof dat);
    size_t nw = tp->s->nwidths;
    fputs("set multiplot layout 1,3\nset grid\nset key bottom left\nset logscale xy\n"
          "set xlabel 'hidden width n'\nset format y '10^{%T}'\n", f);
    fputs("set ylabel '|{/Symbol Q}_t - {/Symbol Q}_0|_F / |{/Symbol Q}_0|_F'\n"
          "set title 'empirical NTK movement during training'\nplot ", f);
    if (tp->ntk) {
        plot_quote(f, dat);
        fputs(" index 0 using 1:2 with linespoints pt 7 lw 2 title 'NTK parameterization', ", f);
        plot_quote(f, dat);
        fputs(" index 0 using 1:($2 > 0 ? $2 : NaN) every ::0::0 with points notitle", f);
        double first = tp->ntk->kernel_move[tp->ntk->ntimes - 1];
        size_t lo = tp->s->widths[0], hi = tp->s->widths[nw - 1];
        if (hi > lo && first > 0) /* reference slopes through the first width */
            fprintf(f, ", [%zu:%zu] (%.10g)*(x/%zu)**(-0.5) with lines dt 2 lc 'gray' title 'slope -1/2', "
                       "[%zu:%zu] (%.10g)*(x/%zu)**(-1) with lines dt 3 lc 'gray' title 'slope -1'",
                    lo, hi, first, lo, lo, hi, first, lo);
        fputs(tp->mup ? ", " : "\n", f);
    }
    if (tp->mup) {
        plot_quote(f, dat);
        fputs(" index 1 using 1:2 with linespoints pt 5 lw 2 title '{/Symbol m}P (mean field)'\n", f);
    }
    fputs("set ylabel 'distance'\nset title 'finite nets vs their limits'\nplot ", f);
    plot_quote(f, dat);
    fprintf(f, " index %d using 1:3 with linespoints pt 7 lw 2 title 'RMS |f - f_{lin}| (test)'", tp->ntk ? 0 : 1);
    if (tp->ntk) {
        fputs(", ", f);
        plot_quote(f, dat);
        fputs(" index 0 using 1:4 with linespoints pt 5 lw 2 title '|mean - {/Symbol m}|/|{/Symbol m}|', ", f);
        plot_quote(f, dat);
        fputs(" index 0 using 1:6 with linespoints pt 9 lw 2 title '|cov - C|/|C|'", f);
    }
    fputs("\nunset logscale x\nset format x '%g'\nset xlabel 'time t = learning rate × steps'\n", f);
    fprintf(f, "set ylabel '%s loss |f - Y|^2/(2mk)'\nset title '%s'\nset key top right\nplot ",
            tp->test ? "test" : "training", tp->ntk ? "NTK parameterization" : "{/Symbol m}P");
    int col = tp->test ? 3 : 2;
    for (size_t w = 0; w < nw; w++) {
        plot_quote(f, dat);
        fprintf(f, " index %zu using 1:%d with lines lw 2 title 'width %zu', ", w + 2, col, tp->s->widths[w]);
    }
    plot_quote(f, dat);
    if (tp->ntk)
        fprintf(f, " index %zu using 1:%d with lines lw 2 dt 2 lc 'black' title 'infinite width'\n", nw + 2, col);
    else
        fprintf(f, " index %zu using 1:%d with lines notitle\n", (size_t)2, col);
}

/* ---- the command ---- */

static int train_param(const ntkc_net *net, const PredictData *d, Setup *s, ntkc_parameterization param,
                       ntkc_train_result *r, ntkc_error *err)
{
    s->o.param = param;
    if (d->g)
        return ntkc_train_finite_graphs(net, d->g, d->y.y, d->y.k, d->gt, d->yt.y, &s->o, r, err);
    return ntkc_train_finite(net, d->n, d->x.data, d->y.y, d->y.k, d->m, d->xt.data, d->yt.y, d->dim, &s->o, r, err);
}

static int report(const ntkc_net *net, const TrainArgs *a, const Setup *s, const PredictData *d,
                  const ntkc_train_result *ntk, const ntkc_train_result *mup, ntkc_error *err)
{
    if (!a->quiet) {
        printf("%s: %zu finite-width nets per width trained by gradient descent, lr %g, %zu train -> %zu test, "
               "%zu output%s\n", ntkc_net_name(net), s->o.seeds, s->o.lr, d->n, d->m, d->y.k, d->y.k == 1 ? "" : "s");
        const ntkc_train_result *any = ntk ? ntk : mup;
        if (any && any->dropout_note)
            printf("%s\n", any->dropout_note);
        if (ntk)
            print_table("NTK parameterization against the infinite-width prediction", s, ntk,
                        !isnan(ntk->inf_train_loss[ntk->ntimes - 1]));
        if (mup)
            print_table("muP (maximal update, mean-field) parameterization", s, mup, 0);
    }
    if (a->plot == NULL)
        return NTKC_OK;
    Plot plot;
    TrainPlot tp = {.s = s, .ntk = ntk, .mup = mup, .test = d->yt.y != NULL};
    if (plot_init(&plot, a->plot, err) || write_data(&plot, &tp, err) ||
        plot_write_script(&plot, 1500, 450, train_body, &tp, err))
        return err->code;
    return plot_render(&plot, a->quiet != NULL, err);
}

static int run(const char *net_path, const TrainArgs *a, ntkc_error *err)
{
    Setup s;
    if (parse_setup(a, &s) != 0) {
        free(s.widths);
        return 1;
    }
    Plot probe;
    if (a->plot && plot_init(&probe, a->plot, err)) {
        free(s.widths);
        return err->code;
    }
    ntkc_compile_options copts = {.net_name = a->net_name, .backend = s.backend};
    ntkc_net *net = ntkc_compile_file(net_path, &copts, err);
    PredictPaths paths = {.train = a->train, .targets = a->targets, .test = a->test, .test_targets = a->test_targets,
                          .quiet = a->quiet != NULL};
    PredictData d = {0};
    ntkc_train_result ntk = {0}, mup = {0};
    int rc = net ? predict_data_load(net, &paths, &d, err) : err->code;
    if (rc == 0 && s.ntk)
        rc = train_param(net, &d, &s, NTKC_PARAM_NTK, &ntk, err);
    if (rc == 0 && s.mup)
        rc = train_param(net, &d, &s, NTKC_PARAM_MUP, &mup, err);
    if (rc == 0)
        rc = report(net, a, &s, &d, s.ntk ? &ntk : NULL, s.mup ? &mup : NULL, err);
    ntkc_train_result_free(&ntk);
    ntkc_train_result_free(&mup);
    predict_data_free(&d);
    ntkc_net_free(net);
    free(s.widths);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    TrainArgs a = {0};
    const OptSpec specs[] = {{"--train", 1, &a.train},       {"--targets", 1, &a.targets},
                             {"--test", 1, &a.test},         {"--test-targets", 1, &a.test_targets},
                             {"--width", 1, &a.width},       {"--lr", 1, &a.lr},
                             {"--steps", 1, &a.steps},       {"--seeds", 1, &a.seeds},
                             {"--param", 1, &a.param},       {"--checkpoints", 1, &a.checkpoints},
                             {"--seed", 1, &a.seed},         {"--no-linearized", 0, &a.no_lin},
                             {"--plot", 1, &a.plot},         {"--net", 1, &a.net_name},
                             {"--backend", 1, &a.backend},   {"--threads", 1, &a.threads},
                             {"--quiet", 0, &a.quiet},       {"--loss", 1, &a.loss},
                             {"--momentum", 1, &a.momentum}, {NULL, 0, NULL}};
    Args args;
    if (args_parse("train", argc, argv, specs, &args) != 0)
        return 1;
    if (args.help) {
        fputs(help, stdout);
        return 0;
    }
    const char *missing = args.npositional != 1 ? "NET.ntk"
                          : !a.train            ? "--train X.npy"
                          : !a.test             ? "--test Xt.npy"
                          : !a.width            ? "--width W[,W...]"
                          : !a.lr               ? "--lr LR"
                          : !a.steps            ? "--steps T"
                                                : NULL;
    if (missing) {
        fputs(help, stderr);
        fprintf(stderr, "\nntkc train: missing %s\n", missing);
        return 1;
    }
    ntkc_error err = {0};
    int rc = run(args.positional[0], &a, &err);
    return rc == 0 ? 0 : (err.code ? report_error(&err) : rc);
}
