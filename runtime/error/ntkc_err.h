/* The runtime's errors: it implements the public API, so it reports into the
 * caller's ntkc_error (the reporters are declared in ntkc_tool.h, which the
 * CLI shares). The compiler reports into its own Diag (compiler/support/
 * diag.h); err_from_diag converts where the runtime calls the compiler. One
 * formatter for both: the reporters format into a Diag and copy it. */
#ifndef NTKC_ERR_H
#define NTKC_ERR_H

#include "diag.h"
#include "ntkc_tool.h"

/* "FILE:LINE:COL: error: MSG" with the source line and a caret (diag_at),
 * for files the runtime parses (graph data) and positions the IR carries. */
void err_at(ntkc_error *err, SrcPos pos, const char *src, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Copies a compiler error into err unless err already holds one; returns
 * the code now in err (0 when d holds none). */
int err_from_diag(ntkc_error *err, const Diag *d);

#endif
