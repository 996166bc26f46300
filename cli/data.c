#include "data.h"

#include <string.h>

int load_inputs(const char *path, NpyArray *out, ntkc_error *err)
{
    if (npy_read(path, out, err) != 0)
        return err->code;
    if (out->ndim != 2) {
        diag_user(err, "%s: expected a 2-D array (inputs × features), got %zu dimensions", path, out->ndim);
        npy_free(out);
        return err->code;
    }
    if (out->shape[0] == 0 || out->shape[1] == 0) {
        diag_user(err, "%s: the array is empty (shape %zu × %zu)", path, out->shape[0], out->shape[1]);
        npy_free(out);
        return err->code;
    }
    if (npy_check_finite(out, path, err) != 0) {
        npy_free(out);
        return err->code;
    }
    return 0;
}

int check_output_not_input(const char *out, const char *const *inputs, size_t ninputs, ntkc_error *err)
{
    for (size_t i = 0; i < ninputs; i++) {
        if (inputs[i] != NULL && (strcmp(out, inputs[i]) == 0 || npy_same_file(out, inputs[i]))) {
            diag_user(err, "output %s is also an input; refusing to overwrite it", out);
            return err->code;
        }
    }
    return 0;
}
