/* Issue 15, item 6: endless or hostile inputs. /dev/zero and /dev/urandom as
 * net source, .npy or graph file stop at once with a message naming the file
 * (a NUL byte, a bad magic, the header's promise, the documented size limit);
 * a FIFO is read once — the kind check does not eat it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy.h"
#include "util.h"

/* Runs a shell command line (with ntkc as %1$s); expects exit 1 and want in stderr. */
static void expect_refusal(const char *fmt, const char *want)
{
    char cmd[2048], errs[4096];
    snprintf(cmd, sizeof cmd, fmt, ntkc_bin());
    int rc = run_command(cmd, errs, sizeof errs);
    cr_assert_eq(rc, 1, "%s: exit %d, want 1; stderr:\n%s", cmd, rc, errs);
    cr_assert_not_null(strstr(errs, want), "%s: stderr lacks '%s':\n%s", cmd, want, errs);
}

Test(security_inputs, dev_zero_as_net_source, .timeout = TIMEOUT(30))
{
    expect_refusal("%s emit /dev/zero", "/dev/zero: contains a NUL byte");
    expect_refusal("%s derive /dev/urandom", "/dev/urandom: contains a NUL byte");
}

Test(security_inputs, dev_zero_as_npy_input, .timeout = TIMEOUT(30))
{
    expect_refusal("%s kernel examples/fc.ntk /dev/zero --ntk /tmp/ntkc-never-written.npy",
                   "/dev/zero: not a .npy file");
    expect_refusal("%s kernel examples/fc.ntk /dev/urandom --ntk /tmp/ntkc-never-written.npy",
                   "/dev/urandom: not a .npy file");
    cr_assert(!file_exists("/tmp/ntkc-never-written.npy"));
}

Test(security_inputs, dev_zero_as_graph_file, .timeout = TIMEOUT(30))
{
    expect_refusal("%s kernel examples/gntk.ntk /dev/zero --ntk /tmp/ntkc-never-written.npy",
                   "/dev/zero: contains a NUL byte");
}

/* An endless stream of valid text stops at the documented 64 MiB. */
Test(security_inputs, endless_text_source_stops_at_the_limit, .timeout = TIMEOUT(60))
{
    expect_refusal("yes 'let a = 1' | %s emit /dev/stdin", "/dev/stdin: larger than 64 MiB, the limit for net sources");
}

static void write_small_npy(const char *path)
{
    double data[15];
    fill_random(data, 15, 7);
    size_t shape[2] = {5, 3};
    ntkc_error err = {0};
    cr_assert_eq(npy_write_f64(path, 2, shape, data, &err), 0, "%s", err.message);
}

/* A stream holds exactly what its header promises: more or less is refused. */
Test(security_inputs, npy_stream_is_read_by_the_header, .timeout = TIMEOUT(30))
{
    char dir[256], x[300], fmt[1024];
    make_temp_dir(dir, sizeof dir);
    snprintf(x, sizeof x, "%s/X.npy", dir);
    write_small_npy(x);
    snprintf(fmt, sizeof fmt, "cat %s %s | %%s kernel examples/fc.ntk /dev/stdin --ntk %s/K.npy", x, x, dir);
    expect_refusal(fmt, "/dev/stdin: more data than the header promises (5×3, 120 bytes)");
    snprintf(fmt, sizeof fmt, "head -c 200 %s | %%s kernel examples/fc.ntk /dev/stdin --ntk %s/K.npy", x, dir);
    expect_refusal(fmt, "/dev/stdin: truncated: header says 5×3 float64 = 120 bytes, file has 72");
    snprintf(fmt, sizeof fmt, "head -c 20 %s | %%s kernel examples/fc.ntk /dev/stdin --ntk %s/K.npy", x, dir);
    expect_refusal(fmt, "/dev/stdin: truncated header");
    /* and a zero stream after a valid header stops at the promised size */
    snprintf(fmt, sizeof fmt, "{ head -c 128 %s; cat /dev/zero; } | %%s kernel examples/fc.ntk /dev/stdin --ntk %s/K.npy",
             x, dir);
    expect_refusal(fmt, "/dev/stdin: more data than the header promises");
    char k[300];
    snprintf(k, sizeof k, "%s/K.npy", dir);
    cr_assert(!file_exists(k));
    remove(x);
    remove(dir);
}

static void read_or_fail(const char *path, NpyArray *a)
{
    ntkc_error err = {0};
    cr_assert_eq(npy_read(path, a, &err), 0, "%s", err.message);
}

/* The net and the data through FIFOs give the kernels of the regular files. */
Test(security_inputs, fifo_net_and_npy_are_read_once, .timeout = TIMEOUT(60))
{
    char dir[256], x[300], net_fifo[300], x_fifo[300], k_file[300], k_fifo[300], cmd[2048], errs[4096];
    make_temp_dir(dir, sizeof dir);
    snprintf(x, sizeof x, "%s/X.npy", dir);
    snprintf(net_fifo, sizeof net_fifo, "%s/net.fifo", dir);
    snprintf(x_fifo, sizeof x_fifo, "%s/x.fifo", dir);
    snprintf(k_file, sizeof k_file, "%s/K1.npy", dir);
    snprintf(k_fifo, sizeof k_fifo, "%s/K2.npy", dir);
    write_small_npy(x);
    cr_assert_eq(mkfifo(net_fifo, 0600), 0);
    cr_assert_eq(mkfifo(x_fifo, 0600), 0);
    snprintf(cmd, sizeof cmd, "%s kernel examples/fc.ntk %s --ntk %s", ntkc_bin(), x, k_file);
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
    snprintf(cmd, sizeof cmd, "{ cat examples/fc.ntk > %s & cat %s > %s & %s kernel %s %s --ntk %s; }",
             net_fifo, x, x_fifo, ntkc_bin(), net_fifo, x_fifo, k_fifo);
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "kernel over FIFOs: %s", errs);
    NpyArray a, b;
    read_or_fail(k_file, &a);
    read_or_fail(k_fifo, &b);
    cr_assert_eq(a.count, 25);
    cr_assert_eq(b.count, a.count);
    cr_assert(memcmp(a.data, b.data, a.count * sizeof(double)) == 0, "the FIFO run computed other kernels");
    npy_free(&a);
    npy_free(&b);
    /* a FIFO of the wrong kind is still refused, by the reader */
    snprintf(cmd, sizeof cmd, "{ cat examples/fc.ntk > %s & %s kernel examples/fc.ntk %s --ntk %s/K3.npy; }",
             x_fifo, ntkc_bin(), x_fifo, dir);
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 1, "%s", errs);
    cr_assert_not_null(strstr(errs, "x.fifo: not a .npy file"), "%s", errs);
    remove(k_file);
    remove(k_fifo);
    remove(x);
    remove(net_fifo);
    remove(x_fifo);
    remove(dir);
}
