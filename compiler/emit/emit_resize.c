/* image_resize in the image emitter: jax.image.resize is a fixed linear map
 * R = Rh ⊗ Rw of the positions (ir_resize.h), so the kernel of the resized
 * field is R Σ Rᵀ — Rh on both inputs' rows, Rw on both inputs' columns —
 * and Θ alike (ntkc_resize4 in compiler/kernel_c/image_runtime.c). The
 * weights are compile-time constants: the emitted code holds them as exact
 * literals. */
#include "emit_resize.h"

#include <stdlib.h>

#include "ir_resize.h"
#include "strbuf.h"

/* static const double NAME[] = {...}; one axis's weights. */
static void weights_array(Code *c, const char *name, const IrResize *r, size_t n_in, size_t n_out)
{
    double *R = malloc(n_in * n_out * sizeof *R);
    StrBuf vals;
    sb_init(&vals);
    if (R == NULL) { /* no memory: the emitted file fails to compile, never computes a wrong kernel */
        code_line(c, "#error \"ntkc: out of memory while emitting image_resize\"");
        return;
    }
    ir_resize_weights(r, n_in, n_out, R);
    for (size_t k = 0; k < n_in * n_out; k++) {
        sb_puts(&vals, k ? ", " : "");
        sb_double(&vals, R[k]);
    }
    code_line(c, "static const @ %s[%zu] = {%s};", name, n_in * n_out, vals.data);
    sb_free(&vals);
    free(R);
}

void emit_image_resize(Code *c, const IrOp *op, size_t h, size_t w, size_t *gh, size_t *gw)
{
    size_t ho = op->out.h, wo = op->out.w;
    *gh = ho > h ? ho : h;
    *gw = wo > w ? wo : w;
    code_line(c, "/* image_resize %zux%zu -> %zux%zu, %s, line %d */", h, w, ho, wo,
              op->u.resize.nearest ? "nearest" : op->u.resize.antialias ? "linear, antialias" : "linear",
              op->pos.line);
    code_open(c, "{");
    weights_array(c, "rh", &op->u.resize, h, ho);
    weights_array(c, "rw", &op->u.resize, w, wo);
    code_line(c, "ntkc_resize4`(bS, inS, t1, t2, %zu, %zu, %zu, %zu, rh, rw);", h, w, ho, wo);
    code_line(c, "ntkc_resize4`(bT, inT, t1, t2, %zu, %zu, %zu, %zu, rh, rw);", h, w, ho, wo);
    code_close(c, "");
}
