/* make check-random NETS=N SEED=S [ANYWHERE=0] [VERBOSE=1] [MC_MAX_SAMPLES=M]
 * [MC_CPU=B]: draws N random nets (tests/random_nets.c) from seed S, checks
 * each against the Monte Carlo finite networks, and prints how many were
 * drawn, accepted and refused (per rule), the worst Monte Carlo errors, and
 * every failure. Exit 1 on any.
 * Each accepted net is also compared with its kernels 20 % off (the same
 * finite networks): while those pass too, the samples double (up to M, and
 * while the next round fits in B CPU seconds for the net). A net whose NNGP
 * or NTK 20 % off still passes is counted and listed as uninformative for
 * that kernel — the check cannot vouch for it — with the reason the sampling
 * stopped; so is a net the check cannot judge either way, agreeing or not:
 * its samples heavy-tailed (random_sampling.h: the standard errors measure
 * nothing), or — a failing or capped net is compared with finite networks
 * of half the width — its finite-width bias beyond the allowance the check
 * gives it (random_drift_ratio). Such a net is listed, disagreements shown,
 * but not counted as a failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/random_nets.h"

typedef struct Tally {
    size_t accepted, uninformative, unjudgeable_disagreeing, failed, unclassified, per_rule[64];
    size_t limits[5], samples;
    double worst_nngp, worst_ntk, worst_z, cpu;
} Tally;

static const char *const limit_names[5] = {"bias", "heavy-tailed", "samples", "cpu", "drift"};

/* Accepted, but the Monte Carlo comparison can judge its kernels neither way. */
static int unjudgeable(const RandomCheck *c)
{
    return c->accepted && (c->heavy_tailed || (c->limit && strcmp(c->limit, "drift") == 0));
}

static const char *verdict(const RandomCheck *c, const int blind_k[2])
{
    if (!c->accepted)
        return c->rule ? c->rule : "refused by no named rule";
    if (c->heavy_tailed)
        return c->ok ? "agrees, but its samples are heavy-tailed" : "disagrees, but its samples are heavy-tailed";
    if (unjudgeable(c))
        return c->ok ? "agrees, but its finite-width bias is beyond the allowance"
                     : "disagrees, but its finite-width bias is beyond the allowance";
    if (!c->ok)
        return "disagrees";
    return blind_k[0] && blind_k[1] ? "agrees, but so do its kernels 20 % off"
           : blind_k[0]             ? "agrees, but so does its NNGP 20 % off"
           : blind_k[1]             ? "agrees, but so does its NTK 20 % off"
                                    : "agrees";
}

static void count(Tally *t, const RandomCheck *c, int blind)
{
    if (c->accepted) {
        t->accepted++;
        t->samples += c->samples, t->cpu += c->cpu_seconds;
        if (!unjudgeable(c)) { /* their means are no measure of the kernel's error */
            t->worst_nngp = c->rel_nngp > t->worst_nngp ? c->rel_nngp : t->worst_nngp;
            t->worst_ntk = c->rel_ntk > t->worst_ntk ? c->rel_ntk : t->worst_ntk;
            t->worst_z = c->worst_z > t->worst_z ? c->worst_z : t->worst_z;
        }
        for (int l = 0; l < 5 && blind && c->limit; l++)
            t->limits[l] += strcmp(c->limit, limit_names[l]) == 0;
    } else if (c->rule) {
        for (size_t r = 0; r < random_rule_count(); r++)
            t->per_rule[r] += strcmp(c->rule, random_rule_name(r)) == 0;
    } else {
        t->unclassified++;
    }
    t->uninformative += blind;
    t->unjudgeable_disagreeing += unjudgeable(c) && !c->ok;
    t->failed += !c->ok && !unjudgeable(c);
}

int main(int argc, char **argv)
{
    unsigned long nets = argc > 1 ? strtoul(argv[1], NULL, 10) : 50;
    unsigned long long seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    int anywhere = argc > 3 && atoi(argv[3]) != 0, verbose = argc > 4 && atoi(argv[4]) != 0;
    size_t max_samples = argc > 5 ? strtoul(argv[5], NULL, 10) : 512;
    double cpu_budget = argc > 6 ? strtod(argv[6], NULL) : 60.0;
    RandomNetOptions go = {.anywhere = anywhere};
    RandomCheckOptions co2[2] = {{.width = 512, .conv_width = 128, .samples = 32, .z = 5.0},
                                 {.width = 512, .conv_width = 128, .samples = 32, .z = 5.0, .perturb = 0.20}};
    co2[0].max_samples = max_samples, co2[0].cpu_budget = cpu_budget;
    const RandomCheckOptions co = co2[0];
    Tally t = {0};
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
        int blind = blind_k[0] || blind_k[1] || unjudgeable(&c);
        count(&t, &c, blind);
        if (!c.ok || blind || verbose) {
            printf("%s net %lu (seed %llu): %s (Monte Carlo error NNGP %.4f, NTK %.4f; worst entry at %.2f of its "
                   "tolerance",
                   !c.ok && !unjudgeable(&c) ? "FAILED" : blind ? "UNINFORMATIVE" : "ok", i, s,
                   verdict(&c, blind_k), c.rel_nngp, c.rel_ntk, c.worst_z);
            if (c.accepted)
                printf("; %zu samples, %.1f s CPU%s%s", c.samples, c.cpu_seconds,
                       blind && c.limit ? ", sampling stopped: " : "", blind && c.limit ? c.limit : "");
            if (c.drift > 0)
                printf("; drift against half the width at %.2f of what the bias allowance permits", c.drift);
            printf(")\n%s%s\n", src, c.message);
        }
    }
    printf("random nets: %lu drawn (seed %llu, %s), %zu accepted, %lu refused\n", nets, seed,
           anywhere ? "activations anywhere" : "activations on Gaussian inputs", t.accepted, nets - t.accepted);
    for (size_t r = 0; r < random_rule_count(); r++)
        if (t.per_rule[r])
            printf("  refused by %-28s %zu\n", random_rule_name(r), t.per_rule[r]);
    if (t.unclassified)
        printf("  refused by no named rule:    %zu\n", t.unclassified);
    printf("worst Monte Carlo error over the accepted nets (relative Frobenius, width %zu/%zu channels, %zu samples "
           "doubling up to %zu within %.0f s CPU a net; heavy-tailed nets left out): NNGP %.4f, NTK %.4f; worst entry "
           "at %.2f of its tolerance (%.0f standard errors + bias)\n",
           co.width, co.conv_width, co.samples, co.max_samples, co.cpu_budget, t.worst_nngp, t.worst_ntk, t.worst_z,
           co.z);
    printf("finite networks: %zu samples, %.1f s CPU over the accepted nets\n", t.samples, t.cpu);
    printf("%zu uninformative (the NNGP or NTK 20 %% off passes too, heavy-tailed samples, or a finite-width bias "
           "beyond the allowance: the check cannot vouch for these nets; listed above)",
           t.uninformative);
    for (int l = 0; l < 5; l++)
        if (t.limits[l])
            printf("%s %s %zu", l == 0 || !t.limits[0] ? "; sampling stopped by" : ",", limit_names[l], t.limits[l]);
    printf("\n");
    if (t.unjudgeable_disagreeing)
        printf("  of which %zu disagree, heavy-tailed or biased beyond the allowance (not counted as failures: their "
               "Monte Carlo means measure nothing of the kernels)\n",
               t.unjudgeable_disagreeing);
    printf("%zu failed\n", t.failed);
    return t.failed ? 1 : 0;
}
