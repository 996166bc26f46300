/* Issue 15, items 3, 7, 8 and 11: what ntkc writes and where.
 * - An output path that exists and is not a regular file (/dev/null, the
 *   /dev/stdout link, a FIFO, a symbolic link) is refused, exit 1, and left
 *   alone; as root, renaming over it would replace the device or link.
 * - Two outputs naming one file however spelled (./S.npy, d/../S.npy, a hard
 *   link), or an output naming an input, are refused: one result was lost.
 * - A run's outputs land all or none: when the second cannot be put in place
 *   the first gets its old file back.
 * - An existing output keeps its permission bits; a new one gets 0666 less
 *   the umask; a name of NAME_MAX bytes works (the temp name is short). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "npy.h"
#include "util.h"

static const char net_src[] = "net fc { dense(1.4, 0.1); relu; dense }";

typedef struct Dir {
    char path[256];
} Dir;

/* DIR with net.ntk, X.npy (4 × 3) and Y.npy (targets 4 × 1). */
static Dir setup(void)
{
    Dir d;
    make_temp_dir(d.path, sizeof d.path);
    char p[512];
    snprintf(p, sizeof p, "%s/net.ntk", d.path);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(net_src, f);
    fclose(f);
    double x[12], y[4];
    fill_random(x, 12, 2);
    fill_random(y, 4, 3);
    ntkc_error err = {0};
    snprintf(p, sizeof p, "%s/X.npy", d.path);
    cr_assert_eq(npy_write_f64(p, 2, (size_t[]){4, 3}, x, &err), 0, "%s", err.message);
    snprintf(p, sizeof p, "%s/Y.npy", d.path);
    cr_assert_eq(npy_write_f64(p, 2, (size_t[]){4, 1}, y, &err), 0, "%s", err.message);
    return d;
}

/* Runs "ntkc ARGS" with every "DIR" replaced; returns the exit code. */
static int ntkc_run(const Dir *d, const char *args, char *errs, size_t size)
{
    char cmd[4096], expanded[3072];
    size_t at = 0;
    for (const char *p = args; *p && at + 300 < sizeof expanded;)
        if (strncmp(p, "DIR", 3) == 0)
            at += (size_t)snprintf(expanded + at, sizeof expanded - at, "%s", d->path), p += 3;
        else
            expanded[at++] = *p++;
    expanded[at] = '\0';
    snprintf(cmd, sizeof cmd, "cd %s && %s %s", d->path, ntkc_bin(), expanded);
    return run_command(cmd, errs, size);
}

static void expect_fails(const Dir *d, const char *args, const char *message)
{
    char errs[4096];
    cr_expect_eq(ntkc_run(d, args, errs, sizeof errs), 1, "ntkc %s", args);
    cr_expect(strstr(errs, message) != NULL, "ntkc %s: \"%s\" lacks \"%s\"", args, errs, message);
}

static void expect_no_temps(const Dir *d)
{
    DIR *dd = opendir(d->path);
    cr_assert_not_null(dd);
    for (struct dirent *e; (e = readdir(dd)) != NULL;)
        cr_expect(strncmp(e->d_name, ".ntkc-", 6) != 0, "temp file %s left", e->d_name);
    closedir(dd);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static int has_text(const char *path, const char *text)
{
    char buf[256] = "";
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strcmp(buf, text) == 0;
}

/* Nodes in the test's directory stand for /dev/null and /dev/stdout: were the
 * check broken, a test run as root (CI) must not replace the real ones. */
Test(security_outputs, devices_and_links_are_not_replaced)
{
    Dir d = setup();
    struct stat st;
    char node[512];
    snprintf(node, sizeof node, "%s/null", d.path);
    if (geteuid() == 0 && mknod(node, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        expect_fails(&d, "kernel net.ntk X.npy --ntk null", "null: cannot write output: it is a character device");
        expect_fails(&d, "predict net.ntk --train X.npy --targets Y.npy --test X.npy --mean null",
                     "null: cannot write output: it is a character device");
        expect_fails(&d, "emit net.ntk -o null", "null: cannot write output: it is a character device");
        cr_expect(lstat(node, &st) == 0 && S_ISCHR(st.st_mode), "the device node was replaced");
    } else if (geteuid() != 0) { /* not root: the real one cannot be harmed */
        expect_fails(&d, "kernel net.ntk X.npy --ntk /dev/null", "/dev/null: cannot write output: it is a character device");
    }
    snprintf(node, sizeof node, "%s/stdout", d.path);
    cr_assert_eq(symlink("/proc/self/fd/1", node), 0);
    expect_fails(&d, "kernel net.ntk X.npy --ntk K.npy --nngp stdout", "stdout: cannot write output: it is a symbolic link");
    cr_expect(lstat(node, &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced");

    char p[512], q[512];
    snprintf(p, sizeof p, "%s/fifo", d.path);
    cr_assert_eq(mkfifo(p, 0600), 0);
    expect_fails(&d, "kernel net.ntk X.npy --ntk fifo", "fifo: cannot write output: it is a FIFO");
    cr_expect(lstat(p, &st) == 0 && S_ISFIFO(st.st_mode));
    snprintf(p, sizeof p, "%s/target.npy", d.path);
    snprintf(q, sizeof q, "%s/link.npy", d.path);
    write_text(p, "old");
    cr_assert_eq(symlink("target.npy", q), 0);
    expect_fails(&d, "kernel net.ntk X.npy --ntk link.npy", "link.npy: cannot write output: it is a symbolic link");
    cr_expect(lstat(q, &st) == 0 && S_ISLNK(st.st_mode) && has_text(p, "old"));
    expect_no_temps(&d);
}

Test(security_outputs, one_file_under_two_names_is_refused)
{
    Dir d = setup();
    char p[512], q[512];
    snprintf(p, sizeof p, "%s/sub", d.path);
    cr_assert_eq(mkdir(p, 0700), 0);
    /* not existing yet: the same canonical path */
    expect_fails(&d, "kernel net.ntk X.npy --ntk S.npy --nngp ./S.npy", "--ntk and --nngp name the same file S.npy");
    expect_fails(&d, "kernel net.ntk X.npy --ntk DIR/S.npy --nngp sub/../S.npy", "name the same file");
    expect_fails(&d, "predict net.ntk --train X.npy --targets Y.npy --test X.npy --mean M.npy --cov ./M.npy",
                 "--mean and --cov name the same file M.npy");
    snprintf(p, sizeof p, "%s/S.npy", d.path);
    cr_expect(!file_exists(p));
    /* existing: the same device and inode, also through a hard link */
    write_text(p, "old");
    snprintf(q, sizeof q, "%s/hard.npy", d.path);
    cr_assert_eq(link(p, q), 0);
    expect_fails(&d, "kernel net.ntk X.npy --ntk S.npy --nngp hard.npy", "name the same file");
    expect_fails(&d, "predict net.ntk --train X.npy --targets Y.npy --test X.npy --mean S.npy --cov sub/../hard.npy",
                 "name the same file");
    /* an output naming an input, the net file included */
    expect_fails(&d, "predict net.ntk --train X.npy --targets Y.npy --test X.npy --mean ./net.ntk",
                 "output ./net.ntk is also an input");
    expect_fails(&d, "kernel net.ntk X.npy --ntk sub/../X.npy", "output sub/../X.npy is also an input");
    cr_expect(has_text(p, "old"));
    expect_no_temps(&d);
}

/* Two outputs through the library: the second becomes a FIFO or a directory
 * after the run started. */
Test(security_outputs, outputs_land_all_or_none)
{
    Dir d = setup();
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/A.npy", d.path);
    snprintf(b, sizeof b, "%s/B.npy", d.path);
    size_t shape[2] = {2, 2};
    for (int k = 0; k < 3; k++) {
        write_text(a, "old A");
        unlink(b);
        rmdir(b);
        if (k == 2)
            write_text(b, "old B");
        ntkc_error err = {0};
        NpyOut *outs[2] = {npy_out_create(a, 2, shape, &err), npy_out_create(b, 2, shape, &err)};
        cr_assert(outs[0] && outs[1], "%s", err.message);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 4; j++)
                npy_out_data(outs[i])[j] = j;
        if (k == 0) {
            unlink(b);
            cr_assert_eq(mkfifo(b, 0600), 0);
        } else if (k == 1) {
            cr_assert_eq(mkdir(b, 0700), 0);
        }
        int rc = npy_out_commit_all(outs, 2, &err);
        if (k < 2) {
            cr_expect_eq(rc, -1, "case %d committed", k);
            cr_expect(strstr(err.message, "B.npy: cannot write output: it is a"), "%s", err.message);
            cr_expect(has_text(a, "old A"), "case %d: A.npy lost its old content", k);
        } else {
            cr_expect_eq(rc, 0, "%s", err.message);
            NpyArray got;
            cr_expect_eq(npy_read(a, &got, &err), 0, "%s", err.message);
            npy_free(&got);
            cr_expect_eq(npy_read(b, &got, &err), 0, "%s", err.message);
            npy_free(&got);
        }
        expect_no_temps(&d);
    }
}

Test(security_outputs, modes_kept_and_long_names_work)
{
    Dir d = setup();
    char p[512], errs[4096];
    snprintf(p, sizeof p, "%s/K.npy", d.path);
    write_text(p, "old");
    chmod(p, 0600);
    cr_expect_eq(ntkc_run(&d, "kernel net.ntk X.npy --ntk K.npy --nngp new.npy --quiet", errs, sizeof errs), 0, "%s",
                 errs);
    struct stat st;
    cr_expect(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600, "K.npy: mode %o, was 0600", st.st_mode & 0777);
    snprintf(p, sizeof p, "%s/new.npy", d.path);
    mode_t um = umask(0);
    umask(um);
    cr_expect(stat(p, &st) == 0 && (st.st_mode & 0777) == (0666 & ~um), "new.npy: mode %o", st.st_mode & 0777);
    /* a name of exactly NAME_MAX bytes */
    char name[NAME_MAX + 1], args[600];
    memset(name, 'k', NAME_MAX);
    memcpy(name + NAME_MAX - 4, ".npy", 5);
    snprintf(args, sizeof args, "kernel net.ntk X.npy --ntk %s --quiet", name);
    cr_expect_eq(ntkc_run(&d, args, errs, sizeof errs), 0, "%s", errs);
    snprintf(args, sizeof args, "emit net.ntk -o %s", name);
    cr_expect_eq(ntkc_run(&d, args, errs, sizeof errs), 0, "%s", errs);
    expect_no_temps(&d);
}
