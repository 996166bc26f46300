/* ntkc derive: a formula activation's φ and its symbolic derivative φ', as
 * the compiler simplified them, with the quadrature its dual kernels use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "ntkc_tool.h"

static const char help[] =
    "usage: ntkc derive FILE.ntk [NAME ...]\n"
    "\n"
    "Prints each formula activation NAME of the file (all of them when no NAME\n"
    "is given) with its default parameters: φ and the derivative φ' that ntkc\n"
    "derived symbolically, simplified, and the Gauss-Hermite rule its dual\n"
    "kernels are integrated with. The formulas are valid ntkc expressions.\n";

static int derive(const char *file, const char *const *names, size_t nnames, ntkc_error *err)
{
    char *text = ntkc_read_text_file(file, err);
    if (text == NULL)
        return err->code;
    char *out = ntkc_derive(text, file, names, nnames, err);
    free(text);
    if (out == NULL)
        return err->code;
    fputs(out, stdout);
    free(out);
    return 0;
}

int cmd_derive(int argc, char **argv)
{
    const OptSpec specs[] = {{NULL, 0, NULL}};
    Args args;
    if (args_parse("derive", argc, argv, specs, &args) != 0)
        return 1;
    if (args.help) {
        fputs(help, stdout);
        return 0;
    }
    if (args.npositional < 1) {
        fputs(help, stderr);
        return 1;
    }
    ntkc_error err = {0};
    /* A failed write to stdout is reported by main (finish_stdout). */
    int rc = derive(args.positional[0], args.positional + 1, args.npositional - 1, &err);
    return rc == 0 ? 0 : report_error(&err);
}
