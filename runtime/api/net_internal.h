/* What the library knows about a compiled net beyond the public API: the
 * CLI's `check` command and the tests reach the IR through this. */
#ifndef NTKC_NET_INTERNAL_H
#define NTKC_NET_INTERNAL_H

#include "engine.h"
#include "ir.h"
#include "ntkc.h"

const IrNet *ntkc_net_ir(const ntkc_net *net);
/* The compiled tile functions of a net of vectors or images (not graphs). */
const KernelFns *ntkc_net_kernel_fns(const ntkc_net *net);
/* NTKC_NET_PREFIX "<net><suffix>" (c_text.h) in the compiled code, or NULL with err set. */
void *ntkc_net_jit_symbol(const ntkc_net *net, const char *suffix, ntkc_error *err);
/* Documented limits (README, "Limits"): a net source and a graph file are
 * text read whole into memory, so their size is capped. */
#define NTKC_SOURCE_MAX ((size_t)64 << 20)
#define NTKC_GRAPH_FILE_MAX ((size_t)1 << 30)
/* Reads a whole text file (or pipe) of at most limit bytes into a
 * NUL-terminated malloc'd buffer, or NULL with err set; what names the kind
 * of file in the message ("larger than 64 MiB, the limit for net sources"). */
char *ntkc_read_text_file_max(const char *path, size_t limit, const char *what, ntkc_error *err);
/* A net source: ntkc_read_text_file_max with NTKC_SOURCE_MAX. */
char *ntkc_read_text_file(const char *path, ntkc_error *err);

#endif
