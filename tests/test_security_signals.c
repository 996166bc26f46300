/* Issue 15, item 4: SIGINT or SIGTERM during a run removes its temp files
 * (the handler works from a fixed table: no allocation) and the process still
 * dies of the signal; an old output is untouched. A run killed without a
 * chance to clean up (SIGKILL) leaves a temp named by its pid, which the next
 * run in that directory reports. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "npy.h"
#include "util.h"

/* Pooled convolutions over 512 8×8 images: seconds of work, killed long before. */
static const char slow_net[] = "net slow {\n input image(8, 8, 1)\n conv(3, 1.4, 0.1)\n relu\n conv(3, 1.4)\n relu\n"
                               " global_avg_pool\n dense\n}\n";

static void setup(char *dir, size_t size)
{
    make_temp_dir(dir, size);
    char p[512];
    snprintf(p, sizeof p, "%s/slow.ntk", dir);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(slow_net, f);
    fclose(f);
    enum { N = 512, D = 64 };
    double *x = malloc(N * D * sizeof *x);
    fill_random(x, N * D, 9);
    ntkc_error err = {0};
    snprintf(p, sizeof p, "%s/X.npy", dir);
    cr_assert_eq(npy_write_f64(p, 2, (size_t[]){N, D}, x, &err), 0, "%s", err.message);
    snprintf(p, sizeof p, "%s/small.npy", dir);
    cr_assert_eq(npy_write_f64(p, 2, (size_t[]){2, D}, x, &err), 0, "%s", err.message);
    free(x);
    snprintf(p, sizeof p, "%s/K.npy", dir);
    f = fopen(p, "w");
    fputs("old", f);
    fclose(f);
}

static int count_temps(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strncmp(e->d_name, ".ntkc-", 6) == 0;
    closedir(d);
    return n;
}

/* Starts ntkc kernel on the slow net, waits until both temps exist, sends sig. */
static int run_and_kill(const char *dir, int sig)
{
    char net[512], x[512], k[512], s[512];
    snprintf(net, sizeof net, "%s/slow.ntk", dir);
    snprintf(x, sizeof x, "%s/X.npy", dir);
    snprintf(k, sizeof k, "%s/K.npy", dir);
    snprintf(s, sizeof s, "%s/S.npy", dir);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        signal(SIGINT, SIG_DFL); /* as from a shell, whatever the test runner does */
        signal(SIGTERM, SIG_DFL);
        execl(ntkc_bin(), "ntkc", "kernel", net, x, "--ntk", k, "--nngp", s, "--threads", "1", "--quiet", (char *)NULL);
        _exit(127);
    }
    int status, waited = 0;
    for (; count_temps(dir) < 2 && waited < 20000 * NTKC_TIMEOUT_SCALE; waited++) {
        cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "ntkc ended before its temps appeared");
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    cr_assert_eq(count_temps(dir), 2, "the temps never appeared");
    kill(pid, sig);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == sig, "ntkc did not die of signal %d (status %#x)", sig,
              status);
    return (int)pid;
}

static void check_clean_after(int sig)
{
    char dir[256], k[512], cmd[600];
    setup(dir, sizeof dir);
    run_and_kill(dir, sig);
    cr_expect_eq(count_temps(dir), 0, "signal %d left temp files", sig);
    snprintf(k, sizeof k, "%s/K.npy", dir);
    FILE *f = fopen(k, "r");
    char buf[8] = "";
    cr_assert_not_null(f);
    cr_expect(fgets(buf, sizeof buf, f) && strcmp(buf, "old") == 0, "the old output was touched");
    fclose(f);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    system(cmd);
}

Test(security_signals, sigint_removes_temps, .timeout = TIMEOUT(60)) { check_clean_after(SIGINT); }
Test(security_signals, sigterm_removes_temps, .timeout = TIMEOUT(60)) { check_clean_after(SIGTERM); }

Test(security_signals, stale_temps_are_reported, .timeout = TIMEOUT(60))
{
    char dir[256], cmd[2048], errs[4096], want[64];
    setup(dir, sizeof dir);
    int pid = run_and_kill(dir, SIGKILL);
    cr_expect_eq(count_temps(dir), 2, "SIGKILL cannot be caught: its temps stay");
    snprintf(cmd, sizeof cmd, "%s kernel %s/slow.ntk %s/small.npy --ntk %s/K2.npy --quiet", ntkc_bin(), dir, dir, dir);
    cr_expect_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
    snprintf(want, sizeof want, "/.ntkc-%d-", pid);
    cr_expect(strstr(errs, want) && strstr(errs, "killed before it could remove it"), "no stale report: %s", errs);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    system(cmd);
}
