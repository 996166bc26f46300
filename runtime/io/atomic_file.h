/* Writing a file so that readers see the old content or the new, never a
 * half-written one: a temporary beside the target, renamed into place. */
#ifndef NTKC_ATOMIC_FILE_H
#define NTKC_ATOMIC_FILE_H

#include <stddef.h>

#include "diag.h"

int atomic_write_file(const char *path, const void *data, size_t len, ntkc_error *err);

#endif
