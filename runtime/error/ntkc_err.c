#include "ntkc_err.h"

#include <string.h>

_Static_assert(sizeof(((Diag *)0)->message) == sizeof(((ntkc_error *)0)->message),
               "Diag and ntkc_error carry messages of one length");
_Static_assert((int)DIAG_OK == (int)NTKC_OK && (int)DIAG_EUSER == (int)NTKC_EUSER &&
                   (int)DIAG_EINTERNAL == (int)NTKC_EINTERNAL,
               "Diag and ntkc_error share their codes");

int err_from_diag(ntkc_error *err, const Diag *d)
{
    if (err == NULL)
        return d->code;
    if (err->code == NTKC_OK && d->code != DIAG_OK) {
        err->code = d->code;
        memcpy(err->message, d->message, sizeof err->message);
    }
    return err->code;
}

/* Each reporter: nothing when err already holds an error (the first one
 * wins), else format into a Diag with the compiler's formatter and copy. */
#define REPORT(err, fmt, call)                                                                                \
    do {                                                                                                      \
        if ((err) == NULL || (err)->code != NTKC_OK)                                                          \
            return;                                                                                           \
        Diag d = {0};                                                                                         \
        va_list ap;                                                                                           \
        va_start(ap, (fmt));                                                                                  \
        call;                                                                                                 \
        va_end(ap);                                                                                           \
        err_from_diag((err), &d);                                                                             \
    } while (0)

void err_user(ntkc_error *err, const char *fmt, ...)
{
    REPORT(err, fmt, diag_vuser(&d, fmt, ap));
}

void err_file(ntkc_error *err, const char *path, const char *fmt, ...)
{
    REPORT(err, fmt, diag_vfile(&d, path, fmt, ap));
}

void err_internal(ntkc_error *err, const char *fmt, ...)
{
    REPORT(err, fmt, diag_vinternal(&d, fmt, ap));
}

void err_at(ntkc_error *err, SrcPos pos, const char *src, const char *fmt, ...)
{
    REPORT(err, fmt, diag_vat(&d, pos, src, fmt, ap));
}

void err_clear(ntkc_error *err)
{
    err->code = NTKC_OK;
    err->message[0] = '\0';
}
