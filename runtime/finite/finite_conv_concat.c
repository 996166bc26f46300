/* Spatial concat in the finite image net (neural-tangents' FanInConcat on
 * height or width, and depth on volumes): branch b's output is the block of
 * rows (or columns) that starts after the branches before it; every branch
 * has the fanout's channels. A volume's rows stack its slices (ir.h): along
 * depth a branch's slices are one block of rows, along height each slice's
 * rows are one. The same copy serves the forward pass, the tangent (to the
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
    IrConcatAxis axis = nd->op->u.fanout.axis;
    int rows = axis != IR_CONCAT_WIDTH;
    /* slices walked one by one: a volume's height concat (else one block) */
    size_t nz = axis == IR_CONCAT_HEIGHT && nd->op->out.d ? nd->op->out.d : 1;
    size_t off = 0, hb = branch_h(nd, b) / nz, wb = branch_w(nd, b), c = nd->co, ho = nd->ho / nz;
    for (size_t k = 0; k < b; k++)
        off += rows ? branch_h(nd, k) / nz : branch_w(nd, k);
    for (size_t z = 0; z < nz; z++)
        for (size_t y = 0; y < hb; y++)
            for (size_t x = 0; x < wb; x++) {
                double *w = whole + ((z * ho + y + (rows ? off : 0)) * nd->wo + x + (rows ? 0 : off)) * c;
                double *p = part + ((z * hb + y) * wb + x) * c;
                if (to_whole)
                    memcpy(w, p, c * sizeof *w);
                else
                    memcpy(p, w, c * sizeof *p);
            }
}
