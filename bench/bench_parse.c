/* Front-end speed on a large source (issue 15, item 10): generates a source
 * of `let` lines of about MB megabytes and times parsing and lowering, best
 * of REPS. Linear in the size since the name tables; before them, 80k lines
 * took 22 s.
 *
 * usage: bench_parse MB REPS
 * prints "lets N", "bytes B", "parse SECONDS", "lower SECONDS" (CPU seconds) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "arena.h"
#include "frontend.h"

/* CPU seconds of this (single-threaded) process: on a shared machine the
 * wall clock measures the neighbours. */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fputs("usage: bench_parse MB REPS\n", stderr);
        return 1;
    }
    size_t bytes = (size_t)(atof(argv[1]) * (1 << 20)), len = 0, n = 0;
    int reps = atoi(argv[2]);
    char *src = malloc(bytes + 256);
    if (src == NULL)
        return 1;
    while (len < bytes)
        len += (size_t)sprintf(src + len, "let constant_number_%zu = %zu.25e-3\n", n, n), n++;
    len += (size_t)sprintf(src + len, "net m { dense(constant_number_%zu, 0.05); relu; dense(1) }\n", n - 1);
    double best_parse = 1e30, best_lower = 1e30;
    for (int r = 0; r < reps; r++) {
        Arena a;
        arena_init(&a);
        Diag err = {0};
        double t0 = now();
        Program *p = frontend_parse(&a, src, "bench.ntk", &err);
        double t1 = now();
        IrNet *ir = p ? frontend_lower(&a, p, NULL, &err) : NULL;
        double t2 = now();
        arena_free(&a);
        if (ir == NULL) {
            fprintf(stderr, "bench_parse: %s\n", err.message);
            return 1;
        }
        best_parse = t1 - t0 < best_parse ? t1 - t0 : best_parse;
        best_lower = t2 - t1 < best_lower ? t2 - t1 : best_lower;
    }
    printf("lets %zu\nbytes %zu\nparse %.4f\nlower %.4f\n", n, len, best_parse, best_lower);
    free(src);
    return 0;
}
