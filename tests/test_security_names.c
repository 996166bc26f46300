/* Issue 15, loose end: file names in messages are escaped like source
 * excerpts. A directory named with ESC, newline, CR and an invalid UTF-8
 * byte reaches the terminal as \xHH in the diag prefix (FILE:line:col) and
 * in a reader's message; ordinary and UTF-8 names are unchanged. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "diag.h"
#include "util.h"

static const char hostile[] = "\x1b[31mx\ny\r\xff";

static void assert_no_raw_control(const char *errs)
{
    for (const unsigned char *s = (const unsigned char *)errs; *s; s++)
        cr_assert(*s != 0x1b && *s != '\r' && *s != 0xff, "raw byte 0x%02x in:\n%s", *s, errs);
}

Test(security_names, escape_keeps_ordinary_names)
{
    char out[256];
    diag_escape_name(out, sizeof out, "runs/net 1.ntk");
    cr_assert_str_eq(out, "runs/net 1.ntk");
    diag_escape_name(out, sizeof out, "d\xc3\xa9j\xc3\xa0/\xe2\x88\x9e.npy"); /* déjà/∞.npy */
    cr_assert_str_eq(out, "d\xc3\xa9j\xc3\xa0/\xe2\x88\x9e.npy");
    diag_escape_name(out, sizeof out, hostile);
    cr_assert_str_eq(out, "\\x1b[31mx\\x0ay\\x0d\\xff");
}

Test(security_names, hostile_paths_are_escaped_in_messages, .timeout = TIMEOUT(60))
{
    char dir[256], sub[300], net[350], cmd[2048], errs[4096];
    make_temp_dir(dir, sizeof dir);
    snprintf(sub, sizeof sub, "%s/%s", dir, hostile);
    cr_assert_eq(mkdir(sub, 0700), 0);
    snprintf(net, sizeof net, "%s/n.ntk", sub);
    FILE *f = fopen(net, "w");
    cr_assert_not_null(f);
    fputs("net f = dense(\n", f);
    fclose(f);
    /* a parse error: the diag prefix FILE:line:col */
    snprintf(cmd, sizeof cmd, "%s kernel \"$(printf '%%s/\\033[31mx\\ny\\r\\377/n.ntk' '%s')\" X.npy --ntk K.npy",
             ntkc_bin(), dir);
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 1, "%s", errs);
    cr_assert_not_null(strstr(errs, "/\\x1b[31mx\\x0ay\\x0d\\xff/n.ntk:1:"), "%s", errs);
    assert_no_raw_control(errs);
    /* a reader's message: the input that does not exist */
    snprintf(cmd, sizeof cmd, "%s kernel examples/fc.ntk \"$(printf '%%s/\\033[31mx\\ny\\r\\377/X.npy' '%s')\" --ntk '%s/K.npy'",
             ntkc_bin(), dir, dir);
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 1, "%s", errs);
    cr_assert_not_null(strstr(errs, "/\\x1b[31mx\\x0ay\\x0d\\xff/X.npy: no such file"), "%s", errs);
    assert_no_raw_control(errs);
    cr_assert_eq(strchr(errs, '\n'), errs + strlen(errs) - 1, "the name broke the message into lines:\n%s", errs);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
