/* The property test over random nets (tests/random_nets.c): every net the
 * generator draws is either refused by a named rule or agrees with the Monte
 * Carlo average of finite networks (runtime/finite_*.c) entry by entry, within
 * 5 standard errors of the mean (measured from the samples' spread) plus the
 * O(L/width) bias of a finite network with L nonlinear layers. A small seeded
 * set; `make check-random NETS=N SEED=S` runs more. */
#include <criterion/criterion.h>
#include <string.h>

#include "random_nets.h"
#include "util.h"

static const RandomCheckOptions checks = {.width = 512, .conv_width = 128, .samples = 32, .z = 5.0};

Test(random_nets, seeded_nets_agree_or_are_refused_by_a_rule, .timeout = TIMEOUT(300))
{
    static char src[RANDOM_NET_SOURCE];
    RandomNetOptions go = {.anywhere = 1};
    int accepted = 0;
    for (unsigned long long s = 1; s <= 24; s++) {
        random_net_source(s, &go, src);
        RandomCheck c;
        random_net_check(src, s, &checks, &c);
        accepted += c.accepted;
        cr_expect(c.ok, "net from seed %llu %s:\n%s%s", s,
                  c.accepted ? "disagrees with its finite networks" : "refused by no named rule", src, c.message);
    }
    cr_expect_geq(accepted, 8, "only %d of 24 random nets compiled", accepted);
}

/* The check can fail: the same nets with their exact kernels 20 % off. */
Test(random_nets, a_kernel_20_percent_off_is_caught, .timeout = TIMEOUT(300))
{
    static char src[RANDOM_NET_SOURCE];
    RandomNetOptions go = {.anywhere = 1};
    RandomCheckOptions off = checks;
    off.perturb = 0.20;
    int caught = 0, accepted = 0;
    for (unsigned long long s = 1; s <= 6; s++) {
        random_net_source(s, &go, src);
        RandomCheck c;
        random_net_check(src, s, &off, &c);
        accepted += c.accepted;
        caught += c.accepted && !c.ok;
    }
    cr_expect_eq(caught, accepted, "only %d of %d nets 20 %% off were caught", caught, accepted);
}

/* Refusals the generator reaches are named; a message no rule knows is not. */
Test(random_nets, refusals_are_classified)
{
    RandomCheck c;
    random_net_check("net n { input image(2, 2, 1); conv(3, padding=valid); flatten; dense }", 1, &checks, &c);
    cr_expect(!c.accepted && c.ok && c.rule && strcmp(c.rule, "valid-window-too-large") == 0, "%s", c.message);
    random_net_check("net n { dense; frobnicate; dense }", 1, &checks, &c);
    cr_expect(!c.accepted && !c.ok && c.rule == NULL, "an unknown layer is no rule of the kernel: %s", c.message);
}
