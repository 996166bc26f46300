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
    "usage: ntkc emit NET.ntk [--net NAME] [-o OUT.c] [-H OUT.h] [--precision double|single]\n"
    "\n"
    "Writes the self-contained C99 the net compiles to (needs only libc and\n"
    "libm; clean under -std=c99 -pedantic -Wall -Wextra -Wmissing-prototypes).\n"
    "-H also writes a header with the prototypes of the functions it exports.\n"
    "Entry point, with NAME the net's name:\n"
    "  int ntkcnet_NAME(size_t n1, const double *x1, size_t n2, const double *x2,\n"
    "                size_t dim, double *nngp, double *ntk);\n"
    "x1, x2 row-major n1×dim and n2×dim; nngp, ntk row-major n1×n2 (either may\n"
    "be NULL). For a graph net (input graph(F)):\n"
    "  int ntkcnet_NAME(const struct ntkc_graph_set *g1, const struct ntkc_graph_set *g2,\n"
    "                double *nngp, double *ntk);\n"
    "count1×count2 outputs, g2 NULL for g1 with itself; the header documents\n"
    "struct ntkc_graph_set (node counts, features, CSR adjacency). Returns 0,\n"
    "1 when the input does not fit the net, 2 out of memory, 3 when a result\n"
    "is not finite. --precision single: the float32 file (float nngp, ntk and\n"
    "records; every family; docs/precision.md).\n";

int cmd_emit(int argc, char **argv)
{
    const char *out = NULL, *header = NULL, *net_name = NULL, *precision_arg = NULL;
    const OptSpec specs[] = {{"-o", 1, &out},           {"--output", 1, &out},
                             {"-H", 1, &header},        {"--header", 1, &header},
                             {"--net", 1, &net_name},   {"--precision", 1, &precision_arg},
                             {NULL, 0, NULL}};
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
    ntkc_precision precision;
    if (parse_precision("emit", precision_arg, &precision) != 0)
        return 1;
    ntkc_error err = {0};
    int to_file = out != NULL && strcmp(out, "-") != 0;
    const char *outs[2];
    size_t nouts = 0;
    if (to_file)
        outs[nouts++] = out;
    if (header != NULL)
        outs[nouts++] = header;
    if (header != NULL && (strcmp(header, "-") == 0 || (to_file && strcmp(header, out) == 0))) {
        fprintf(stderr, "ntkc emit: -H needs a file of its own (not '-' or the -o file)\n");
        return 1;
    }
    for (size_t i = 0; i < nouts; i++)
        if (check_output_not_input(outs[i], (const char *const *)args.positional, 1, &err) != 0)
            return report_error(&err);
    if (nouts)
        note_stale_temps(outs, nouts);
    char *text = ntkc_read_text_file(args.positional[0], &err);
    if (text == NULL)
        return report_error(&err);
    char *c = ntkc_emit_precision(text, args.positional[0], net_name, precision, 0, &err);
    char *h = c != NULL && header != NULL ? ntkc_emit_precision(text, args.positional[0], net_name, precision, 1, &err)
                                          : NULL;
    free(text);
    if (c == NULL || (header != NULL && h == NULL)) {
        free(c);
        return report_error(&err);
    }
    int rc = 0;
    /* the header first: a failure leaves neither file new */
    if (h != NULL && atomic_write_file(header, h, strlen(h), &err) != 0)
        rc = report_error(&err);
    else if (!to_file)
        rc = fputs(c, stdout) == EOF ? report_stdout_error(errno) : 0;
    else if (atomic_write_file(out, c, strlen(c), &err) != 0)
        rc = report_error(&err);
    free(c);
    free(h);
    return rc;
}
