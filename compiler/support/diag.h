/* Source positions and the compiler's error record, Diag, that every stage
 * fills in. The compiler does not know the public API: the runtime converts a
 * Diag into the caller's Diag where it calls the compiler
 * (runtime/error/ntkc_err.h, err_from_diag), and formats its own errors with
 * the va_list variants below, so the formatting and escaping live here once. */
#ifndef NTKC_DIAG_H
#define NTKC_DIAG_H

#include <stdarg.h>
#include <stddef.h>

typedef struct SrcPos {
    const char *file; /* name shown to the user; owned by the compilation */
    int line;         /* 1-based; 0 = no position */
    int col;          /* 1-based, in bytes */
} SrcPos;

/* The codes are the public API's (Diag.code: 0, 1 user, 2 internal),
 * and the message is as long, so the conversion is a copy. */
enum { DIAG_OK = 0, DIAG_EUSER = 1, DIAG_EINTERNAL = 2 };
#define DIAG_MESSAGE_MAX 2048

typedef struct Diag {
    int code; /* DIAG_OK, DIAG_EUSER or DIAG_EINTERNAL */
    char message[DIAG_MESSAGE_MAX];
} Diag;

/* Formats "file:line:col: error: MSG", then the source line and a caret under
 * the column when src is non-NULL. The first error wins: later calls are ignored
 * while d->code is set, so a stage can fail without masking the root cause. */
void diag_at(Diag *d, SrcPos pos, const char *src, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void diag_user(Diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes name into out (size cap, always terminated) with control bytes and
 * bytes that are not printable UTF-8 as \xHH, as source excerpts are: the
 * one way a file name enters a message, so a hostile name cannot act on the
 * user's terminal. Ordinary names are copied unchanged; one too long for out
 * is cut at a character and ends in "...". */
void diag_escape_name(char *out, size_t cap, const char *name);
/* diag_user for a message about a file: "error: PATH: MSG", PATH escaped. */
void diag_file(Diag *d, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_internal(Diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_clear(Diag *d);

/* The same with a va_list, for the runtime's Diag reporters. */
void diag_vat(Diag *d, SrcPos pos, const char *src, const char *fmt, va_list ap);
void diag_vuser(Diag *d, const char *fmt, va_list ap);
void diag_vfile(Diag *d, const char *path, const char *fmt, va_list ap);
void diag_vinternal(Diag *d, const char *fmt, va_list ap);

#endif
