/* Data of the wrong kind for a net, refused before a reader sees it: a .npy
 * array handed to a graph net, or a text (graph) file handed to a net of
 * vectors, images or sequences. The readers' own messages for these ("not a
 * .npy file", "contains a NUL byte") would not say what went wrong. */
#ifndef NTKC_CLI_INPUT_KIND_H
#define NTKC_CLI_INPUT_KIND_H

#include "ntkc.h"

/* 0 when path may hold what net takes (or cannot be opened, or is not a
 * regular file: the reader reports that, reading a FIFO only once), else the error code with err naming the file and the fix. */
int check_input_kind(const ntkc_net *net, const char *path, ntkc_error *err);

#endif
