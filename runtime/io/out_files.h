/* Outputs: what may be replaced, when two paths are one file, and putting
 * finished temp files in place of several outputs at once, all or nothing. */
#ifndef NTKC_OUT_FILES_H
#define NTKC_OUT_FILES_H

#include <stddef.h>

#include "diag.h"

/* Refuses (user error "PATH: cannot write output: it is a character device,
 * not a regular file") an existing path that is not a regular file: a device,
 * FIFO, socket, directory or symbolic link (renaming over /dev/null or the
 * /dev/stdout link would replace it). A path that does not exist is fine. */
int out_check_kind(const char *path, ntkc_error *err);

/* 1 when a and b name the same file: the same device and inode when both
 * exist, else the same canonical path (the real path of the directory and
 * the last component): "S.npy" and "./S.npy", "d/../S.npy", a hard link. */
int out_same_file(const char *a, const char *b);

/* Puts tmps[i] in place of paths[i] for every i, or none of them: an output
 * that fails (it became a device, a rename fails) undoes the ones before it,
 * which get their old files back. An existing output's permission bits (and,
 * for root, its owner) carry over to the new file; a new one keeps the temp's
 * 0666 less the umask. The temps are consumed either way, and their slots
 * (temp_files.h; -1 for none, or slots NULL) forgotten. Signals that arrive
 * meanwhile are acted on after the outputs are all in place or all back. */
int out_replace_all(char *const *tmps, const int *slots, const char *const *paths, size_t n, ntkc_error *err);

#endif
