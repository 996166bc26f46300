/* Writing .npy files atomically: everything goes to a temp file beside the
 * target, renamed into place only once complete. */
#include "npy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy_header.h"
#include "out_files.h"
#include "ntkc_tool.h"
#include "ntkc_err.h"

/* The directory part of path, for messages ("." when there is none). */
static void dir_of(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, cap, ".");
    else if (slash == path)
        snprintf(dir, cap, "/");
    else
        snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

static void create_failed(const char *path, int errnum, ntkc_error *err)
{
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    if (errnum == ENOENT)
        err_file(err, path, "cannot write output: directory '%s' does not exist", dir);
    else if (errnum == ENOTDIR)
        err_file(err, path, "cannot write output: '%s' is not a directory", dir);
    else if (errnum == EACCES || errnum == EPERM || errnum == EROFS)
        err_file(err, path, "cannot write output: directory '%s' is not writable (%s)", dir,
                  strerror(errnum));
    else
        err_file(err, path, "cannot write output: %s", strerror(errnum));
}

/* Creates the temp file for path in its directory (temp_file_create: a short
 * name, whatever the length of path's; registered for removal on a signal),
 * mode 0666 less the umask as numpy's files get, after refusing a path that
 * exists and is not a regular file. */
static int temp_create(const char *path, char *tmp, size_t cap, int *slot, ntkc_error *err)
{
    if (out_check_kind(path, err) != 0)
        return -1;
    char prefix[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    if (dirlen >= (int)sizeof prefix) {
        err_file(err, path, "cannot write output: path too long");
        return -1;
    }
    snprintf(prefix, sizeof prefix, "%.*s", dirlen, path);
    int fd = temp_file_create(prefix, ".tmp", 0666, tmp, cap, slot);
    if (fd < 0) {
        if (errno == ENAMETOOLONG)
            err_file(err, path, "cannot write output: path too long");
        else
            create_failed(path, errno, err);
    }
    return fd;
}

int npy_check_output(const char *path, ntkc_error *err)
{
    char tmp[PATH_MAX];
    int slot, fd = temp_create(path, tmp, sizeof tmp, &slot, err);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(tmp);
    temp_files_forget(slot);
    return 0;
}

/* Header length and total file size for an array of esz-byte floats (8 or
 * 4), or -1 on overflow. */
static int plan_file(const char *path, size_t ndim, const size_t *shape, size_t esz, char *header,
                     size_t *header_len, size_t *total, ntkc_error *err)
{
    size_t count;
    if (ndim > NPY_MAX_DIMS) {
        err_file(err, path, "cannot write an array of rank %zu (at most %d)", ndim, NPY_MAX_DIMS);
        return -1;
    }
    *header_len = npy_header_format_esz(header, NPY_WRITE_HEADER_MAX, ndim, shape, esz);
    if (npy_shape_count(ndim, shape, &count) != 0 || count > (SIZE_MAX - *header_len) / esz ||
        *header_len + count * esz > (uintmax_t)INTMAX_MAX) {
        char s[200];
        npy_shape_str(s, sizeof s, ndim, shape);
        err_file(err, path, "output shape %s is too large", s);
        return -1;
    }
    *total = *header_len + count * esz;
    return 0;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int npy_write_f64(const char *path, size_t ndim, const size_t *shape, const double *data,
                  ntkc_error *err)
{
    char header[NPY_WRITE_HEADER_MAX], tmp[PATH_MAX];
    size_t header_len, total;
    if (plan_file(path, ndim, shape, 8, header, &header_len, &total, err) != 0)
        return -1;
    int slot, fd = temp_create(path, tmp, sizeof tmp, &slot, err);
    if (fd < 0)
        return -1;
    int ok = write_all(fd, header, header_len) == 0 &&
             write_all(fd, data, total - header_len) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok)
        ok = 0, saved = errno;
    if (!ok) {
        unlink(tmp);
        temp_files_forget(slot);
        err_file(err, path, "cannot write output: %s", strerror(saved));
        return -1;
    }
    char *tmps[1] = {tmp};
    return out_replace_all(tmps, &slot, &path, 1, err);
}

struct NpyOut {
    char path[PATH_MAX];
    char tmp[PATH_MAX];
    int fd, slot;
    unsigned char *map;
    size_t total, header_len;
};

static NpyOut *out_create(const char *path, size_t ndim, const size_t *shape, size_t esz, ntkc_error *err)
{
    char header[NPY_WRITE_HEADER_MAX];
    size_t header_len, total;
    if (plan_file(path, ndim, shape, esz, header, &header_len, &total, err) != 0)
        return NULL;
    NpyOut *o = calloc(1, sizeof *o);
    if (o == NULL || strlen(path) >= sizeof o->path) {
        err_file(err, path, "cannot write output: %s", o ? "path too long" : "out of memory");
        free(o);
        return NULL;
    }
    snprintf(o->path, sizeof o->path, "%s", path);
    o->fd = temp_create(path, o->tmp, sizeof o->tmp, &o->slot, err);
    if (o->fd < 0) {
        free(o);
        return NULL;
    }
    o->total = total;
    o->header_len = header_len;
    const char *step = "sizing";
    if (ftruncate(o->fd, (off_t)total) == 0) {
        /* Reserve the blocks now: a full disk then fails here, not as SIGBUS mid-run.
         * File systems without fallocate keep the sparse file. */
        step = "reserving space for";
        if (fallocate(o->fd, 0, 0, (off_t)total) == 0 || errno == EOPNOTSUPP || errno == ENOSYS) {
            step = "mapping";
            o->map = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, o->fd, 0);
            if (o->map != MAP_FAILED) {
                memcpy(o->map, header, header_len);
                return o;
            }
            o->map = NULL;
        }
    }
    err_file(err, path, "%s a %zu-byte output file failed: %s", step, total, strerror(errno));
    npy_out_abort(o);
    return NULL;
}

NpyOut *npy_out_create(const char *path, size_t ndim, const size_t *shape, ntkc_error *err)
{
    return out_create(path, ndim, shape, 8, err);
}

NpyOut *npy_out_create_f32(const char *path, size_t ndim, const size_t *shape, ntkc_error *err)
{
    return out_create(path, ndim, shape, 4, err);
}

float *npy_out_data_f32(NpyOut *o) { return (float *)(void *)(o->map + o->header_len); }

double *npy_out_data(NpyOut *o)
{
    return (double *)(void *)(o->map + o->header_len);
}

int npy_out_commit(NpyOut *o, ntkc_error *err) { return npy_out_commit_all(&o, 1, err); }

int npy_out_commit_all(NpyOut *const *outs, size_t n, ntkc_error *err)
{
    enum { MAX = 8 };
    char *tmps[MAX];
    const char *paths[MAX];
    int slots[MAX];
    size_t k = 0, want = 0;
    for (size_t i = 0; i < n; i++) {
        NpyOut *o = outs[i];
        if (o == NULL)
            continue;
        if (want++ >= MAX)
            continue;
        int rc = munmap(o->map, o->total);
        o->map = NULL;
        if (rc == 0) {
            rc = close(o->fd);
            o->fd = -1;
        }
        if (rc != 0 && err->code == NTKC_OK)
            err_file(err, o->path, "cannot write output: %s", strerror(errno));
        tmps[k] = o->tmp, paths[k] = o->path, slots[k] = o->slot;
        k++;
    }
    int rc;
    if (err->code != NTKC_OK || k < want) {
        if (err->code == NTKC_OK)
            err_internal(err, "npy_out_commit_all: too many outputs");
        for (size_t i = 0; i < k; i++) {
            unlink(tmps[i]);
            temp_files_forget(slots[i]);
        }
        rc = -1;
    } else {
        rc = out_replace_all(tmps, slots, paths, k, err);
    }
    for (size_t i = 0; i < n; i++)
        free(outs[i]);
    return rc;
}

/* MADV_DONTNEED on a shared file mapping only unmaps: dirty pages keep their
 * data in the page cache and a later access maps them again. */
void npy_out_release(NpyOut *o)
{
    if (o != NULL && o->map != NULL)
        (void)madvise(o->map, o->total, MADV_DONTNEED);
}

void npy_out_abort(NpyOut *o)
{
    if (o == NULL)
        return;
    if (o->map != NULL)
        munmap(o->map, o->total);
    if (o->fd >= 0)
        close(o->fd);
    unlink(o->tmp);
    temp_files_forget(o->slot);
    free(o);
}

int npy_same_file(const char *a, const char *b) { return out_same_file(a, b); }
