/* The ntkc lexer: PCRE2 patterns (one per token kind, the table in
 * grammars/tokens.pcre) turn a source text into an array of tokens. */
#ifndef NTKC_LEXER_H
#define NTKC_LEXER_H

#include <stddef.h>

#include "arena.h"
#include "diag.h"

/* Same order as grammars/tokens.pcre; TOK_EOF has no pattern. */
typedef enum TokKind {
    TOK_SPACE,
    TOK_COMMENT,
    TOK_NEWLINE,
    TOK_NUMBER,
    TOK_IDENT,
    TOK_LBRACE,
    TOK_RBRACE,
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_COMMA,
    TOK_SEMI,
    TOK_EQUALS,
    TOK_PLUS,
    TOK_MINUS,
    TOK_STAR,
    TOK_SLASH,
    TOK_CARET,
    TOK_EOF
} TokKind;

typedef struct Token {
    TokKind kind;
    SrcPos pos;
    const char *text; /* points into the source; not NUL-terminated */
    size_t len;
} Token;

typedef struct LexPattern {
    const char *name; /* as in grammars/tokens.pcre */
    const char *pattern;
} LexPattern;

/* The compiled-in pattern table, indexed by TokKind (TOK_EOF excluded). */
const LexPattern *lexer_patterns(size_t *count);
/* "NUMBER", "IDENT", ..., "EOF". */
const char *lexer_kind_name(TokKind kind);

typedef struct Lexer Lexer;

/* Compiles the patterns once (JIT when available). NULL + internal error on failure. */
Lexer *lexer_new(ntkc_error *err);
void lexer_free(Lexer *lx);

/* Tokenizes src into an arena array ending with one TOK_EOF token, placed
 * just after the last token that is not space, comment or newline. SPACE and
 * COMMENT tokens are dropped, as are NEWLINE tokens inside parentheses.
 * Returns NULL and fills err (positioned) on an unexpected character or a
 * malformed number such as `1e` or `1.5.2`. */
Token *lexer_run(Lexer *lx, Arena *a, const char *src, const char *file, size_t *ntok, ntkc_error *err);

/* lexer_new + lexer_run + lexer_free. */
Token *lex_source(Arena *a, const char *src, const char *file, size_t *ntok, ntkc_error *err);

#endif
