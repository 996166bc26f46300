/* Recursive-descent parser for ntkc sources (grammar: grammars/ntk.ebnf). */
#ifndef NTKC_PARSER_H
#define NTKC_PARSER_H

#include "arena.h"
#include "ast.h"
#include "diag.h"

/* Parses a whole file. Checks syntax, number ranges (1e999) and file-level
 * duplicates (net, act and constant names); everything else is checked when a
 * net is lowered. NULL and a positioned error on the first problem. */
Program *parse_program(Arena *a, const char *src, const char *file, ntkc_error *err);

/* Words that cannot name a net, constant or activation. */
int parser_is_keyword(const char *name);

#endif
