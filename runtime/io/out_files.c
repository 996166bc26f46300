#include "out_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ntkc_tool.h"
#include "ntkc_err.h"

static const char *kind_name(mode_t m)
{
    return S_ISDIR(m)    ? "directory"
           : S_ISCHR(m)  ? "character device"
           : S_ISBLK(m)  ? "block device"
           : S_ISFIFO(m) ? "FIFO"
           : S_ISSOCK(m) ? "socket"
           : S_ISLNK(m)  ? "symbolic link"
                         : "special file";
}

static void refuse_kind(const char *path, mode_t m, ntkc_error *err)
{
    err_file(err, path, "cannot write output: it is a %s, not a regular file%s", kind_name(m),
              S_ISLNK(m) ? " (name the file it points to)" : "");
}

int out_check_kind(const char *path, ntkc_error *err)
{
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        refuse_kind(path, st.st_mode, err);
        return -1;
    }
    return 0;
}

/* realpath of the directory part, then "/" and the last component. */
static int canonical(const char *path, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char dir[PATH_MAX], real[PATH_MAX];
    if (slash != NULL && (size_t)(slash - path) >= sizeof dir)
        return -1; /* no such directory: a cut name would resolve another one */
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return realpath(path, out) ? 0 : -1;
    if (realpath(dir, real) == NULL)
        return -1;
    int n = snprintf(out, size, "%s/%s", strcmp(real, "/") == 0 ? "" : real, base);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

int out_same_file(const char *a, const char *b)
{
    if (strcmp(a, b) == 0)
        return 1;
    struct stat sa, sb;
    int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea && eb)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (ea != eb)
        return 0;
    char ca[PATH_MAX + NAME_MAX + 2], cb[PATH_MAX + NAME_MAX + 2];
    return canonical(a, ca, sizeof ca) == 0 && canonical(b, cb, sizeof cb) == 0 && strcmp(ca, cb) == 0;
}

typedef enum Done { DONE_NOTHING, DONE_CREATED, DONE_EXCHANGED, DONE_LINKED, DONE_REPLACED } Done;

static int no_exchange(int e) { return e == EINVAL || e == ENOSYS || e == EOPNOTSUPP || e == ENOTSUP; }

/* The new file takes over the old one's permission bits (not set-id bits),
 * and its owner when we are root. */
static void keep_mode(const char *tmp, const struct stat *old)
{
    chmod(tmp, old->st_mode & 0777);
    if (geteuid() == 0)
        (void)!lchown(tmp, old->st_uid, old->st_gid);
}

static int replace_existing(const char *tmp, const char *path, char *bak, size_t bak_size, Done *done,
                            ntkc_error *err)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0) {
        struct stat old; /* tmp now holds what was at path: a swap-in since the check is undone */
        if (lstat(tmp, &old) == 0 && !S_ISREG(old.st_mode)) {
            renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE);
            refuse_kind(path, old.st_mode, err);
            return -1;
        }
        *done = DONE_EXCHANGED;
        return 0;
    }
    if (!no_exchange(errno))
        return -1;
    /* No exchange on this file system: a hard link keeps the old file for a rollback. */
    snprintf(bak, bak_size, "%s.old", tmp);
    int linked = link(path, bak) == 0;
    if (rename(tmp, path) != 0) {
        int saved = errno;
        if (linked)
            unlink(bak);
        errno = saved;
        return -1;
    }
    *done = linked ? DONE_LINKED : DONE_REPLACED;
    return 0;
}

static int put_one(const char *tmp, const char *path, char *bak, size_t bak_size, Done *done, ntkc_error *err)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        struct stat st;
        if (lstat(path, &st) == 0) {
            if (!S_ISREG(st.st_mode)) {
                refuse_kind(path, st.st_mode, err);
                return -1;
            }
            keep_mode(tmp, &st);
            if (replace_existing(tmp, path, bak, bak_size, done, err) == 0)
                return 0;
            if (err->code != NTKC_OK)
                return -1;
            if (errno == ENOENT)
                continue; /* removed meanwhile: create it */
        } else if (errno == ENOENT) {
            if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0 ||
                (no_exchange(errno) && rename(tmp, path) == 0)) {
                *done = DONE_CREATED;
                return 0;
            }
            if (errno == EEXIST)
                continue; /* created meanwhile: replace it */
        }
        break;
    }
    err_file(err, path, "cannot write output: %s", strerror(errno));
    return -1;
}

static void undo_one(const char *tmp, const char *path, const char *bak, Done done)
{
    if (done == DONE_EXCHANGED)
        renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE); /* the new file back to tmp */
    else if (done == DONE_CREATED)
        unlink(path);
    else if (done == DONE_LINKED)
        rename(bak, path);
}

int out_replace_all(char *const *tmps, const int *slots, const char *const *paths, size_t n, ntkc_error *err)
{
    enum { MAX = 8 };
    Done done[MAX] = {DONE_NOTHING};
    char bak[MAX][PATH_MAX + 8];
    if (n > MAX) {
        err_internal(err, "out_replace_all: %zu outputs (at most %d)", n, MAX);
        return -1;
    }
    temp_files_defer_signals();
    size_t i = 0;
    while (i < n && put_one(tmps[i], paths[i], bak[i], sizeof bak[i], &done[i], err) == 0)
        i++;
    int ok = i == n;
    if (!ok)
        while (i-- > 0)
            undo_one(tmps[i], paths[i], bak[i], done[i]);
    for (i = 0; i < n; i++) {
        if (done[i] == DONE_LINKED && ok)
            unlink(bak[i]);
        if (done[i] != DONE_CREATED && done[i] != DONE_LINKED && done[i] != DONE_REPLACED)
            unlink(tmps[i]); /* the new file not placed, or the old one swapped out */
        if (slots)
            temp_files_forget(slots[i]);
    }
    temp_files_resume_signals();
    return ok ? 0 : -1;
}
