/* Checking the inputs of a kernel call for padding (ntkc_padding.c). */
#ifndef NTKC_PADDING_H
#define NTKC_PADDING_H

#include <stddef.h>

#include "ntkc.h"

/* 0 when every value of the n×dim rows x is finite, or NaN in every channel
 * of a position of a net with attention (padding) with at least one
 * position left; else the error code with err naming `which`[row, column]. */
int padding_check(const ntkc_net *net, size_t n, const double *x, size_t dim, const char *which, ntkc_error *err);

#endif
