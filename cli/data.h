/* Loading the data matrices the commands take, with the checks every
 * command wants: rank 2, at least one row, finite values. */
#ifndef NTKC_CLI_DATA_H
#define NTKC_CLI_DATA_H

#include "ntkc_tool.h"
#include "ntkc.h"

/* Returns 0, or the error code with err set. */
int load_inputs(const char *path, NpyArray *out, ntkc_error *err);
/* The same for the inputs of `net`: a vector net takes (n, d); an image net
 * (n, H, W, C), or (n, H, W) when C = 1, or rows already flattened to
 * (n, H·W·C); a sequence net (n, L, C), (n, L) when C = 1, or (n, L·C).
 * Anything else is an error naming the file, its shape and the one expected;
 * a text file (a graph file?) is refused as such (input_kind.h).
 * On success out is 2-D: shape[1] is the values per input. */
int load_net_inputs(const ntkc_net *net, const char *path, NpyArray *out, ntkc_error *err);
/* Refuses an output path that exists and is not a regular file (a device, a
 * symlink: out_files.h) or names the same file as any input. */
int check_output_not_input(const char *out, const char *const *inputs, size_t ninputs, ntkc_error *err);
/* Notes on stderr the temp files that killed ntkc runs left in the outputs'
 * directories (temp_files_stale); NULL entries are skipped. */
void note_stale_temps(const char *const *outs, size_t n);

#endif
