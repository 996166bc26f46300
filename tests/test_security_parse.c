/* Issue 15, item 10: a large source parses in linear time. A generated 10 MB
 * file of `let` lines (about 250k constants) parses and lowers, every
 * constant resolvable, duplicates still caught with both positions. Not
 * timed (scripts/bench_parse.sh measures the time); before the name tables
 * this file took minutes (80k lines: 22 s). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "frontend.h"
#include "ir.h"
#include "util.h"

/* "let constant_number_I = I.25e-3" lines up to `bytes`, then a net using
 * the first, a middle and the last constant; *count gets the number of lets. */
static char *many_lets(size_t bytes, size_t *count)
{
    char *src = malloc(bytes + 256);
    cr_assert_not_null(src);
    size_t len = 0, i = 0;
    while (len < bytes)
        len += (size_t)sprintf(src + len, "let constant_number_%zu = %zu.25e-3\n", i, i), i++;
    sprintf(src + len, "net m {\n  dense(constant_number_%zu, constant_number_0)\n  relu\n  dense(constant_number_%zu)\n}\n",
            i - 1, i / 2);
    *count = i;
    return src;
}

/* The value "I.25e-3" denotes, as the parser reads it. */
static double let_value(size_t i)
{
    char text[64];
    snprintf(text, sizeof text, "%zu.25e-3", i);
    return strtod(text, NULL);
}

Test(security_parse, ten_megabytes_of_lets, .timeout = TIMEOUT(120))
{
    size_t n;
    char *src = many_lets(10u << 20, &n);
    cr_assert_gt(n, 200000);
    Arena a;
    arena_init(&a);
    Diag err = {0};
    Program *p = frontend_parse(&a, src, "big.ntk", &err);
    cr_assert_not_null(p, "%s", err.message);
    IrNet *ir = frontend_lower(&a, p, NULL, &err);
    cr_assert_not_null(ir, "%s", err.message);
    cr_assert_eq(ir->nops, 3);
    cr_assert_eq(ir->ops[0].u.dense.w_std, let_value(n - 1), "w_std %.17g", ir->ops[0].u.dense.w_std);
    cr_assert_eq(ir->ops[0].u.dense.b_std, let_value(0));
    cr_assert_eq(ir->ops[2].u.dense.w_std, let_value(n / 2));
    arena_free(&a);
    free(src);
}

/* The same file with one name defined again at its end: the hash lookup
 * finds the first definition, and both lines are named. */
Test(security_parse, duplicate_among_many_lets, .timeout = TIMEOUT(120))
{
    size_t n;
    char *src = many_lets(4u << 20, &n);
    char *net = strstr(src, "net m");
    sprintf(net, "let constant_number_7 = 1\n");
    Arena a;
    arena_init(&a);
    Diag err = {0};
    cr_assert_null(frontend_parse(&a, src, "big.ntk", &err));
    char want[128];
    snprintf(want, sizeof want, "big.ntk:%zu:1: error: constant 'constant_number_7' is already defined at 8:1", n + 1);
    cr_assert(strncmp(err.message, want, strlen(want)) == 0, "want '%s...', got: %.300s", want, err.message);
    arena_free(&a);
    free(src);
}

/* Issue 15, item 14: bytes a terminal would act on (ESC, BEL, CR) are shown
 * escaped in the excerpt under a message, the caret still under the column. */
Test(security_parse, control_bytes_in_excerpts_are_escaped)
{
    static const char src[] = "net m {\n  dense(1.5) # \x1b]0;owned\x07 \r\n  bogus\x1b[2J\n}\n";
    Arena a;
    arena_init(&a);
    Diag err = {0};
    cr_assert_null(frontend_parse(&a, src, "esc.ntk", &err));
    for (const char *c = err.message; *c; c++)
        cr_assert(*c == '\n' || (unsigned char)*c >= 0x20, "raw byte 0x%02x in: %s", (unsigned char)*c, err.message);
    cr_assert_not_null(strstr(err.message, "esc.ntk:3:8: error: unexpected byte 0x1b"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "\n      bogus\\x1b[2J\n           ^"), "%s", err.message);
    arena_free(&a);
    /* on a comment line too, UTF-8 kept as is */
    arena_init(&a);
    diag_clear(&err);
    cr_assert_null(frontend_parse(&a, "net m { dense(1.5) @ # \xcf\x83 \x1b\x07\n}\n", "c.ntk", &err));
    cr_assert_not_null(strstr(err.message, "\n    net m { dense(1.5) @ # \xcf\x83 \\x1b\\x07\n                       ^"), "%s",
                       err.message);
    arena_free(&a);
}
