/* ntkc ir: the recursion IR a net lowers to, one line per op, with the
 * Gaussianity lowering decided for every value (docs/gaussianity.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "commands.h"
#include "ntkc_tool.h"

static const char help[] =
    "usage: ntkc ir NET.ntk [--net NAME]\n"
    "\n"
    "Prints the recursion IR the net lowers to: one line per op (nested\n"
    "branches indented), each value numbered %k and read by the next op, with\n"
    "the op's position in the file, its output shape, whether that output is\n"
    "a Gaussian field (what activations, layer_norm and fanout ... prod need\n"
    "of their input; see docs/gaussianity.md) and the variances per input its\n"
    "record holds. A net the compiler refuses gets its error instead.\n";

static int dump(const char *file, const char *net_name, ntkc_error *err)
{
    char *text = ntkc_read_text_file(file, err);
    if (text == NULL)
        return err->code;
    char *ir = ntkc_ir(text, file, net_name, err);
    free(text);
    if (ir == NULL)
        return err->code;
    int rc = fputs(ir, stdout) == EOF ? report_stdout_error(errno) : 0;
    free(ir);
    return rc;
}

int cmd_ir(int argc, char **argv)
{
    const char *net_name = NULL;
    const OptSpec specs[] = {{"--net", 1, &net_name}, {NULL, 0, NULL}};
    Args args;
    if (args_parse("ir", argc, argv, specs, &args) != 0)
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
    int rc = dump(args.positional[0], net_name, &err); /* main reports a failed flush of stdout */
    return rc == 0 ? 0 : err.code ? report_error(&err) : rc;
}
