/* Fuzz target: the .npy reader, both ways in — npy_parse on the bytes in
 * memory and npy_read on the same bytes as a file (its own header reader and
 * chunked conversion). Oracles (each an abort, so the fuzzer keeps the input):
 *  - a rejection is a user error whose message names the file;
 *  - both readers agree: same verdict, same shape, same values bit for bit;
 *  - an accepted array is consistent (count = product of shape, data
 *    readable end to end), and writing it back as numpy.save would and
 *    reading that again gives the same values.
 * Also built into the test binary (tests/test_fuzz_replay.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "npy.h"
#include "npy_header.h"

#define FUZZ_NAME "fuzz.npy"

static void npy_fuzz_fail(const char *what, const char *message)
{
    fprintf(stderr, "fuzz_npy: %s\n%s\n", what, message);
    abort();
}

static void npy_check_rejection(const ntkc_error *err, const char *name)
{
    if (err->code != NTKC_EUSER)
        npy_fuzz_fail("rejection is not a user error", err->message);
    if (strstr(err->message, name) == NULL)
        npy_fuzz_fail("rejection does not name the file", err->message);
}

static void npy_check_consistent(const NpyArray *a)
{
    size_t count = 1;
    for (size_t k = 0; k < a->ndim; k++)
        count *= a->shape[k];
    if (a->ndim > NPY_MAX_DIMS || count != a->count || a->data == NULL)
        npy_fuzz_fail("accepted array is inconsistent", "");
    volatile double sink = 0;
    for (size_t i = 0; i < a->count; i++)
        sink += a->data[i]; /* ASan catches a short buffer */
    (void)sink;
}

static int npy_same_array(const NpyArray *a, const NpyArray *b)
{
    return a->ndim == b->ndim && a->count == b->count &&
           memcmp(a->shape, b->shape, a->ndim * sizeof a->shape[0]) == 0 &&
           memcmp(a->data, b->data, a->count * sizeof a->data[0]) == 0;
}

/* numpy.save's header then the float64 data, parsed back. */
static void npy_check_round_trip(const NpyArray *a)
{
    char header[NPY_WRITE_HEADER_MAX];
    size_t hlen = npy_header_format(header, sizeof header, a->ndim, a->shape);
    if (hlen == 0)
        npy_fuzz_fail("cannot format the header of an accepted array", "");
    size_t len = hlen + a->count * sizeof(double);
    unsigned char *buf = malloc(len);
    if (buf == NULL)
        return;
    memcpy(buf, header, hlen);
    memcpy(buf + hlen, a->data, a->count * sizeof(double));
    NpyArray back;
    ntkc_error err = {0};
    if (npy_parse(buf, len, "roundtrip.npy", &back, &err) != 0)
        npy_fuzz_fail("re-reading a written array failed", err.message);
    if (!npy_same_array(a, &back))
        npy_fuzz_fail("round trip changed the array", "");
    npy_free(&back);
    free(buf);
}

/* The same bytes through npy_read, from an in-memory file. */
static int npy_read_as_file(const uint8_t *data, size_t size, NpyArray *out, ntkc_error *err, char *path,
                        size_t cap)
{
    int fd = memfd_create("fuzz.npy", MFD_CLOEXEC);
    if (fd < 0)
        return -2;
    if (size > 0 && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return -2;
    }
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    int rc = npy_read(path, out, err);
    close(fd);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Bounded so a header promising gigabytes cannot be *honoured* by a
     * large input; the reader must still refuse the lie cheaply. */
    if (size > (1u << 16))
        return 0;
    NpyArray mem, file;
    ntkc_error err_mem = {0}, err_file = {0};
    char path[64];
    int rc_mem = npy_parse(data, size, FUZZ_NAME, &mem, &err_mem);
    int rc_file = npy_read_as_file(data, size, &file, &err_file, path, sizeof path);
    if (rc_mem != 0)
        npy_check_rejection(&err_mem, FUZZ_NAME);
    if (rc_file == -2) {
        npy_free(&mem);
        return 0; /* no memfd here: the in-memory checks still ran */
    }
    if (rc_file != 0)
        npy_check_rejection(&err_file, path);
    if ((rc_mem == 0) != (rc_file == 0))
        npy_fuzz_fail("npy_parse and npy_read disagree", rc_mem ? err_mem.message : err_file.message);
    if (rc_mem == 0) {
        npy_check_consistent(&mem);
        if (!npy_same_array(&mem, &file))
            npy_fuzz_fail("npy_parse and npy_read read different values", "");
        ntkc_error err = {0};
        if (npy_check_finite(&mem, FUZZ_NAME, &err) != 0 && strstr(err.message, "element") == NULL &&
            strstr(err.message, "value") == NULL)
            npy_fuzz_fail("a non-finite element is reported without its position", err.message);
        npy_check_round_trip(&mem);
        npy_free(&mem);
        npy_free(&file);
    }
    return 0;
}
