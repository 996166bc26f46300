/* Reading .npy files into float64 C-order arrays. */
#include "npy.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy_header.h"
#include "ntkc_err.h"

static double half_to_double(uint16_t h)
{
    int exponent = (h >> 10) & 0x1f;
    double mantissa = h & 0x3ff;
    double v;
    if (exponent == 0)
        v = ldexp(mantissa, -24);
    else if (exponent == 31)
        v = mantissa != 0 ? NAN : INFINITY;
    else
        v = ldexp(mantissa + 1024, exponent - 25);
    return (h & 0x8000) ? -v : v;
}

static uint8_t no_swap8(uint8_t x) { return x; }
static uint16_t no_swap16(uint16_t x) { return x; }
static uint32_t no_swap32(uint32_t x) { return x; }
static uint64_t no_swap64(uint64_t x) { return x; }
static uint8_t swap8(uint8_t x) { return x; } /* single bytes have no order */
static uint16_t swap16(uint16_t x) { return __builtin_bswap16(x); }
static uint32_t swap32(uint32_t x) { return __builtin_bswap32(x); }
static uint64_t swap64(uint64_t x) { return __builtin_bswap64(x); }

/* One loop per (type, byte order) so each is a tight, vectorisable copy. T is
 * the element type, U the unsigned integer of its size, FROM maps T to double. */
#define CONVERT_LOOP(T, U, SWAP, FROM)                                                             \
    for (size_t i = 0; i < n; i++) {                                                               \
        U u;                                                                                       \
        memcpy(&u, src + i * sizeof(U), sizeof(U));                                                \
        u = SWAP(u);                                                                               \
        T v;                                                                                       \
        memcpy(&v, &u, sizeof v);                                                                  \
        dst[i] = FROM(v);                                                                          \
    }
#define CONVERT(T, U, BITS, FROM)                                                                  \
    do {                                                                                           \
        if (dt->swap)                                                                              \
            CONVERT_LOOP(T, U, swap##BITS, FROM)                                                     \
        else                                                                                       \
            CONVERT_LOOP(T, U, no_swap##BITS, FROM)                                                \
    } while (0)
#define AS_DOUBLE(v) ((double)(v))
#define AS_BOOL(v) ((v) != 0 ? 1.0 : 0.0)

/* Converts n elements of the file's dtype at src into doubles. */
static void convert(const unsigned char *src, size_t n, const NpyDtype *dt, double *dst)
{
    switch (dt->kind * 16 + (int)dt->size) {
    case NPY_KIND_FLOAT * 16 + 8: CONVERT(double, uint64_t, 64, AS_DOUBLE); break;
    case NPY_KIND_FLOAT * 16 + 4: CONVERT(float, uint32_t, 32, AS_DOUBLE); break;
    case NPY_KIND_FLOAT * 16 + 2: CONVERT(uint16_t, uint16_t, 16, half_to_double); break;
    case NPY_KIND_INT * 16 + 1: CONVERT(int8_t, uint8_t, 8, AS_DOUBLE); break;
    case NPY_KIND_INT * 16 + 2: CONVERT(int16_t, uint16_t, 16, AS_DOUBLE); break;
    case NPY_KIND_INT * 16 + 4: CONVERT(int32_t, uint32_t, 32, AS_DOUBLE); break;
    case NPY_KIND_INT * 16 + 8: CONVERT(int64_t, uint64_t, 64, AS_DOUBLE); break;
    case NPY_KIND_UINT * 16 + 1: CONVERT(uint8_t, uint8_t, 8, AS_DOUBLE); break;
    case NPY_KIND_UINT * 16 + 2: CONVERT(uint16_t, uint16_t, 16, AS_DOUBLE); break;
    case NPY_KIND_UINT * 16 + 4: CONVERT(uint32_t, uint32_t, 32, AS_DOUBLE); break;
    case NPY_KIND_UINT * 16 + 8: CONVERT(uint64_t, uint64_t, 64, AS_DOUBLE); break;
    default: CONVERT(uint8_t, uint8_t, 8, AS_BOOL); break; /* the header parser admits only b1 */
    }
}

/* dst (cols×rows, row-major) = transpose of src (rows×cols, row-major), in
 * blocks so both sides stay in cache. */
static void transpose_2d(const double *src, size_t rows, size_t cols, double *dst)
{
    enum { B = 32 };
    for (size_t i0 = 0; i0 < rows; i0 += B)
        for (size_t j0 = 0; j0 < cols; j0 += B)
            for (size_t i = i0; i < i0 + B && i < rows; i++)
                for (size_t j = j0; j < j0 + B && j < cols; j++)
                    dst[j * rows + i] = src[i * cols + j];
}

/* General rank: walk the C-order index with an odometer, tracking the
 * matching Fortran offset. */
static void reverse_axes(const NpyArray *a, double *c)
{
    size_t fstride[NPY_MAX_DIMS], idx[NPY_MAX_DIMS] = {0};
    fstride[0] = 1;
    for (size_t k = 1; k < a->ndim; k++)
        fstride[k] = fstride[k - 1] * a->shape[k - 1];
    size_t f = 0;
    for (size_t i = 0; i < a->count; i++) {
        c[i] = a->data[f];
        for (size_t k = a->ndim; k-- > 0;) { /* last index fastest */
            idx[k]++;
            f += fstride[k];
            if (idx[k] < a->shape[k])
                break;
            f -= idx[k] * fstride[k];
            idx[k] = 0;
        }
    }
}

/* Fortran order stores the first index fastest; rewrite into C order. */
static int fortran_to_c(NpyArray *a, const char *name, ntkc_error *err)
{
    if (a->ndim < 2 || a->count == 0)
        return 0;
    double *c = malloc(a->count * sizeof *c);
    if (c == NULL) {
        err_file(err, name, "out of memory transposing a Fortran-order array of %zu elements",
                  a->count);
        return -1;
    }
    if (a->ndim == 2)
        transpose_2d(a->data, a->shape[1], a->shape[0], c);
    else
        reverse_axes(a, c);
    free(a->data);
    a->data = c;
    return 0;
}

static int alloc_array(const NpyHeader *h, NpyArray *out, const char *name, ntkc_error *err)
{
    out->ndim = h->ndim;
    memcpy(out->shape, h->shape, sizeof out->shape);
    out->count = h->count;
    out->data = malloc(h->count > 0 && h->count <= SIZE_MAX / sizeof(double)
                           ? h->count * sizeof(double) : sizeof(double));
    if (out->data == NULL || h->count > SIZE_MAX / sizeof(double)) {
        char shape[200];
        npy_shape_str(shape, sizeof shape, h->ndim, h->shape);
        err_file(err, name, "out of memory for a %s array of float64", shape);
        npy_free(out);
        return -1;
    }
    return 0;
}

void npy_free(NpyArray *a)
{
    if (a == NULL)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

int npy_parse(const void *buf, size_t len, const char *name, NpyArray *out, ntkc_error *err)
{
    memset(out, 0, sizeof *out);
    const unsigned char *b = buf;
    NpyHeader h;
    if (npy_header_parse(b, len, name, &h, err) != 0 ||
        npy_check_data_size(&h, len - h.data_offset, name, err) != 0 ||
        alloc_array(&h, out, name, err) != 0)
        return -1;
    convert(b + h.data_offset, h.count, &h.dtype, out->data);
    if (h.fortran_order && fortran_to_c(out, name, err) != 0) {
        npy_free(out);
        return -1;
    }
    return 0;
}

/* pread until n bytes or end of file; returns bytes read or -1 (errno set). */
static ssize_t read_at(int fd, void *buf, size_t n, off_t at)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, at + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* read() until n bytes or end of stream; returns bytes read or -1 (errno set). */
static ssize_t read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Reads the preamble and header of a stream into a malloc'd buffer of
 * *data_offset bytes (plus any data bytes that came with the preamble: *got). */
static unsigned char *read_stream_header(int fd, const char *path, size_t *data_offset, size_t *got,
                                         ntkc_error *err)
{
    unsigned char pre[NPY_PREAMBLE_MAX];
    ssize_t r = read_full(fd, pre, sizeof pre);
    if (r < 0) {
        err_file(err, path, "read error: %s", strerror(errno));
        return NULL;
    }
    if (npy_preamble(pre, (size_t)r, path, data_offset, err) != 0)
        return NULL;
    size_t have = (size_t)r, size = *data_offset > have ? *data_offset : have;
    unsigned char *buf = malloc(size);
    if (buf == NULL) {
        err_file(err, path, "out of memory reading the header");
        return NULL;
    }
    memcpy(buf, pre, have);
    if (have < *data_offset) {
        r = read_full(fd, buf + have, *data_offset - have);
        if (r < 0 || (size_t)r != *data_offset - have) {
            err_file(err, path, "truncated header: it claims %zu bytes, the stream ends after %zu",
                      *data_offset, have + (r > 0 ? (size_t)r : 0));
            free(buf);
            return NULL;
        }
        have = *data_offset;
    }
    *got = have;
    return buf;
}

/* Pipes, FIFOs and devices: read once, exactly the bytes the header promises
 * and one more to detect overlong data, so /dev/zero or an endless pipe never
 * grows memory beyond what the header's shape asks for. */
static int read_stream(int fd, const char *path, NpyArray *out, ntkc_error *err)
{
    size_t data_offset, have;
    unsigned char *head = read_stream_header(fd, path, &data_offset, &have, err);
    if (head == NULL)
        return -1;
    NpyHeader h;
    int rc = npy_header_parse(head, data_offset, path, &h, err);
    size_t total = data_offset + h.nbytes;
    unsigned char *buf = rc != 0 ? NULL : h.nbytes < SIZE_MAX - data_offset - 1 ? realloc(head, total + 1) : NULL;
    if (rc == 0 && buf == NULL) {
        char shape[200];
        npy_shape_str(shape, sizeof shape, h.ndim, h.shape);
        err_file(err, path, "out of memory for the %zu bytes of a %s array", h.nbytes, shape);
    }
    if (buf == NULL) {
        free(head);
        return -1;
    }
    ssize_t r = have <= total ? read_full(fd, buf + have, total + 1 - have) : 0;
    if (r < 0) {
        err_file(err, path, "read error: %s", strerror(errno));
        rc = -1;
    } else if (have + (size_t)r > total) {
        char shape[200];
        npy_shape_str(shape, sizeof shape, h.ndim, h.shape);
        err_file(err, path, "more data than the header promises (%s, %zu bytes)", shape, h.nbytes);
        rc = -1;
    } else if (npy_check_data_size(&h, have + (size_t)r - data_offset, path, err) != 0) {
        rc = -1;
    } else {
        rc = npy_parse(buf, total, path, out, err);
    }
    free(buf);
    return rc;
}

/* Reads and parses the header, and checks the data size against the file, so
 * nothing is allocated for a shape the file cannot hold. */
static int read_header(int fd, size_t size, const char *path, NpyHeader *h, ntkc_error *err)
{
    unsigned char pre[NPY_PREAMBLE_MAX];
    size_t want = size < sizeof pre ? size : sizeof pre, data_offset;
    if (read_at(fd, pre, want, 0) != (ssize_t)want) {
        err_file(err, path, "read error: %s", strerror(errno));
        return -1;
    }
    if (npy_preamble(pre, want, path, &data_offset, err) != 0)
        return -1;
    if (data_offset > size) {
        err_file(err, path, "truncated header: it claims %zu bytes, the file has %zu",
                  data_offset, size);
        return -1;
    }
    unsigned char *hbuf = malloc(data_offset);
    int rc = -1;
    if (hbuf == NULL)
        err_file(err, path, "out of memory reading the header");
    else if (read_at(fd, hbuf, data_offset, 0) != (ssize_t)data_offset)
        err_file(err, path, "read error: %s", strerror(errno));
    else
        rc = npy_header_parse(hbuf, data_offset, path, h, err);
    free(hbuf);
    if (rc != 0)
        return -1;
    return npy_check_data_size(h, size - h->data_offset, path, err);
}

/* Converts the data in 1 MiB chunks so only the float64 result is held in
 * memory; native float64 is read straight into the result. */
static int read_data(int fd, const NpyHeader *h, const char *path, NpyArray *out, ntkc_error *err)
{
    enum { CHUNK = 1 << 20 };
    int direct = h->dtype.kind == NPY_KIND_FLOAT && h->dtype.size == 8 && !h->dtype.swap;
    unsigned char *chunk = direct ? NULL : malloc(CHUNK);
    if (!direct && chunk == NULL) {
        err_file(err, path, "out of memory reading the data");
        return -1;
    }
    size_t per = CHUNK / h->dtype.size, done = 0;
    while (done < h->count) {
        size_t n = h->count - done < per ? h->count - done : per;
        unsigned char *dst = direct ? (unsigned char *)(out->data + done) : chunk;
        off_t at = (off_t)(h->data_offset + done * h->dtype.size);
        ssize_t r = read_at(fd, dst, n * h->dtype.size, at);
        if (r != (ssize_t)(n * h->dtype.size)) {
            err_file(err, path, "read error at element %zu: %s", done,
                      r < 0 ? strerror(errno) : "the file shrank while being read");
            break;
        }
        if (!direct)
            convert(chunk, n, &h->dtype, out->data + done);
        done += n;
    }
    free(chunk);
    return done == h->count ? 0 : -1;
}

static int read_regular(int fd, size_t size, const char *path, NpyArray *out, ntkc_error *err)
{
    NpyHeader h;
    if (read_header(fd, size, path, &h, err) != 0 || alloc_array(&h, out, path, err) != 0)
        return -1;
    if (read_data(fd, &h, path, out, err) != 0 ||
        (h.fortran_order && fortran_to_c(out, path, err) != 0)) {
        npy_free(out);
        return -1;
    }
    return 0;
}

int npy_read(const char *path, NpyArray *out, ntkc_error *err)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            err_file(err, path, "no such file");
        else
            err_file(err, path, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) != 0)
        err_file(err, path, "cannot stat: %s", strerror(errno));
    else if (S_ISDIR(st.st_mode))
        err_file(err, path, "is a directory, not a .npy file");
    else if (!S_ISREG(st.st_mode))
        rc = read_stream(fd, path, out, err);
    else if ((uintmax_t)st.st_size > SIZE_MAX)
        err_file(err, path, "file too large to address");
    else
        rc = read_regular(fd, (size_t)st.st_size, path, out, err);
    close(fd);
    return rc;
}

int npy_read_layout(const char *path, NpyLayout *out, ntkc_error *err)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            err_file(err, path, "no such file");
        else
            err_file(err, path, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    NpyHeader h;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        err_file(err, path, "cannot stat: %s", strerror(errno)), rc = -1;
    else if (S_ISDIR(st.st_mode))
        err_file(err, path, "is a directory, not a .npy file"), rc = -1;
    else if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size <= SIZE_MAX) {
        out->regular = 1;
        rc = read_header(fd, (size_t)st.st_size, path, &h, err);
    }
    close(fd);
    if (rc != 0 || !out->regular)
        return rc;
    out->data_offset = h.data_offset;
    out->ndim = h.ndim;
    memcpy(out->shape, h.shape, sizeof out->shape);
    out->count = h.count;
    out->plain = h.dtype.kind == NPY_KIND_FLOAT && (h.dtype.size == 4 || h.dtype.size == 8) && !h.dtype.swap &&
                 !h.fortran_order;
    out->esz = out->plain ? h.dtype.size : 0;
    return 0;
}

static const char *nonfinite_word(double v)
{
    return isnan(v) ? "NaN" : v > 0 ? "+inf" : "-inf";
}

int npy_check_finite(const NpyArray *a, const char *name, ntkc_error *err)
{
    size_t i = 0;
    while (i < a->count && isfinite(a->data[i]))
        i++;
    if (i == a->count)
        return 0;
    if (a->ndim == 0) {
        err_file(err, name, "the value is %s", nonfinite_word(a->data[i]));
        return -1;
    }
    size_t idx[NPY_MAX_DIMS], rest = i;
    for (size_t k = a->ndim; k-- > 0;) {
        idx[k] = rest % a->shape[k];
        rest /= a->shape[k];
    }
    char where[NPY_MAX_DIMS * 24 + 4];
    size_t used = 0;
    for (size_t k = 0; k < a->ndim; k++)
        used += (size_t)snprintf(where + used, sizeof where - used, "%s%zu", k ? ", " : "", idx[k]);
    err_file(err, name, "element [%s] is %s", where, nonfinite_word(a->data[i]));
    return -1;
}
