/* The finite image network under param standard (neural-tangents'
 * parameterization='standard' for Conv and Dense): weights drawn
 * N(0, w_std²/fan-in) with fan-in = kh·kw·C_in, biases N(0, b_std²) when
 * b_std is written, both used without multipliers (conv_transpose and
 * conv_local too: nt's _Conv is one code for the three, fan-in C·|F| with
 * the transposed or unshared filter), so the gradient with
 * respect to W is the raw input patch and the NTK grows with the fan-in. Each
 * hidden layer has the width its op declares; the readout keeps the width
 * the caller asks for. */
#include <math.h>

#include "finite_conv_internal.h"

void fconv_standard_scales(Node *nd)
{
    const IrOp *op = nd->op;
    int conv = op->kind == IR_CONV || op->kind == IR_CONV_TRANSPOSE || op->kind == IR_CONV_LOCAL;
    long width = conv ? op->u.conv.width : op->u.dense.width;
    double w_std = conv ? op->u.conv.w_std : op->u.dense.w_std;
    double b_std = conv ? op->u.conv.b_std : op->u.dense.b_std;
    if (width > 0) {
        nd->co = (size_t)width;
    }
    nd->ws = 1.0;
    nd->bs = 1.0;
    nd->w_init = w_std / sqrt((double)nd->k);
    nd->b_init = b_std;
    nd->has_b = conv ? op->u.conv.has_bias : op->u.dense.has_bias;
}
