/* The lexer: its pattern table against grammars/tokens.pcre, token streams,
 * positions, newline handling and errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "lexer.h"

typedef struct Lexed {
    Arena a;
    Diag err;
    Token *t;
    size_t n;
} Lexed;

static void lex(Lexed *l, const char *src)
{
    arena_init(&l->a);
    diag_clear(&l->err);
    l->t = lex_source(&l->a, src, "t.ntk", &l->n, &l->err);
}

/* "KIND:text KIND:text ..." for compact stream assertions. */
static char *stream(Lexed *l)
{
    char *s = "";
    for (size_t i = 0; i < l->n; i++)
        s = arena_printf(&l->a, "%s%s%s:%.*s", s, i ? " " : "", lexer_kind_name(l->t[i].kind),
                         l->t[i].kind == TOK_NEWLINE ? 0 : (int)l->t[i].len, l->t[i].text);
    return s;
}

Test(lexer, patterns_equal_grammar_file)
{
    FILE *f = fopen("grammars/tokens.pcre", "r");
    cr_assert_not_null(f, "tests run from the repo root and read grammars/tokens.pcre");
    size_t count;
    const LexPattern *pat = lexer_patterns(&count);
    size_t k = 0;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *tab = strchr(line, '\t');
        cr_assert_not_null(tab, "line '%s' has no TAB", line);
        *tab = '\0';
        cr_assert_lt(k, count, "grammars/tokens.pcre has more kinds than lexer.c");
        cr_expect_str_eq(line, pat[k].name, "kind %zu", k);
        cr_expect_str_eq(tab + 1, pat[k].pattern, "pattern of %s", pat[k].name);
        k++;
    }
    fclose(f);
    cr_assert_eq(k, count, "lexer.c has %zu kinds, grammars/tokens.pcre %zu", count, k);
}

Test(lexer, token_stream_and_positions)
{
    Lexed l;
    lex(&l, "net mlp {\n  dense(w_std=1.5, 0.05) # comment\n\trelu; erf\n}");
    cr_assert_eq(l.err.code, DIAG_OK, "%s", l.err.message);
    cr_expect_str_eq(stream(&l), "IDENT:net IDENT:mlp LBRACE:{ NEWLINE: IDENT:dense LPAREN:( IDENT:w_std "
                                 "EQUALS:= NUMBER:1.5 COMMA:, NUMBER:0.05 RPAREN:) NEWLINE: IDENT:relu "
                                 "SEMI:; IDENT:erf NEWLINE: RBRACE:} EOF:");
    cr_expect_eq(l.t[1].pos.line, 1);
    cr_expect_eq(l.t[1].pos.col, 5);
    cr_expect_eq(l.t[2].pos.col, 9);
    cr_expect_eq(l.t[4].pos.line, 2); /* dense */
    cr_expect_eq(l.t[4].pos.col, 3);
    cr_expect_eq(l.t[10].pos.col, 20); /* 0.05 */
    cr_expect_eq(l.t[13].pos.line, 3); /* relu after a tab: columns count bytes */
    cr_expect_eq(l.t[13].pos.col, 2);
    cr_expect_str_eq(l.t[12].pos.file, "t.ntk");
    cr_expect_eq(l.t[l.n - 1].pos.line, 4);
    cr_expect_eq(l.t[l.n - 1].pos.col, 2);
    arena_free(&l.a);
    lex(&l, "relu # c\n\n  \n");
    cr_expect_eq(l.t[l.n - 1].kind, TOK_EOF);
    cr_expect_eq(l.t[l.n - 1].pos.line, 1, "end of file sits after the last real token");
    cr_expect_eq(l.t[l.n - 1].pos.col, 5);
    arena_free(&l.a);
}

Test(lexer, numbers_in_c_syntax)
{
    Lexed l;
    lex(&l, "1 -0.5 1e-3 .5 2. 3E+2 007");
    cr_assert_eq(l.err.code, DIAG_OK, "%s", l.err.message);
    cr_expect_str_eq(stream(&l), "NUMBER:1 MINUS:- NUMBER:0.5 NUMBER:1e-3 NUMBER:.5 NUMBER:2. NUMBER:3E+2 "
                                 "NUMBER:007 EOF:");
    arena_free(&l.a);
}

Test(lexer, operators_for_formulas)
{
    Lexed l;
    lex(&l, "act f(x, a = 2) = -a*x^2 + x/3 - 1");
    cr_assert_eq(l.err.code, DIAG_OK, "%s", l.err.message);
    cr_expect_str_eq(stream(&l), "IDENT:act IDENT:f LPAREN:( IDENT:x COMMA:, IDENT:a EQUALS:= NUMBER:2 "
                                 "RPAREN:) EQUALS:= MINUS:- IDENT:a STAR:* IDENT:x CARET:^ NUMBER:2 PLUS:+ "
                                 "IDENT:x SLASH:/ NUMBER:3 MINUS:- NUMBER:1 EOF:");
    arena_free(&l.a);
}

Test(lexer, newlines_inside_parentheses_are_skipped)
{
    Lexed l;
    lex(&l, "dense(\n  1.5,\n  0.05\n)\nrelu\n\n");
    cr_assert_eq(l.err.code, DIAG_OK, "%s", l.err.message);
    cr_expect_str_eq(stream(&l), "IDENT:dense LPAREN:( NUMBER:1.5 COMMA:, NUMBER:0.05 RPAREN:) NEWLINE: "
                                 "IDENT:relu NEWLINE: NEWLINE: EOF:");
    cr_expect_eq(l.t[4].pos.line, 3);
    cr_expect_eq(l.t[4].pos.col, 3);
    arena_free(&l.a);
}

Test(lexer, comments_and_crlf)
{
    Lexed l;
    lex(&l, "# header\r\nrelu # trailing ( not a paren\r\n");
    cr_assert_eq(l.err.code, DIAG_OK, "%s", l.err.message);
    cr_expect_str_eq(stream(&l), "NEWLINE: IDENT:relu NEWLINE: EOF:");
    arena_free(&l.a);
}

Test(lexer, unexpected_character)
{
    Lexed l;
    lex(&l, "net a {\n  dense @ 2\n}");
    cr_assert_null(l.t);
    cr_assert_eq(l.err.code, DIAG_EUSER);
    cr_expect(strncmp(l.err.message, "t.ntk:2:9: error: unexpected character '@'", 42) == 0, "%s", l.err.message);
    cr_expect(strstr(l.err.message, "\n      dense @ 2\n            ^") != NULL, "caret: %s", l.err.message);
    arena_free(&l.a);
}

Test(lexer, non_ascii_byte)
{
    Lexed l;
    lex(&l, "relu \xc3\xa9");
    cr_assert_null(l.t);
    cr_expect(strstr(l.err.message, "t.ntk:1:6: error: unexpected byte 0xc3") != NULL, "%s", l.err.message);
    arena_free(&l.a);
}

Test(lexer, malformed_numbers)
{
    static const char *const cases[][2] = {
        {"dense(1e)", "t.ntk:1:7: error: malformed number '1e'"},
        {"x = 1.5.2", "t.ntk:1:5: error: malformed number '1.5.2'"},
        {"repeat 2x {", "t.ntk:1:8: error: malformed number '2x'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Lexed l;
        lex(&l, cases[i][0]);
        cr_expect_null(l.t);
        cr_expect(strncmp(l.err.message, cases[i][1], strlen(cases[i][1])) == 0, "%s -> %s", cases[i][0],
                  l.err.message);
        arena_free(&l.a);
    }
}

Test(lexer, one_lexer_many_sources)
{
    Diag err;
    diag_clear(&err);
    Lexer *lx = lexer_new(&err);
    cr_assert_not_null(lx, "%s", err.message);
    Arena a;
    arena_init(&a);
    size_t n1, n2;
    Token *t1 = lexer_run(lx, &a, "relu", "a.ntk", &n1, &err);
    Token *t2 = lexer_run(lx, &a, "", "b.ntk", &n2, &err);
    cr_assert(t1 && t2);
    cr_expect_eq(n1, 2);
    cr_expect_eq(n2, 1);
    cr_expect_eq(t2[0].kind, TOK_EOF);
    cr_expect_eq(t2[0].pos.line, 1);
    cr_expect_str_eq(t2[0].pos.file, "b.ntk");
    arena_free(&a);
    lexer_free(lx);
}
