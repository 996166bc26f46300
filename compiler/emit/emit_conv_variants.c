/* conv_transpose and conv_local in the image emitter. Neither maps a plane of
 * pixel pairs (a fixed offset q − p) to one plane: upsampling spreads an
 * offset over s of them, and a locally connected layer keeps only offset 0
 * but reads every tap's same-pixel pairs. So they end a segment as pooling
 * does and work on the whole pixel-pair arrays, axis pair by axis pair
 * (ntkc_cvar4 in compiler/kernel_c/image_runtime.c):
 *   Σ' = w²/|F|·K(Σ) + b²,  Θ' = w²/|F|·K(Θ) + Σ'
 * with K the conv (or transposed conv) of both pixels by the same tap, and
 * for conv_local every pair of different pixels zero, bias included
 * (neural-tangents' _conv_kernel_full_spatial_unshared).
 * Under param standard (neural-tangents' _Conv in stax/linear.py, shared by
 * Conv, ConvTranspose and ConvLocal: fan_in = C·kh·kw, the input channels
 * times the filter; kernel_fn's standard branch: ntk = fan_in·conv_unscaled(Σ)
 * + W_std²·conv_unscaled(Θ), then affine(ntk, 1, 1) with a bias, nngp =
 * W_std²·conv_unscaled(Σ) + b_std², conv_unscaled the tap average K/|F|):
 *   Σ' = w²/|F|·K(Σ) + b²,  Θ' = C·K(Σ) + w²/|F|·K(Θ) (+1 with a bias)
 * on the same pixel pairs as above (conv_local's affine adds the 1 and b² on
 * the same-pixel pairs only); trainable=false keeps Θ' = w²/|F|·K(Θ). */
#include "emit_conv_variants.h"

#include <stdio.h>

#include "emit_args.h"
#include "emit_resize.h"
#include "ir_args.h"

int emit_is_conv_variant(const IrOp *op)
{
    return op->kind == IR_CONV_TRANSPOSE || op->kind == IR_CONV_LOCAL || op->kind == IR_IMAGE_RESIZE;
}

void emit_conv_variant(Code *c, const IrOp *op, int standard, size_t h, size_t w, size_t *gh, size_t *gw, Diag *err)
{
    if (op->kind == IR_IMAGE_RESIZE) { /* the same place in a segment: emit_resize.c */
        emit_image_resize(c, op, h, w, gh, gw);
        return;
    }
    const IrConv *cv = &op->u.conv;
    const IrWindow *win = &cv->win;
    int transpose = op->kind == IR_CONV_TRANSPOSE, cyc = win->pad == IR_PAD_CIRCULAR;
    size_t fh = transpose && cyc ? cv->fold_h : 0, fw = transpose && cyc ? cv->fold_w : 0;
    size_t mh = fh > op->out.h ? fh : op->out.h, mw = fw > op->out.w ? fw : op->out.w;
    *gh = mh > h ? mh : h;
    *gw = mw > w ? mw : w;
    double scale = cv->w_std * cv->w_std / ((double)win->kh * win->kw);
    /* ntkc_cvar4(X, Y, t1, t2, H, W, Ho, Wo, window, circular, transpose, fold_h, fold_w, descriptor,
     * scale, addc, add) */
    CodeArgs ca;
    code_args_init(&ca);
    code_arg_size(&ca, h);
    code_arg_size(&ca, w);
    code_arg_size(&ca, op->out.h);
    code_arg_size(&ca, op->out.w);
    emit_window_args(&ca, win, 0);
    code_arg_int(&ca, cyc);
    code_arg_int(&ca, transpose);
    code_arg_size(&ca, fh);
    code_arg_size(&ca, fw);
    emit_row_args(&ca, op, err);
    CodeArgs cf; /* the geometry with the fan-in term's scale C (= C·|F| times 1/|F|) */
    code_args_init(&cf);
    code_arg(&cf, code_args_text(&ca));
    code_arg_lit(&cf, (double)cv->fan_in);
    code_arg_lit(&ca, scale);
    const char *args = code_args_text(&ca);
    code_line(c, "/* %s %dx%d stride %dx%d, line %d */", transpose ? "conv_transpose" : "conv_local", win->kh, win->kw,
              win->sh, win->sw, op->pos.line);
    if (standard && ir_arg(&op->args, "trainable", 1) != 0) {
        /* inT = C·K(Σ) first, while bS still holds Σ; then Θ' on top of it (add = inT, read before written) */
        code_line(c, "ntkc_cvar4`(bS, inT, t1, t2, %s, 0.0, (const @ *)0); /* param standard: C·K(Σ) */",
                  code_args_text(&cf));
        code_line(c, "ntkc_cvar4`(bT, inT, t1, t2, %s, %s, inT);", args, cv->has_bias ? "1.0" : "0.0");
        code_line(c, "ntkc_cvar4`(bS, inS, t1, t2, %s, %s, (const @ *)0);", args, code_lit(cv->b_std * cv->b_std).s);
    } else {
        code_line(c, "ntkc_cvar4`(bS, inS, t1, t2, %s, %s, (const @ *)0);", args, code_lit(cv->b_std * cv->b_std).s);
        code_line(c, "ntkc_cvar4`(bT, inT, t1, t2, %s, 0.0, inS);", args);
    }
    code_args_free(&ca);
    code_args_free(&cf);
}
