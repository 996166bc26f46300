/* Source positions and the error record every stage fills in. */
#ifndef NTKC_DIAG_H
#define NTKC_DIAG_H

#include <stdarg.h>
#include <stddef.h>

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
/* Writes name into out (size cap, always terminated) with control bytes and
 * bytes that are not printable UTF-8 as \xHH, as source excerpts are: the
 * one way a file name enters a message, so a hostile name cannot act on the
 * user's terminal. Ordinary names are copied unchanged. */
void diag_escape_name(char *out, size_t cap, const char *name);
/* diag_user for a message about a file: "error: PATH: MSG", PATH escaped. */
void diag_file(ntkc_error *err, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_internal(ntkc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_clear(ntkc_error *err);

#endif
