/* NumPy .npy files: users hand ntkc their data as .npy and get kernels back as
 * .npy. Every failure is a user error in an ntkc_error whose message names the
 * file (and, for bad values, the element). */
#ifndef NTKC_NPY_H
#define NTKC_NPY_H

#include <stddef.h>

#include "diag.h"

#define NPY_MAX_DIMS 8

typedef struct NpyArray {
    double *data;  /* malloc'd (never NULL on success, even when count is 0), float64, C order */
    size_t ndim;   /* 0..8 */
    size_t shape[NPY_MAX_DIMS];
    size_t count;  /* product of shape */
} NpyArray;

/* Reads float64/32/16, int8/16/32/64, uint8/16/32/64 and bool, either byte
 * order, C or Fortran order (Fortran is transposed into C order), format
 * versions 1.0, 2.0 and 3.0. Integers beyond 2^53 are rounded to the nearest
 * double. On failure *out is zeroed and nothing needs freeing. */
int npy_read(const char *path, NpyArray *out, ntkc_error *err);
/* Same from memory; `name` stands for the file in messages. */
int npy_parse(const void *buf, size_t len, const char *name, NpyArray *out, ntkc_error *err);
void npy_free(NpyArray *a);

/* Reports the first NaN or infinity: "X.npy: element [12, 3] is NaN". */
int npy_check_finite(const NpyArray *a, const char *name, ntkc_error *err);

/* Checks, before any work, that `path` could be written: its directory exists
 * and accepts a new file (probed by creating and removing a temp file), and
 * `path` is not a directory, device, FIFO, socket or symbolic link. */
int npy_check_output(const char *path, ntkc_error *err);

/* Writes a C-order float64 array the way numpy.save does, atomically: into a
 * temp file in the same directory, then renamed over `path` (no fsync). */
int npy_write_f64(const char *path, size_t ndim, const size_t *shape, const double *data,
                  ntkc_error *err);

/* Streaming output for arrays larger than memory: create writes the header to
 * a temp file next to `path`, sizes it (disk space is reserved where the file
 * system allows, so a full disk fails here rather than as SIGBUS later) and
 * maps the data region shared, so tiles are written in place through
 * npy_out_data. commit unmaps and renames into place; abort removes the temp.
 * commit always consumes `o` (a failed commit aborts). Nothing appears at
 * `path`, and an existing file there is untouched, unless commit succeeds. */
typedef struct NpyOut NpyOut;
NpyOut *npy_out_create(const char *path, size_t ndim, const size_t *shape, ntkc_error *err);
double *npy_out_data(NpyOut *o);
int npy_out_commit(NpyOut *o, ntkc_error *err);
/* Commits several outputs all or nothing (out_files.h, out_replace_all):
 * when one cannot be put in place, those before it get their old files
 * back. NULL entries are skipped; every entry is consumed. */
int npy_out_commit_all(NpyOut *const *outs, size_t n, ntkc_error *err);
void npy_out_abort(NpyOut *o); /* NULL is a no-op */
/* Drops the pages written so far from this process's map: they stay in the
 * page cache, bound for the file, so resident memory stays small whatever
 * the output's size. Safe while other threads write; NULL is a no-op. */
void npy_out_release(NpyOut *o);

/* 1 when both paths name the same file (out_files.h, out_same_file), else 0;
 * used to refuse writing an output over an input or another output. */
int npy_same_file(const char *a, const char *b);

#endif
