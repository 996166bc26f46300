#include "temp_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A slot goes FREE -> FILLING (its path being written) -> READY -> FREE, or
 * READY -> TAKEN by the signal handler, which then removes the file. Only
 * READY paths are read by the handler, and only FILLING ones written. */
enum { SLOT_FREE, SLOT_FILLING, SLOT_READY, SLOT_TAKEN };

typedef struct Slot {
    atomic_int state;
    char path[PATH_MAX];
} Slot;

static Slot slots[TEMP_FILES_MAX];
static atomic_int deferring;
static atomic_int pending_signal;

static const int handled[] = {SIGINT, SIGTERM, SIGHUP};

int temp_files_add(const char *path)
{
    if (strlen(path) >= PATH_MAX)
        return -1;
    for (int i = 0; i < TEMP_FILES_MAX; i++) {
        int expected = SLOT_FREE;
        if (atomic_compare_exchange_strong(&slots[i].state, &expected, SLOT_FILLING)) {
            memcpy(slots[i].path, path, strlen(path) + 1);
            atomic_store(&slots[i].state, SLOT_READY);
            return i;
        }
    }
    return -1;
}

void temp_files_forget(int slot)
{
    if (slot < 0 || slot >= TEMP_FILES_MAX)
        return;
    int expected = SLOT_READY;
    atomic_compare_exchange_strong(&slots[slot].state, &expected, SLOT_FREE);
}

/* Async-signal-safe: atomics (lock-free on every target we build for) and unlink. */
static void remove_all(void)
{
    for (int i = 0; i < TEMP_FILES_MAX; i++) {
        int expected = SLOT_READY;
        if (atomic_compare_exchange_strong(&slots[i].state, &expected, SLOT_TAKEN))
            unlink(slots[i].path);
    }
}

static void die_of(int sig)
{
    remove_all();
    signal(sig, SIG_DFL);
    raise(sig); /* blocked while the handler runs: delivered, fatally, when it returns */
}

static void on_signal(int sig)
{
    int saved = errno;
    if (atomic_load(&deferring))
        atomic_store(&pending_signal, sig);
    else
        die_of(sig);
    errno = saved;
}

void temp_files_install_handlers(void)
{
    for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++) {
        struct sigaction old, sa = {0};
        if (sigaction(handled[i], NULL, &old) != 0 || old.sa_handler == SIG_IGN)
            continue; /* started under nohup or in the background: stay immune */
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        for (size_t k = 0; k < sizeof handled / sizeof handled[0]; k++)
            sigaddset(&sa.sa_mask, handled[k]);
        sigaction(handled[i], &sa, NULL);
    }
}

void temp_files_defer_signals(void) { atomic_store(&deferring, 1); }

void temp_files_resume_signals(void)
{
    atomic_store(&deferring, 0);
    int sig = atomic_exchange(&pending_signal, 0);
    if (sig != 0)
        die_of(sig); /* what the handler would have done: raise() here is fatal at once */
}

/* Clock, pid and a stack address: distinct across processes and calls
 * without a shared counter; O_EXCL settles any collision. */
static uint64_t next_random(uint64_t *x)
{
    *x += 0x9e3779b97f4a7c15u; /* splitmix64 */
    uint64_t z = (*x ^ (*x >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

int temp_file_create(const char *prefix, const char *ext, int mode, char *out, size_t cap, int *slot)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)getpid() << 40 ^
                 (uint64_t)(uintptr_t)&ts;
    for (int attempt = 0; attempt < 100; attempt++) {
        int n = snprintf(out, cap, "%s.ntkc-%ld-%012llx%s", prefix, (long)getpid(),
                         (unsigned long long)(next_random(&x) & 0xffffffffffffu), ext);
        if (n < 0 || (size_t)n >= cap) {
            errno = ENAMETOOLONG;
            return -1;
        }
        /* registered first: a signal right after the open still finds it */
        *slot = temp_files_add(out);
        int fd = open(out, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd >= 0)
            return fd;
        int saved = errno;
        temp_files_forget(*slot);
        *slot = -1;
        errno = saved;
        if (saved != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

/* The pid of a name ".ntkc-<pid>-<12 hex>...", or -1. */
static long temp_pid(const char *name)
{
    if (strncmp(name, ".ntkc-", 6) != 0)
        return -1;
    char *end;
    errno = 0;
    long pid = strtol(name + 6, &end, 10);
    if (errno != 0 || end == name + 6 || pid <= 0 || *end != '-')
        return -1;
    for (int i = 1; i <= 12; i++)
        if (!((end[i] >= '0' && end[i] <= '9') || (end[i] >= 'a' && end[i] <= 'f')))
            return -1;
    return pid;
}

int temp_files_stale(const char *dir, void (*report)(void *ctx, const char *path, long pid), void *ctx)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int found = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        long pid = temp_pid(e->d_name);
        struct stat st;
        if (pid < 0 || pid == (long)getpid() || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode) || st.st_uid != geteuid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive (or not ours to ask): not stale */
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        report(ctx, path, pid);
        found++;
    }
    closedir(d);
    return found;
}
