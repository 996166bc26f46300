/* Lowering of the input declaration: `input vector(D)`, `image(H, W, C)`,
 * `sequence(L, C)` (a 1-row image), `volume(D, H, W, C)` (an image whose rows
 * stack the slices, lower_volume.c) and `graph(F, normalize)`, placed before
 * the first layer; it sets the shape the first layer reads. */
#include <string.h>

#include "editdist.h"
#include "lower_internal.h"

typedef struct InputKind {
    const char *name;
    int nargs;
    ParamSpec spec[5];
} InputKind;

/* masked=true: the inputs may be padded (variable lengths); the net is then
 * computed by the all-pairs back end of attention nets, which masks every
 * layer (families.h, docs/attention.md "Masking"). */
#define MASKED_SPEC {"masked", 0, 0, 1, 1, 0, lower_bool_names}

static const InputKind input_kinds[] = {
    {"image", 4,
     {{"height", 0, 1, SHOWN_MAX, 1, 1, NULL}, {"width", 0, 1, SHOWN_MAX, 1, 1, NULL},
      {"channels", 0, 1, SHOWN_MAX, 1, 1, NULL}, MASKED_SPEC}},
    {"sequence", 3,
     {{"length", 0, 1, SHOWN_MAX, 1, 1, NULL}, {"channels", 0, 1, SHOWN_MAX, 1, 1, NULL}, MASKED_SPEC}},
    {"vector", 1, {{"dim", 0, 1, SHOWN_MAX, 1, 1, NULL}}},
    {"volume", 5,
     {{"depth", 0, 1, SHOWN_MAX, 1, 1, NULL}, {"height", 0, 1, SHOWN_MAX, 1, 1, NULL},
      {"width", 0, 1, SHOWN_MAX, 1, 1, NULL}, {"channels", 0, 1, SHOWN_MAX, 1, 1, NULL}, MASKED_SPEC}},
    {"graph", 2, {{"features", 0, 1, SHOWN_MAX, 1, 1, NULL}, {"normalize", 1, 0, 1, 1, 0, lower_bool_names}}},
};

static int input_placement(Lower *L, const Stmt *s, int depth)
{
    if (depth > 0) {
        diag_at(L->err, s->pos, L->src, "'input' is only allowed at net level, not inside a block");
        return 0;
    }
    if (L->input_given) {
        diag_at(L->err, s->pos, L->src, "'input' given twice in net '%s' (first at %s)", L->net->name,
                lower_pos_str(L, L->input.pos));
        return 0;
    }
    if (L->seen_layer) {
        diag_at(L->err, s->pos, L->src, "'input' must come before the first layer of net '%s'", L->net->name);
        return 0;
    }
    return 1;
}

int lower_input(Lower *L, const Stmt *s, int depth)
{
    if (!input_placement(L, s, depth))
        return 0;
    const InputKind *kind = NULL;
    int best = 3;
    const char *near = NULL;
    for (size_t i = 0; i < sizeof input_kinds / sizeof input_kinds[0]; i++) {
        if (strcmp(input_kinds[i].name, s->u.input.kind) == 0)
            kind = &input_kinds[i];
        int d = edit_distance(s->u.input.kind, input_kinds[i].name, 2);
        if (d < best)
            best = d, near = input_kinds[i].name;
    }
    if (kind == NULL) {
        diag_at(L->err, s->u.input.kind_pos, L->src, "unknown input kind '%s'%s (known: image, sequence, volume, vector, graph)",
                s->u.input.kind, near ? arena_printf(L->a, "; did you mean '%s'?", near) : "");
        return 0;
    }
    /* The argument binder reads layer statements; present the input as one. */
    Stmt as_layer = {.kind = STMT_LAYER, .pos = s->pos};
    as_layer.u.layer.name = arena_printf(L->a, "input %s", kind->name);
    as_layer.u.layer.args = s->u.input.args;
    Bound b;
    if (!lower_bind_args(L, &as_layer, kind->spec, kind->nargs, &b))
        return 0;
    IrInput in = {.pos = s->pos};
    if (strcmp(kind->name, "vector") == 0) {
        in.kind = IR_INPUT_VECTOR;
        in.dim = (size_t)b.v[0];
    } else if (strcmp(kind->name, "graph") == 0) { /* lower_graph.c */
        in.kind = IR_INPUT_GRAPH;
        in.dim = (size_t)b.v[0];
        in.raw_gram = b.v[1] == 0;
    } else if (strcmp(kind->name, "volume") == 0) { /* lower_volume.c: its slices' rows stacked */
        in.kind = IR_INPUT_IMAGE;
        in.depth = (size_t)b.v[0];
        in.h = in.depth * (size_t)b.v[1];
        in.w = (size_t)b.v[2];
        in.c = (size_t)b.v[3];
        in.masked = b.v[4] != 0; /* (n, D, H, W) masks; windows keep the grid (lower_volume_masks.c) */
        if ((double)b.v[0] * b.v[1] * b.v[2] * b.v[3] > 1e12) {
            diag_at(L->err, s->pos, L->src, "input of %g×%g×%g×%g values is too large", b.v[0], b.v[1], b.v[2],
                    b.v[3]);
            return 0;
        }
        in.dim = in.h * in.w * in.c;
        L->shape = (IrShape){in.h, in.w, 1, in.depth};
    } else {
        int seq = strcmp(kind->name, "sequence") == 0;
        in.kind = IR_INPUT_IMAGE;
        in.sequence = seq;
        in.h = seq ? 1 : (size_t)b.v[0];
        in.w = (size_t)b.v[seq ? 0 : 1];
        in.c = (size_t)b.v[seq ? 1 : 2];
        in.masked = b.v[seq ? 2 : 3] != 0;
        if ((double)in.h * (double)in.w * (double)in.c > 1e12) {
            diag_at(L->err, s->pos, L->src, "input of %zu×%zu×%zu values is too large", in.h, in.w, in.c);
            return 0;
        }
        in.dim = in.h * in.w * in.c;
        L->shape = (IrShape){in.h, in.w, 1, 0};
    }
    L->input = in;
    L->input_given = 1;
    return 1;
}
