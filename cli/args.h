/* A small argument scanner shared by the subcommands: positional arguments
 * and long options with values ("--ntk K.npy" or "--ntk=K.npy"). */
#ifndef NTKC_CLI_ARGS_H
#define NTKC_CLI_ARGS_H

#include <stddef.h>

enum { ARGS_MAX_POSITIONAL = 8 };

typedef struct OptSpec {
    const char *name;  /* "--ntk" */
    int takes_value;   /* 1: needs a value; 0: a flag */
    const char **value; /* where the value (or "1" for flags) goes */
} OptSpec;

typedef struct Args {
    const char *positional[ARGS_MAX_POSITIONAL];
    size_t npositional;
    int help;
} Args;

/* Scans argv[1..argc) (argv[0] is the subcommand). Returns 0, or 1 after
 * printing a usage error naming the subcommand. */
int args_parse(const char *cmd, int argc, char **argv, const OptSpec *specs, Args *out);
/* Parses a positive count ("--width 1024"); prints an error and returns -1 on junk. */
long args_positive(const char *cmd, const char *opt, const char *value);
/* The same, refusing counts above max: for values that land in an int
 * (--threads), where a larger one would wrap into another meaning. */
long args_count(const char *cmd, const char *opt, const char *value, long max);
/* --threads: OpenMP's thread count is an int; more threads than this is a typo. */
enum { ARGS_MAX_THREADS = 4096 };
/* Parses a positive finite real ("--tol 0.05"); prints an error and returns -1 on junk. */
double args_positive_real(const char *cmd, const char *opt, const char *value);

#endif
