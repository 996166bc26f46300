/* Outputs: what may be replaced, when two paths are one file, and putting
 * finished temp files in place of several outputs at once, all or nothing. */
#ifndef NTKC_OUT_FILES_H
#define NTKC_OUT_FILES_H

#include <stddef.h>

#include "ntkc_tool.h"

/* out_check_kind (refusing a device, FIFO, directory or link) is declared in
 * ntkc_tool.h. */

/* 1 when a and b name the same file: the same device and inode when both
 * exist, else the same canonical path (the real path of the directory and
 * the last component): "S.npy" and "./S.npy", "d/../S.npy", a hard link. */
int out_same_file(const char *a, const char *b);

/* out_replace_all (several temps into place, all or nothing) is declared in
 * ntkc_tool.h: ntkc-mpi commits its outputs with it. */

#endif
