/* The ntkc front end: source text → Program → checked IrNet. */
#ifndef NTKC_FRONTEND_H
#define NTKC_FRONTEND_H

#include <stddef.h>

#include "arena.h"
#include "diag.h"
#include "ir.h"

typedef struct Program Program; /* the parsed file (nets, lets, acts) */

/* Parses src (named filename in diagnostics; both must outlive a). NULL and a
 * positioned error in err on the first problem. */
Program *frontend_parse(Arena *a, const char *src, const char *filename, ntkc_error *err);
size_t program_net_count(const Program *p);
const char *program_net_name(const Program *p, size_t i);
/* Checks and lowers one net (net_name NULL = the only one) to IR, allocated in a. */
IrNet *frontend_lower(Arena *a, const Program *p, const char *net_name, ntkc_error *err);

#endif
