/* Variable-length inputs: padding positions, marked by NaN in every channel
 * (neural-tangents' mask_constant = NaN), for nets with attention, whose
 * kernels leave them out of every layer (compiler/kernel_c/attn_runtime.c,
 * docs/attention.md "Masking"). Marking them (ntkc_mask_inputs,
 * ntkc_mask_lengths) and checking the inputs every kernel call gets. */
#include <math.h>

#include "net_internal.h"
#include "ntkc_padding.h"

/* Positions of the net's input (a volume's D·H·W: its rows stack the slices)
 * and channels per position; 0 when it has none. */
static size_t positions(const IrNet *ir, size_t *channels)
{
    *channels = ir->input.c;
    return ir->input.kind == IR_INPUT_IMAGE ? ir->input.h * ir->input.w : 0;
}

/* Nets that can take padding: 0, or the error code with err naming why not. */
static int can_pad(const IrNet *ir, ntkc_error *err)
{
    size_t c;
    if (positions(ir, &c) == 0)
        err_user(err, "net '%s' takes %s: it has no positions to mask (masks and lengths are for sequences and "
                      "images)", ir->name, ir->input.kind == IR_INPUT_GRAPH ? "graphs" : "vectors");
    else if (ir->input.depth && !ir->input.masked)
        err_user(err, "net '%s' takes volumes and its input is not declared masked: padded volumes (masks) need "
                      "`input volume(D, H, W, C, masked=true)`", ir->name);
    else if (ir->family != IR_FAMILY_ATTENTION)
        err_user(err, "net '%s' has no attention layer and its input is not declared masked: variable-length inputs "
                      "(masks, lengths) need a net with attention or `input sequence(L, C, masked=true)` (or "
                      "image(H, W, C, masked=true))", ir->name);
    return err->code;
}

int padding_check(const ntkc_net *net, size_t n, const double *x, size_t dim, const char *which, ntkc_error *err)
{
    const IrNet *ir = ntkc_net_ir(net);
    size_t C, P = positions(ir, &C);
    int pads = ir->family == IR_FAMILY_ATTENTION && (!ir->input.depth || ir->input.masked) && P > 0 && P * C == dim;
    for (size_t i = 0; i < n; i++) {
        const double *r = x + i * dim;
        size_t padded = 0;
        for (size_t j = 0; j < dim; j++) {
            if (isfinite(r[j]))
                continue;
            if (!isnan(r[j])) {
                err_user(err, "%s[%zu, %zu] is infinite", which, i, j);
                return err->code;
            }
            if (!pads) {
                err_user(err, "%s[%zu, %zu] is NaN (NaN marks padding, which only nets with attention or a masked "
                              "input take; net '%s' is not one)", which, i, j, ir->name);
                return err->code;
            }
        }
        for (size_t p = 0; pads && p < P; p++) {
            size_t nan = 0;
            for (size_t c = 0; c < C; c++)
                nan += isnan(r[p * C + c]) != 0;
            if (nan != 0 && nan != C) {
                err_user(err, "%s[%zu]: position %zu is NaN in %zu of its %zu channels: padding is NaN in every "
                              "channel (ntkc_mask_inputs; per-channel masks have no infinite-width kernel)",
                         which, i, p, nan, C);
                return err->code;
            }
            padded += nan == C;
        }
        if (pads && padded == P) {
            err_user(err, "%s[%zu]: every position is masked (an input needs at least one)", which, i);
            return err->code;
        }
    }
    return 0;
}

int ntkc_mask_inputs(const ntkc_net *net, size_t n, double *x, size_t dim, const double *mask, ntkc_error *err)
{
    err_clear(err);
    const IrNet *ir = ntkc_net_ir(net);
    size_t C, P = positions(ir, &C);
    if (can_pad(ir, err) != 0)
        return err->code;
    if (dim != P * C) {
        err_user(err, "net '%s' takes inputs of %zu values (%zu positions × %zu channels), the data have %zu",
                 ir->name, P * C, P, C, dim);
        return err->code;
    }
    for (size_t i = 0; i < n; i++) {
        size_t masked = 0;
        for (size_t p = 0; p < P; p++) {
            double m = mask[i * P + p];
            if (m != 0.0 && m != 1.0) {
                err_user(err, "mask[%zu, %zu] = %g: a mask holds 0 (a value) or 1 (padding)", i, p, m);
                return err->code;
            }
            masked += m == 1.0;
        }
        if (masked == P) {
            err_user(err, "mask[%zu]: every position is masked (an input needs at least one)", i);
            return err->code;
        }
    }
    for (size_t i = 0; i < n; i++)
        for (size_t p = 0; p < P; p++)
            if (mask[i * P + p] == 1.0)
                for (size_t c = 0; c < C; c++)
                    x[i * dim + p * C + c] = NAN;
    return 0;
}

int ntkc_mask_lengths(const ntkc_net *net, size_t n, double *x, size_t dim, const double *lengths, ntkc_error *err)
{
    err_clear(err);
    const IrNet *ir = ntkc_net_ir(net);
    size_t C, P = positions(ir, &C);
    if (can_pad(ir, err) != 0)
        return err->code;
    if (!ir->input.sequence) {
        err_user(err, "net '%s' takes %s: lengths are for sequences (give a mask of its %s)", ir->name,
                 ir->input.depth ? "volumes" : "images", ir->input.depth ? "positions, (n, D, H, W)" : "pixels");
        return err->code;
    }
    if (dim != P * C) {
        err_user(err, "net '%s' takes sequences of %zu values (%zu positions × %zu channels), the data have %zu",
                 ir->name, P * C, P, C, dim);
        return err->code;
    }
    for (size_t i = 0; i < n; i++) {
        double l = lengths[i];
        if (!(l >= 1.0 && l <= (double)P && l == floor(l))) {
            err_user(err, "lengths[%zu] = %g: a length is a whole number of positions in [1, %zu]", i, l, P);
            return err->code;
        }
    }
    for (size_t i = 0; i < n; i++)
        for (size_t p = (size_t)lengths[i]; p < P; p++)
            for (size_t c = 0; c < C; c++)
                x[i * dim + p * C + c] = NAN;
    return 0;
}
