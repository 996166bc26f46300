#include "progress.h"

#include <stdio.h>
#include <unistd.h>

void progress_start(Progress *p, const char *label)
{
    clock_gettime(CLOCK_MONOTONIC, &p->start);
    p->label = label;
}

double progress_seconds(const Progress *p)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - p->start.tv_sec) + 1e-9 * (double)(t.tv_nsec - p->start.tv_nsec);
}

int progress_show(void *ctx, size_t done, size_t total)
{
    const Progress *p = ctx;
    if (progress_seconds(p) < 1.0 || !isatty(2))
        return 0;
    fprintf(stderr, "\r  %s: %3.0f%% of %zu entries", p->label, 100.0 * (double)done / (double)total, total);
    if (done == total)
        fputc('\n', stderr);
    return 0;
}
