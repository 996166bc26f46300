/* What the image and all-pairs emitters (emit_image.c, emit_attn.c) both
 * keep while they walk a net: the numbered buffers pl[k] of the emitted
 * entry, taken and given back as the ops nest, whose most ever used sizes
 * the workspace; the activations whose dual functions the file holds
 * already; the activations' parameter arrays. */
#ifndef NTKC_EMIT_SLOTS_H
#define NTKC_EMIT_SLOTS_H

#include <stddef.h>

#include "act.h"
#include "diag.h"
#include "ir.h"
#include "strbuf.h"

enum { EMIT_MAX_SLOTS = 64, EMIT_MAX_ACTS = 64 };

typedef struct EmitSlots {
    int used[EMIT_MAX_SLOTS];
    int peak; /* slots ever used: pl[0 .. peak) */
} EmitSlots;

/* No slot used but 0 .. reserved - 1, held for good (scratch, inputs). */
void emit_slots_init(EmitSlots *s, int reserved);
/* The lowest free slot; none left: an internal error naming the emitter
 * (nesting that deep is the emitter's limit) and slot 1. */
int emit_slot_new(EmitSlots *s, Diag *err, const char *emitter, const char *net_name);
void emit_slot_free(EmitSlots *s, int k);

typedef struct EmitActSet {
    const ActDef *defs[EMIT_MAX_ACTS];
    size_t n;
} EmitActSet;

/* 1 the first time def joins the set; 0 after, and when the set is full
 * (then with an internal error). */
int emit_act_set_add(EmitActSet *set, const ActDef *def, Diag *err, const char *net_name);

/* The activation's parameter array, written to defs as
 * "static const double ntkc_p<k>[n] = {...};" (k = (*count)++): its name in
 * name; "(const double *)0" when it has no parameters. */
const char *emit_act_param_array(StrBuf *defs, const IrAct *a, size_t *count, char *name, size_t size);

#endif
