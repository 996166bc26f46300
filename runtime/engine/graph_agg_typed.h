/* The part of aggregation (graph_agg.c) that depends on the scalar type of
 * the node-pair matrices: written once, included by graph_agg.c twice, for
 * float64 and for float32 (`--precision single`), with
 *   AGG_REAL        double or float
 *   AGG_FN(name)    this type's copy: name_f64, name_f32
 *   AGG_GEMM        cblas_dgemm or cblas_sgemm
 *   AGG_DENSE       the AggOp field of Â in this type: dense, dense_f
 * and #undefs them at its end. The row sums add in the order
 * kernel_c/graph_entry.c (and its float32 twin) adds, so the standalone
 * entry gets the engine's bits. No include guard: once per type. */

/* out (m->n × cols) = Â in: sums of rows. Columns go in blocks of four
 * held in registers across a row's neighbours (the straightforward o[j] +=
 * r[j] stalls on reloading what it just stored). */
HOT_LOOP static void AGG_FN(sum_rows_one)(const AggOp *m, const AGG_REAL *in, size_t cols, AGG_REAL *out)
{
    for (size_t u = 0; u < m->n; u++) {
        const unsigned *c = m->col + m->start[u];
        size_t deg = m->start[u + 1] - m->start[u];
        AGG_REAL *o = out + u * cols;
        size_t j = 0;
        for (; j + 4 <= cols; j += 4) {
            AGG_REAL a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (size_t e = 0; e < deg; e++) {
                const AGG_REAL *r = in + (size_t)c[e] * cols + j;
                a0 += r[0];
                a1 += r[1];
                a2 += r[2];
                a3 += r[3];
            }
            o[j] = a0;
            o[j + 1] = a1;
            o[j + 2] = a2;
            o[j + 3] = a3;
        }
        for (; j < cols; j++) {
            AGG_REAL a = 0;
            for (size_t e = 0; e < deg; e++)
                a += in[(size_t)c[e] * cols + j];
            o[j] = a;
        }
    }
}

/* Σ and Θ together: one walk over the neighbours feeds both. */
HOT_LOOP static void AGG_FN(sum_rows_two)(const AggOp *m, const AGG_REAL *in0, const AGG_REAL *in1, size_t cols,
                                          AGG_REAL *out0, AGG_REAL *out1)
{
    for (size_t u = 0; u < m->n; u++) {
        const unsigned *c = m->col + m->start[u];
        size_t deg = m->start[u + 1] - m->start[u];
        AGG_REAL *o0 = out0 + u * cols, *o1 = out1 + u * cols;
        size_t j = 0;
        for (; j + 4 <= cols; j += 4) {
            AGG_REAL a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
            for (size_t e = 0; e < deg; e++) {
                size_t at = (size_t)c[e] * cols + j;
                const AGG_REAL *r = in0 + at, *q = in1 + at;
                a0 += r[0], a1 += r[1], a2 += r[2], a3 += r[3];
                b0 += q[0], b1 += q[1], b2 += q[2], b3 += q[3];
            }
            o0[j] = a0, o0[j + 1] = a1, o0[j + 2] = a2, o0[j + 3] = a3;
            o1[j] = b0, o1[j + 1] = b1, o1[j + 2] = b2, o1[j + 3] = b3;
        }
        for (; j < cols; j++) {
            AGG_REAL a = 0, b = 0;
            for (size_t e = 0; e < deg; e++) {
                a += in0[(size_t)c[e] * cols + j];
                b += in1[(size_t)c[e] * cols + j];
            }
            o0[j] = a, o1[j] = b;
        }
    }
}

/* The same for the k < count matrices of a pair (Σ and Θ). */
static void AGG_FN(sum_rows)(const AggOp *m, int count, AGG_REAL *const *in, size_t cols, AGG_REAL *const *out)
{
    if (count == 2)
        AGG_FN(sum_rows_two)(m, in[0], in[1], cols, out[0], out[1]);
    else
        for (int k = 0; k < count; k++)
            AGG_FN(sum_rows_one)(m, in[k], cols, out[k]);
}

static void AGG_FN(transpose)(const AGG_REAL *in, size_t rows, size_t cols, AGG_REAL *out)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            out[j * rows + i] = in[i * cols + j];
}

static void AGG_FN(scale_degrees)(const AggOp *a, const AggOp *b, AGG_REAL *x)
{
    for (size_t v = 0; v < b->n; v++) {
        AGG_REAL *r = x + v * a->n, cb = b->inv_deg[v];
        for (size_t u = 0; u < a->n; u++)
            r[u] *= cb * (AGG_REAL)a->inv_deg[u]; /* both factors of the type: as graph_entry.c */
    }
}

void AGG_FN(agg_apply)(const AggOp *a, const AggOp *b, int count, AGG_REAL **x, AGG_REAL **tmp)
{
    size_t na = a->n, nb = b->n;
    /* tmp = Â_a x  (na × nb) */
    if (a->AGG_DENSE)
        for (int k = 0; k < count; k++)
            AGG_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)na, (int)nb, (int)na, 1.0, a->AGG_DENSE, (int)na,
                     x[k], (int)nb, 0.0, tmp[k], (int)nb);
    else
        AGG_FN(sum_rows)(a, count, x, nb, tmp);
    /* Result in tmp = Â_b xᵀ (nb × na), x = tmpᵀ on the way; then swap. */
    if (b->AGG_DENSE) {
        for (int k = 0; k < count; k++) {
            AGG_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)na, (int)nb, 1.0, b->AGG_DENSE, (int)nb,
                     tmp[k], (int)nb, 0.0, x[k], (int)na);
            AGG_REAL *t = x[k];
            x[k] = tmp[k];
            tmp[k] = t;
        }
    } else {
        for (int k = 0; k < count; k++)
            AGG_FN(transpose)(tmp[k], na, nb, x[k]);
        AGG_FN(sum_rows)(b, count, x, na, tmp);
    }
    for (int k = 0; k < count; k++) {
        AGG_REAL *t = x[k];
        x[k] = tmp[k];
        tmp[k] = t;
        if (a->inv_deg != NULL)
            AGG_FN(scale_degrees)(a, b, x[k]);
    }
}

#undef AGG_REAL
#undef AGG_FN
#undef AGG_GEMM
#undef AGG_DENSE
