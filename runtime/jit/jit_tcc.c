/* The libtcc back end. libtcc 0.9.27 keeps global state behind a lazily
 * initialised semaphore, so every call into it — new, compile, relocate,
 * symbol lookup, delete — happens under one process-wide lock. That lock is
 * the only mutable global in ntkc. */
#include <errno.h>
#include <fcntl.h>
#include <libtcc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host_prims.h"
#include "jit.h"
#include "jit_internal.h"

static pthread_mutex_t tcc_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct TccCompile {
    ntkc_error *err;
    const char *source_name;
} TccCompile;

static void tcc_report(void *opaque, const char *msg)
{
    TccCompile *c = opaque;
    diag_internal(c->err, "generated code for %s does not compile: %s", c->source_name, msg);
}

/* tcc_relocate lost its second argument upstream after 0.9.27: one call site. */
static int relocate(TCCState *s) { return tcc_relocate(s, TCC_RELOCATE_AUTO); }

/* Binds the generated code's block primitives to the library's optimised
 * copies (compiler/emit/emit_prims.h): libtcc does not vectorise, gcc did. */
static int add_host_primitives(TCCState *s)
{
    for (size_t i = 0; i < ntkc_host_primitive_count; i++) {
        const void *addr;
        memcpy(&addr, &ntkc_host_primitives[i].fn, sizeof addr);
        if (tcc_add_symbol(s, ntkc_host_primitives[i].name, addr) != 0)
            return -1;
    }
    return 0;
}

/* libtcc opens libm.so (a linker script) and the libraries it names; with
 * no descriptor left it reports "unrecognized file type" as if libm were
 * broken. Checks that `need` descriptors can be opened, else says why. */
enum { TCC_FDS = 4 };
static int check_free_fds(int need, ntkc_error *err)
{
    int fds[TCC_FDS], got = 0, saved = 0;
    while (got < need && got < TCC_FDS) {
        fds[got] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fds[got] < 0) {
            saved = errno;
            break;
        }
        got++;
    }
    while (got > 0)
        close(fds[--got]);
    if (saved == EMFILE || saved == ENFILE) {
        diag_user(err, "out of file descriptors (%s): libtcc needs %d free to load libm; raise the open-file limit "
                       "(ulimit -n)",
                  strerror(saved), need);
        return -1;
    }
    return 0;
}

int jit_tcc_compile(JitModule *m, const char *source, const char *source_name, ntkc_error *err)
{
    TccCompile ctx = {err, source_name};
    int ok = 0;
    if (check_free_fds(TCC_FDS, err) != 0)
        return -1;
    pthread_mutex_lock(&tcc_lock);
    TCCState *s = tcc_new();
    if (s == NULL) {
        diag_internal(err, "libtcc: cannot create a compiler state");
        goto out;
    }
    tcc_set_error_func(s, &ctx, tcc_report);
    tcc_set_options(s, "-nostdinc");
    tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
    tcc_define_symbol(s, "NTKC_HOST_PRIMITIVES", "1");
    if (tcc_compile_string(s, source) != 0)
        goto out;
    if (add_host_primitives(s) != 0) {
        diag_internal(err, "libtcc: cannot register the block primitives");
        goto out;
    }
    if (tcc_add_library(s, "m") != 0) {
        diag_internal(err, "libtcc: cannot find libm");
        goto out;
    }
    if (relocate(s) < 0) {
        diag_internal(err, "libtcc: relocation of %s failed", source_name);
        goto out;
    }
    m->tcc = s;
    s = NULL;
    ok = 1;
out:
    if (s != NULL)
        tcc_delete(s);
    pthread_mutex_unlock(&tcc_lock);
    if (!ok && err->code == NTKC_OK)
        diag_internal(err, "libtcc failed on %s", source_name);
    return ok ? 0 : -1;
}

void *jit_tcc_symbol(JitModule *m, const char *name)
{
    pthread_mutex_lock(&tcc_lock);
    void *p = tcc_get_symbol(m->tcc, name);
    pthread_mutex_unlock(&tcc_lock);
    return p;
}

void jit_tcc_free(JitModule *m)
{
    pthread_mutex_lock(&tcc_lock);
    tcc_delete(m->tcc);
    pthread_mutex_unlock(&tcc_lock);
}
