/* The .npy preamble and header dict: parsing (robust to arbitrary bytes, it is
 * fuzzed) and formatting (byte-identical to numpy.save). Internal to npy*.c. */
#ifndef NTKC_NPY_HEADER_H
#define NTKC_NPY_HEADER_H

#include <stddef.h>

#include "diag.h"
#include "npy.h"

/* Prefix of the file that holds the magic, version and header length. */
#define NPY_PREAMBLE_MAX 12
/* No legitimate header (rank <= 8) comes near this; refusing longer ones
 * bounds what a hostile file can make us allocate before its data is seen. */
#define NPY_HEADER_MAX (1u << 20)

typedef enum NpyKind { NPY_KIND_FLOAT, NPY_KIND_INT, NPY_KIND_UINT, NPY_KIND_BOOL } NpyKind;

typedef struct NpyDtype {
    NpyKind kind;
    size_t size;     /* bytes per element: 1, 2, 4 or 8 */
    int swap;        /* file byte order differs from the host's */
    char descr[32];  /* as written in the file, for messages */
} NpyDtype;

typedef struct NpyHeader {
    size_t data_offset; /* where the data starts = preamble + header length */
    NpyDtype dtype;
    int fortran_order;
    size_t ndim;
    size_t shape[NPY_MAX_DIMS];
    size_t count;  /* product of shape */
    size_t nbytes; /* count * dtype.size */
} NpyHeader;

/* From the first min(len, NPY_PREAMBLE_MAX) bytes: checks magic and version and
 * returns the data offset. `len` short of the preamble is a truncated header. */
int npy_preamble(const unsigned char *buf, size_t len, const char *name, size_t *data_offset,
                 ntkc_error *err);
/* buf holds at least the whole header (len >= data offset). Fills h. */
int npy_header_parse(const unsigned char *buf, size_t len, const char *name, NpyHeader *h,
                     ntkc_error *err);
/* Checks that exactly h->nbytes of data follow the header: `avail` is the byte
 * count after the header. */
int npy_check_data_size(const NpyHeader *h, size_t avail, const char *name, ntkc_error *err);

/* "100×5", "7" or "()" for a scalar. */
void npy_shape_str(char *buf, size_t cap, size_t ndim, const size_t *shape);
/* Product of shape (0 when any dimension is 0); 0 return = ok, -1 = overflow. */
int npy_shape_count(size_t ndim, const size_t *shape, size_t *count);

/* Writes numpy.save's preamble + header for a C-order float64 array into buf
 * (cap >= NPY_WRITE_HEADER_MAX); returns its length, a multiple of 64. */
#define NPY_WRITE_HEADER_MAX 512
size_t npy_header_format(char *buf, size_t cap, size_t ndim, const size_t *shape);

#endif
