/* Checks one net of a parsed program and lowers it to the recursion IR. */
#ifndef NTKC_LOWER_H
#define NTKC_LOWER_H

#include "arena.h"
#include "ast.h"
#include "diag.h"
#include "ir.h"

/* Lowers `net` (one of prog->nets) into an IrNet allocated in a: constants
 * resolved, defaults filled in, repeat blocks unrolled. NULL and a positioned
 * error on the first problem. */
IrNet *lower_net(Arena *a, const Program *prog, const NetDecl *net, NtkcError *err);

/* File-level checks that need the layer table (formula activations must not
 * take a layer's name). 1 when fine. */
int lower_check_program(const Program *prog, NtkcError *err);

#endif
