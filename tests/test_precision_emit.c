/* `ntkc emit --precision single` (docs/precision.md): the float32 file of a
 * fully connected, image or all-pairs net, standalone. Its entry (naive Gram, prep, tile) run
 * from the written file against the engine's float32 kernel — bit-identical
 * on small integer inputs, whose Gram matrices both compute exactly; the
 * file with its -H header compiled by the system compiler under the flags
 * `ntkc emit` promises; and the refusals: nets without float32 kernels by
 * name, an unknown precision, each exit 1 with nothing written. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ntkc.h"
#include "util.h"

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s: not written", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    cr_assert_gt(len, 0, "%s is empty", path);
    rewind(f);
    char *text = malloc((size_t)len + 1);
    cr_assert_not_null(text);
    cr_assert_eq(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    text[len] = '\0';
    return text;
}

/* Writes NET's float32 file and header into dir (dir/k.c, dir/k.h). */
static void emit_single(const char *net, const char *dir)
{
    char cmd[2048], errs[4096];
    snprintf(cmd, sizeof cmd, "%s emit %s --precision single -o %s/k.c -H %s/k.h", ntkc_bin(), net, dir, dir);
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "%s: %s", net, errs);
}

static void remove_outputs(const char *dir)
{
    const char *names[] = {"k.c", "k.h", "k.o"};
    char path[512];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* net's written entry against the engine, bit for bit, on N inputs of dim. */
static void entry_matches_engine(const char *net_path, const char *symbol, size_t dim)
{
    enum { N = 24 };
    const size_t DIM = dim;
    char dir[256], path[512];
    make_temp_dir(dir, sizeof dir);
    emit_single(net_path, dir);
    snprintf(path, sizeof path, "%s/k.c", dir);
    char *text = read_text(path);
    cr_assert(strstr(text, "float *nngp, float *ntk") != NULL, "the entry does not write floats");
    typedef int (*Entry)(size_t, const double *, size_t, const double *, size_t, float *, float *);
    void *fn;
    void *h = load_emitted_c(text, symbol, &fn);
    Entry entry;
    memcpy(&entry, &fn, sizeof entry);
    double *x = malloc(N * DIM * sizeof *x);
    for (size_t i = 0; i < N * DIM; i++)
        x[i] = (double)((i * 7919 + 13) % 9) - 4.0;
    ntkc_error err = {0};
    ntkc_compile_options o = {.backend = NTKC_BACKEND_TCC, .precision = NTKC_PRECISION_SINGLE};
    ntkc_net *net = ntkc_compile_file(net_path, &o, &err);
    cr_assert_not_null(net, "%s", err.message);
    float a[2 * N * N], b[2 * N * N];
    cr_assert_eq(ntkc_kernel_f32(net, N, x, N, x, DIM, a, a + N * N, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(entry(N, x, N, x, DIM, b, b + N * N), 0);
    for (size_t i = 0; i < 2 * N * N; i++)
        cr_assert_eq(a[i], b[i], "%s entry %zu: engine %.9g, written file %.9g", net_path, i, (double)a[i],
                     (double)b[i]);
    dlclose(h);
    free(x);
    ntkc_net_free(net);
    free(text);
    remove_outputs(dir);
}

Test(precision_emit, entry_of_the_written_file_matches_engine, .timeout = TIMEOUT(60))
{
    entry_matches_engine("examples/relu5.ntk", "ntkcnet_relu5", 12);
}

/* An image net's (the tile through the float32 image runtime; the library
 * links its host copies, the file carries its own). */
Test(precision_emit, image_entry_of_the_written_file_matches_engine, .timeout = TIMEOUT(120))
{
    entry_matches_engine("examples/cntk.ntk", "ntkcnet_cntk", 64);
}

/* An all-pairs net's (attention; volumes): the tile through the float32
 * all-pairs runtime (attn_runtime_f.c; the library links its host copies). */
Test(precision_emit, all_pairs_entry_of_the_written_file_matches_engine, .timeout = TIMEOUT(120))
{
    entry_matches_engine("examples/transformer.ntk", "ntkcnet_transformer", 16 * 8);
    entry_matches_engine("examples/volume.ntk", "ntkcnet_volume", 4 * 4 * 4);
}

/* Every fully connected, image and all-pairs example: the file compiles under the flags the help
 * promises, with its header included first (a prototype that disagrees with
 * a definition is then an error). */
Test(precision_emit, every_fc_image_and_all_pairs_example_compiles_with_its_header, .timeout = TIMEOUT(180))
{
    const char *nets[] = {"examples/relu5.ntk",       "examples/fc.ntk",          "examples/activations.ntk",
                          "examples/digits_fc.ntk",   "examples/standard.ntk",    "examples/cntk.ntk",
                          "examples/digits_cntk.ntk", "examples/frozen_cntk.ntk", "examples/transformer.ntk",
                          "examples/volume.ntk"};
    for (size_t i = 0; i < sizeof nets / sizeof *nets; i++) {
        char dir[256], cmd[2048], errs[4096];
        make_temp_dir(dir, sizeof dir);
        emit_single(nets[i], dir);
        snprintf(cmd, sizeof cmd,
                 "cc -std=c99 -pedantic -Wall -Wextra -Wmissing-prototypes -Werror -include %s/k.h -c %s/k.c "
                 "-o %s/k.o",
                 dir, dir, dir);
        cr_expect_eq(run_command(cmd, errs, sizeof errs), 0, "%s: %s", nets[i], errs);
        char hpath[512];
        snprintf(hpath, sizeof hpath, "%s/k.h", dir);
        char *h = read_text(hpath);
        cr_expect(strstr(h, "double *nngp") == NULL, "%s: the header declares float64 outputs", nets[i]);
        free(h);
        remove_outputs(dir);
    }
}

static void expect_refused(const char *net, const char *precision, const char *what)
{
    char dir[256], cmd[2048], errs[4096], out[512];
    make_temp_dir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/k.c", dir);
    snprintf(cmd, sizeof cmd, "%s emit %s --precision %s -o %s -H %s/k.h", ntkc_bin(), net, precision, out, dir);
    int rc = run_command(cmd, errs, sizeof errs);
    cr_expect_eq(rc, 1, "%s: exit %d", net, rc);
    cr_expect(strstr(errs, what) != NULL, "%s: message '%s' lacks '%s'", net, errs, what);
    cr_expect(!file_exists(out), "%s: the C file was written", net);
    snprintf(out, sizeof out, "%s/k.h", dir);
    cr_expect(!file_exists(out), "%s: the header was written", net);
    remove_outputs(dir);
}

Test(precision_emit, refuses_what_it_cannot_do, .timeout = TIMEOUT(60))
{
    expect_refused("examples/relu5.ntk", "half", "--precision must be single or double, not 'half'");
}
