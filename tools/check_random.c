/* make check-random NETS=N SEED=S [ANYWHERE=0] [VERBOSE=1]: draws N random nets
 * (tests/random_nets.c) from seed S, checks each against the Monte Carlo
 * finite networks, and prints how many were drawn, accepted and refused (per
 * rule), the worst Monte Carlo errors, and every failure. Exit 1 on any. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/random_nets.h"

int main(int argc, char **argv)
{
    unsigned long nets = argc > 1 ? strtoul(argv[1], NULL, 10) : 50;
    unsigned long long seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    int anywhere = argc > 3 && atoi(argv[3]) != 0, verbose = argc > 4 && atoi(argv[4]) != 0;
    RandomNetOptions go = {.anywhere = anywhere};
    RandomCheckOptions co = {.width = 512, .conv_width = 128, .samples = 32, .z = 5.0};
    size_t accepted = 0, failed = 0, unclassified = 0, per_rule[64] = {0}, nrules = random_rule_count();
    double worst_nngp = 0, worst_ntk = 0, worst_z = 0;
    static char src[RANDOM_NET_SOURCE];
    for (unsigned long i = 0; i < nets; i++) {
        unsigned long long s = seed * 1000003ULL + i;
        random_net_source(s, &go, src);
        RandomCheck c;
        random_net_check(src, s, &co, &c);
        if (c.accepted) {
            accepted++;
            worst_nngp = c.rel_nngp > worst_nngp ? c.rel_nngp : worst_nngp;
            worst_ntk = c.rel_ntk > worst_ntk ? c.rel_ntk : worst_ntk;
            worst_z = c.worst_z > worst_z ? c.worst_z : worst_z;
        } else if (c.rule) {
            for (size_t r = 0; r < nrules; r++)
                per_rule[r] += strcmp(c.rule, random_rule_name(r)) == 0;
        } else {
            unclassified++;
        }
        if (!c.ok)
            failed++;
        if (!c.ok || verbose)
            printf("%s net %lu (seed %llu): %s (Monte Carlo error NNGP %.4f, NTK %.4f; worst entry at %.2f of its "
                   "tolerance)\n%s%s\n",
                   c.ok ? "ok" : "FAILED", i, s,
                   c.accepted ? (c.ok ? "agrees" : "disagrees") : c.rule ? c.rule : "refused by no named rule",
                   c.rel_nngp, c.rel_ntk, c.worst_z, src, c.message);
    }
    printf("random nets: %lu drawn (seed %llu, %s), %zu accepted, %lu refused\n", nets, seed,
           anywhere ? "activations anywhere" : "activations on Gaussian inputs", accepted, nets - accepted);
    for (size_t r = 0; r < nrules; r++)
        if (per_rule[r])
            printf("  refused by %-28s %zu\n", random_rule_name(r), per_rule[r]);
    if (unclassified)
        printf("  refused by no named rule:    %zu\n", unclassified);
    printf("worst Monte Carlo error over the accepted nets (relative Frobenius, width %zu/%zu channels, %zu samples): "
           "NNGP %.4f, NTK %.4f; worst entry at %.2f of its tolerance (%.0f standard errors + bias)\n",
           co.width, co.conv_width, co.samples, worst_nngp, worst_ntk, worst_z, co.z);
    printf("%zu failed\n", failed);
    return failed ? 1 : 0;
}
