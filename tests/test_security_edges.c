/* Sizes and lengths from outside at their extremes: products of admitted
 * numbers that leave their type are refused with a position, the IR dump is
 * whole however deep the net, cut names in messages say so, and command
 * line counts that land in an int are refused past it instead of wrapping. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "diag.h"
#include "graph_data.h"
#include "npy.h"
#include "frontend.h"
#include "ir_print.h"
#include "net_internal.h"
#include "util.h"

/* flatten under param standard: channels × pixels was a long product
 * (1e12 × 1e10 overflowed, undefined behaviour); a fan-in past the bound on
 * a declared width is refused at the flatten. */
Test(security_edges, standard_flatten_fan_in_past_a_long)
{
    expect_error("net n {\n    param standard; input image(100000, 100000, 100)\n"
                 "    conv(3, width=1000000000000); relu\n    flatten\n    dense(width=10); relu; dense\n}",
                 "4:5", "under param standard 'flatten' gives the next layer a fan-in of 1000000000000 × "
                        "10000000000 channels × pixels = 1e+22, too large (at most 1e+15)");
}

Test(security_edges, standard_flatten_fan_in_at_the_bound_is_accepted)
{
    /* 1e9 channels × 1e6 pixels = 1e15: the largest fan-in admitted */
    Arena a;
    arena_init(&a);
    Diag err = {0};
    const char *src = "net n { param standard; input image(1000, 1000, 1); conv(3, width=1000000000); relu; "
                      "flatten; dense(width=4); relu; dense }";
    Program *p = frontend_parse(&a, src, "t.ntk", &err);
    IrNet *ir = p ? frontend_lower(&a, p, NULL, &err) : NULL;
    cr_assert_not_null(ir, "%s", err.message);
    cr_expect_eq(ir->ops[ir->nops - 3].u.dense.fan_in, 1000000000000000L);
    arena_free(&a);
}

/* A channel concat's width is the branches' sum: refused past the bound too. */
Test(security_edges, standard_concat_fan_in_past_the_bound)
{
    expect_error("net n {\n    param standard; input image(4, 4, 1); conv(3, width=1000000000000000)\n"
                 "    fanout { branch { conv(3, width=1000000000000000) } branch { conv(3, width=1000000000000000) } "
                 "} concat\n    relu; flatten; dense\n}",
                 "3:5", "fan-in of 1000000000000000 × 2 channels × branches = 2e+15, too large");
}

/* An image whose kernel entry needs more workspace than the emitted int
 * sizes hold: the emitter's refusal names the file and the input statement
 * (the fuzz oracle admits no other refusal of an accepted net). */
Test(security_edges, image_workspace_refusal_is_positioned, .timeout = TIMEOUT(60))
{
    const char *src = "net n {\n    input image(1000000, 1000000, 1)\n    conv(3); relu; avg_pool(2); conv(3); relu\n"
                      "    global_avg_pool; dense\n}";
    ntkc_compile_options o = {.backend = NTKC_BACKEND_TCC};
    ntkc_error err = {0};
    ntkc_net *net = ntkc_compile_string(src, "t.ntk", &o, &err);
    cr_assert_null(net);
    cr_expect_eq(err.code, NTKC_EUSER, "%s", err.message);
    cr_expect(strncmp(err.message, "t.ntk:2:5: error: net 'n': one kernel entry needs more than 2147483647 doubles",
                      strlen("t.ntk:2:5: error: net 'n': one kernel entry needs more than 2147483647 doubles")) == 0,
              "%s", err.message);
}

/* `ntkc ir` built each op's line in a 512-byte buffer: 4 spaces a level of
 * indentation, and residual blocks nested 70 deep pushed the inner ops' names
 * and positions past it (silently cut lines). */
/* Lines of s holding what, and of them those that go on to "# LINE:COL". */
static size_t count(const char *s, const char *what, size_t *positioned)
{
    size_t n = 0;
    *positioned = 0;
    for (const char *line = s; *line;) {
        size_t len = strcspn(line, "\n");
        const char *at = strstr(line, what), *mark = at ? strstr(at, " # 1:") : NULL;
        n += at != NULL && at < line + len;
        *positioned += mark != NULL && mark < line + len;
        line += len + (line[len] == '\n');
    }
    return n;
}

Test(security_edges, ir_prints_deeply_nested_ops_whole)
{
    enum { DEPTH = 70 };
    StrBuf net;
    sb_init(&net);
    sb_puts(&net, "net n { input image(4, 4, 1); conv(3); ");
    for (int k = 0; k < DEPTH - 1; k++)
        sb_puts(&net, "residual { relu; conv(3); ");
    sb_puts(&net, "residual { relu; conv(3) }");
    for (int k = 0; k < DEPTH - 1; k++)
        sb_puts(&net, "; relu; conv(3) }");
    sb_puts(&net, "; relu; global_avg_pool; dense }");
    Arena a;
    arena_init(&a);
    Diag err = {0};
    Program *p = frontend_parse(&a, net.data, "t.ntk", &err);
    IrNet *ir = p ? frontend_lower(&a, p, NULL, &err) : NULL;
    cr_assert_not_null(ir, "%s", err.message);
    StrBuf sb;
    sb_init(&sb);
    ir_print(&sb, ir);
    /* the first conv, then two per block but the innermost: every one with its position */
    size_t positioned, convs = count(sb.data, " = conv %", &positioned);
    cr_expect_eq(convs, 2 * DEPTH, "%.3000s", sb.data);
    cr_expect_eq(positioned, 2 * DEPTH, "%.3000s", sb.data);
    char innermost[64];
    snprintf(innermost, sizeof innermost, "%%%d = conv %%%d, window 3x3", 3 * DEPTH + 1, 3 * DEPTH);
    cr_expect(strstr(sb.data, innermost) != NULL, "no '%s' in the dump", innermost);
    sb_free(&sb);
    sb_free(&net);
    arena_free(&a);
}

/* --threads lands in an int: 2^32 + 1 used to become 1 thread, 2^31 all
 * cores; now refused by name, as is a --seed past 64 bits (was clamped). */
static void expect_cli_refusal(const char *args, const char *what)
{
    char dir[256], root[512], cmd[2048], errs[4096];
    make_temp_dir(dir, sizeof dir);
    cr_assert_not_null(getcwd(root, sizeof root));
    /* run in an empty directory (outputs would land there); "@" in args: the project root */
    const char *bin = ntkc_bin();
    StrBuf sb;
    sb_init(&sb);
    sb_printf(&sb, "cd %s && %s%s%s ", dir, bin[0] == '/' ? "" : root, bin[0] == '/' ? "" : "/", bin);
    for (const char *a = args; *a; a++) {
        if (*a == '@')
            sb_puts(&sb, root);
        else
            sb_putn(&sb, a, 1);
    }
    cr_assert_lt(sb.len, sizeof cmd);
    memcpy(cmd, sb.data, sb.len + 1);
    sb_free(&sb);
    int rc = run_command(cmd, errs, sizeof errs);
    cr_expect_eq(rc, 1, "exit %d for %s; stderr:\n%s", rc, args, errs);
    cr_expect(strstr(errs, what) != NULL, "want '%s' for %s in:\n%s", what, args, errs);
    rmdir(dir); /* nothing was written: a non-empty directory stays and fails the test below */
    cr_expect(!file_exists(dir), "%s wrote into %s", args, dir);
}

Test(security_edges, thread_counts_past_an_int_are_refused, .timeout = TIMEOUT(60))
{
    expect_cli_refusal("kernel @/examples/fc.ntk @/tests/data/npy/f8.npy --ntk K.npy --threads 4294967297",
                       "--threads is at most 4096, got '4294967297'");
    expect_cli_refusal("kernel @/examples/fc.ntk @/tests/data/npy/f8.npy --ntk K.npy --threads 2147483648",
                       "--threads is at most 4096, got '2147483648'");
    expect_cli_refusal("spectrum @/examples/fc.ntk @/tests/data/npy/f8.npy --threads 4097", "--threads is at most 4096");
}

Test(security_edges, train_seed_past_64_bits_is_refused, .timeout = TIMEOUT(60))
{
    expect_cli_refusal("train @/examples/fc.ntk --train @/tests/data/npy/f8.npy --targets @/tests/data/npy/f8.npy "
                       "--test @/tests/data/npy/f8.npy --width 8 --lr 0.1 --steps 1 --seed 18446744073709551616",
                       "--seed expects a whole number >= 0, got '18446744073709551616'");
}

/* A path longer than a message's room for it was cut without a mark, so a
 * message could name another file ("run_v1.npy" as "run_v1"). */
Test(security_edges, cut_names_in_messages_end_in_dots)
{
    char out[16];
    diag_escape_name(out, sizeof out, "exactly 15 char");
    cr_expect_str_eq(out, "exactly 15 char");
    diag_escape_name(out, sizeof out, "data/run_v1.npy.bak");
    cr_expect_str_eq(out, "data/run_v1....");
    diag_escape_name(out, sizeof out, "dat\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x"); /* not inside a UTF-8 é */
    cr_expect_str_eq(out, "dat\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9...");
    diag_escape_name(out, sizeof out, "abc\x1b[31mdefghijkl"); /* the cut escape is still escaped text */
    cr_expect(strchr(out, 0x1b) == NULL && strcmp(out + strlen(out) - 3, "...") == 0, "%s", out);
}

/* Text of a graph or .npy file quoted in a message: escaped like file names
 * (a token or an npy key with ESC printed it raw to the terminal). */
static void expect_inert(const char *message)
{
    for (const unsigned char *c = (const unsigned char *)message; *c; c++)
        cr_expect(*c != 0x1b && *c != '\r', "raw control byte in: %s", message);
}

Test(security_edges, graph_tokens_in_messages_are_escaped)
{
    ntkc_error err = {0};
    cr_assert_null(graph_data_parse("1\n1 0\n0 \x1b[2J\n", "g.txt", 0, &err));
    expect_inert(err.message);
    cr_expect(strstr(err.message, "got '\\x1b[2J'") != NULL, "%s", err.message);
    ntkc_error err2 = {0};
    char text[200] = "1\n1 0\n0 0 1\x1b";
    memset(text + strlen(text), '9', 60); /* a 61-byte token: shown cut, with dots */
    cr_assert_null(graph_data_parse(text, "g.txt", 0, &err2));
    expect_inert(err2.message);
    cr_expect(strstr(err2.message, "99...'") != NULL, "%s", err2.message);
}

/* A number written with 200 digits is still a number (was refused as "not a
 * finite number" past a 128-byte copy). */
Test(security_edges, long_graph_numbers_are_read)
{
    char text[600] = "1\n1 0\n0 0 0.5";
    memset(text + strlen(text), '0', 200);
    strcat(text, " 2\n");
    ntkc_error err = {0};
    ntkc_graphs *g = graph_data_parse(text, "g.txt", 0, &err);
    cr_assert_not_null(g, "%s", err.message);
    cr_expect_eq(g->features, 2);
    cr_expect_eq(g->x[0], 0.5);
    cr_expect_eq(g->x[1], 2.0);
    ntkc_graphs_free(g);
}

Test(security_edges, npy_header_strings_are_ascii)
{
    static const char hdr[] = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), '\x1b[2J': 0, }";
    unsigned char file[128] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    size_t hlen = 128 - 10;
    memset(file + 10, ' ', hlen);
    memcpy(file + 10, hdr, strlen(hdr));
    file[8] = (unsigned char)hlen, file[9] = 0;
    file[127] = '\n';
    NpyArray a = {0};
    ntkc_error err = {0};
    cr_assert_neq(npy_parse(file, sizeof file, "k.npy", &a, &err), 0);
    expect_inert(err.message);
    cr_expect(strstr(err.message, "unsupported character in string") != NULL, "%s", err.message);
}
