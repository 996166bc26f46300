/* ntkc emit: the standalone C of a net, to stdout or (atomically) a file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "ntkc_tool.h"
#include "commands.h"
#include "data.h"

static const char help[] =
    "usage: ntkc emit NET.ntk [--net NAME] [-o OUT.c]\n"
    "\n"
    "Writes the self-contained C99 the net compiles to (needs only libc and\n"
    "libm). Entry point, with NAME the net's name:\n"
    "  int ntkcnet_NAME(size_t n1, const double *x1, size_t n2, const double *x2,\n"
    "                size_t dim, double *nngp, double *ntk);\n"
    "x1, x2 row-major n1×dim and n2×dim; nngp, ntk row-major n1×n2 (either may\n"
    "be NULL). Returns 0, 1 when dim does not fit the net, 2 out of memory, 3\n"
    "when a result is not finite.\n";

int cmd_emit(int argc, char **argv)
{
    const char *out = NULL, *net_name = NULL;
    const OptSpec specs[] = {{"-o", 1, &out}, {"--output", 1, &out}, {"--net", 1, &net_name}, {NULL, 0, NULL}};
    Args args;
    if (args_parse("emit", argc, argv, specs, &args) != 0)
        return 1;
    if (args.help) {
        fputs(help, stdout);
        return 0;
    }
    if (args.npositional != 1) {
        fputs(help, stderr);
        return 1;
    }
    ntkc_error err = {0};
    int to_file = out != NULL && strcmp(out, "-") != 0;
    if (to_file && check_output_not_input(out, (const char *const *)args.positional, 1, &err) != 0)
        return report_error(&err);
    if (to_file)
        note_stale_temps(&out, 1);
    char *text = ntkc_read_text_file(args.positional[0], &err);
    if (text == NULL)
        return report_error(&err);
    char *c = ntkc_emit(text, args.positional[0], net_name, &err);
    free(text);
    if (c == NULL)
        return report_error(&err);
    int rc = 0;
    if (!to_file)
        rc = fputs(c, stdout) == EOF ? report_stdout_error(errno) : 0;
    else if (atomic_write_file(out, c, strlen(c), &err) != 0)
        rc = report_error(&err);
    free(c);
    return rc;
}
