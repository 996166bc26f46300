/* Random architectures from the whole language, and their check against the
 * Monte Carlo finite networks `ntkc check` uses (runtime/finite_*.c): the
 * property test of tests/test_random_nets.c and `make check-random`
 * (tools/check_random.c). No Criterion here: both link it. */
#ifndef NTKC_RANDOM_NETS_H
#define NTKC_RANDOM_NETS_H

#include <stddef.h>

/* Under param standard the generator writes widths: dense(width=512) and,
 * in image nets, conv(width=RANDOM_STD_CONV_WIDTH). */
enum { RANDOM_NET_SOURCE = 8192, RANDOM_GRAPH_FEATURES = 3, RANDOM_STD_CONV_WIDTH = 128 };

typedef struct RandomNetOptions {
    /* 0: activations, layer_norm and products only where their inputs are
     * Gaussian fields (outputs of dense/conv), the nets whose kernels are
     * exact while the compiler does not check Gaussianity; 1: anywhere. */
    int anywhere;
} RandomNetOptions;

/* The source text of net `rnd` drawn from seed (deterministic). */
void random_net_source(unsigned long long seed, const RandomNetOptions *o, char src[RANDOM_NET_SOURCE]);

typedef struct RandomCheckOptions {
    size_t width, samples;  /* finite networks: hidden width (vector nets), samples */
    size_t conv_width;      /* hidden channels of image and branching nets */
    double z;               /* standard errors allowed */
    double perturb;         /* tests of the test: compare with exact·(1 + perturb) */
    const char *exact_src;  /* tests of the test: the exact kernels of this net instead (NULL: src's) */
    /* Adaptive sampling (0: exactly `samples`): while the check passes and
     * some option with perturb ≠ 0 passes too (the check cannot tell the
     * kernels from kernels that far off), double the samples, up to
     * max_samples and as long as the next round fits in cpu_budget seconds
     * of CPU for the net. It stops early when no number of samples could
     * help: the bias allowance alone covers the perturbation at every entry,
     * or the samples are heavy-tailed (random_sampling.h). */
    size_t max_samples;
    double cpu_budget;
} RandomCheckOptions;

/* What became of one net. */
typedef struct RandomCheck {
    int accepted;        /* compiled and evaluated */
    const char *rule;    /* refused: the rule's name, or NULL when no rule matches (a failure) */
    int ok;              /* accepted and within tolerance, or refused by a named rule */
    int within[2];       /* accepted: the NNGP's (0) and the NTK's (1) entries all within tolerance */
    double rel_nngp, rel_ntk; /* relative Frobenius errors of the Monte Carlo averages */
    double worst_z;      /* largest |error| / tolerance over entries (≤ 1 passes) */
    char message[2048];  /* the refusal, or where the kernels disagree */
    size_t samples;      /* accepted: the finite networks drawn */
    double cpu_seconds;  /* accepted: their CPU time */
    int heavy_tailed;    /* accepted: random_acc_heavy_tailed — the standard errors measure nothing */
    /* Adaptive sampling stopped while a perturbed option still passed:
     * "bias" (the O(L/width) allowance alone covers it), "heavy-tailed",
     * "samples" (max_samples), "cpu" (cpu_budget), "drift" (below); else NULL. */
    const char *limit;
    /* Adaptive sampling, when the check failed or stopped blind at a cap: the
     * finite-width drift test (random_drift_ratio) against networks of half
     * the width; > 1 marks the net's bias beyond its allowance (limit "drift").
     * 0 when not run. */
    double drift;
} RandomCheck;

/* Compiles src (libtcc), and either classifies its refusal or compares its
 * kernels on 3 random inputs with the finite networks'. Entry (i, j) passes
 * when |MC − exact| ≤ z·SE + (L/W)·√(K_ii K_jj): SE the standard error of the
 * mean over the samples (their spread measured, one finite network each),
 * L/W the O(1/width) bias of a finite network with L nonlinear layers. */
void random_net_check(const char *src, unsigned long long seed, const RandomCheckOptions *o, RandomCheck *out);

/* random_net_check under nopts options from one Monte Carlo run (the
 * finite networks are what costs): out[k] is o[k]'s result, exactly what
 * random_net_check(src, seed, &o[k], &out[k]) gives without adaptive
 * sampling. The options may differ in z, perturb and exact_src only; widths,
 * samples and the adaptive sampling are o[0]'s (its rounds judged on all
 * the options). For the
 * tests of the test (kernels off by 20 %, another net's kernels) beside the
 * check itself. */
void random_net_checks(const char *src, unsigned long long seed, const RandomCheckOptions *o, size_t nopts,
                       RandomCheck *out);

/* The named refusal rules (for counting): their count and names. */
size_t random_rule_count(void);
const char *random_rule_name(size_t i);

#endif
