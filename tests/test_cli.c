/* The ntkc executable on bad input: every case exits 1 with a message that
 * names the file and position (or array), and leaves no output file behind —
 * nor damages one that was there. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

/* Arrays, not pointers: Criterion hands parameters to a re-executed child
 * where the addresses of string literals are not the parent's. */
typedef struct CliCase {
    char name[32];
    char net_source[128]; /* written to DIR/net.ntk */
    char args[192];       /* after "ntkc"; DIR substituted */
    int exit_code;
    char fragment[32]; /* expected in stderr */
} CliCase;

#define GOOD_NET "net mlp { dense(1.5, 0.05); relu; dense(1) }\n"
#define DIGITS "data/digits_test_x.npy"

static const CliCase cases[] = {
    {"syntax", "net mlp {\n  dense(1.5,, 0.05)\n}\n", "kernel DIR/net.ntk " DIGITS " --ntk DIR/out.npy", 1,
     "net.ntk:2:"},
    {"unknown_layer", "net mlp {\n  dense(1)\n  relux\n}\n", "kernel DIR/net.ntk " DIGITS " --ntk DIR/out.npy", 1,
     "net.ntk:3:3"},
    {"bad_argument_name", "net mlp { dense(w=1) }\n", "kernel DIR/net.ntk " DIGITS " --ntk DIR/out.npy", 1,
     "net.ntk:1:17"},
    {"too_many_arguments", "net mlp { dense(1, 2, 3) }\n", "kernel DIR/net.ntk " DIGITS " --ntk DIR/out.npy", 1,
     "net.ntk:1:"},
    {"negative_w_std", "net mlp { dense(-1.5) }\n", "kernel DIR/net.ntk " DIGITS " --ntk DIR/out.npy", 1,
     "net.ntk:1:"},
    {"repeat_zero", "net mlp { dense(1); repeat 0 { dense(1) } }\n",
     "kernel DIR/net.ntk " DIGITS " --ntk DIR/out.npy", 1, "net.ntk:1:"},
    {"no_layers", "net mlp { }\n", "kernel DIR/net.ntk " DIGITS " --ntk DIR/out.npy", 1, "net.ntk:1:"},
    {"act_before_affine", "net mlp {\n  relu\n  dense(1)\n}\n", "kernel DIR/net.ntk " DIGITS " --ntk DIR/out.npy",
     1, "net.ntk:2:3"},
    {"two_nets_no_choice", "net a { dense }\nnet b { dense }\n", "kernel DIR/net.ntk " DIGITS " --ntk DIR/out.npy",
     1, "a, b"},
    {"missing_npy", GOOD_NET, "kernel DIR/net.ntk DIR/nope.npy --ntk DIR/out.npy", 1, "nope.npy"},
    {"truncated_npy", GOOD_NET, "kernel DIR/net.ntk DIR/truncated.npy --ntk DIR/out.npy", 1, "truncated.npy"},
    {"wrong_dtype", GOOD_NET, "kernel DIR/net.ntk tests/data/npy/c16.npy --ntk DIR/out.npy", 1, "c16"},
    {"wrong_rank", GOOD_NET, "kernel DIR/net.ntk tests/data/npy/3d.npy --ntk DIR/out.npy", 1, "3d.npy"},
    {"nan_in_data", GOOD_NET, "kernel DIR/net.ntk tests/data/npy/nan.npy --ntk DIR/out.npy", 1, "NaN"},
    {"different_d", GOOD_NET, "kernel DIR/net.ntk " DIGITS " tests/data/npy/f8.npy --ntk DIR/out.npy", 1,
     "features"},
    {"unwritable_output", GOOD_NET, "kernel DIR/net.ntk " DIGITS " --ntk DIR/no/such/dir/out.npy", 1, "out.npy"},
    {"output_is_input", GOOD_NET, "kernel DIR/net.ntk DIR/copy.npy --ntk DIR/copy.npy", 1, "also an input"},
    {"no_output_requested", GOOD_NET, "kernel DIR/net.ntk " DIGITS, 1, "--ntk"},
    {"unknown_option", GOOD_NET, "kernel DIR/net.ntk " DIGITS " --ntk DIR/out.npy --bogus", 1, "--bogus"},
    {"unknown_command", GOOD_NET, "frobnicate", 1, "unknown command"},
};

ParameterizedTestParameters(cli, bad_input)
{
    return cr_make_param_array(CliCase, cases, sizeof cases / sizeof cases[0]);
}

/* Replaces every "DIR" in tmpl with dir. */
static void substitute(char *out, size_t size, const char *tmpl, const char *dir)
{
    size_t used = 0;
    for (const char *p = tmpl; *p && used + 1 < size;) {
        if (strncmp(p, "DIR", 3) == 0) {
            used += (size_t)snprintf(out + used, size - used, "%s", dir);
            p += 3;
        } else {
            out[used++] = *p++;
        }
    }
    out[used < size ? used : size - 1] = '\0';
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    fwrite(data, 1, len, f);
    fclose(f);
}

ParameterizedTest(const CliCase *c, cli, bad_input)
{
    char dir[256], path[512], args[2048], cmd[4096], errs[8192];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/net.ntk", dir);
    write_file(path, c->net_source, strlen(c->net_source));
    /* A .npy whose header promises more rows than the file holds. */
    static const char truncated[] = "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, "
                                    "'shape': (10, 4), }                                          \n";
    snprintf(path, sizeof path, "%s/truncated.npy", dir);
    write_file(path, truncated, sizeof truncated - 1 + 0);
    snprintf(cmd, sizeof cmd, "cp tests/data/npy/f8.npy %s/copy.npy", dir);
    cr_assert_eq(system(cmd), 0);
    substitute(args, sizeof args, c->args, dir);
    snprintf(cmd, sizeof cmd, "%s %s", ntkc_bin(), args);
    int rc = run_command(cmd, errs, sizeof errs);
    cr_expect_eq(rc, c->exit_code, "%s: exit %d, expected %d; stderr:\n%s", c->name, rc, c->exit_code, errs);
    cr_expect(strstr(errs, c->fragment) != NULL, "%s: stderr lacks '%s':\n%s", c->name, c->fragment, errs);
    snprintf(path, sizeof path, "%s/out.npy", dir);
    cr_expect(!file_exists(path), "%s: an output file appeared", c->name);
    snprintf(path, sizeof path, "%s/copy.npy", dir);
    snprintf(cmd, sizeof cmd, "cmp -s tests/data/npy/f8.npy %s", path);
    cr_expect_eq(system(cmd), 0, "%s: an existing file was damaged", c->name);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(cli, kernel_writes_outputs_and_help_works)
{
    char dir[256], cmd[2048], errs[4096], path[512];
    make_temp_dir(dir, sizeof dir);
    snprintf(cmd, sizeof cmd, "%s kernel examples/fc.ntk " DIGITS " --ntk %s/k.npy --nngp %s/s.npy --quiet",
             ntkc_bin(), dir, dir);
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
    snprintf(path, sizeof path, "%s/k.npy", dir);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq((size_t)st.st_size, 128 + 797u * 797u * 8u, "size %lld", (long long)st.st_size);
    snprintf(cmd, sizeof cmd, "%s --help", ntkc_bin());
    cr_expect_eq(run_command(cmd, NULL, 0), 0);
    snprintf(cmd, sizeof cmd, "%s kernel --help", ntkc_bin());
    cr_expect_eq(run_command(cmd, NULL, 0), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
