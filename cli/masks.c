#include "masks.h"


static int check_mask(const ntkc_net *net, const NpyArray *m, const NpyArray *x, const char *path,
                      const char *x_path, ntkc_error *err)
{
    size_t shape[4];
    int nd = ntkc_net_input_shape(net, shape);
    size_t P = nd == 4 ? shape[0] * shape[1] * shape[2] : nd == 3 ? shape[0] * shape[1] : nd == 2 ? shape[0] : 0;
    if (m->ndim < 2 || m->shape[0] != x->shape[0] || P == 0 || m->count != x->shape[0] * P) {
        err_file(err, path, "a mask for %s must be (%zu, %s) — one 0/1 per %s position — but its shape has %zu "
                            "values%s", x_path, x->shape[0], nd == 4 ? "D, H, W" : nd == 3 ? "H, W" : "L",
                  nd == 4 ? "volume" : nd == 3 ? "pixel" : "sequence", m->count,
                  P == 0 ? " (and the net has no positions)" : "");
        return err->code;
    }
    for (size_t i = 0; i < m->count; i++)
        if (m->data[i] != 0.0 && m->data[i] != 1.0) {
            err_file(err, path, "mask[%zu, %zu] = %g: a mask holds 0 (a value) or 1 (padding)", i / P, i % P,
                      m->data[i]);
            return err->code;
        }
    return 0;
}

int apply_mask_file(const ntkc_net *net, NpyArray *x, const char *x_path, const char *mask_path,
                    const char *lengths_path, ntkc_error *err)
{
    const char *path = mask_path ? mask_path : lengths_path;
    if (path == NULL)
        return 0;
    NpyArray m = {0};
    if (npy_read(path, &m, err) != 0)
        return err->code;
    int rc = 0;
    if (mask_path)
        rc = check_mask(net, &m, x, path, x_path, err);
    else if (m.ndim != 1 || m.shape[0] != x->shape[0])
        err_file(err, path, "lengths for %s must be a vector of %zu lengths (one per input)", x_path, x->shape[0]),
            rc = err->code;
    if (rc == 0) {
        rc = mask_path ? ntkc_mask_inputs(net, x->shape[0], x->data, x->shape[1], m.data, err)
                       : ntkc_mask_lengths(net, x->shape[0], x->data, x->shape[1], m.data, err);
        if (rc == NTKC_EUSER) { /* the library's message, about this file */
            ntkc_error named = {0};
            err_file(&named, path, "%s", err->message);
            *err = named;
        }
    }
    npy_free(&m);
    return rc;
}
