/* The part of the graph engine (graph_kernel.c) that depends on the scalar
 * type of the node-pair matrices and the variance records: written once,
 * included by graph_kernel.c twice, for float64 and for float32
 * (`--precision single`), with
 *   GRAPH_REAL        double or float
 *   GRAPH_FN(name)    this type's copy: name_f64, name_f32
 *   GRAPH_SEG, GRAPH_SEGD   the segment functions' types (kernel_abi.h)
 *   GRAPH_GRAM(p, a, b, w, s)   the input Gram into s (float32: summed in
 *                     float64 in w->g and rounded once)
 * and #undefs them at its end. The pooled sums are float64 in both (a
 * readout adds up to n₁·n₂ node pairs: in float32 that loses accuracy as
 * the image nets' global average pool would). No include guard. */

static double GRAPH_FN(pool)(const Plan *p, const GRAPH_REAL *s, size_t count)
{
    double acc[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= count; i += 4)
        for (int k = 0; k < 4; k++)
            acc[k] += s[i + k];
    for (; i < count; i++)
        acc[0] += s[i];
    double sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    return p->mean ? sum / (double)count : sum;
}

/* Runs the plan on (a, b) and returns Σ and Θ of the pair (float32 ones
 * widened exactly). With prep (a == b) it first records the variances each
 * segment's activations need in a. */
static void GRAPH_FN(run_pair)(const Plan *p, GInfo *a, const GInfo *b, Work *w, int prep, double *out_s,
                               double *out_t)
{
    const NtkcGraphFns *f = p->f;
    GRAPH_SEG seg = (GRAPH_SEG)(void (*)(void))f->seg; /* its own type: kernel_abi.h */
    GRAPH_SEGD seg_diag = (GRAPH_SEGD)(void (*)(void))f->seg_diag;
    size_t n1 = a->n, n2 = b->n, count = n1 * n2;
    GRAPH_REAL *x[2] = {w->s, w->t}, *tmp[2] = {w->s2, w->t2};
    GRAPH_REAL *avar = a->var, *agvar = a->gvar;
    const GRAPH_REAL *bvar = b->var, *bgvar = b->gvar;
    GRAPH_GRAM(p, a, b, w, x[0]);
    memset(x[1], 0, count * sizeof *x[1]);
    int t_zero = 1; /* Θ = 0 until the first dense layer: its aggregation is skipped */
    double acc_s = 0, acc_t = 0;
    GRAPH_REAL gs = 0, gt = 0;
    /* Aggregation leaves the matrices transposed (graph_agg.h): rows are then b's nodes. */
    int pooled = 0, flipped = 0;
    for (const int *op = f->plan() + 3; op[0] != NTKC_GOP_END; op += 3) {
        switch (op[0]) {
        case NTKC_GOP_SEG:
            if (!pooled) {
                if (prep)
                    seg_diag(op[1], n1, x[0], n1 + 1, avar);
                if (flipped)
                    seg(op[1], n2, n1, bvar, avar, x[0], x[1], n1);
                else
                    seg(op[1], n1, n2, avar, bvar, x[0], x[1], n2);
                t_zero = 0;
            } else {
                if (prep)
                    seg_diag(op[1], 1, &gs, 1, agvar);
                seg(op[1], 1, 1, agvar, bgvar, &gs, &gt, 1);
            }
            break;
        case NTKC_GOP_AGG: {
            if (p->jk) {
                acc_s += GRAPH_FN(pool)(p, x[0], count);
                acc_t += t_zero ? 0.0 : GRAPH_FN(pool)(p, x[1], count);
            }
            int v = 2 * op[1] + op[2];
            const AggOp *rows = flipped ? &b->agg[v] : &a->agg[v], *cols = flipped ? &a->agg[v] : &b->agg[v];
            GRAPH_FN(agg_apply)(rows, cols, t_zero ? 1 : 2, x, tmp);
            flipped = !flipped;
            break;
        }
        case NTKC_GOP_READOUT:
            gs = (GRAPH_REAL)(GRAPH_FN(pool)(p, x[0], count) + acc_s);
            gt = (GRAPH_REAL)(GRAPH_FN(pool)(p, x[1], count) + acc_t);
            pooled = 1;
            break;
        default:
            break;
        }
    }
    *out_s = gs;
    *out_t = gt;
}

#undef GRAPH_REAL
#undef GRAPH_FN
#undef GRAPH_SEG
#undef GRAPH_SEGD
#undef GRAPH_GRAM
