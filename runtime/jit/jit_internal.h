/* Shared between jit.c and its two back ends. */
#ifndef NTKC_JIT_INTERNAL_H
#define NTKC_JIT_INTERNAL_H

#include "jit.h"

struct TCCState;

struct JitModule {
    JitBackend backend;
    struct TCCState *tcc; /* JIT_TCC */
    void *dl;             /* JIT_CC: dlopen handle */
    int fd;               /* JIT_CC: the memfd it was loaded from, or -1 */
};

int jit_tcc_compile(JitModule *m, const char *source, const char *source_name, ntkc_error *err);
void *jit_tcc_symbol(JitModule *m, const char *name);
void jit_tcc_free(JitModule *m);

int jit_cc_compile(JitModule *m, const char *source, const char *source_name, ntkc_error *err);
void *jit_cc_symbol(JitModule *m, const char *name);
void jit_cc_free(JitModule *m);

#endif
