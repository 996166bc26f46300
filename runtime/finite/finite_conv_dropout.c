/* dropout in the finite-width image net, neural-tangents' Dropout in train
 * mode (as finite_net.c for vector nets): unit (position, channel) e of the
 * input being run (f->row) is kept with probability keep and scaled by
 * 1/keep. The decision hashes (the sample's seed, the layer's number, the
 * input, the unit) with splitmix64 into 53 uniform bits, so the forward and
 * backward passes of one input see one mask, and different inputs (and
 * samples) independent ones — what the kernel's 1/keep on the entries of an
 * input with itself at the same position averages. */
#include "finite_conv_dropout.h"

static double factor(const Fc *f, const Node *nd, size_t e)
{
    uint64_t state = f->drop_seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(nd->drop_id + 1)) ^
                     (0xC2B2AE3D27D4EB4FULL * (uint64_t)(f->row + 1)) ^ (0x165667B19E3779F9ULL * (uint64_t)(e + 1));
    double u = (double)(rng_splitmix64(&state) >> 11) * 0x1.0p-53;
    double keep = nd->op->u.dropout.keep;
    return u < keep ? 1.0 / keep : 0.0;
}

void fdrop_apply(const Fc *f, const Node *nd, const double *in, double *out)
{
    size_t n = fconv_len_out(nd);
    for (size_t e = 0; e < n; e++)
        out[e] = f->drop_eval ? in[e] : in[e] * factor(f, nd, e);
}
