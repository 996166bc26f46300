#include "atomic_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int atomic_write_file(const char *path, const void *data, size_t len, NtkcError *err)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (tmp == NULL) {
        diag_internal(err, "out of memory");
        return err->code;
    }
    snprintf(tmp, n, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        diag_user(err, "cannot write %s: %s", path, strerror(errno));
        free(tmp);
        return err->code;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    int failed = left > 0;
    failed |= close(fd) != 0;
    if (!failed && rename(tmp, path) != 0)
        failed = 1;
    if (failed) {
        diag_user(err, "cannot write %s: %s", path, strerror(errno ? errno : EIO));
        unlink(tmp);
    }
    free(tmp);
    return failed ? err->code : 0;
}
