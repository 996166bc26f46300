/* The image tests' comparison with the pixel-pair reference (conv_reference.c):
 * ntkc's kernel entry by entry against conv_reference, one helper for
 * test_conv_variants.c, test_image_resize.c, test_frozen_variants.c,
 * test_fanout_pairs.c and test_dropout_image.c. */
#ifndef NTKC_CONV_COMPARE_H
#define NTKC_CONV_COMPARE_H

#include <stddef.h>

#include "ntkc.h"

/* ntkc_kernel of net on (x1, x2) — x2 NULL: (x1, x1), whose equal rows are
 * the same input — into s and t (n1·n2 each, kept for the caller's own
 * checks); every entry expected within tol·(1 + |reference|) of
 * conv_reference's, a miss naming the entry and src. Returns the worst
 * relative error |got − reference| / (1 + |reference|). */
double expect_conv_reference(ntkc_net *net, const char *src, size_t n1, const double *x1, size_t n2,
                             const double *x2, double tol, double *s, double *t);

/* src compiled on libtcc (and then on cc when both_backends), its kernel on
 * n rows from fill_random(seed) checked by expect_conv_reference. With
 * NTKC_REPORT set, prints the worst relative error. */
void check_conv_reference(const char *src, size_t n, unsigned long long seed, int both_backends, double tol);

#endif
