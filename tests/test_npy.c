/* Reading .npy: files written by real numpy (tests/data/npy), every error the
 * reader reports, robustness to arbitrary bytes, and the finiteness check. */
#include <math.h>
#include <stdint.h>

#include "npy_testutil.h"
#include "ntkc_tool.h"

/* Reads a fixture both from disk and from memory; both must agree exactly. */
static void load(const char *path, NpyArray *a)
{
    ntkc_error err = {0};
    cr_assert_eq(npy_read(path, a, &err), 0, "%s", err.message);
    size_t len;
    unsigned char *buf = slurp(path, &len);
    NpyArray b;
    cr_assert_eq(npy_parse(buf, len, path, &b, &err), 0, "%s", err.message);
    cr_assert_eq(a->ndim, b.ndim);
    cr_assert_eq(a->count, b.count);
    cr_assert(memcmp(a->shape, b.shape, sizeof a->shape) == 0);
    cr_assert(memcmp(a->data, b.data, a->count * sizeof(double)) == 0);
    npy_free(&b);
    free(buf);
}

static void assert_values(const char *path, size_t ndim, const size_t *shape, size_t n,
                          const double *want)
{
    NpyArray a;
    load(path, &a);
    cr_assert_eq(a.ndim, ndim, "%s: ndim %zu", path, a.ndim);
    for (size_t k = 0; k < ndim; k++)
        cr_assert_eq(a.shape[k], shape[k], "%s: shape[%zu] = %zu", path, k, a.shape[k]);
    cr_assert_eq(a.count, n);
    for (size_t i = 0; i < n; i++) /* exact: every value is representable */
        cr_assert(a.data[i] == want[i] || (isnan(want[i]) && isnan(a.data[i])),
                  "%s[%zu] = %.17g, want %.17g", path, i, a.data[i], want[i]);
    npy_free(&a);
}

/* f8.npy and its variants: [i, j] = (4i + j)/2 - 1 */
static void assert_base(const char *path)
{
    double want[12];
    for (int i = 0; i < 12; i++)
        want[i] = i * 0.5 - 1.0;
    assert_values(path, 2, (size_t[]){3, 4}, 12, want);
}

Test(npy_read, float64_all_versions_and_layouts)
{
    assert_base(FIXTURE("f8.npy"));
    assert_base(FIXTURE("be_f8.npy"));
    assert_base(FIXTURE("fortran.npy"));
    assert_base(FIXTURE("v2.npy"));
    assert_base(FIXTURE("v3.npy"));
}

Test(npy_read, float32_and_float16)
{
    double f4[] = {1.5, -2.25, (double)1e-3f, (double)3.0e38f, -0.0, 7.0};
    assert_values(FIXTURE("f4.npy"), 2, (size_t[]){2, 3}, 6, f4);
    double f2[] = {1.0, -2.5, 65504.0, ldexp(1, -24), INFINITY};
    assert_values(FIXTURE("f2.npy"), 1, (size_t[]){5}, 5, f2);
    assert_values(FIXTURE("be_f2.npy"), 1, (size_t[]){2}, 2, (double[]){1.0, -2.5});
}

Test(npy_read, integers_and_bool)
{
    assert_values(FIXTURE("i1.npy"), 1, (size_t[]){4}, 4, (double[]){-128, -1, 0, 127});
    assert_values(FIXTURE("i2.npy"), 1, (size_t[]){3}, 3, (double[]){-32768, -2, 32767});
    double i4[] = {-2147483648.0, -1, 0, 2147483647.0};
    assert_values(FIXTURE("i4.npy"), 2, (size_t[]){2, 2}, 4, i4);
    assert_values(FIXTURE("be_i4.npy"), 2, (size_t[]){2, 2}, 4, i4);
    assert_values(FIXTURE("i8.npy"), 1, (size_t[]){3}, 3, (double[]){-0x1p53, -3, 0x1p53});
    assert_values(FIXTURE("u1.npy"), 1, (size_t[]){4}, 4, (double[]){0, 1, 128, 255});
    assert_values(FIXTURE("u2.npy"), 1, (size_t[]){2}, 2, (double[]){0, 65535});
    assert_values(FIXTURE("u4.npy"), 1, (size_t[]){2}, 2, (double[]){0, 4294967295.0});
    assert_values(FIXTURE("u8.npy"), 1, (size_t[]){2}, 2, (double[]){0, 0x1p64});
    assert_values(FIXTURE("bool.npy"), 2, (size_t[]){2, 3}, 6, (double[]){1, 0, 1, 0, 0, 1});
}

Test(npy_read, shapes)
{
    assert_values(FIXTURE("1d.npy"), 1, (size_t[]){4}, 4, (double[]){0.25, -4.0, 1e300, 5e-324});
    assert_values(FIXTURE("scalar.npy"), 0, NULL, 1, (double[]){3.5});
    double seq[24];
    for (int i = 0; i < 24; i++)
        seq[i] = i;
    assert_values(FIXTURE("3d.npy"), 3, (size_t[]){2, 3, 4}, 24, seq);
    assert_values(FIXTURE("fortran_3d_i2.npy"), 3, (size_t[]){2, 3, 4}, 24, seq);

    NpyArray a;
    load(FIXTURE("0row.npy"), &a);
    cr_assert_eq(a.ndim, 2);
    cr_assert_eq(a.shape[0], 0);
    cr_assert_eq(a.shape[1], 5);
    cr_assert_eq(a.count, 0);
    cr_assert_not_null(a.data);
    npy_free(&a);
    cr_assert_null(a.data);
}

/* ---- errors ---- */

/* A version-1.0 file with the given header dict and `data_len` zero bytes of data. */
static unsigned char *make_npy(const char *dict, size_t data_len, size_t *len)
{
    size_t hlen = strlen(dict) + 1;
    size_t pad = 64 - (10 + hlen) % 64;
    *len = 10 + hlen + pad + data_len;
    unsigned char *b = calloc(1, *len);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)((hlen + pad) & 0xff);
    b[9] = (unsigned char)((hlen + pad) >> 8);
    memcpy(b + 10, dict, strlen(dict));
    memset(b + 10 + strlen(dict), ' ', pad);
    b[10 + hlen + pad - 1] = '\n';
    return b;
}

/* Parsing the buffer fails with a user error naming the file and containing `part`. */
static void assert_parse_fails(const void *buf, size_t len, const char *part)
{
    ntkc_error err = {0};
    NpyArray a;
    cr_assert_neq(npy_parse(buf, len, "t.npy", &a, &err), 0, "parsed, expected \"%s\"", part);
    cr_assert_eq(err.code, NTKC_EUSER);
    cr_assert_null(a.data);
    assert_msg(err, "t.npy: ");
    assert_msg(err, part);
}

static void assert_header_fails(const char *dict, size_t data_len, const char *part)
{
    size_t len;
    unsigned char *b = make_npy(dict, data_len, &len);
    assert_parse_fails(b, len, part);
    free(b);
}

Test(npy_errors, missing_file_and_directory)
{
    ntkc_error err = {0};
    NpyArray a;
    cr_assert_neq(npy_read("tests/data/npy/nope.npy", &a, &err), 0);
    cr_assert_str_eq(err.message, "error: tests/data/npy/nope.npy: no such file");
    err_clear(&err);
    cr_assert_neq(npy_read("tests/data/npy", &a, &err), 0);
    assert_msg(err, "tests/data/npy: is a directory");
}

Test(npy_errors, bad_magic_version_and_truncated_preamble)
{
    assert_parse_fails("PK\x03\x04 not numpy at all", 22, "not a .npy file");
    assert_parse_fails("", 0, "empty file, not a .npy file");
    assert_parse_fails("\x93NUMPY\x01", 7, "truncated header");
    assert_parse_fails("\x93NUMPY\x04\x00\x10\x00", 10, "unsupported .npy format version 4.0");
    assert_parse_fails("\x93NUMPY\x01\x01\x10\x00", 10, "unsupported .npy format version 1.1");
    assert_parse_fails("\x93NUMPY\x02\x00\x10\x00", 10, "truncated header");
    assert_parse_fails("\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12, "more than any valid .npy header");
}

Test(npy_errors, every_prefix_of_a_valid_file_fails)
{
    size_t len;
    unsigned char *buf = slurp(FIXTURE("f8.npy"), &len);
    for (size_t n = 0; n < len; n++) {
        unsigned char *copy = malloc(n + 1); /* exact size, so ASan sees any overread */
        memcpy(copy, buf, n);
        ntkc_error err = {0};
        NpyArray a;
        cr_assert_neq(npy_parse(copy, n, "t.npy", &a, &err), 0, "prefix of %zu bytes parsed", n);
        assert_msg(err, n == 0 ? "empty file" : n < 128 ? "truncated header" : "truncated: header says 3\xc3\x97" "4 float64 = 96 bytes");
        free(copy);
    }
    free(buf);
}

Test(npy_errors, truncated_header_on_disk)
{
    char dir[64], path[128];
    make_temp_dir(dir);
    snprintf(path, sizeof path, "%s/short.npy", dir);
    size_t len;
    unsigned char *buf = slurp(FIXTURE("f8.npy"), &len);
    spit(path, buf, 50);
    ntkc_error err = {0};
    NpyArray a;
    cr_assert_neq(npy_read(path, &a, &err), 0);
    assert_msg(err, path);
    assert_msg(err, "truncated header: it claims 128 bytes, the file has 50");
    free(buf);
    remove_tree(dir);
}

Test(npy_errors, malformed_dicts)
{
    static const char *const cases[][2] = {
        {"['descr', '<f8']", "expected '{'"},
        {"{'descr' '<f8', 'fortran_order': False, 'shape': (3,), }", "expected ':'"},
        {"{'descr': '<f8', 'fortran_order': False, }", "key 'shape' is missing"},
        {"{'fortran_order': False, 'shape': (3,), }", "key 'descr' is missing"},
        {"{'descr': '<f8', 'shape': (3,), }", "key 'fortran_order' is missing"},
        {"{'descr': '<f8', 'fortran_order': Maybe, 'shape': (3,), }", "expected True or False"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (3, -1), }", "non-negative integer"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': [3], }", "expected '('"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (3 4), }", "expected ')'"},
        {"{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
         "duplicate key 'descr'"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}", "unexpected key 'x'"},
        {"{'descr': '<f8, 'fortran_order': False, 'shape': (3,), }", "dtype '<f8, ' (unsupported size)"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), } junk", "after the dict"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (3,)", "expected '}'"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
         "dimension too large"},
        {"{'descr': '\\x3cf8', 'fortran_order': False, 'shape': (3,), }", "unsupported character"},
        {"", "expected '{'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_header_fails(cases[i][0], 24, cases[i][1]);
}

Test(npy_errors, accepts_numpy_dialect_variants)
{
    /* Double quotes, other key order, no trailing comma, Python 2 longs, no spaces. */
    static const char *const ok[] = {
        "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (3,)}",
        "{'shape': (3L,), 'fortran_order': False, 'descr': '<f8'}",
        "{'descr':'<f8','fortran_order':False,'shape':(3,),}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (3), }",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        size_t len;
        unsigned char *b = make_npy(ok[i], 24, &len);
        ntkc_error err = {0};
        NpyArray a;
        cr_assert_eq(npy_parse(b, len, "t.npy", &a, &err), 0, "%s: %s", ok[i], err.message);
        cr_assert_eq(a.ndim, 1);
        cr_assert_eq(a.shape[0], 3);
        npy_free(&a);
        free(b);
    }
}

Test(npy_errors, data_size_disagrees_with_header)
{
    const char *dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (100, 5), }";
    size_t len;
    unsigned char *b = make_npy(dict, 3000, &len);
    ntkc_error err = {0};
    NpyArray a;
    cr_assert_neq(npy_parse(b, len, "X.npy", &a, &err), 0);
    cr_assert_str_eq(err.message,
                     "error: X.npy: truncated: header says 100\xc3\x97" "5 float64 = 4000 bytes, file has 3000");
    free(b);
    assert_header_fails(dict, 4016, "16 trailing bytes: header says 100\xc3\x97" "5 float64 = 4000 bytes");
    assert_header_fails("{'descr': '|u1', 'fortran_order': False, 'shape': (), }", 0,
                        "truncated: header says () uint8 = 1 bytes, file has 0");
}

Test(npy_errors, trailing_bytes_on_disk)
{
    char dir[64], path[128];
    make_temp_dir(dir);
    snprintf(path, sizeof path, "%s/long.npy", dir);
    size_t len;
    unsigned char *b = make_npy("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", 25, &len);
    spit(path, b, len);
    ntkc_error err = {0};
    NpyArray a;
    cr_assert_neq(npy_read(path, &a, &err), 0);
    assert_msg(err, path);
    assert_msg(err, "1 trailing bytes: header says 2\xc3\x97" "3 int32 = 24 bytes, file has 25");
    free(b);
    remove_tree(dir);
}

Test(npy_errors, unsupported_dtypes)
{
    ntkc_error err = {0};
    NpyArray a;
    static const char *const files[][2] = {
        {FIXTURE("c16.npy"), "unsupported dtype '<c16' (complex)"},
        {FIXTURE("str.npy"), "unsupported dtype '<U2' (strings)"},
        {FIXTURE("object.npy"), "unsupported dtype '|O' (Python objects)"},
        {FIXTURE("structured.npy"), "structured (record) arrays are not supported"},
    };
    for (size_t i = 0; i < 4; i++) {
        err_clear(&err);
        cr_assert_neq(npy_read(files[i][0], &a, &err), 0);
        assert_msg(err, files[i][0]);
        assert_msg(err, files[i][1]);
    }
    static const char *const descrs[][2] = {
        {"<f16", "(extended precision)"}, {"<M8[ns]", "(dates/times)"}, {"|V8", "(raw"},
        {"<i3", "'<i3' (unsupported size)"}, {"<g", "'<g' (extended precision)"}, {"|f8", "no byte order"}, {"", "(empty)"}, {"<b2", "'<b2'"},
    };
    for (size_t i = 0; i < sizeof descrs / sizeof descrs[0]; i++) {
        char dict[128];
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (1,), }",
                 descrs[i][0]);
        assert_header_fails(dict, 8, descrs[i][1]);
    }
}

Test(npy_errors, rank_and_overflow)
{
    assert_header_fails("{'descr': '<f8', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 8,
                        "array of rank 9; ntkc reads at most 8 dimensions");
    assert_header_fails("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
                        8, "is too large to address");
    assert_header_fails("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952, 2), }",
                        8, "is too large to address");
    /* Huge but addressable: refused by size before anything is allocated. */
    assert_header_fails("{'descr': '<u2', 'fortran_order': False, 'shape': (1000000000, 1000000000), }",
                        8, "= 2000000000000000000 bytes, file has 8");
    /* A zero dimension makes the product 0 whatever the others are. */
    size_t len;
    unsigned char *b = make_npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 18446744073709551615), }", 0, &len);
    ntkc_error err = {0};
    NpyArray a;
    cr_assert_eq(npy_parse(b, len, "t.npy", &a, &err), 0, "%s", err.message);
    cr_assert_eq(a.count, 0);
    npy_free(&a);
    free(b);
}

/* Seeded mutations of real files: every outcome is a clean success or a user
 * error naming the file; ASan catches any read outside the buffer. */
Test(npy_errors, survives_mutated_files)
{
    const char *seeds[] = {FIXTURE("f8.npy"), FIXTURE("fortran_3d_i2.npy"), FIXTURE("v3.npy")};
    uint64_t state = 0x2545f4914f6cdd1dULL;
    int ok = 0, failed = 0;
    for (size_t s = 0; s < 3; s++) {
        size_t len;
        unsigned char *orig = slurp(seeds[s], &len);
        for (int iter = 0; iter < 3000; iter++) {
            unsigned char *buf = malloc(len);
            memcpy(buf, orig, len);
            state ^= state << 13, state ^= state >> 7, state ^= state << 17;
            int flips = 1 + (int)(state % 4);
            for (int f = 0; f < flips; f++) {
                state ^= state << 13, state ^= state >> 7, state ^= state << 17;
                size_t at = (state >> 8) % (len < 140 ? len : 140); /* mostly the header */
                buf[at] = (unsigned char)(state >> 40);
            }
            size_t n = (state >> 20) % 8 == 0 ? (state >> 24) % (len + 1) : len;
            ntkc_error err = {0};
            NpyArray a;
            if (npy_parse(buf, n, "m.npy", &a, &err) == 0) {
                size_t count = 1;
                for (size_t k = 0; k < a.ndim; k++)
                    count *= a.shape[k];
                cr_assert_eq(count, a.count);
                cr_assert_not_null(a.data);
                npy_free(&a);
                ok++;
            } else {
                cr_assert_eq(err.code, NTKC_EUSER);
                cr_assert_eq(strncmp(err.message, "error: m.npy: ", 14), 0, "%s", err.message);
                failed++;
            }
            free(buf);
        }
        free(orig);
    }
    cr_assert_gt(ok, 0);
    cr_assert_gt(failed, 0);
}

/* ---- finiteness ---- */

Test(npy_finite, names_the_first_bad_element)
{
    NpyArray a;
    load(FIXTURE("nan.npy"), &a);
    ntkc_error err = {0};
    cr_assert_neq(npy_check_finite(&a, "X.npy", &err), 0);
    cr_assert_str_eq(err.message, "error: X.npy: element [2, 1] is NaN");
    a.data[9] = 0;
    err_clear(&err);
    cr_assert_neq(npy_check_finite(&a, "X.npy", &err), 0);
    cr_assert_str_eq(err.message, "error: X.npy: element [2, 3] is +inf");
    a.data[11] = 0;
    cr_assert_eq(npy_check_finite(&a, "X.npy", &err), 0);
    npy_free(&a);

    double v[24] = {0};
    v[17] = -INFINITY; /* [1, 1, 1] in 2×3×4 */
    NpyArray t = {v, 3, {2, 3, 4}, 24};
    err_clear(&err);
    cr_assert_neq(npy_check_finite(&t, "t.npy", &err), 0);
    cr_assert_str_eq(err.message, "error: t.npy: element [1, 1, 1] is -inf");
    NpyArray s = {v + 17, 0, {0}, 1};
    err_clear(&err);
    cr_assert_neq(npy_check_finite(&s, "s.npy", &err), 0);
    cr_assert_str_eq(err.message, "error: s.npy: the value is -inf");
}

/* Pipes (e.g. bash's <(...)) are read whole, then parsed like a buffer. */
Test(npy_read, from_a_pipe)
{
    size_t len;
    unsigned char *buf = slurp(FIXTURE("fortran.npy"), &len);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    cr_assert_eq(write(fds[1], buf, len), (ssize_t)len); /* fits the pipe buffer */
    close(fds[1]);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fds[0]);
    NpyArray a, b;
    ntkc_error err = {0};
    cr_assert_eq(npy_read(path, &a, &err), 0, "%s", err.message);
    close(fds[0]);
    load(FIXTURE("f8.npy"), &b);
    cr_assert_eq(a.count, b.count);
    cr_assert(memcmp(a.data, b.data, a.count * sizeof(double)) == 0);
    npy_free(&a);
    npy_free(&b);
    free(buf);
}
