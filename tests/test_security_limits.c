/* Issue 15, items 5 and 14: process limits. Each run is a subprocess under
 * `ulimit` (setrlimit; it binds root too): over the file-size limit the
 * writer's error is reported by name and nothing is left behind; small
 * address-space or data limits give a message, never a hang (OpenBLAS
 * retries a failed buffer allocation forever); a 64 KiB stack computes the
 * same kernels; four descriptors are refused as such, and a compile with no
 * descriptor left says so instead of "libm.so: unrecognized file type". */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "npy.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1 /* ASan reserves terabytes of shadow: no address-space limit fits it */
#else
#define UNDER_ASAN 0
#endif

static void write_inputs(const char *path, size_t rows, size_t cols)
{
    double *x = malloc(rows * cols * sizeof *x);
    fill_random(x, rows * cols, rows);
    size_t shape[2] = {rows, cols};
    ntkc_error err = {0};
    cr_assert_eq(npy_write_f64(path, 2, shape, x, &err), 0, "%s", err.message);
    free(x);
}

/* Entries of dir other than . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void remove_dir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(security_limits, file_size_limit_is_a_message, .timeout = TIMEOUT(60))
{
    char dir[256], x[300], k[300], cmd[1024], errs[4096];
    make_temp_dir(dir, sizeof dir);
    snprintf(x, sizeof x, "%s/X.npy", dir);
    snprintf(k, sizeof k, "%s/K.npy", dir);
    write_inputs(x, 300, 4); /* a 300 x 300 kernel: 720 KB, over the 100 KiB limit */
    snprintf(cmd, sizeof cmd, "{ ulimit -f 100; %s kernel examples/fc.ntk %s --ntk %s; }", ntkc_bin(), x, k);
    int rc = run_command(cmd, errs, sizeof errs);
    cr_assert_eq(rc, 1, "exit %d (153 = killed by SIGXFSZ); stderr:\n%s", rc, errs);
    cr_assert_not_null(strstr(errs, "K.npy"), "the message names no file:\n%s", errs);
    cr_assert_not_null(strstr(errs, "File too large"), "%s", errs);
    cr_assert_eq(count_entries(dir), 1, "an output or a temporary was left beside X.npy");
    remove_dir(dir);
}

/* ntkc under a memory limit: exit 0 or 1 with a message naming the limit,
 * never a hang (timeout's 124) or a crash. */
static int run_limited(const char *limit, const char *x, const char *k, char *errs, size_t size)
{
    char cmd[1024];
    /* one thread: the figures do not depend on the machine's core count */
    snprintf(cmd, sizeof cmd, "{ ulimit %s; OMP_NUM_THREADS=1 timeout 60 %s kernel examples/fc.ntk %s --ntk %s; }", limit,
             ntkc_bin(), x, k);
    int rc = run_command(cmd, errs, size);
    cr_assert(rc == 0 || rc == 1, "ulimit %s: exit %d (124 = hung); stderr:\n%s", limit, rc, errs);
    if (rc == 1)
        cr_assert(strstr(errs, "limit (ulimit -") != NULL, "ulimit %s: the message does not name the limit:\n%s",
                  limit, errs);
    return rc;
}

Test(security_limits, memory_limits_never_hang, .timeout = TIMEOUT(300))
{
    if (UNDER_ASAN)
        cr_skip_test("address-space limits do not apply under ASan");
    char dir[256], x[300], k[300], errs[4096];
    make_temp_dir(dir, sizeof dir);
    snprintf(x, sizeof x, "%s/X.npy", dir);
    snprintf(k, sizeof k, "%s/K.npy", dir);
    write_inputs(x, 1000, 10);
    /* 150 MB: refused at startup (before: hung even for --help) */
    cr_assert_eq(run_limited("-v 150000", x, k, errs, sizeof errs), 1);
    cr_assert_not_null(strstr(errs, "address-space limit (ulimit -v)"), "%s", errs);
    run_limited("-v 250000", x, k, errs, sizeof errs);
    run_limited("-v 400000", x, k, errs, sizeof errs);
    run_limited("-d 150000", x, k, errs, sizeof errs);
    /* a kernel far larger than the limit: refused before any output exists */
    char big[300];
    snprintf(big, sizeof big, "%s/Xbig.npy", dir);
    write_inputs(big, 12000, 2); /* 1.15 GB of output */
    snprintf(k, sizeof k, "%s/Kbig.npy", dir);
    cr_assert_eq(run_limited("-v 1000000", big, k, errs, sizeof errs), 1);
    cr_assert_not_null(strstr(errs, "the run needs about"), "%s", errs);
    cr_assert(!file_exists(k));
    /* prediction: 12000 training rows need 3.5 GB of kernels and factor */
    char y[300], cmd[2048];
    snprintf(y, sizeof y, "%s/Y.npy", dir);
    write_inputs(y, 12000, 1);
    snprintf(cmd, sizeof cmd, "{ ulimit -v 1000000; OMP_NUM_THREADS=1 timeout 60 %s predict examples/fc.ntk --train %s --targets %s --test %s "
             "--mean %s; }", ntkc_bin(), big, y, big, k);
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 1, "%s", errs);
    cr_assert_not_null(strstr(errs, "the run needs about"), "%s", errs);
    cr_assert(!file_exists(k));
    remove_dir(dir);
}

/* A 64 KiB stack: the command runs on a thread with its own 8 MiB stack and
 * computes exactly the kernels of an ordinary run (before: SIGSEGV in dgemm). */
Test(security_limits, small_stack_limit_computes_the_same, .timeout = TIMEOUT(120))
{
    char dir[256], x[300], k1[300], k2[300], cmd[1024], errs[4096];
    make_temp_dir(dir, sizeof dir);
    snprintf(x, sizeof x, "%s/X.npy", dir);
    snprintf(k1, sizeof k1, "%s/K1.npy", dir);
    snprintf(k2, sizeof k2, "%s/K2.npy", dir);
    write_inputs(x, 200, 8);
    snprintf(cmd, sizeof cmd, "%s kernel examples/fc.ntk %s --ntk %s", ntkc_bin(), x, k1);
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
    snprintf(cmd, sizeof cmd, "{ ulimit -s 64; %s kernel examples/fc.ntk %s --ntk %s; }", ntkc_bin(), x, k2);
    int rc = run_command(cmd, errs, sizeof errs);
    cr_assert_eq(rc, 0, "exit %d under ulimit -s 64; stderr:\n%s", rc, errs);
    NpyArray a, b;
    ntkc_error err = {0};
    cr_assert_eq(npy_read(k1, &a, &err), 0, "%s", err.message);
    cr_assert_eq(npy_read(k2, &b, &err), 0, "%s", err.message);
    cr_assert_eq(a.count, 200 * 200);
    cr_assert_eq(b.count, a.count);
    cr_assert(memcmp(a.data, b.data, a.count * sizeof(double)) == 0, "other kernels on the small stack");
    npy_free(&a);
    npy_free(&b);
    /* the front end too: a formula nested to the parser's depth bound */
    snprintf(cmd, sizeof cmd, "{ ulimit -s 64; %s derive examples/activations.ntk; }", ntkc_bin());
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
    remove_dir(dir);
}

Test(security_limits, four_descriptors_are_refused_as_such, .timeout = TIMEOUT(60))
{
    char cmd[512], errs[4096];
    snprintf(cmd, sizeof cmd, "{ ulimit -n 4; %s emit examples/fc.ntk; }", ntkc_bin());
    int rc = run_command(cmd, errs, sizeof errs);
    cr_assert_eq(rc, 1, "exit %d; stderr:\n%s", rc, errs);
    cr_assert_not_null(strstr(errs, "open-file limit (ulimit -n) is 4"), "%s", errs);
    cr_assert_null(strstr(errs, "unrecognized file type"), "%s", errs);
}

/* In a child: every descriptor but two taken, then a compile. libtcc needs
 * more to load libm: a user error saying so, not an internal one. */
Test(security_limits, compile_without_descriptors_says_so, .timeout = TIMEOUT(60))
{
    int pipefd[2];
    cr_assert_eq(pipe(pipefd), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(pipefd[0]);
        struct rlimit rl = {64, 64};
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(10);
        int last = -1, prev = -1;
        for (int fd; (fd = open("/dev/null", O_RDONLY)) >= 0;)
            prev = last, last = fd;
        close(last);
        close(prev);
        ntkc_error err = {0};
        ntkc_net *net = ntkc_compile_string("net m { dense(1.5, 0.1); relu; dense(1) }", "m.ntk", NULL, &err);
        ssize_t w = write(pipefd[1], err.message, strlen(err.message) + 1);
        (void)w;
        _exit(net != NULL ? 11 : err.code);
    }
    close(pipefd[1]);
    char msg[4096] = {0};
    ssize_t got = read(pipefd[0], msg, sizeof msg - 1);
    (void)got;
    close(pipefd[0]);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "the child died");
    cr_assert_eq(WEXITSTATUS(status), NTKC_EUSER, "exit %d: %s", WEXITSTATUS(status), msg);
    cr_assert_not_null(strstr(msg, "out of file descriptors"), "%s", msg);
}

/* A source that needs more memory than the address-space limit leaves:
 * compiling it is a reported error naming the file (exit 1), not an abort
 * (before: "ntkc: out of memory", exit 134), and no output is written. The
 * 300 MB limit passes the startup check on one thread; 1.2 million `let`
 * lines (24 MB, under the 64 MiB source limit) need about 330 MB to compile. */
Test(security_limits, compile_out_of_memory_is_a_message, .timeout = TIMEOUT(120))
{
    if (UNDER_ASAN)
        cr_skip_test("address-space limits do not apply under ASan");
    char dir[256], net[300], x[300], k[300], cmd[1024], errs[4096];
    make_temp_dir(dir, sizeof dir);
    snprintf(net, sizeof net, "%s/huge.ntk", dir);
    snprintf(x, sizeof x, "%s/X.npy", dir);
    snprintf(k, sizeof k, "%s/K.npy", dir);
    write_inputs(x, 4, 3);
    FILE *f = fopen(net, "w");
    cr_assert_not_null(f);
    fputs("net huge {\n", f);
    for (int i = 0; i < 1200000; i++)
        fprintf(f, "  let a%d = 1.5\n", i);
    fputs("  dense(a1, 0.05)\n}\n", f);
    cr_assert_eq(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "{ ulimit -v 300000; OMP_NUM_THREADS=1 timeout 60 %s kernel %s %s --ntk %s; }", ntkc_bin(),
             net, x, k);
    int rc = run_command(cmd, errs, sizeof errs);
    cr_assert_eq(rc, 1, "exit %d (134 = abort); stderr:\n%s", rc, errs);
    cr_assert_not_null(strstr(errs, "huge.ntk: out of memory while compiling"), "%s", errs);
    cr_assert(!file_exists(k));
    cr_assert_eq(count_entries(dir), 2, "an output or a temporary was left beside the inputs");
    remove_dir(dir);
}

/* A net whose kernel needs more working memory than the machine gives (a
 * masked 120×120 image: one position-pair matrix is 1.6 GB, the limit 1 GB)
 * is a reported error (exit 1), not an internal error (before: "a tile
 * reported a non-finite entry that is not there", exit 2), and no output is
 * written. */
Test(security_limits, kernel_workspace_out_of_memory_is_a_message, .timeout = TIMEOUT(120))
{
    if (UNDER_ASAN)
        cr_skip_test("address-space limits do not apply under ASan");
    char dir[256], net[300], x[300], k[300], cmd[1024], errs[4096];
    make_temp_dir(dir, sizeof dir);
    snprintf(net, sizeof net, "%s/big.ntk", dir);
    snprintf(x, sizeof x, "%s/X.npy", dir);
    snprintf(k, sizeof k, "%s/K.npy", dir);
    write_inputs(x, 1, 120 * 120);
    FILE *f = fopen(net, "w");
    cr_assert_not_null(f);
    fputs("net big { input image(120, 120, 1, masked=true); conv(1); relu; global_avg_pool; dense }\n", f);
    cr_assert_eq(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "{ ulimit -v 1000000; OMP_NUM_THREADS=1 timeout 60 %s kernel %s %s --ntk %s --threads 1; }",
             ntkc_bin(), net, x, k);
    int rc = run_command(cmd, errs, sizeof errs);
    cr_assert_eq(rc, 1, "exit %d; stderr:\n%s", rc, errs);
    cr_assert_not_null(strstr(errs, "out of memory: the kernel's working memory for entries [0, 0] onward could not be "
                                    "allocated"),
                       "%s", errs);
    cr_assert(!file_exists(k));
    cr_assert_eq(count_entries(dir), 2, "an output or a temporary was left beside the inputs");
    remove_dir(dir);
}
