/* The system-compiler back end: the same source compiled at -O3 -march=native
 * into a shared object, cached by a hash of source and flags, loaded with
 * dlopen. Slower to build the first time (~100 ms) but the code is optimised
 * and vectorised; a cache hit costs a dlopen. */
#include <dlfcn.h>
#include <errno.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jit.h"
#include "jit_internal.h"

extern char **environ;

/* -fno-trapping-math lets the block loops' clamps be if-converted; no
 * -ffast-math: results keep IEEE semantics and NaN checks stay honest. No
 * NTKC_SIMD_LIBM (see compiler/emit_prims.h): libmvec's exp differs from
 * libm's in the last bits, and the per-element loops libtcc compiles call
 * libm — with it the back ends differed (5e-16 on dense; layer_norm; exp; relu,
 * 4.7e-9 where a ReLU amplified it at correlation one). */
static const char *const cc_flags[] = {"-std=c99", "-O3", "-march=native", "-fPIC", "-shared",
                                       "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off", "-w"};

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* $NTKC_CACHE_DIR, else $XDG_CACHE_HOME/ntkc, else ~/.cache/ntkc, else /tmp. */
static int cache_dir(char *out, size_t size)
{
    const char *env = getenv("NTKC_CACHE_DIR");
    if (env && *env)
        snprintf(out, size, "%s", env);
    else if ((env = getenv("XDG_CACHE_HOME")) && *env)
        snprintf(out, size, "%s/ntkc", env);
    else if ((env = getenv("HOME")) && *env)
        snprintf(out, size, "%s/.cache/ntkc", env);
    else
        snprintf(out, size, "/tmp/ntkc-cache-%ld", (long)getuid());
    char path[4096];
    snprintf(path, sizeof path, "%s", out);
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static int run_cc(const char *src_path, const char *so_path, NtkcError *err)
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
        diag_internal(err, "the system compiler failed on generated code %s", src_path);
        return -1;
    }
    return 0;
}

/* Source and object go to temp files of their own (mkstemps: unique per
 * call, so threads and processes compiling the same net at once never share
 * one), and the object is renamed into the cache only once complete. */
static int build_shared_object(const char *source, const char *so_path, NtkcError *err)
{
    char src_path[4400], tmp_so[4400];
    snprintf(src_path, sizeof src_path, "%s.XXXXXX.c", so_path);
    snprintf(tmp_so, sizeof tmp_so, "%s.XXXXXX.tmp", so_path);
    int src_fd = mkstemps(src_path, 2);
    if (src_fd < 0) {
        diag_internal(err, "cannot create a temp file beside %s: %s", so_path, strerror(errno));
        return -1;
    }
    FILE *f = fdopen(src_fd, "w");
    if (f == NULL || fputs(source, f) < 0 || fclose(f) != 0) {
        diag_internal(err, "cannot write %s: %s", src_path, strerror(errno));
        if (f == NULL)
            close(src_fd);
        unlink(src_path);
        return -1;
    }
    int so_fd = mkstemps(tmp_so, 4);
    if (so_fd < 0) {
        diag_internal(err, "cannot create a temp file beside %s: %s", so_path, strerror(errno));
        unlink(src_path);
        return -1;
    }
    close(so_fd);
    int rc = run_cc(src_path, tmp_so, err);
    unlink(src_path);
    if (rc == 0 && rename(tmp_so, so_path) != 0) {
        diag_internal(err, "cannot rename %s: %s", tmp_so, strerror(errno));
        rc = -1;
    }
    if (rc != 0)
        unlink(tmp_so);
    return rc;
}

int jit_cc_compile(JitModule *m, const char *source, const char *source_name, NtkcError *err)
{
    char dir[4096], so_path[4200];
    if (cache_dir(dir, sizeof dir) != 0) {
        diag_internal(err, "cannot create the code cache %s: %s", dir, strerror(errno));
        return -1;
    }
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < sizeof cc_flags / sizeof cc_flags[0]; i++)
        h = fnv1a(h, cc_flags[i]);
    h = fnv1a(h, source);
    snprintf(so_path, sizeof so_path, "%s/%016llx.so", dir, (unsigned long long)h);
    if (access(so_path, R_OK) != 0 && build_shared_object(source, so_path, err) != 0)
        return -1;
    m->dl = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
    if (m->dl == NULL) {
        diag_internal(err, "cannot load the compiled code for %s: %s", source_name, dlerror());
        return -1;
    }
    return 0;
}

void *jit_cc_symbol(JitModule *m, const char *name) { return dlsym(m->dl, name); }

void jit_cc_free(JitModule *m) { dlclose(m->dl); }
