/* In-process compilation of generated C: libtcc by default, or the system
 * compiler into a cached shared object. Both back ends take the same source
 * and hand back symbols; the module owns the code until jit_free. */
#ifndef NTKC_JIT_H
#define NTKC_JIT_H

#include "diag.h"

typedef enum JitBackend { JIT_TCC = 0, JIT_CC = 1 } JitBackend;

typedef struct JitModule JitModule;

/* source_name labels compiler messages ("fc.ntk (generated)"). */
JitModule *jit_compile(JitBackend backend, const char *source, const char *source_name, ntkc_error *err);
/* NULL when the symbol is missing. */
void *jit_symbol(JitModule *m, const char *name);
void jit_free(JitModule *m);

#endif
