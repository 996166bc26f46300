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
#include <time.h>
#include <unistd.h>

#include "npy_header.h"

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

static void create_failed(const char *path, int errnum, NtkcError *err)
{
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    if (errnum == ENOENT)
        diag_user(err, "%s: cannot write output: directory '%s' does not exist", path, dir);
    else if (errnum == ENOTDIR)
        diag_user(err, "%s: cannot write output: '%s' is not a directory", path, dir);
    else if (errnum == EACCES || errnum == EPERM || errnum == EROFS)
        diag_user(err, "%s: cannot write output: directory '%s' is not writable (%s)", path, dir,
                  strerror(errnum));
    else
        diag_user(err, "%s: cannot write output: %s", path, strerror(errnum));
}

/* Creates "<dir>/.<name>.<random>.tmp" exclusively, mode 0666 less the umask
 * (as numpy's files get). The random part comes from the clock, the pid and a
 * stack address: no shared counter, and O_EXCL settles any collision. */
static int temp_create(const char *path, char *tmp, size_t cap, NtkcError *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        diag_user(err, "%s: cannot write output: it is a directory", path);
        return -1;
    }
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    const char *base = slash ? slash + 1 : path;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)getpid() << 40 ^
                 (uint64_t)(uintptr_t)&st;
    for (int attempt = 0; attempt < 100; attempt++) {
        x += 0x9e3779b97f4a7c15u; /* splitmix64 step */
        uint64_t z = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        z ^= z >> 31;
        int n = snprintf(tmp, cap, "%.*s.%s.%012llx.tmp", dirlen, path, base,
                         (unsigned long long)(z & 0xffffffffffffu));
        if (n < 0 || (size_t)n >= cap) {
            diag_user(err, "%s: cannot write output: path too long", path);
            return -1;
        }
        int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST) {
            create_failed(path, errno, err);
            return -1;
        }
    }
    diag_user(err, "%s: cannot write output: could not pick an unused temp name", path);
    return -1;
}

int npy_check_output(const char *path, NtkcError *err)
{
    char tmp[PATH_MAX];
    int fd = temp_create(path, tmp, sizeof tmp, err);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(tmp);
    return 0;
}

/* Header length and total file size for a float64 array, or -1 on overflow. */
static int plan_file(const char *path, size_t ndim, const size_t *shape, char *header,
                     size_t *header_len, size_t *total, NtkcError *err)
{
    size_t count;
    if (ndim > NPY_MAX_DIMS) {
        diag_user(err, "%s: cannot write an array of rank %zu (at most %d)", path, ndim, NPY_MAX_DIMS);
        return -1;
    }
    *header_len = npy_header_format(header, NPY_WRITE_HEADER_MAX, ndim, shape);
    if (npy_shape_count(ndim, shape, &count) != 0 || count > (SIZE_MAX - *header_len) / 8 ||
        *header_len + count * 8 > (uintmax_t)INTMAX_MAX) {
        char s[200];
        npy_shape_str(s, sizeof s, ndim, shape);
        diag_user(err, "%s: output shape %s is too large", path, s);
        return -1;
    }
    *total = *header_len + count * 8;
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
                  NtkcError *err)
{
    char header[NPY_WRITE_HEADER_MAX], tmp[PATH_MAX];
    size_t header_len, total;
    if (plan_file(path, ndim, shape, header, &header_len, &total, err) != 0)
        return -1;
    int fd = temp_create(path, tmp, sizeof tmp, err);
    if (fd < 0)
        return -1;
    int ok = write_all(fd, header, header_len) == 0 &&
             write_all(fd, data, total - header_len) == 0;
    int saved = errno;
    ok = (close(fd) == 0) && ok;
    if (ok && rename(tmp, path) == 0)
        return 0;
    saved = ok ? errno : saved;
    unlink(tmp);
    diag_user(err, "%s: cannot write output: %s", path, strerror(saved));
    return -1;
}

struct NpyOut {
    char path[PATH_MAX];
    char tmp[PATH_MAX];
    int fd;
    unsigned char *map;
    size_t total, header_len;
};

NpyOut *npy_out_create(const char *path, size_t ndim, const size_t *shape, NtkcError *err)
{
    char header[NPY_WRITE_HEADER_MAX];
    size_t header_len, total;
    if (plan_file(path, ndim, shape, header, &header_len, &total, err) != 0)
        return NULL;
    NpyOut *o = calloc(1, sizeof *o);
    if (o == NULL || strlen(path) >= sizeof o->path) {
        diag_user(err, "%s: cannot write output: %s", path, o ? "path too long" : "out of memory");
        free(o);
        return NULL;
    }
    snprintf(o->path, sizeof o->path, "%s", path);
    o->fd = temp_create(path, o->tmp, sizeof o->tmp, err);
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
    diag_user(err, "%s: %s a %zu-byte output file failed: %s", path, step, total, strerror(errno));
    npy_out_abort(o);
    return NULL;
}

double *npy_out_data(NpyOut *o)
{
    return (double *)(void *)(o->map + o->header_len);
}

int npy_out_commit(NpyOut *o, NtkcError *err)
{
    int rc = munmap(o->map, o->total);
    o->map = NULL;
    if (rc == 0) {
        rc = close(o->fd);
        o->fd = -1;
    }
    if (rc == 0)
        rc = rename(o->tmp, o->path);
    if (rc == 0) {
        free(o);
        return 0;
    }
    diag_user(err, "%s: cannot write output: %s", o->path, strerror(errno));
    npy_out_abort(o);
    return -1;
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
    free(o);
}

int npy_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
