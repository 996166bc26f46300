#include "data.h"

#include "input_kind.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ntkc_tool.h"

int load_inputs(const char *path, NpyArray *out, ntkc_error *err)
{
    if (npy_read(path, out, err) != 0)
        return err->code;
    if (out->ndim != 2) {
        err_file(err, path, "expected a 2-D array (inputs × features), got %zu dimensions", out->ndim);
        npy_free(out);
        return err->code;
    }
    if (out->shape[0] == 0 || out->shape[1] == 0) {
        err_file(err, path, "the array is empty (shape %zu × %zu)", out->shape[0], out->shape[1]);
        npy_free(out);
        return err->code;
    }
    if (npy_check_finite(out, path, err) != 0) {
        npy_free(out);
        return err->code;
    }
    return 0;
}

static const char *shape_str(char *buf, size_t size, size_t ndim, const size_t *shape, int batch)
{
    size_t at = (size_t)snprintf(buf, size, "(%s", batch ? "n" : "");
    for (size_t i = 0; i < ndim && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%zu", i || batch ? ", " : "", shape[i]);
    if (at < size)
        snprintf(buf + at, size - at, ")");
    return buf;
}

/* Does the array's shape after the batch axis fit the declared one? */
static int shape_fits(const NpyArray *x, size_t nd, const size_t *want)
{
    size_t total = 1;
    for (size_t i = 0; i < nd; i++)
        total *= want[i];
    if (x->ndim == 2 && x->shape[1] == total)
        return 1; /* already flattened */
    /* a trailing channel axis of 1 may be left out */
    size_t nd_given = x->ndim - 1, match = nd_given == nd || (nd_given + 1 == nd && want[nd - 1] == 1);
    for (size_t i = 0; match && i < nd_given; i++)
        match = x->shape[i + 1] == want[i];
    return (int)match;
}

int load_net_inputs(const ntkc_net *net, const char *path, NpyArray *out, ntkc_error *err)
{
    if (check_input_kind(net, path, err) != 0)
        return err->code;
    size_t want[4];
    int nd = ntkc_net_input_shape(net, want);
    if (nd == 1) { /* input vector(d): name the file, not just the mismatch */
        if (load_inputs(path, out, err) != 0)
            return err->code;
        if (out->shape[1] != want[0]) {
            err_file(err, path, "rows of %zu features, but net '%s' declares input vector(%zu)", out->shape[1],
                      ntkc_net_name(net), want[0]);
            npy_free(out);
            return err->code;
        }
        return 0;
    }
    if (nd < 2)
        return load_inputs(path, out, err);
    if (npy_read(path, out, err) != 0)
        return err->code;
    char got[160], exp[160], exp_n[160];
    if (out->ndim < 2 || !shape_fits(out, (size_t)nd, want)) {
        err_file(err, path, "shape %s does not match net '%s', whose input is %s%s: expected %s (N%sC) or the rows "
                       "flattened", shape_str(got, sizeof got, out->ndim, out->shape, 0), ntkc_net_name(net),
                  nd == 4 ? "volume" : nd == 3 ? "image" : "sequence", shape_str(exp, sizeof exp, (size_t)nd, want, 0),
                  shape_str(exp_n, sizeof exp_n, (size_t)nd, want, 1), nd == 4 ? "DHW" : nd == 3 ? "HW" : "W");
        npy_free(out);
        return err->code;
    }
    if (out->shape[0] == 0) {
        err_file(err, path, "the array has no inputs (shape %s)",
                  shape_str(got, sizeof got, out->ndim, out->shape, 0));
        npy_free(out);
        return err->code;
    }
    if (npy_check_finite(out, path, err) != 0) {
        npy_free(out);
        return err->code;
    }
    out->shape[1] = out->count / out->shape[0];
    out->ndim = 2;
    return 0;
}

int check_output_not_input(const char *out, const char *const *inputs, size_t ninputs, ntkc_error *err)
{
    if (out_check_kind(out, err) != 0)
        return err->code;
    for (size_t i = 0; i < ninputs; i++) {
        if (inputs[i] != NULL && npy_same_file(out, inputs[i])) {
            err_user(err, "output %s is also an input; refusing to overwrite it", out);
            return err->code;
        }
    }
    return 0;
}

static void report_stale(void *ctx, const char *path, long pid)
{
    (void)ctx;
    fprintf(stderr, "ntkc: note: %s is a temp file of an ntkc run (process %ld) that was killed before it could "
                    "remove it; delete it to reclaim the space\n",
            path, pid);
}

void note_stale_temps(const char *const *outs, size_t n)
{
    char dirs[8][PATH_MAX];
    size_t ndirs = 0;
    for (size_t i = 0; i < n && ndirs < 8; i++) {
        if (outs[i] == NULL)
            continue;
        const char *slash = strrchr(outs[i], '/');
        size_t dirlen = slash ? (size_t)(slash - outs[i]) + (slash == outs[i]) : 1;
        if (dirlen >= PATH_MAX) /* no such directory: a cut name would look in another one */
            continue;
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%.*s", (int)dirlen, slash ? outs[i] : ".");
        int seen = 0;
        for (size_t k = 0; k < ndirs && !seen; k++)
            seen = npy_same_file(dirs[k], dir);
        if (seen)
            continue;
        snprintf(dirs[ndirs++], PATH_MAX, "%s", dir);
        temp_files_stale(dir, report_stale, NULL);
    }
}
