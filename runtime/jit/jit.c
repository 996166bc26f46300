#include "jit.h"

#include <stdlib.h>

#include "jit_internal.h"

JitModule *jit_compile(JitBackend backend, const char *source, const char *source_name, ntkc_error *err)
{
    JitModule *m = calloc(1, sizeof *m);
    if (m == NULL) {
        diag_internal(err, "out of memory");
        return NULL;
    }
    m->backend = backend;
    int rc = backend == JIT_CC ? jit_cc_compile(m, source, source_name, err)
                               : jit_tcc_compile(m, source, source_name, err);
    if (rc != 0) {
        free(m);
        return NULL;
    }
    return m;
}

void *jit_symbol(JitModule *m, const char *name)
{
    return m->backend == JIT_CC ? jit_cc_symbol(m, name) : jit_tcc_symbol(m, name);
}

void jit_free(JitModule *m)
{
    if (m == NULL)
        return;
    if (m->backend == JIT_CC)
        jit_cc_free(m);
    else
        jit_tcc_free(m);
    free(m);
}
