/* The emitter for nets on images, and for vector nets with layers the fully
 * connected emitter lacks (fanout, residual, layer_norm). Same ABI as
 * emit.h; uses_gram() is 0: the tile reads x1/x2 itself.
 *
 * How an entry is computed: the kernel of a pair of images is a function of
 * pixel pairs (p, q). Grouped by their offset q − p, the pairs form "planes"
 * of at most H×W entries; a conv, dense, activation, layer_norm or a branch
 * without pooling maps each plane to the plane of the same offset (divided by
 * the stride), so a run of such layers — a segment — is computed one plane
 * at a time, through all its layers, in cache. Segments end at a pooling
 * layer (all planes are stored as a pixel-pair array, pooled axis by axis,
 * and read back as planes), at a switch between circular and other padding,
 * or at the head: global pooling sums every plane; flatten needs only the
 * plane of offset 0 (same-pixel pairs), so a net ending in flatten costs
 * O(P) per entry and a pooled one O(P²), with P pixels. Per-input variances
 * of every pixel before each activation and layer_norm form the prep record,
 * computed by the same code on (x, x) with the offset-0 plane first. */
#ifndef NTKC_EMIT_IMAGE_H
#define NTKC_EMIT_IMAGE_H

#include "diag.h"
#include "ir.h"
#include "strbuf.h"

/* The IMAGE row of the family table (compiler/ir/families.h). */
char *emit_image_c(const IrNet *net, const char *source_name, Diag *err);
/* single != 0: the float32 kernel (`--precision single`, kernel_abi.h): the
 * runtime of image_runtime_f.c, float planes, records and outputs, the
 * inputs double at the boundary. */
char *emit_image_c_prec(const IrNet *net, const char *source_name, int single, Diag *err);

/* For the library's host copies (tools/gen_host_prims, emit_prims.c): the
 * helpers with external linkage, then rows {"name", (HostFn)name} of the
 * table the libtcc back end registers, so JIT code calls gcc-optimised
 * helpers. */
void emit_image_host_source(StrBuf *sb);
void emit_image_host_table(StrBuf *sb);

#endif
