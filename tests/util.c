#include "util.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <dlfcn.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "frontend.h"

ntkc_net *compile_or_fail(const char *source, ntkc_backend backend)
{
    ntkc_error err = {0};
    ntkc_compile_options opts = {.backend = backend};
    ntkc_net *net = ntkc_compile_string(source, "test.ntk", &opts, &err);
    cr_assert_not_null(net, "compile failed: %s", err.message);
    return net;
}

void fill_random(double *x, size_t count, unsigned long long seed)
{
    unsigned long long s = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (size_t i = 0; i < count; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        x[i] = (double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0;
    }
}

double max_rel_diff(const double *a, const double *b, size_t count)
{
    double scale = 1, diff = 0;
    for (size_t i = 0; i < count; i++)
        scale = fmax(scale, fabs(b[i]));
    for (size_t i = 0; i < count; i++)
        diff = fmax(diff, fabs(a[i] - b[i]));
    return diff / scale;
}

double min_eigenvalue(const double *a, size_t n)
{
    double *copy = malloc(n * n * sizeof *copy), *w = malloc(n * sizeof *w);
    memcpy(copy, a, n * n * sizeof *copy);
    int info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', (lapack_int)n, copy, (lapack_int)n, w);
    cr_assert_eq(info, 0, "dsyev failed: %d", info);
    double m = w[0];
    free(copy);
    free(w);
    return m;
}

int run_command(const char *cmd, char *err_out, size_t err_size)
{
    char full[8192];
    char errfile[] = "/tmp/ntkc-test-stderr-XXXXXX";
    int fd = mkstemp(errfile);
    cr_assert(fd >= 0);
    close(fd);
    snprintf(full, sizeof full, "%s 2>%s >/dev/null", cmd, errfile);
    int status = system(full);
    if (err_out != NULL) {
        FILE *f = fopen(errfile, "r");
        size_t got = f ? fread(err_out, 1, err_size - 1, f) : 0;
        err_out[got] = '\0';
        if (f)
            fclose(f);
    }
    unlink(errfile);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

const char *ntkc_bin(void)
{
    const char *b = getenv("NTKC_BIN");
    return b && *b ? b : "build/ntkc";
}

void make_temp_dir(char *out, size_t size)
{
    snprintf(out, size, "/tmp/ntkc-test-XXXXXX");
    cr_assert_not_null(mkdtemp(out));
}

int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

void *load_emitted_c(const char *c_source, const char *symbol, void **fn)
{
    char dir[256], src[300], so[300], cmd[1024];
    make_temp_dir(dir, sizeof dir);
    snprintf(src, sizeof src, "%s/net.c", dir);
    snprintf(so, sizeof so, "%s/net.so", dir);
    FILE *f = fopen(src, "w");
    cr_assert_not_null(f);
    fputs(c_source, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cc -std=c99 -Wall -Wextra -Werror -O2 -fPIC -shared -o %s %s -lm", so, src);
    char errs[4096];
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "emitted C does not compile cleanly:\n%s", errs);
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(h, "%s", dlerror());
    *fn = dlsym(h, symbol);
    cr_assert_not_null(*fn, "no symbol %s in the emitted code", symbol);
    unlink(so);
    unlink(src);
    rmdir(dir);
    return h;
}

void expect_error_in(const char *src, const char *net, const char *where, const char *what)
{
    Arena a;
    Diag err = {0};
    arena_init(&a);
    Program *p = frontend_parse(&a, src, "t.ntk", &err);
    IrNet *ir = p ? frontend_lower(&a, p, net, &err) : NULL;
    cr_expect_null(ir, "should fail: %s", src);
    cr_expect_eq(err.code, DIAG_EUSER, "%s", err.message);
    char *prefix = *where ? arena_printf(&a, "t.ntk:%s: error: ", where) : arena_strdup(&a, "t.ntk: error: ");
    cr_expect(strncmp(err.message, prefix, strlen(prefix)) == 0, "want prefix '%s', got: %s", prefix, err.message);
    size_t nw = strlen(what);
    if (nw > 0 && what[nw - 1] == '\n') /* the whole first line after the prefix */
        cr_expect(strlen(err.message) >= strlen(prefix) && strncmp(err.message + strlen(prefix), what, nw) == 0,
                  "want: %s%s\ngot:  %s", prefix, what, err.message);
    else
        cr_expect(strstr(err.message, what) != NULL, "want '%s' in: %s", what, err.message);
    arena_free(&a);
}

int for_each_example(void (*fn)(const char *path, const char *stem))
{
    DIR *d = opendir("examples");
    cr_assert_not_null(d, "run the tests from the project root");
    int visited = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".ntk") != 0)
            continue;
        char path[512], stem[256];
        snprintf(path, sizeof path, "examples/%s", e->d_name);
        snprintf(stem, sizeof stem, "%.*s", (int)(len - 4), e->d_name);
        fn(path, stem);
        visited++;
    }
    closedir(d);
    return visited;
}
