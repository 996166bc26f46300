/* The subcommands of the ntkc executable; each returns the process exit code
 * (0 ok, 1 user error, 2 internal error). */
#ifndef NTKC_CLI_COMMANDS_H
#define NTKC_CLI_COMMANDS_H

#include "ntkc.h"

int cmd_kernel(int argc, char **argv);
int cmd_emit(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_derive(int argc, char **argv);
int cmd_spectrum(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_ir(int argc, char **argv);

/* Prints err's message to stderr and returns its exit code. */
int report_error(const ntkc_error *err);
/* "ntkc: writing standard output: <strerror>" on stderr; returns exit code 1.
 * main reports any other failed write to stdout when the command returns. */
int report_stdout_error(int errnum);
/* --backend tcc|cc; returns -1 after printing an error. */
int parse_backend(const char *cmd, const char *value, ntkc_backend *out);
/* --precision single|double (NULL: double); -1 after a message on stderr. */
int parse_precision(const char *cmd, const char *value, ntkc_precision *out);

#endif
