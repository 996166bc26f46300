#include "proc_limits.h"

#include <cblas.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ntkc_tool.h"

/* Fewer descriptors than a run opens at once (inputs, outputs and their
 * temporaries, libtcc's libraries) would fail deep inside with a misleading
 * message ("libm.so: unrecognized file type"). */
enum { MIN_FDS = 16 };
/* Kept free beyond the estimate: libraries' own allocations, messages. */
#define MARGIN_BYTES ((size_t)32 << 20)

static size_t soft_limit(int resource)
{
    struct rlimit rl;
    if (getrlimit(resource, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > SIZE_MAX)
        return SIZE_MAX;
    return (size_t)rl.rlim_cur;
}

/* VmSize (field 0) or the data+stack size (field 5) of /proc/self/statm, in bytes. */
static size_t statm_bytes(int field)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long v[7] = {0};
    if (f == NULL)
        return 0;
    int got = fscanf(f, "%lu %lu %lu %lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]);
    fclose(f);
    return got == 7 ? (size_t)v[field] * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

static double mib(size_t bytes) { return (double)bytes / (1 << 20); }

/* The tighter of RLIMIT_AS (against VmSize) and RLIMIT_DATA (against the data
 * segment): the room left, and which limit it is. SIZE_MAX when unlimited. */
static size_t room_left(size_t *limit, const char **name)
{
    size_t as = soft_limit(RLIMIT_AS), data = soft_limit(RLIMIT_DATA), room = SIZE_MAX;
    *limit = SIZE_MAX;
    if (as != SIZE_MAX) {
        size_t used = statm_bytes(0);
        room = as > used ? as - used : 0;
        *limit = as;
        *name = "address-space limit (ulimit -v)";
    }
    if (data != SIZE_MAX) {
        size_t used = statm_bytes(5), r = data > used ? data - used : 0;
        if (r < room) {
            room = r;
            *limit = data;
            *name = "data-size limit (ulimit -d)";
        }
    }
    return room;
}

static size_t per_threads(int threads) { return (size_t)threads * (NTKC_BLAS_BUFFER_BYTES + NTKC_THREAD_BYTES); }

int check_startup_limits(void)
{
    size_t fds = soft_limit(RLIMIT_NOFILE);
    if (fds < MIN_FDS) {
        fprintf(stderr, "ntkc: the open-file limit (ulimit -n) is %zu; ntkc needs at least %d file descriptors\n",
                fds, MIN_FDS);
        return -1;
    }
    size_t limit;
    const char *name = "";
    size_t room = room_left(&limit, &name);
    int threads = omp_get_max_threads();
    size_t need = per_threads(threads) + MARGIN_BYTES;
    if (room == SIZE_MAX || room >= need)
        return 0;
    fprintf(stderr,
            "ntkc: the %s of %.0f MiB leaves %.0f MiB, less than the %.0f MiB ntkc needs on %d thread%s "
            "(%.0f MiB of BLAS buffer, stack and heap per thread); raise the limit or use fewer threads "
            "(OMP_NUM_THREADS=1)\n",
            name, mib(limit), mib(room), mib(need), threads, threads == 1 ? "" : "s",
            mib(NTKC_BLAS_BUFFER_BYTES + NTKC_THREAD_BYTES));
    return -1;
}

int check_run_memory(size_t bytes, int threads, const char *what, ntkc_error *err)
{
    size_t limit;
    const char *name = "";
    size_t room = room_left(&limit, &name);
    if (room == SIZE_MAX)
        return 0;
    int t = threads > 0 ? threads : omp_get_max_threads();
    size_t need = per_threads(t) + MARGIN_BYTES;
    need = bytes > SIZE_MAX - need ? SIZE_MAX : need + bytes;
    if (room >= need)
        return 0;
    err_file(err, what, "the run needs about %.0f MiB (%.0f MiB of outputs and inputs, %.0f MiB for %d thread%s) but the "
              "%s of %.0f MiB leaves %.0f MiB; raise the limit, use fewer threads (--threads) or split the input", mib(need), mib(bytes), mib(need - bytes), t, t == 1 ? "" : "s", name, mib(limit), mib(room));
    return err->code;
}

typedef struct Call {
    int (*fn)(int, char **);
    int argc;
    char **argv;
    int rc;
} Call;

static void *call_fn(void *arg)
{
    Call *c = arg;
    c->rc = c->fn(c->argc, c->argv);
    return NULL;
}

int run_with_stack(int (*fn)(int, char **), int argc, char **argv)
{
    size_t stack = soft_limit(RLIMIT_STACK);
    if (stack >= NTKC_STACK_BYTES)
        return fn(argc, argv);
    /* OpenMP starts its workers with the default attributes; OpenBLAS's
     * threads already run on the small stack, so BLAS stays on the caller. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, NTKC_STACK_BYTES);
    pthread_setattr_default_np(&attr);
    openblas_set_num_threads(1);
    Call c = {fn, argc, argv, 2};
    pthread_t t;
    if (pthread_create(&t, &attr, call_fn, &c) != 0) {
        pthread_attr_destroy(&attr);
        fprintf(stderr, "ntkc: cannot start a thread with a %zu MiB stack\n", NTKC_STACK_BYTES >> 20);
        return 1;
    }
    pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
    return c.rc;
}
