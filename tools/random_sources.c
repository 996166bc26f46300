/* random_sources N SEED ANYWHERE DIR: writes the sources of N random nets
 * (tests/random_nets.c, drawn as `make check-random` draws them) to
 * DIR/rnd_SEED_I.ntk, without checking them: input for comparisons that
 * need many nets, such as scripts/emit_diff.sh. */
#include <stdio.h>
#include <stdlib.h>

#include "../tests/random_nets.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: random_sources N SEED ANYWHERE DIR\n");
        return 2;
    }
    unsigned long nets = strtoul(argv[1], NULL, 10);
    unsigned long long seed = strtoull(argv[2], NULL, 10);
    RandomNetOptions go = {.anywhere = atoi(argv[3]) != 0};
    static char src[RANDOM_NET_SOURCE];
    for (unsigned long i = 0; i < nets; i++) {
        unsigned long long s = seed * 1000003ULL + i; /* as tools/check_random.c */
        random_net_source(s, &go, src);
        char path[4096];
        snprintf(path, sizeof path, "%s/rnd_%llu_%lu.ntk", argv[4], seed, i);
        FILE *f = fopen(path, "w");
        if (f == NULL || fputs(src, f) == EOF || fclose(f) != 0) {
            perror(path);
            return 1;
        }
    }
    return 0;
}
