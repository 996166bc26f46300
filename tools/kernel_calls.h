/* The call graph of the kernel-time C, computed when make embeds it
 * (tools/embed_text): which static function of compiler/kernel_c/ calls or
 * names which, directly or through a macro. The emitters then keep only the
 * functions a net's own code reaches (compiler/emit/code_kernel.c) without
 * reading the kernel text again at every compile. */
#ifndef NTKC_KERNEL_CALLS_H
#define NTKC_KERNEL_CALLS_H

#include <stdio.h>

typedef struct KernelCalls KernelCalls;

KernelCalls *kc_new(void);

/* One embedded string NAME, as it is written into the generated file. */
void kc_add_span(KernelCalls *kc, const char *name, const char *text);

/* Writes NAME_parts (a KernelText, compiler/emit/kernel_text.h) for every
 * span added, then the node table, the closures and the name hash; frees
 * kc. Exits with a message on a layout it cannot read or a name the
 * emitters' scan would miss. */
void kc_write(KernelCalls *kc, FILE *out);

#endif
