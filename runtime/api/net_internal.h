/* What the library knows about a compiled net beyond the public API: the
 * runtime's other rooms (the finite-width reference of `ntkc check`,
 * training dynamics) and the tests reach the IR through this; the CLI cannot. */
#ifndef NTKC_NET_INTERNAL_H
#define NTKC_NET_INTERNAL_H

#include "engine.h"
#include "family.h"
#include "ir.h"
#include "ntkc.h"
#include "ntkc_tool.h"

const IrNet *ntkc_net_ir(const ntkc_net *net);
/* 1 for a net compiled with NTKC_PRECISION_SINGLE (float32 tile ABI). */
int ntkc_net_is_single(const ntkc_net *net);
/* The compiled functions of a net, in its engine's ABI (kernel_abi.h): the
 * tile ABI for nets of vectors or images, the graph ABI for graph nets. */
const NtkcTileFns *ntkc_net_kernel_fns(const ntkc_net *net);
const NtkcGraphFns *ntkc_net_graph_fns(const ntkc_net *net);
/* The eval-mode twin of a net with train-mode dropout (compiler/ir/
 * ir_dropout_eval.h): the same recursion emitted with every dropout at rate
 * 1, compiled with net's backend and precision; free it with ntkc_net_free
 * (before net). NULL with err set when net has no dropout. */
ntkc_net *ntkc_net_dropout_eval(const ntkc_net *net, ntkc_error *err);
int ntkc_net_is_twin_of(const ntkc_net *twin, const ntkc_net *net);
/* The kernel between x1's inputs in eval mode (no dropout: as twin, the
 * eval-mode twin of net, sees them) and x2's under their own masks (as net
 * sees them), no input of one sharing a mask with one of the other — x2 may
 * be x1: an input against itself under its mask. n1×n2 NNGP and NTK
 * (either may be NULL); float64 nets. The eval side's variances are
 * unscaled, the masked side's divided by the rate at every dropout, their
 * covariance unscaled: the test–train kernel of `ntkc train` with dropout
 * (runtime/dynamics/train_dropout.c). */
int ntkc_kernel_dropout_mixed_twin(const ntkc_net *net, const ntkc_net *twin, size_t n1, const double *x1, size_t n2,
                              const double *x2, size_t dim, double *nngp, double *ntk, const ntkc_eval_options *opts,
                              ntkc_error *err);
/* The same for graph nets: g1's graphs in eval mode, g2's under masks. */
int ntkc_kernel_graphs_dropout_mixed_twin(const ntkc_net *net, const ntkc_net *twin, const ntkc_graphs *g1,
                                     const ntkc_graphs *g2, double *nngp, double *ntk, const ntkc_eval_options *opts,
                                     ntkc_error *err);
/* x1's rows against x2's, no pair sharing a mask even where x2 is x1 (x2
 * copied first, so no row is the same input as one of x1): the training
 * kernel of nets trained with fresh dropout masks (train_dropout.c,
 * dropout_fresh prediction). n1×n2 NNGP and NTK (either may be NULL). */
int ntkc_kernel_two_draws(const ntkc_net *net, size_t n1, const double *x1, size_t n2, const double *x2, size_t dim,
                          double *nngp, double *ntk, const ntkc_eval_options *opts, ntkc_error *err);
/* Documented limits (README, "Limits"): a net source and a graph file are
 * text read whole into memory, so their size is capped. */
#define NTKC_SOURCE_MAX ((size_t)64 << 20)
#define NTKC_GRAPH_FILE_MAX ((size_t)1 << 30)
/* Reads a whole text file (or pipe) of at most limit bytes into a
 * NUL-terminated malloc'd buffer, or NULL with err set; what names the kind
 * of file in the message ("larger than 64 MiB, the limit for net sources"). */
char *ntkc_read_text_file_max(const char *path, size_t limit, const char *what, ntkc_error *err);
/* ntkc_read_text_file (ntkc_tool.h) is this with NTKC_SOURCE_MAX. */

#endif
