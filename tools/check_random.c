/* make check-random NETS=N SEED=S [ANYWHERE=0] [VERBOSE=1]: draws N random nets
 * (tests/random_nets.c) from seed S, checks each against the Monte Carlo
 * finite networks, and prints how many were drawn, accepted and refused (per
 * rule), the worst Monte Carlo errors, and every failure. Exit 1 on any.
 * Each accepted net is also compared with its kernels 20 % off (the same
 * finite networks): a net whose NNGP or NTK passes 20 % off too is counted
 * and listed as uninformative for that kernel — its standard errors are too
 * wide to vouch for it — not as agreeing. */
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
    const RandomCheckOptions co2[2] = {{.width = 512, .conv_width = 128, .samples = 32, .z = 5.0},
                                       {.width = 512, .conv_width = 128, .samples = 32, .z = 5.0, .perturb = 0.20}};
    const RandomCheckOptions co = co2[0];
    size_t accepted = 0, uninformative = 0, failed = 0, unclassified = 0, per_rule[64] = {0};
    size_t nrules = random_rule_count();
    double worst_nngp = 0, worst_ntk = 0, worst_z = 0;
    static char src[RANDOM_NET_SOURCE];
    for (unsigned long i = 0; i < nets; i++) {
        unsigned long long s = seed * 1000003ULL + i;
        random_net_source(s, &go, src);
        RandomCheck both[2];
        random_net_checks(src, s, co2, 2, both); /* the check, and kernels 20 % off: one Monte Carlo run */
        RandomCheck c = both[0];
        int blind_k[2] = {0, 0};
        for (int k = 0; k < 2; k++)
            blind_k[k] = c.accepted && c.ok && both[1].accepted && both[1].within[k];
        int blind = blind_k[0] || blind_k[1];
        uninformative += blind;
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
        if (!c.ok || blind || verbose)
            printf("%s net %lu (seed %llu): %s (Monte Carlo error NNGP %.4f, NTK %.4f; worst entry at %.2f of its "
                   "tolerance)\n%s%s\n",
                   !c.ok ? "FAILED" : blind ? "UNINFORMATIVE" : "ok", i, s,
                   c.accepted ? (!c.ok                      ? "disagrees"
                                 : blind_k[0] && blind_k[1] ? "agrees, but so do its kernels 20 % off"
                                 : blind_k[0]               ? "agrees, but so does its NNGP 20 % off"
                                 : blind_k[1]               ? "agrees, but so does its NTK 20 % off"
                                                            : "agrees")
                   : c.rule   ? c.rule
                              : "refused by no named rule",
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
    printf("%zu uninformative (the NNGP or NTK 20 %% off passes too: the finite networks' standard errors are too wide to "
           "vouch for these nets; listed above)\n",
           uninformative);
    printf("%zu failed\n", failed);
    return failed ? 1 : 0;
}
