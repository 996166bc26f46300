/* Variable-length inputs on the command line: a mask .npy (n, L) — or
 * (n, H, W) for images, (n, D, H, W) for volumes —, 1 (true) where a position is padding and 0 where
 * it holds a value (neural-tangents' mask: true = masked), or a lengths .npy
 * (n,) for sequences, positions p >= lengths[i] padding. */
#ifndef NTKC_CLI_MASKS_H
#define NTKC_CLI_MASKS_H

#include "ntkc_tool.h"
#include "ntkc.h"

/* Marks x's padding (NaN in every channel, ntkc_mask_inputs) from mask_path
 * or lengths_path (at most one given; neither: nothing to do). x_path names
 * the data in messages. 0, or the error code with err naming the file. */
int apply_mask_file(const ntkc_net *net, NpyArray *x, const char *x_path, const char *mask_path,
                    const char *lengths_path, ntkc_error *err);

#endif
