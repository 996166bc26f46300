/* The process limits a user or a shell can set (ulimit -v, -d, -s, -n):
 * checked up front so ntkc refuses with a message (exit 1) instead of hanging
 * in OpenBLAS, dying of SIGSEGV or misreporting a missing descriptor.
 * README ("Limits") documents the figures. */
#ifndef NTKC_CLI_PROC_LIMITS_H
#define NTKC_CLI_PROC_LIMITS_H

#include <stddef.h>

#include "ntkc.h"

/* Address space OpenBLAS maps per thread that calls it (BUFFER_SIZE of the
 * x86_64 build, 128 MiB, plus alignment), and what else each worker thread
 * costs (its stack, its malloc arena's reservation). */
#define NTKC_BLAS_BUFFER_BYTES ((size_t)130 << 20)
#define NTKC_THREAD_BYTES ((size_t)72 << 20)
/* The stack commands run on when `ulimit -s` is smaller. */
#define NTKC_STACK_BYTES ((size_t)8 << 20)

/* At startup: the open-file limit and the address-space/data limits against
 * what any run needs (threads × BLAS buffers). On failure prints why and
 * returns -1: the caller must leave by _exit (an OpenBLAS thread that could
 * not get its buffer spins forever, and exit() would wait for it). */
int check_startup_limits(void);

/* Before a run that will hold `bytes` of outputs and inputs on `threads`
 * threads (0 = OpenMP's default): the address-space/data limits leave room
 * for it? Else err names `what` (the first output) and the figures. */
int check_run_memory(size_t bytes, int threads, const char *what, ntkc_error *err);

/* Runs fn(argc, argv) on a thread with an NTKC_STACK_BYTES stack when the
 * stack limit is smaller (and makes that the default for the OpenMP workers,
 * with BLAS single-threaded: its threads were started with the small stack);
 * else calls it directly. Returns fn's result. */
int run_with_stack(int (*fn)(int, char **), int argc, char **argv);

#endif
