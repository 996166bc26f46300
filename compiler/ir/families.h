/* The table of net families: one row per kind of net the pipeline runs.
 *
 * Lowering decides a net's family once (IrNet.family, lower.c: lower_family)
 * and every later stage looks the family up here instead of re-deciding it
 * from the input kind and the op kinds. A row's columns:
 *
 *   ID        the IrFamily enumerator IR_FAMILY_<ID>
 *   NAME      for messages
 *   LOWER     the family's own lowering check, int f(Lower *) (compiler/ir)
 *   EMIT      its emitter, char *f(const IrNet *, const char *, Diag *)
 *             (compiler/emit)
 *   ENGINE    the runtime engine that runs the emitted code, and with it the
 *             ABI (compiler/abi/kernel_abi.h) whose symbols are bound after
 *             JIT compilation and the kind of inputs the net takes
 *             (runtime/api/family.c: tile_engine or graph_engine)
 *   FINITE    the finite-width Monte Carlo reference (runtime/finite), with
 *             the signature its engine's inputs call for
 *   TRAINS    1 when finite-width training (ntkc train) covers the family
 *
 * The table is an X-macro so that each layer expands only the columns it may
 * see: lowering reads LOWER, the emitter EMIT, the library ENGINE, FINITE and
 * TRAINS. The names in the other columns are never expanded there, so the
 * include graph stays a DAG (docs/architecture.md, "The family table").
 * Adding a family is adding a row (and its functions). */
#ifndef NTKC_FAMILIES_H
#define NTKC_FAMILIES_H

/* Image nets include sequences (1-row images) and vector nets with layers
 * only the image machinery has (fanout, residual, layer_norm). Attention
 * nets (an attention layer anywhere) hold full position-pair matrices
 * (emit_attn.c); their finite reference is the image family's. */
#define NTKC_FAMILIES(X)                                                                                      \
    X(FC, "fully connected", lower_check_fc_net, emit_fc_c, tile_engine, finite_net_kernels, 1)              \
    X(IMAGE, "image", lower_check_image_family, emit_image_c, tile_engine, finite_conv_kernels, 1)           \
    X(GRAPH, "graph", lower_check_graph_net, emit_graph_c, graph_engine, finite_graph_kernels, 1)           \
    X(ATTENTION, "attention", lower_check_attention_family, emit_attn_c, tile_engine, finite_conv_kernels, 1)

#define NTKC_FAMILY_ENUMERATOR(id, ...) IR_FAMILY_##id,
typedef enum IrFamily { NTKC_FAMILIES(NTKC_FAMILY_ENUMERATOR) IR_NFAMILIES } IrFamily;
#undef NTKC_FAMILY_ENUMERATOR

#endif
