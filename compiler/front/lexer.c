#include "lexer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdlib.h>
#include <string.h>

/* Must equal grammars/tokens.pcre line for line (tests/test_lexer.c checks). */
static const LexPattern patterns[] = {
    [TOK_SPACE] = {"SPACE", "[ \\t\\r]+"},
    [TOK_COMMENT] = {"COMMENT", "#[^\\n]*"},
    [TOK_NEWLINE] = {"NEWLINE", "\\n"},
    [TOK_NUMBER] = {"NUMBER", "(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?"},
    [TOK_IDENT] = {"IDENT", "[A-Za-z_][A-Za-z0-9_]*"},
    [TOK_LBRACE] = {"LBRACE", "\\{"},
    [TOK_RBRACE] = {"RBRACE", "\\}"},
    [TOK_LPAREN] = {"LPAREN", "\\("},
    [TOK_RPAREN] = {"RPAREN", "\\)"},
    [TOK_COMMA] = {"COMMA", ","},
    [TOK_SEMI] = {"SEMI", ";"},
    [TOK_EQUALS] = {"EQUALS", "="},
    [TOK_PLUS] = {"PLUS", "\\+"},
    [TOK_MINUS] = {"MINUS", "-"},
    [TOK_STAR] = {"STAR", "\\*"},
    [TOK_SLASH] = {"SLASH", "/"},
    [TOK_CARET] = {"CARET", "\\^"},
};

enum { NPATTERNS = sizeof patterns / sizeof patterns[0] };
_Static_assert((int)NPATTERNS == (int)TOK_EOF, "one pattern per token kind before TOK_EOF");

struct Lexer {
    pcre2_code *code[NPATTERNS];
    /* can_start[k][c]: pattern k may match a text starting with byte c. Lets
     * match_at skip the patterns that cannot match (most of them), which
     * makes lexing several times faster on large files. */
    unsigned char can_start[NPATTERNS][256];
    pcre2_match_data *md;
};

const LexPattern *lexer_patterns(size_t *count)
{
    *count = NPATTERNS;
    return patterns;
}

const char *lexer_kind_name(TokKind kind)
{
    return kind == TOK_EOF ? "EOF" : patterns[kind].name;
}

void lexer_free(Lexer *lx)
{
    if (lx == NULL)
        return;
    for (int k = 0; k < NPATTERNS; k++)
        pcre2_code_free(lx->code[k]);
    pcre2_match_data_free(lx->md);
    free(lx);
}

/* From PCRE2's own analysis of the compiled pattern: a fixed first code
 * unit, or the bitmap of possible first units; else every byte. */
static void compute_first_bytes(const pcre2_code *code, unsigned char out[256])
{
    uint32_t type = 0, unit = 0;
    const uint8_t *bitmap = NULL;
    pcre2_pattern_info(code, PCRE2_INFO_FIRSTCODETYPE, &type);
    pcre2_pattern_info(code, PCRE2_INFO_FIRSTBITMAP, &bitmap);
    if (type == 1 && pcre2_pattern_info(code, PCRE2_INFO_FIRSTCODEUNIT, &unit) == 0 && unit < 256) {
        memset(out, 0, 256);
        out[unit] = 1;
    } else if (bitmap != NULL) {
        for (int c = 0; c < 256; c++)
            out[c] = (bitmap[c / 8] >> (c % 8)) & 1;
    } else {
        memset(out, 1, 256);
    }
}

Lexer *lexer_new(ntkc_error *err)
{
    Lexer *lx = calloc(1, sizeof *lx);
    if (lx == NULL) {
        diag_internal(err, "out of memory creating the lexer");
        return NULL;
    }
    for (int k = 0; k < NPATTERNS; k++) {
        int code;
        PCRE2_SIZE where;
        /* Anchored at compile time: the JIT ignores match-time PCRE2_ANCHORED. */
        lx->code[k] = pcre2_compile((PCRE2_SPTR)patterns[k].pattern, PCRE2_ZERO_TERMINATED,
                                    PCRE2_ANCHORED, &code, &where, NULL);
        if (lx->code[k] == NULL) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(code, msg, sizeof msg);
            diag_internal(err, "token pattern %s does not compile at offset %zu: %s", patterns[k].name,
                          (size_t)where, (const char *)msg);
            lexer_free(lx);
            return NULL;
        }
        /* Not fatal: without the JIT the interpreter runs the same pattern. */
        (void)pcre2_jit_compile(lx->code[k], PCRE2_JIT_COMPLETE);
        compute_first_bytes(lx->code[k], lx->can_start[k]);
    }
    lx->md = pcre2_match_data_create(1, NULL);
    if (lx->md == NULL) {
        diag_internal(err, "out of memory creating the lexer's match data");
        lexer_free(lx);
        return NULL;
    }
    return lx;
}

/* Longest anchored match at off; ties go to the earlier pattern. Returns the
 * kind, or -1 when nothing matches (a match of length 0 counts as none). */
static int match_at(Lexer *lx, const char *src, size_t len, size_t off, size_t *mlen)
{
    int best = -1;
    *mlen = 0;
    unsigned char first = (unsigned char)src[off];
    for (int k = 0; k < NPATTERNS; k++) {
        if (!lx->can_start[k][first])
            continue;
        int rc = pcre2_match(lx->code[k], (PCRE2_SPTR)src, len, off, 0, lx->md, NULL);
        if (rc < 0)
            continue;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(lx->md);
        size_t n = ov[1] - ov[0];
        if (ov[0] == off && n > *mlen) {
            *mlen = n;
            best = k;
        }
    }
    return best;
}

static int is_word_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == '.';
}

typedef struct TokVec {
    Token *v;
    size_t n, cap;
} TokVec;

static void push_token(Arena *a, TokVec *tv, Token t)
{
    if (tv->n == tv->cap) {
        size_t cap = tv->cap ? 2 * tv->cap : 64;
        Token *v = arena_alloc(a, cap * sizeof *v);
        if (tv->n)
            memcpy(v, tv->v, tv->n * sizeof *v);
        tv->v = v;
        tv->cap = cap;
    }
    tv->v[tv->n++] = t;
}

static void report_bad_char(ntkc_error *err, SrcPos pos, const char *src, unsigned char c)
{
    if (c >= 0x20 && c < 0x7f)
        diag_at(err, pos, src, "unexpected character '%c'", c);
    else
        diag_at(err, pos, src, "unexpected byte 0x%02x (only ASCII is allowed outside comments)", c);
}

Token *lexer_run(Lexer *lx, Arena *a, const char *src, const char *file, size_t *ntok, ntkc_error *err)
{
    size_t len = strlen(src), off = 0;
    SrcPos pos = {file, 1, 1};
    /* End of file is reported just after the last real token, so a message
     * about it shows a line with text on it rather than a blank one. */
    SrcPos end_pos = pos;
    int paren_depth = 0;
    TokVec tv = {0};
    while (off < len) {
        size_t n;
        int kind = match_at(lx, src, len, off, &n);
        if (kind < 0) {
            report_bad_char(err, pos, src, (unsigned char)src[off]);
            return NULL;
        }
        /* `1e`, `2x`, `1.5.2`: a number must not run into a name or another dot. */
        if (kind == TOK_NUMBER && off + n < len && is_word_char(src[off + n])) {
            size_t end = off + n;
            while (end < len && is_word_char(src[end]))
                end++;
            diag_at(err, pos, src, "malformed number '%.*s'", (int)(end - off), src + off);
            return NULL;
        }
        Token t = {(TokKind)kind, pos, src + off, n};
        if (kind == TOK_LPAREN)
            paren_depth++;
        else if (kind == TOK_RPAREN && paren_depth > 0)
            paren_depth--;
        int keep = kind != TOK_SPACE && kind != TOK_COMMENT && !(kind == TOK_NEWLINE && paren_depth > 0);
        if (keep)
            push_token(a, &tv, t);
        for (size_t i = 0; i < n; i++) {
            if (src[off + i] == '\n') {
                pos.line++;
                pos.col = 1;
            } else {
                pos.col++;
            }
        }
        off += n;
        if (kind != TOK_SPACE && kind != TOK_COMMENT && kind != TOK_NEWLINE)
            end_pos = pos;
    }
    push_token(a, &tv, (Token){TOK_EOF, end_pos, src + len, 0});
    *ntok = tv.n;
    return tv.v;
}

Token *lex_source(Arena *a, const char *src, const char *file, size_t *ntok, ntkc_error *err)
{
    Lexer *lx = lexer_new(err);
    if (lx == NULL)
        return NULL;
    Token *t = lexer_run(lx, a, src, file, ntok, err);
    lexer_free(lx);
    return t;
}
