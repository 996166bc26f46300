#include "atomic_file.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "out_files.h"
#include "temp_files.h"

int atomic_write_file(const char *path, const void *data, size_t len, ntkc_error *err)
{
    if (out_check_kind(path, err) != 0)
        return err->code;
    char prefix[PATH_MAX], tmp[PATH_MAX + 64];
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0, slot;
    snprintf(prefix, sizeof prefix, "%.*s", dirlen, path);
    int fd = dirlen < (int)sizeof prefix ? temp_file_create(prefix, ".tmp", 0666, tmp, sizeof tmp, &slot) : -1;
    if (fd < 0) {
        diag_user(err, "cannot write %s: %s", path, strerror(dirlen < (int)sizeof prefix ? errno : ENAMETOOLONG));
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
    if (failed) {
        diag_user(err, "cannot write %s: %s", path, strerror(errno ? errno : EIO));
        unlink(tmp);
        temp_files_forget(slot);
        return err->code;
    }
    char *tmps[1] = {tmp};
    return out_replace_all(tmps, &slot, &path, 1, err) == 0 ? 0 : err->code;
}
