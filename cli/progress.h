/* Progress of long kernel computations on stderr, shared by the commands. */
#ifndef NTKC_CLI_PROGRESS_H
#define NTKC_CLI_PROGRESS_H

#include <stddef.h>
#include <time.h>

typedef struct Progress {
    struct timespec start;
    const char *label; /* "kernel", "kernels" */
} Progress;

/* Starts the clock. */
void progress_start(Progress *p, const char *label);
double progress_seconds(const Progress *p);
/* An ntkc_progress_fn: a percentage on stderr (a terminal only) once the
 * computation has run for a second. ctx is a Progress. */
int progress_show(void *ctx, size_t done, size_t total);

#endif
