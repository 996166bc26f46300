/* `ntkc kernel --dropout-mixed` and `ntkc predict --dropout fixed|fresh` from
 * the shell: the files hold the library's numbers bit for bit (the mixed
 * kernel of test_dropout_mixed_api.c, ntkc_predict with dropout_fresh), and
 * every misuse exits 1 naming the option, with no output written. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"
#include "npy.h"
#include "ntkc.h"
#include "util.h"

#define NET "net n { dense(1.4, 0.1); dropout(0.6); dense(1.3); relu; dense(1.2); erf; dense }\n"
enum { N = 5, M = 3, D = 4 };

typedef struct Fixture {
    char dir[256];
    double x[N * D], xt[M * D], y[N];
} Fixture;

static void save(const char *dir, const char *name, size_t rows, size_t cols, const double *data)
{
    char path[512];
    size_t shape[2] = {rows, cols};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ntkc_error err = {0};
    cr_assert_eq(npy_write_f64(path, 2, shape, data, &err), 0, "%s", err.message);
}

static void setup(Fixture *f)
{
    make_temp_dir(f->dir, sizeof f->dir);
    fill_random(f->x, N * D, 31), fill_random(f->xt, M * D, 32), fill_random(f->y, N, 33);
    save(f->dir, "x.npy", N, D, f->x), save(f->dir, "xt.npy", M, D, f->xt), save(f->dir, "y.npy", N, 1, f->y);
    char path[512];
    snprintf(path, sizeof path, "%s/net.ntk", f->dir);
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp);
    fputs(NET, fp);
    fclose(fp);
}

static void teardown(const Fixture *f)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    cr_assert_eq(system(cmd), 0);
}

static void load(const Fixture *f, const char *name, NpyArray *a)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    ntkc_error err = {0};
    cr_assert_eq(npy_read(path, a, &err), 0, "%s", err.message);
}

static int run(const Fixture *f, const char *args, char *errs, size_t size)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s --quiet", ntkc_bin(), args);
    char *p;
    while ((p = strstr(cmd, "DIR")) != NULL) { /* DIR → the fixture's directory */
        char rest[2048];
        snprintf(rest, sizeof rest, "%s%s", f->dir, p + 3);
        snprintf(p, sizeof cmd - (size_t)(p - cmd), "%s", rest);
    }
    return run_command(cmd, errs, size);
}

/* Xt in eval mode against X masked: the file is the library's kernel, bit for bit; without X2, X against
 * itself. */
Test(dropout_mixed_cli, kernel_writes_the_librarys_mixed_kernel)
{
    Fixture f;
    setup(&f);
    char errs[4096];
    cr_assert_eq(run(&f, "kernel DIR/net.ntk DIR/xt.npy DIR/x.npy --dropout-mixed --ntk DIR/k.npy --nngp DIR/s.npy",
                     errs, sizeof errs),
                 0, "%s", errs);
    cr_assert_eq(run(&f, "kernel DIR/net.ntk DIR/x.npy --dropout-mixed --ntk DIR/kself.npy", errs, sizeof errs), 0,
                 "%s", errs);
    ntkc_net *net = compile_or_fail(NET, NTKC_BACKEND_TCC);
    ntkc_error err = {0};
    double want[2 * M * N], self[N * N];
    cr_assert_eq(ntkc_kernel_dropout_mixed(net, M, f.xt, N, f.x, D, want, want + M * N, NULL, &err), 0, "%s",
                 err.message);
    cr_assert_eq(ntkc_kernel_dropout_mixed(net, N, f.x, 0, NULL, D, NULL, self, NULL, &err), 0, "%s", err.message);
    NpyArray k, s, ks;
    load(&f, "k.npy", &k), load(&f, "s.npy", &s), load(&f, "kself.npy", &ks);
    cr_assert(k.count == M * N && s.count == M * N && ks.count == N * N);
    cr_expect(memcmp(k.data, want + M * N, sizeof(double) * M * N) == 0, "the NTK file differs from the library");
    cr_expect(memcmp(s.data, want, sizeof(double) * M * N) == 0, "the NNGP file differs from the library");
    cr_expect(memcmp(ks.data, self, sizeof self) == 0, "X against itself differs from the library");
    npy_free(&k), npy_free(&s), npy_free(&ks);
    ntkc_net_free(net);
    teardown(&f);
}

/* --dropout fresh writes ntkc_predict's dropout_fresh numbers; fixed (the default) the net's own kernels. */
Test(dropout_mixed_cli, predict_fresh_and_fixed)
{
    Fixture f;
    setup(&f);
    char errs[4096];
    cr_assert_eq(run(&f, "predict DIR/net.ntk --train DIR/x.npy --targets DIR/y.npy --test DIR/xt.npy --time 2,inf "
                         "--dropout fresh --mean DIR/fresh.npy --cov DIR/cov.npy",
                     errs, sizeof errs),
                 0, "%s", errs);
    cr_assert_eq(run(&f, "predict DIR/net.ntk --train DIR/x.npy --targets DIR/y.npy --test DIR/xt.npy --time 2,inf "
                         "--dropout fixed --mean DIR/fixed.npy",
                     errs, sizeof errs),
                 0, "%s", errs);
    /* the kernel-file door on kernels written by `ntkc kernel`: X against a second file X (no shared mask),
     * Xt against X --dropout-mixed */
    cr_assert_eq(run(&f, "kernel DIR/net.ntk DIR/x.npy DIR/x.npy --ntk DIR/ktt.npy", errs, sizeof errs), 0, "%s",
                 errs);
    cr_assert_eq(run(&f, "kernel DIR/net.ntk DIR/xt.npy DIR/x.npy --dropout-mixed --ntk DIR/kst.npy", errs,
                     sizeof errs),
                 0, "%s", errs);
    cr_assert_eq(run(&f, "predict --k-train DIR/ktt.npy --k-test DIR/kst.npy --targets DIR/y.npy --time 2,inf "
                         "--mean DIR/files.npy",
                     errs, sizeof errs),
                 0, "%s", errs);
    ntkc_net *net = compile_or_fail(NET, NTKC_BACKEND_TCC);
    ntkc_error err = {0};
    double times[2] = {2, INFINITY}, mean[2 * M], cov[2 * M * M], fixed[2 * M];
    ntkc_predict_options o = {.dropout_fresh = 1};
    cr_assert_eq(ntkc_predict(net, N, f.x, f.y, 1, M, f.xt, D, times, 2, &o, mean, cov, NULL, &err), 0, "%s",
                 err.message);
    o.dropout_fresh = 0;
    cr_assert_eq(ntkc_predict(net, N, f.x, f.y, 1, M, f.xt, D, times, 2, &o, fixed, NULL, NULL, &err), 0, "%s",
                 err.message);
    NpyArray a, c, b;
    load(&f, "fresh.npy", &a), load(&f, "cov.npy", &c), load(&f, "fixed.npy", &b);
    cr_assert(a.count == 2 * M && c.count == 2 * M * M && b.count == 2 * M);
    cr_expect(memcmp(a.data, mean, sizeof mean) == 0, "--dropout fresh: the mean differs from the library");
    cr_expect(memcmp(c.data, cov, sizeof cov) == 0, "--dropout fresh: the covariance differs from the library");
    cr_expect(memcmp(b.data, fixed, sizeof fixed) == 0, "--dropout fixed: the mean differs from the library");
    cr_expect(memcmp(a.data, b.data, sizeof mean) != 0, "fresh and fixed wrote the same numbers");
    NpyArray files;
    load(&f, "files.npy", &files);
    cr_expect(files.count == 2 * M && memcmp(files.data, mean, sizeof mean) == 0,
              "the kernel-file door on --dropout-mixed kernels is not --dropout fresh");
    npy_free(&files);
    npy_free(&a), npy_free(&c), npy_free(&b);
    ntkc_net_free(net);
    teardown(&f);
}

typedef struct Misuse {
    const char *args, *fragment, *output;
} Misuse;

Test(dropout_mixed_cli, misuse_is_refused_by_name)
{
    static const Misuse cases[] = {
        {"kernel DIR/net.ntk DIR/x.npy --dropout-mixed --precision single --ntk DIR/o.npy", "--dropout-mixed",
         "o.npy"},
        {"kernel DIR/net.ntk DIR/x.npy --dropout-mixed=yes --ntk DIR/o.npy", "--dropout-mixed", "o.npy"},
        {"predict DIR/net.ntk --train DIR/x.npy --targets DIR/y.npy --test DIR/xt.npy --dropout sometimes "
         "--mean DIR/o.npy",
         "--dropout must be fixed or fresh", "o.npy"},
        {"predict DIR/net.ntk --train DIR/x.npy --targets DIR/y.npy --test DIR/xt.npy --dropout fresh --loss xent "
         "--time 1 --mean DIR/o.npy",
         "--dropout fresh", "o.npy"},
        {"predict DIR/net.ntk --train DIR/x.npy --targets DIR/y.npy --test DIR/xt.npy --dropout fresh "
         "--fx0-train DIR/y.npy --mean DIR/o.npy",
         "--dropout fresh", "o.npy"},
        {"predict DIR/net.ntk --train DIR/x.npy --targets DIR/y.npy --test DIR/xt.npy --dropout fresh "
         "--train-mean DIR/p.npy --mean DIR/o.npy",
         "--dropout fresh", "p.npy"},
        {"predict DIR/net.ntk --train DIR/x.npy --targets DIR/y.npy --test DIR/xt.npy --dropout fresh "
         "--precision single --mean DIR/o.npy",
         "--dropout fresh", "o.npy"},
    };
    Fixture f;
    setup(&f);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char errs[4096], path[512];
        int rc = run(&f, cases[i].args, errs, sizeof errs);
        cr_expect_eq(rc, 1, "%s: exit %d; stderr:\n%s", cases[i].args, rc, errs);
        cr_expect(strstr(errs, cases[i].fragment) != NULL, "%s: stderr lacks '%s':\n%s", cases[i].args,
                  cases[i].fragment, errs);
        snprintf(path, sizeof path, "%s/%s", f.dir, cases[i].output);
        cr_expect(!file_exists(path), "%s: %s appeared", cases[i].args, cases[i].output);
        snprintf(path, sizeof path, "%s/o.npy", f.dir);
        cr_expect(!file_exists(path), "%s: o.npy appeared", cases[i].args);
    }
    teardown(&f);
}
