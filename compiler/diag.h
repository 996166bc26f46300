/* Source positions and the error record every stage fills in. */
#ifndef NTKC_DIAG_H
#define NTKC_DIAG_H

#include <stdarg.h>

#include "ntkc.h"

typedef struct SrcPos {
    const char *file; /* name shown to the user; owned by the compilation */
    int line;         /* 1-based; 0 = no position */
    int col;          /* 1-based, in bytes */
} SrcPos;

enum { NTKC_OK = 0, NTKC_EUSER = 1, NTKC_EINTERNAL = 2 };

/* Every stage reports through the public ntkc_error (code: NTKC_OK,
 * NTKC_EUSER or NTKC_EINTERNAL), so errors pass to the library's caller
 * unchanged. */

/* Formats "file:line:col: error: MSG", then the source line and a caret under
 * the column when src is non-NULL. The first error wins: later calls are ignored
 * while err->code is set, so a stage can fail without masking the root cause. */
void diag_at(ntkc_error *err, SrcPos pos, const char *src, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void diag_user(ntkc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_internal(ntkc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_clear(ntkc_error *err);

#endif
