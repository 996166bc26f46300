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
