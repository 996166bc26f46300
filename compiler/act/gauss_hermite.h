/* Gauss–Hermite quadrature for the standard normal: the rule that formula
 * activations emit as constant arrays and that the tests use as a reference. */
#ifndef NTKC_GAUSS_HERMITE_H
#define NTKC_GAUSS_HERMITE_H

enum { GH_MAX_POINTS = 1000 };

/* Nodes z (ascending) and weights w (summing to 1) of the n-point rule
 *   E[f(Z)] ≈ Σ w_i f(z_i),  Z ~ N(0, 1),
 * exact for polynomials of degree ≤ 2n − 1. Golub–Welsch eigenvalues polished
 * by Newton; weights from the Christoffel function, so tiny outer weights keep
 * their relative accuracy (or underflow to 0). Returns 0, or -1 when n is
 * outside [1, GH_MAX_POINTS] or the eigenvalue iteration does not converge. */
int gauss_hermite(int n, double *z, double *w);

#endif
