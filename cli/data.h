/* Loading the data matrices the commands take, with the checks every
 * command wants: rank 2, at least one row, finite values. */
#ifndef NTKC_CLI_DATA_H
#define NTKC_CLI_DATA_H

#include "npy.h"

/* Returns 0, or the error code with err set. */
int load_inputs(const char *path, NpyArray *out, ntkc_error *err);
/* Refuses an output path naming the same file as any input. */
int check_output_not_input(const char *out, const char *const *inputs, size_t ninputs, ntkc_error *err);

#endif
