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
/* "ntkc_<net><suffix>" in the compiled code, or NULL with err set. */
void *ntkc_net_jit_symbol(const ntkc_net *net, const char *suffix, NtkcError *err);
/* Reads a whole file into a NUL-terminated malloc'd buffer, or NULL with err set. */
char *ntkc_read_text_file(const char *path, NtkcError *err);

#endif
