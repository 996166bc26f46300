/* NumPy .npy files: users hand ntkc their data as .npy and get kernels back as
 * .npy. The reader, writer and streaming outputs are declared in ntkc_tool.h
 * (the CLI uses them); this adds what only the runtime, tests and fuzzers use. */
#ifndef NTKC_NPY_H
#define NTKC_NPY_H

#include <stddef.h>

#include "ntkc_tool.h"

/* npy_read from memory; `name` stands for the file in messages. */
int npy_parse(const void *buf, size_t len, const char *name, NpyArray *out, ntkc_error *err);

#endif
