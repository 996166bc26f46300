/* Spatial concat in the finite image net (neural-tangents' FanInConcat on
 * height or width): branch b's output is the block of rows (or columns) that
 * starts after the branches before it; every branch has the fanout's
 * channels. The same copy serves the forward pass, the tangent (to the
 * output) and the gradient (back to the branch). */
#include <string.h>

#include "finite_conv_internal.h"

static size_t branch_h(const Node *nd, size_t b)
{
    const Branch *br = &nd->br[b];
    return br->n ? br->nodes[br->n - 1].ho : nd->hi;
}

static size_t branch_w(const Node *nd, size_t b)
{
    const Branch *br = &nd->br[b];
    return br->n ? br->nodes[br->n - 1].wo : nd->wi;
}

int fconv_spatial_concat(const Node *nd)
{
    const IrFanout *fo = &nd->op->u.fanout;
    return fo->mode == IR_FANIN_CONCAT && fo->axis != IR_CONCAT_CHANNELS;
}

void fconv_concat_block(const Node *nd, size_t b, double *whole, double *part, int to_whole)
{
    int rows = nd->op->u.fanout.axis == IR_CONCAT_HEIGHT;
    size_t off = 0, hb = branch_h(nd, b), wb = branch_w(nd, b), c = nd->co;
    for (size_t k = 0; k < b; k++)
        off += rows ? branch_h(nd, k) : branch_w(nd, k);
    for (size_t y = 0; y < hb; y++)
        for (size_t x = 0; x < wb; x++) {
            double *w = whole + ((y + (rows ? off : 0)) * nd->wo + x + (rows ? 0 : off)) * c;
            double *p = part + (y * wb + x) * c;
            if (to_whole)
                memcpy(w, p, c * sizeof *w);
            else
                memcpy(p, w, c * sizeof *p);
        }
}
