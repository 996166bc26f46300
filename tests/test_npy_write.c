/* Writing .npy: byte-identical to numpy.save, atomic replacement, output
 * errors raised before any work, and the streaming mmap writer. */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>

#include "npy_testutil.h"
#include "ntkc_tool.h"

typedef struct Tmp {
    char dir[64];
    char path[160]; /* dir/out.npy */
} Tmp;

static Tmp tmp_setup(void)
{
    Tmp t;
    make_temp_dir(t.dir);
    snprintf(t.path, sizeof t.path, "%s/out.npy", t.dir);
    return t;
}

static void write_ok(const char *path, size_t ndim, const size_t *shape, const double *data)
{
    ntkc_error err = {0};
    cr_assert_eq(npy_write_f64(path, ndim, shape, data, &err), 0, "%s", err.message);
}

Test(npy_write, matches_numpy_save_byte_for_byte)
{
    Tmp t = tmp_setup();
    double base[12], seq[24];
    for (int i = 0; i < 12; i++)
        base[i] = i * 0.5 - 1.0;
    for (int i = 0; i < 24; i++)
        seq[i] = i;
    write_ok(t.path, 2, (size_t[]){3, 4}, base);
    assert_same_bytes(t.path, FIXTURE("f8.npy"));
    write_ok(t.path, 1, (size_t[]){4}, (double[]){0.25, -4.0, 1e300, 5e-324});
    assert_same_bytes(t.path, FIXTURE("write_1d.npy"));
    write_ok(t.path, 0, NULL, (double[]){3.5});
    assert_same_bytes(t.path, FIXTURE("write_scalar.npy"));
    write_ok(t.path, 8, (size_t[]){1, 2, 1, 2, 1, 2, 1, 3}, seq);
    assert_same_bytes(t.path, FIXTURE("write_8d.npy"));
    write_ok(t.path, 2, (size_t[]){123456789012, 0}, NULL);
    assert_same_bytes(t.path, FIXTURE("write_big_dim.npy"));
    write_ok(t.path, 3, (size_t[]){2, 3, 4}, seq);
    assert_same_bytes(t.path, FIXTURE("3d.npy"));
    cr_assert_eq(count_entries(t.dir), 1, "temp files left behind");
    remove_tree(t.dir);
}

/* Every header length modulo 64 occurs, so the padding rule is exercised
 * where the unpadded header falls exactly on a 64-byte boundary too. */
Test(npy_write, round_trips_with_aligned_data)
{
    Tmp t = tmp_setup();
    size_t dim = 1;
    for (int k = 0; k < 64; k++, dim = dim * 3 + 1) {
        size_t shape[2] = {dim % 1000 + 1, k + 1};
        size_t n = shape[0] * shape[1];
        double *v = malloc(n * sizeof *v);
        for (size_t i = 0; i < n; i++)
            v[i] = (double)i / 7.0 - (double)k;
        write_ok(t.path, 2, shape, v);
        size_t len;
        unsigned char *raw = slurp(t.path, &len);
        size_t header = len - n * 8;
        cr_assert_eq(header % 64, 0, "data starts at %zu", header);
        cr_assert_eq(raw[header - 1], '\n');
        ntkc_error err = {0};
        NpyArray a;
        cr_assert_eq(npy_read(t.path, &a, &err), 0, "%s", err.message);
        cr_assert_eq(a.shape[0], shape[0]);
        cr_assert_eq(a.shape[1], shape[1]);
        cr_assert(memcmp(a.data, v, n * 8) == 0);
        npy_free(&a);
        free(raw);
        free(v);
    }
    remove_tree(t.dir);
}

Test(npy_write, replaces_existing_file_atomically)
{
    Tmp t = tmp_setup();
    spit(t.path, "old contents", 12);
    write_ok(t.path, 1, (size_t[]){2}, (double[]){1, 2});
    ntkc_error err = {0};
    NpyArray a;
    cr_assert_eq(npy_read(t.path, &a, &err), 0, "%s", err.message);
    cr_assert_eq(a.count, 2);
    cr_assert_eq(a.data[1], 2.0);
    npy_free(&a);
    cr_assert_eq(count_entries(t.dir), 1);
    remove_tree(t.dir);
}

/* The three ways to start an output agree on refusing a bad destination. */
static void assert_output_refused(const char *path, const char *part)
{
    ntkc_error err = {0};
    cr_assert_neq(npy_check_output(path, &err), 0, "%s accepted", path);
    assert_msg(err, path);
    assert_msg(err, part);
    err_clear(&err);
    cr_assert_neq(npy_write_f64(path, 1, (size_t[]){1}, (double[]){0}, &err), 0);
    assert_msg(err, part);
    err_clear(&err);
    cr_assert_null(npy_out_create(path, 1, (size_t[]){1}, &err));
    assert_msg(err, part);
}

Test(npy_write, refuses_bad_destinations)
{
    Tmp t = tmp_setup();
    char p[256];
    snprintf(p, sizeof p, "%s/missing/k.npy", t.dir);
    assert_output_refused(p, "directory '");
    assert_output_refused(p, "/missing' does not exist");
    assert_output_refused(t.dir, "it is a directory");
    spit(t.path, "x", 1);
    snprintf(p, sizeof p, "%s/k.npy", t.path);
    assert_output_refused(p, "out.npy' is not a directory");

    /* Permission bits do not stop root; sysfs refuses new files to everyone. */
    char ro[128];
    snprintf(ro, sizeof ro, "%s/ro", t.dir);
    cr_assert_eq(mkdir(ro, 0555), 0);
    snprintf(p, sizeof p, "%s/k.npy", geteuid() == 0 ? "/sys" : ro);
    assert_output_refused(p, "' is not writable");

    ntkc_error err = {0};
    cr_assert_eq(npy_check_output(t.path, &err), 0, "%s", err.message);
    cr_assert_eq(count_entries(t.dir), 2, "the probe left a file behind");
    remove_tree(t.dir);
}

Test(npy_write, refuses_bad_shapes)
{
    Tmp t = tmp_setup();
    ntkc_error err = {0};
    size_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    cr_assert_neq(npy_write_f64(t.path, 9, nine, (double[]){0}, &err), 0);
    assert_msg(err, "rank 9");
    err_clear(&err);
    cr_assert_null(npy_out_create(t.path, 2, (size_t[]){1ull << 32, 1ull << 31}, &err));
    assert_msg(err, "output shape 4294967296\xc3\x97" "2147483648 is too large");
    cr_assert_eq(count_entries(t.dir), 0);
    remove_tree(t.dir);
}

Test(npy_write, same_file)
{
    Tmp t = tmp_setup();
    char other[192], dotted[192], linked[192];
    snprintf(other, sizeof other, "%s/other.npy", t.dir);
    snprintf(dotted, sizeof dotted, "%s/./out.npy", t.dir);
    snprintf(linked, sizeof linked, "%s/link.npy", t.dir);
    spit(t.path, "a", 1);
    spit(other, "a", 1);
    cr_assert_eq(link(t.path, linked), 0);
    cr_assert_eq(npy_same_file(t.path, dotted), 1);
    cr_assert_eq(npy_same_file(t.path, linked), 1);
    cr_assert_eq(npy_same_file(t.path, other), 0);
    cr_assert_eq(npy_same_file(t.path, "/nonexistent/x.npy"), 0);
    /* one path names one file, existing or not (an output given twice) */
    cr_assert_eq(npy_same_file("/nonexistent/x.npy", "/nonexistent/x.npy"), 1);
    remove_tree(t.dir);
}

/* ---- streaming output ---- */

static double tile_value(size_t i, size_t j)
{
    return (double)i * 2000.0 + (double)j + 0.25;
}

Test(npy_out, large_array_written_in_tiles)
{
    Tmp t = tmp_setup();
    enum { N = 2000, TILE = 256 };
    ntkc_error err = {0};
    NpyOut *o = npy_out_create(t.path, 2, (size_t[]){N, N}, &err);
    cr_assert_not_null(o, "%s", err.message);
    cr_assert_eq(access(t.path, F_OK), -1, "output visible before commit");
    double *d = npy_out_data(o);
    cr_assert_eq((uintptr_t)d % 64, 0);
    for (size_t bi = 0; bi < N; bi += TILE) /* tile order, as the evaluator writes */
        for (size_t bj = 0; bj < N; bj += TILE)
            for (size_t i = bi; i < bi + TILE && i < N; i++)
                for (size_t j = bj; j < bj + TILE && j < N; j++)
                    d[i * N + j] = tile_value(i, j);
    cr_assert_eq(npy_out_commit(o, &err), 0, "%s", err.message);
    cr_assert_eq(count_entries(t.dir), 1);

    NpyArray a;
    cr_assert_eq(npy_read(t.path, &a, &err), 0, "%s", err.message);
    cr_assert_eq(a.shape[0], N);
    cr_assert_eq(a.shape[1], N);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            if (a.data[i * N + j] != tile_value(i, j))
                cr_assert_fail("[%zu, %zu] = %g", i, j, a.data[i * N + j]);
    npy_free(&a);
    struct stat st;
    cr_assert_eq(stat(t.path, &st), 0);
    cr_assert_eq((size_t)st.st_size, 128 + (size_t)N * N * 8);
    remove_tree(t.dir);
}

Test(npy_out, header_matches_numpy)
{
    Tmp t = tmp_setup();
    ntkc_error err = {0};
    NpyOut *o = npy_out_create(t.path, 3, (size_t[]){2, 3, 4}, &err);
    cr_assert_not_null(o, "%s", err.message);
    double *d = npy_out_data(o);
    for (int i = 0; i < 24; i++)
        d[i] = i;
    cr_assert_eq(npy_out_commit(o, &err), 0, "%s", err.message);
    assert_same_bytes(t.path, FIXTURE("3d.npy"));
    o = npy_out_create(t.path, 2, (size_t[]){0, 5}, &err);
    cr_assert_not_null(o, "%s", err.message);
    cr_assert_eq(npy_out_commit(o, &err), 0, "%s", err.message);
    assert_same_bytes(t.path, FIXTURE("0row.npy"));
    remove_tree(t.dir);
}

Test(npy_out, existing_file_untouched_until_commit)
{
    Tmp t = tmp_setup();
    spit(t.path, "previous", 8);
    ntkc_error err = {0};
    NpyOut *o = npy_out_create(t.path, 1, (size_t[]){3}, &err);
    cr_assert_not_null(o, "%s", err.message);
    npy_out_data(o)[2] = 9.0;
    size_t len;
    unsigned char *before = slurp(t.path, &len);
    cr_assert(len == 8 && memcmp(before, "previous", 8) == 0);
    free(before);
    npy_out_abort(o);
    before = slurp(t.path, &len);
    cr_assert(len == 8 && memcmp(before, "previous", 8) == 0, "abort touched the old file");
    free(before);
    cr_assert_eq(count_entries(t.dir), 1, "abort left the temp file");

    o = npy_out_create(t.path, 1, (size_t[]){3}, &err);
    npy_out_data(o)[2] = 9.0;
    cr_assert_eq(npy_out_commit(o, &err), 0, "%s", err.message);
    NpyArray a;
    cr_assert_eq(npy_read(t.path, &a, &err), 0, "%s", err.message);
    cr_assert_eq(a.count, 3);
    cr_assert_eq(a.data[2], 9.0);
    npy_free(&a);
    npy_out_abort(NULL);
    remove_tree(t.dir);
}

Test(npy_out, failed_commit_removes_the_temp)
{
    Tmp t = tmp_setup();
    ntkc_error err = {0};
    NpyOut *o = npy_out_create(t.path, 1, (size_t[]){3}, &err);
    cr_assert_not_null(o, "%s", err.message);
    /* A non-empty directory appears at the destination: rename must fail. */
    char inner[192];
    cr_assert_eq(mkdir(t.path, 0755), 0);
    snprintf(inner, sizeof inner, "%s/keep", t.path);
    spit(inner, "k", 1);
    cr_assert_neq(npy_out_commit(o, &err), 0);
    assert_msg(err, t.path);
    cr_assert_eq(count_entries(t.dir), 1, "temp file left after a failed commit");
    cr_assert_eq(count_entries(t.path), 1);
    remove_tree(t.dir);
}
