/* A small deterministic random source for the finite-width networks:
 * xoshiro256** (Blackman & Vigna) seeded through splitmix64, and standard
 * normals by Marsaglia's polar method. The state lives in the caller's Rng,
 * so runs are reproducible bit for bit and threads never share a stream. */
#ifndef NTKC_RNG_H
#define NTKC_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct Rng {
    uint64_t s[4];
    double spare; /* the polar method yields normals in pairs */
    int has_spare;
} Rng;

/* splitmix64: advances *state and returns the next output (used for seeding). */
uint64_t rng_splitmix64(uint64_t *state);
/* Seeds all 256 bits from one 64-bit seed (any value, 0 included). */
void rng_seed(Rng *r, unsigned long long seed);
uint64_t rng_next(Rng *r);
/* Uniform on [0, 1) with 53 random bits. */
double rng_uniform(Rng *r);
/* Standard normal N(0, 1). */
double rng_normal(Rng *r);
/* out[i] = std · N(0, 1), i < n, drawn in order. */
void rng_fill_normal(Rng *r, double *out, size_t n, double std);

#endif
