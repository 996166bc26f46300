/* The code builder's lines (compiler/emit/code.c): the conversions it
 * formats itself (%d %u %ld %lu %zu %s %c %%) agree with snprintf at the
 * edges of every type, "$", "@" and "`" are replaced in the format only, and a
 * format with flags, width or precision still reaches vsnprintf. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code.h"

static Code builder(StrBuf *sb, int single)
{
    sb_init(sb);
    Code c;
    cr_assert_eq(code_init(&c, sb, "net"), 0);
    c.single = single;
    return c;
}

Test(code_builder, integers_as_snprintf_writes_them)
{
    const int ints[] = {0, 1, -1, 9, 10, -10, 123456789, INT_MAX, INT_MIN};
    const long longs[] = {0, -7, LONG_MAX, LONG_MIN};
    const size_t sizes[] = {0, 7, 4294967296u, SIZE_MAX};
    char want[256];
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        StrBuf sb;
        Code c = builder(&sb, 0);
        code_line(&c, "a%db%uc", ints[i], (unsigned)ints[i]);
        snprintf(want, sizeof want, "a%db%uc\n", ints[i], (unsigned)ints[i]);
        cr_assert_str_eq(sb.data, want);
        sb_free(&sb);
    }
    for (size_t i = 0; i < sizeof longs / sizeof longs[0]; i++) {
        StrBuf sb;
        Code c = builder(&sb, 0);
        code_line(&c, "%ld %lu", longs[i], (unsigned long)longs[i]);
        snprintf(want, sizeof want, "%ld %lu\n", longs[i], (unsigned long)longs[i]);
        cr_assert_str_eq(sb.data, want);
        sb_free(&sb);
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        StrBuf sb;
        Code c = builder(&sb, 0);
        code_line(&c, "[%zu]", sizes[i]);
        snprintf(want, sizeof want, "[%zu]\n", sizes[i]);
        cr_assert_str_eq(sb.data, want);
        sb_free(&sb);
    }
}

Test(code_builder, strings_chars_percent_and_marks)
{
    StrBuf sb;
    Code c = builder(&sb, 0);
    code_open(&c, "static @ $_f(@ x) /* %s%c%% $ */ {", "a$b@", 'q');
    code_line(&c, "return x;");
    code_close(&c, "");
    cr_assert_str_eq(sb.data, "static double ntkcnet_net_f(double x) /* a$b@q% ntkcnet_net */ {\n"
                              "    return x;\n"
                              "}\n");
    sb_free(&sb);
    c = builder(&sb, 1);
    code_line(&c, "@ y;");
    cr_assert_str_eq(sb.data, "float y;\n");
    sb_free(&sb);
}

/* "`" is the suffix of the scalar type's kernel-time functions
 * (code_prim_suffix), in the format only, on both formatting paths. */
Test(code_builder, call_suffix_mark)
{
    for (int single = 0; single < 2; single++) {
        StrBuf sb;
        Code c = builder(&sb, single);
        code_line(&c, "ntkc_copy`(s, t, %d); %s`(%s); /* %s */", 8, "ntkc_fill", "a`b", "`");
        code_line(&c, "ntkc_sum`(%5.1f);", 0.5);
        cr_assert_str_eq(sb.data, single ? "ntkc_copy_f(s, t, 8); ntkc_fill_f(a`b); /* ` */\nntkc_sum_f(  0.5);\n"
                                         : "ntkc_copy(s, t, 8); ntkc_fill(a`b); /* ` */\nntkc_sum(  0.5);\n");
        sb_free(&sb);
    }
    char buf[32];
    code_format(buf, sizeof buf, "f`(%d)", 1); /* no builder, no suffix: as it is */
    cr_assert_str_eq(buf, "f`(1)");
}

Test(code_builder, other_conversions_go_to_vsnprintf)
{
    StrBuf sb;
    Code c = builder(&sb, 0);
    code_line(&c, "$ %5d|%-3s|%x|%.2f|%03zu", 42, "a", 255u, 0.125, (size_t)7);
    cr_assert_str_eq(sb.data, "ntkcnet_net    42|a  |ff|0.12|007\n");
    sb_free(&sb);
}

Test(code_builder, code_format_truncates_as_snprintf)
{
    const char *fmts[] = {"pl[%d] %s %zu%%", "%5d|%s"};
    for (size_t f = 0; f < 2; f++)
        for (size_t size = 1; size < 24; size++) {
            char got[32], want[32];
            memset(got, 'x', sizeof got);
            memset(want, 'x', sizeof want);
            code_format(got, size, fmts[f], -42, "ab$@", (size_t)18446744073709551615u);
            snprintf(want, size, fmts[f], -42, "ab$@", (size_t)18446744073709551615u);
            cr_assert_eq(memcmp(got, want, sizeof got), 0, "%s, size %zu: \"%s\" vs \"%s\"", fmts[f], size, got, want);
        }
}
