/* Slots, activation sets and parameter arrays of the image and all-pairs
 * emitters (emit_slots.h). */
#include "emit_slots.h"

#include "code.h"

void emit_slots_init(EmitSlots *s, int reserved)
{
    *s = (EmitSlots){.peak = reserved};
    for (int k = 0; k < reserved && k < EMIT_MAX_SLOTS; k++)
        s->used[k] = 1;
}

int emit_slot_new(EmitSlots *s, Diag *err, const char *emitter, const char *net_name)
{
    for (int k = 0; k < EMIT_MAX_SLOTS; k++)
        if (!s->used[k]) {
            s->used[k] = 1;
            s->peak = k + 1 > s->peak ? k + 1 : s->peak;
            return k;
        }
    diag_internal(err, "net '%s' nests branches too deeply for the %s emitter", net_name, emitter);
    return 1;
}

void emit_slot_free(EmitSlots *s, int k) { s->used[k] = 0; }

int emit_act_set_add(EmitActSet *set, const ActDef *def, Diag *err, const char *net_name)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->defs[i] == def)
            return 0;
    if (set->n == EMIT_MAX_ACTS) {
        diag_internal(err, "net '%s' uses too many distinct activations", net_name);
        return 0;
    }
    set->defs[set->n++] = def;
    return 1;
}

const char *emit_act_param_array(StrBuf *defs, const IrAct *a, size_t *count, char *name, size_t size)
{
    if (a->def->nparams == 0)
        return "(const double *)0";
    code_format(name, size, "ntkc_p%zu", (*count)++);
    sb_printf(defs, "static const double %s[%d] = {", name, a->def->nparams);
    for (int k = 0; k < a->def->nparams; k++) {
        sb_puts(defs, k ? ", " : "");
        sb_double(defs, a->p[k]);
    }
    sb_puts(defs, "};\n");
    return name;
}
