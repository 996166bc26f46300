/* The float32 names of a kernel's runtime calls (`--precision single`): a
 * runtime made float by float.sed names every function NAME_f, so an
 * emitter writes its calls once, with the float64 names, and renames them in
 * the float32 file with this pass. */
#ifndef NTKC_EMIT_CALLS_F_H
#define NTKC_EMIT_CALLS_F_H

#include <stddef.h>

#include "strbuf.h"

/* In sb from byte `from` on: every call NAME( of a name in names[0, count)
 * becomes NAME_f(. Other names (the duals of activations, float64 in either
 * file; the net's own symbols) are left as they are. */
void emit_calls_f(StrBuf *sb, size_t from, const char *const *names, unsigned count);

#endif
