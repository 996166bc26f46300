/* The system-compiler back end: the same source compiled at -O3 -march=native
 * into a shared object, cached by a hash of source and flags, loaded with
 * dlopen. Slower to build the first time (~100 ms) but the code is optimised
 * and vectorised; a cache hit costs a read and a dlopen.
 *
 * The cache must not let anyone else choose the code ntkc runs:
 * - its directory is created 0700 and refused (a user error naming it) when
 *   it is a symbolic link, is not owned by this user, or is writable by group
 *   or others; every file is then reached through the verified descriptor;
 * - an entry holds the compiler flags and the whole source it was built from,
 *   the object and a checksum of it. It is used only when it is a regular
 *   file owned by this user, not writable by others (opened O_NOFOLLOW), and
 *   its source equals ours byte for byte and its checksum matches; anything
 *   else (a corrupt or foreign entry) is rebuilt and replaced;
 * - the object is loaded from those verified bytes, copied into a memfd (or a
 *   fresh private file), never from a path someone could swap. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jit.h"
#include "jit_internal.h"
#include "temp_files.h"

extern char **environ;

/* -fno-trapping-math lets the block loops' clamps be if-converted; no
 * -ffast-math: results keep IEEE semantics and NaN checks stay honest. No
 * NTKC_SIMD_LIBM (see compiler/emit/emit_prims.h): libmvec's exp differs from
 * libm's in the last bits, and the per-element loops libtcc compiles call
 * libm — with it the back ends differed (5e-16 on dense; layer_norm; exp; relu,
 * 4.7e-9 where a ReLU amplified it at correlation one). */
static const char *const cc_flags[] = {"-std=c99", "-O3", "-march=native", "-fPIC", "-shared",
                                       "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off", "-w"};

static const char entry_magic[8] = {'N', 'T', 'K', 'C', 'J', 'I', 'T', '1'};
enum { ENTRY_HEADER = 32, ENTRY_MAX = 1 << 30 };

typedef struct Bytes {
    unsigned char *p;
    size_t n;
} Bytes;

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *s = data;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* What an entry must match: the flags, then the source. */
static char *cache_key(const char *source, size_t *len)
{
    size_t n = strlen(source) + 2; /* the blank line, the NUL */
    for (size_t i = 0; i < sizeof cc_flags / sizeof cc_flags[0]; i++)
        n += strlen(cc_flags[i]) + 1;
    char *key = malloc(n), *at = key;
    if (key == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof cc_flags / sizeof cc_flags[0]; i++)
        at += sprintf(at, "%s\n", cc_flags[i]);
    at += sprintf(at, "\n%s", source);
    *len = (size_t)(at - key);
    return key;
}

/* $NTKC_CACHE_DIR, else $XDG_CACHE_HOME/ntkc, else ~/.cache/ntkc, else
 * ntkc-cache-UID in $TMPDIR or /tmp (shared: the checks below matter most). */
static int cache_path(char *out, size_t size)
{
    const char *env;
    int n;
    if ((env = getenv("NTKC_CACHE_DIR")) && *env)
        n = snprintf(out, size, "%s", env);
    else if ((env = getenv("XDG_CACHE_HOME")) && *env)
        n = snprintf(out, size, "%s/ntkc", env);
    else if ((env = getenv("HOME")) && *env)
        n = snprintf(out, size, "%s/.cache/ntkc", env);
    else
        n = snprintf(out, size, "%s/ntkc-cache-%ld", (env = getenv("TMPDIR")) && *env ? env : "/tmp",
                     (long)geteuid());
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* mkdir -p, each new directory 0700. */
static void make_dirs(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0700);
            *p = '/';
        }
    }
    mkdir(path, 0700);
}

static int open_cache_dir(const char *dir, ntkc_error *err)
{
    make_dirs(dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode))
            diag_user(err, "the code cache %s is a symbolic link: refusing to use it (set NTKC_CACHE_DIR to a "
                           "directory of your own)", dir);
        else
            diag_user(err, "cannot use the code cache %s: %s (set NTKC_CACHE_DIR to a directory of your own)", dir,
                      strerror(errno));
        return -1;
    }
    const char *why = NULL;
    if (fstat(fd, &st) != 0)
        why = strerror(errno);
    else if (st.st_uid != geteuid())
        why = "it belongs to another user";
    else if (st.st_mode & (S_IWGRP | S_IWOTH))
        why = "it is writable by group or others";
    if (why) {
        diag_user(err, "the code cache %s: %s; refusing to load code from it (set NTKC_CACHE_DIR to a directory of "
                       "your own, mode 0700)", dir, why);
        close(fd);
        return -1;
    }
    return fd;
}

static int read_all(int fd, unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_all(int fd, const void *data, size_t n)
{
    const unsigned char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The whole of a regular file of ours (no symlink), not writable by others
 * when check_mode (the linker makes its output 0777 less the umask, in our
 * 0700 directory). */
static int read_own_file(int dfd, const char *name, int check_mode, Bytes *out)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
             (!check_mode || !(st.st_mode & (S_IWGRP | S_IWOTH))) && st.st_size > 0 && st.st_size <= ENTRY_MAX;
    out->p = ok ? malloc((size_t)st.st_size) : NULL;
    out->n = ok ? (size_t)st.st_size : 0;
    ok = out->p != NULL && read_all(fd, out->p, out->n) == 0;
    close(fd);
    if (!ok) {
        free(out->p);
        out->p = NULL;
    }
    return ok ? 0 : -1;
}

/* The object of a valid entry for key (a pointer into entry), or NULL. */
static const unsigned char *entry_object(const Bytes *entry, const char *key, size_t key_len, size_t *len)
{
    if (entry->n < ENTRY_HEADER || memcmp(entry->p, entry_magic, 8) != 0)
        return NULL;
    uint64_t klen = get_u64(entry->p + 8), olen = get_u64(entry->p + 16), sum = get_u64(entry->p + 24);
    if (klen != key_len || olen == 0 || olen > entry->n || entry->n - ENTRY_HEADER - olen != klen ||
        memcmp(entry->p + ENTRY_HEADER, key, key_len) != 0)
        return NULL;
    const unsigned char *obj = entry->p + ENTRY_HEADER + klen;
    if (fnv1a(0xcbf29ce484222325ULL, obj, olen) != sum)
        return NULL;
    *len = olen;
    return obj;
}

/* Loads an object from memory: a memfd where the kernel has them, else a
 * private file in the cache directory, removed once mapped. The memfd stays
 * open (*keep) until the module is freed: dlopen knows objects by name, and a
 * later "/proc/self/fd/N" with N reused would get the old module back. */
static void *load_object(const char *dir, const unsigned char *obj, size_t len, int *keep, char *why,
                         size_t why_size)
{
    *keep = -1;
    char path[PATH_MAX + 64];
    int slot = -1, fd = memfd_create("ntkc-jit", MFD_CLOEXEC);
    if (fd >= 0) {
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        if (access(path, R_OK) != 0) { /* no /proc */
            close(fd);
            fd = -1;
        }
    }
    char prefix[PATH_MAX + 2];
    snprintf(prefix, sizeof prefix, "%s/", dir);
    if (fd < 0 && (fd = temp_file_create(prefix, ".so", 0700, path, sizeof path, &slot)) < 0) {
        snprintf(why, why_size, "cannot create a file for it: %s", strerror(errno));
        return NULL;
    }
    void *dl = NULL;
    if (write_all(fd, obj, len) == 0)
        dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    const char *dl_why = dl ? "" : dlerror();
    snprintf(why, why_size, "%s", dl_why ? dl_why : strerror(errno));
    if (slot >= 0 || strncmp(path, "/proc/", 6) != 0) {
        temp_files_forget(slot);
        unlink(path);
    } else if (dl != NULL) {
        *keep = fd;
        return dl;
    }
    close(fd);
    return dl;
}

static int run_cc(const char *src_path, const char *so_path, ntkc_error *err)
{
    const char *cc = getenv("CC");
    if (cc == NULL || *cc == '\0')
        cc = "cc";
    enum { NFLAGS = sizeof cc_flags / sizeof cc_flags[0] };
    char *argv[NFLAGS + 6];
    int a = 0;
    argv[a++] = (char *)cc;
    for (int i = 0; i < NFLAGS; i++)
        argv[a++] = (char *)cc_flags[i];
    argv[a++] = (char *)"-o";
    argv[a++] = (char *)so_path;
    argv[a++] = (char *)src_path;
    argv[a++] = (char *)"-lm";
    argv[a] = NULL;
    pid_t pid;
    if (posix_spawnp(&pid, cc, NULL, NULL, argv, environ) != 0) {
        diag_internal(err, "cannot run the system compiler '%s' (set CC, or use the tcc back end)", cc);
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        diag_internal(err, "the system compiler failed on generated code");
        return -1;
    }
    return 0;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Compiles source in temp files of this process (so threads and processes
 * compiling the same net never share one) and reads the object back. */
static int compile_object(int dfd, const char *dir, const char *source, Bytes *obj, ntkc_error *err)
{
    char prefix[PATH_MAX + 2], src_path[PATH_MAX + 64], so_path[PATH_MAX + 64];
    snprintf(prefix, sizeof prefix, "%s/", dir);
    int src_slot, so_slot, rc = -1;
    int src_fd = temp_file_create(prefix, ".c", 0600, src_path, sizeof src_path, &src_slot);
    if (src_fd < 0) {
        diag_internal(err, "cannot create a temp file in the code cache %s: %s", dir, strerror(errno));
        return -1;
    }
    int so_fd = temp_file_create(prefix, ".so", 0700, so_path, sizeof so_path, &so_slot);
    if (so_fd < 0) {
        diag_internal(err, "cannot create a temp file in the code cache %s: %s", dir, strerror(errno));
    } else {
        close(so_fd);
        if (write_all(src_fd, source, strlen(source)) != 0)
            diag_internal(err, "cannot write %s: %s", src_path, strerror(errno));
        else if (run_cc(src_path, so_path, err) == 0 && read_own_file(dfd, base_name(so_path), 0, obj) != 0)
            diag_internal(err, "cannot read the compiled object %s", so_path);
        else
            rc = err->code == NTKC_OK ? 0 : -1;
        unlink(so_path);
        temp_files_forget(so_slot);
    }
    close(src_fd);
    unlink(src_path);
    temp_files_forget(src_slot);
    return rc;
}

/* Writes the entry to a temp file and renames it over name: readers see the
 * old entry or the new one. A failure only costs the next run a rebuild. */
static void store_entry(int dfd, const char *dir, const char *name, const char *key, size_t key_len,
                        const Bytes *obj)
{
    unsigned char header[ENTRY_HEADER];
    memcpy(header, entry_magic, 8);
    put_u64(header + 8, key_len);
    put_u64(header + 16, obj->n);
    put_u64(header + 24, fnv1a(0xcbf29ce484222325ULL, obj->p, obj->n));
    char prefix[PATH_MAX + 2], tmp[PATH_MAX + 64];
    snprintf(prefix, sizeof prefix, "%s/", dir);
    int slot, fd = temp_file_create(prefix, ".tmp", 0600, tmp, sizeof tmp, &slot);
    if (fd < 0)
        return;
    int ok = write_all(fd, header, sizeof header) == 0 && write_all(fd, key, key_len) == 0 &&
             write_all(fd, obj->p, obj->n) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || renameat(dfd, base_name(tmp), dfd, name) != 0)
        unlink(tmp);
    temp_files_forget(slot);
}

int jit_cc_compile(JitModule *m, const char *source, const char *source_name, ntkc_error *err)
{
    char dir[PATH_MAX], name[40], why[512] = "";
    if (cache_path(dir, sizeof dir) != 0) {
        diag_user(err, "the code cache path is too long (set NTKC_CACHE_DIR)");
        return -1;
    }
    int dfd = open_cache_dir(dir, err);
    if (dfd < 0)
        return -1;
    size_t key_len;
    char *key = cache_key(source, &key_len);
    if (key == NULL) {
        close(dfd);
        diag_internal(err, "out of memory");
        return -1;
    }
    snprintf(name, sizeof name, "%016llx.jit", (unsigned long long)fnv1a(0xcbf29ce484222325ULL, key, key_len));
    Bytes entry = {0}, obj = {0};
    m->fd = -1;
    size_t len;
    const unsigned char *p;
    if (read_own_file(dfd, name, 1, &entry) == 0 && (p = entry_object(&entry, key, key_len, &len)) != NULL)
        m->dl = load_object(dir, p, len, &m->fd, why, sizeof why);
    /* a miss, or an entry that is not ours, corrupt or unloadable: rebuild it */
    if (m->dl == NULL && compile_object(dfd, dir, source, &obj, err) == 0) {
        m->dl = load_object(dir, obj.p, obj.n, &m->fd, why, sizeof why);
        if (m->dl != NULL)
            store_entry(dfd, dir, name, key, key_len, &obj);
        else
            diag_internal(err, "cannot load the compiled code for %s: %s", source_name, why);
    }
    free(entry.p);
    free(obj.p);
    free(key);
    close(dfd);
    return m->dl ? 0 : -1;
}

void *jit_cc_symbol(JitModule *m, const char *name) { return dlsym(m->dl, name); }

void jit_cc_free(JitModule *m)
{
    dlclose(m->dl);
    if (m->fd >= 0)
        close(m->fd);
}
