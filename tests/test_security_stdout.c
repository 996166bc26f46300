/* Issue 15, item 12: every command that writes standard output reports a
 * failed write by name ("writing standard output: No space left on device")
 * and exits 1 — /dev/full is a disk that is always full. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "npy.h"
#include "util.h"

/* Runs `ntkc ARGS` with its stdout on /dev/full; stderr into errs. */
static int run_to_full(const char *args, char *errs, size_t size)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "{ %s %s >/dev/full; }", ntkc_bin(), args);
    return run_command(cmd, errs, size);
}

static void expect_stdout_error(const char *args)
{
    char errs[4096];
    int rc = run_to_full(args, errs, sizeof errs);
    cr_assert_eq(rc, 1, "ntkc %s >/dev/full: exit %d, want 1; stderr:\n%s", args, rc, errs);
    cr_assert_not_null(strstr(errs, "ntkc: writing standard output: No space left on device"),
                       "ntkc %s >/dev/full does not name the failed write:\n%s", args, errs);
    cr_assert_null(strstr(errs, "ntkc: \n"), "an empty message:\n%s", errs);
}

Test(security_stdout, emit_to_full_disk) { expect_stdout_error("emit examples/fc.ntk"); }

Test(security_stdout, emit_dash_to_full_disk) { expect_stdout_error("emit examples/fc.ntk -o -"); }

Test(security_stdout, derive_to_full_disk) { expect_stdout_error("derive examples/activations.ntk"); }

Test(security_stdout, ir_to_full_disk) { expect_stdout_error("ir examples/fc.ntk"); }

Test(security_stdout, help_to_full_disk)
{
    expect_stdout_error("--help");
    expect_stdout_error("kernel --help");
}

Test(security_stdout, kernel_summary_to_full_disk)
{
    char dir[256], x[300], k[300], args[1024];
    make_temp_dir(dir, sizeof dir);
    snprintf(x, sizeof x, "%s/X.npy", dir);
    snprintf(k, sizeof k, "%s/K.npy", dir);
    double data[12];
    fill_random(data, 12, 1);
    ntkc_error err = {0};
    size_t shape[2] = {4, 3};
    cr_assert_eq(npy_write_f64(x, 2, shape, data, &err), 0, "%s", err.message);
    snprintf(args, sizeof args, "kernel examples/fc.ntk %s --ntk %s", x, k);
    expect_stdout_error(args);
    remove(k);
    remove(x);
    remove(dir);
}

Test(security_stdout, closed_stdout_is_reported)
{
    char cmd[512], errs[4096];
    snprintf(cmd, sizeof cmd, "{ %s emit examples/fc.ntk >&-; }", ntkc_bin());
    int rc = run_command(cmd, errs, sizeof errs);
    cr_assert_eq(rc, 1, "exit %d; stderr:\n%s", rc, errs);
    cr_assert_not_null(strstr(errs, "ntkc: writing standard output: Bad file descriptor"), "%s", errs);
}

static const char *derive_cmd(void)
{
    static char cmd[512];
    snprintf(cmd, sizeof cmd, "%s derive examples/activations.ntk", ntkc_bin());
    return cmd;
}

/* The check is not a false alarm: a good run to a real stdout stays quiet. */
Test(security_stdout, ordinary_stdout_is_fine)
{
    char errs[4096];
    cr_assert_eq(run_command(derive_cmd(), errs, sizeof errs), 0, "%s", errs);
}
