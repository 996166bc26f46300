/* Layers no finite-width network computes, refused by name. */
#ifndef NTKC_FINITE_REFUSE_H
#define NTKC_FINITE_REFUSE_H

#include "ir.h"
#include "ntkc.h"

/* A kernel-only activation (exp_normalized: a kernel map without an
 * elementwise φ) anywhere in net, branches included: an error at it, naming
 * it; else NTKC_OK. */
int finite_refuse_kernel_only(const IrNet *net, ntkc_error *err);

#endif
