/* Checks one net of a parsed program and lowers it to the recursion IR. */
#ifndef NTKC_LOWER_H
#define NTKC_LOWER_H

#include "act_formula.h"
#include "arena.h"
#include "ast.h"
#include "diag.h"
#include "ir.h"

/* Lowers `net` (one of prog->nets) into an IrNet allocated in a: constants
 * resolved, defaults filled in, repeat blocks unrolled. NULL and a positioned
 * error on the first problem. */
IrNet *lower_net(Arena *a, const Program *prog, const NetDecl *net, ntkc_error *err);

/* The formula activation d of prog with its default parameters, file-level
 * constants resolved (for `ntkc derive`); NULL and a positioned error. */
const Formula *lower_formula(Arena *a, const Program *prog, const ActDecl *d, ntkc_error *err);

/* File-level checks that need the layer table (formula activations must not
 * take a layer's name) and building every formula activation with its
 * defaults. 1 when fine. */
int lower_check_program(const Program *prog, ntkc_error *err);

#endif
