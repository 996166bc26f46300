/* ntkc — the command line: a thin layer over libntkc. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "proc_limits.h"
#include "ntkc_tool.h"

static const char usage[] =
    "usage: ntkc COMMAND [ARGS]\n"
    "\n"
    "Compiles a network architecture (.ntk) into its infinite-width NNGP and\n"
    "neural tangent kernels, and evaluates them on data.\n"
    "\n"
    "commands:\n"
    "  kernel NET.ntk X1.npy [X2.npy] --ntk K.npy --nngp S.npy\n"
    "                      NNGP and/or NTK between the rows of X1 and X2 (or the\n"
    "                      graphs of two graph files, for a net of input graph(F))\n"
    "  emit NET.ntk [-o OUT.c]\n"
    "                      the standalone C the net compiles to\n"
    "  check NET.ntk X.npy --width W --samples S\n"
    "                      analytic kernels vs finite-width networks (Monte Carlo)\n"
    "  predict NET.ntk --train X.npy --targets Y.npy --test Xt.npy --mean M.npy\n"
    "          [--time T,...] [--kernel ntk|nngp] [--reg R] [--cov C.npy] [--test-targets Yt.npy]\n"
    "                      outputs of the infinitely wide net trained by gradient\n"
    "                      descent on MSE: mean and covariance over initialisations\n"
    "                      (graph nets: graph files, labels from the files)\n"
    "  derive NET.ntk [NAME ...]\n"
    "                      a formula activation and its symbolic derivative\n"
    "  spectrum NET.ntk X.npy [--targets Y.npy] [--top K] [--plot FILE]\n"
    "                      the kernel's eigenvalues and what they mean for training\n"
    "  train NET.ntk --train X.npy --targets Y.npy --test Xt.npy --width W,...\n"
    "                      finite-width nets trained next to the kernel's prediction\n"
    "\n"
    "`ntkc COMMAND --help` describes a command. Exit codes: 0 success, 1 user\n"
    "error (bad source, data or arguments), 2 internal error.\n";

typedef struct Command {
    const char *name;
    int (*run)(int argc, char **argv);
} Command;

static const Command commands[] = {
    {"kernel", cmd_kernel},
    {"emit", cmd_emit},
    {"check", cmd_check},
    {"predict", cmd_predict},
    {"derive", cmd_derive},
    {"spectrum", cmd_spectrum},
    {"train", cmd_train},
    {"ir", cmd_ir},
};

/* Everything a command printed must have reached standard output: a full
 * disk or a closed pipe is an error (exit 1) named as such, never silent. */
static int finish_stdout(int rc)
{
    errno = 0;
    int failed = fflush(stdout) != 0 || ferror(stdout);
    int saved = errno;
    if (fclose(stdout) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    if (!failed || (rc != 0 && saved == 0)) /* nothing lost, or the command said why */
        return rc;
    if (saved)
        report_stdout_error(saved);
    else
        fputs("ntkc: writing standard output: write error\n", stderr);
    return rc ? rc : 1;
}

static int run(int argc, char **argv)
{
    /* an interrupted run removes its temp files (outputs, code cache) */
    temp_files_install_handlers();
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ntkc: unknown command '%s'\n\n%s", argv[1], usage);
    return 1;
}

int main(int argc, char **argv)
{
    /* Over `ulimit -f` a write fails with EFBIG, which the writer reports by
     * file name and cleans up after; SIGXFSZ would kill ntkc silently instead. */
    signal(SIGXFSZ, SIG_IGN);
    if (check_startup_limits() != 0)
        _exit(1);
    return finish_stdout(run_with_stack(run, argc, argv));
}
