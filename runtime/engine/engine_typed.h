/* The part of the engine's tile driver (engine.c) that depends on the scalar
 * type of the Gram block, the records and the outputs: written once, and
 * included by engine.c twice, for float64 and for float32 (`--precision
 * single`), with
 *   ENGINE_REAL       double or float
 *   ENGINE_FN(name)   the name of this type's copy: name_f64, name_f32
 *   ENGINE_F(field)   the Job field of this type: field, field_f
 *   ENGINE_TILE       the tile function's type (kernel_abi.h)
 *   ENGINE_SYRK, ENGINE_GEMM, ENGINE_ONE, ENGINE_ZERO   BLAS of this type
 *   ENGINE_TOL(dim)   exact_parallel's bound, relative to Σx²
 *   ENGINE_STREAM(dst, src, stride), ENGINE_STREAM_N   one streamed SSE2
 *                     vector of ENGINE_STREAM_N values, read stride apart
 * and #undefs them at its end. No include guard: it is meant to be included
 * once per type. */

/* The tile's Gram block by BLAS, straight into the output (the upper
 * triangle on the diagonal). */
static void ENGINE_FN(gram_tile)(const Job *J, const Tile *T)
{
    const ENGINE_REAL *a = J->ENGINE_F(x1) + T->i0 * J->dim;
    ENGINE_REAL *g = J->ENGINE_F(gram) + at(J, T->i0, T->j0);
    if (T->diagonal)
        ENGINE_SYRK(CblasRowMajor, CblasUpper, CblasNoTrans, (int)T->r, (int)J->dim, ENGINE_ONE, a, (int)J->dim,
                    ENGINE_ZERO, g, (int)J->ldo);
    else
        ENGINE_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T->r, (int)T->c, (int)J->dim, ENGINE_ONE, a,
                    (int)J->dim, J->ENGINE_F(x2) + T->j0 * J->dim, (int)J->dim, ENGINE_ZERO, g, (int)J->ldo);
}

/* exact_parallel (engine.c) for this type: Σx² is float64 (the emitted
 * prep's sum), the entry is set to it rounded to the type. */
static void ENGINE_FN(exact_parallel)(const Job *J, const Tile *T)
{
    const double tol = ENGINE_TOL((double)J->dim);
    for (size_t i = T->i0; i < T->i0 + T->r; i++) {
        ENGINE_REAL *g = J->ENGINE_F(gram) + at(J, i, T->j0); /* column T->j0 */
        double v = J->sq1[i];
        for (size_t j = T->diagonal ? i : T->j0; j < T->j0 + T->c; j++) {
            if (J->sq2[j] != v)
                continue;
            ENGINE_REAL *e = g + (j - T->j0);
            double a = *e < 0 ? -(double)*e : (double)*e;
            if (a >= v - tol * v && a <= v + tol * v)
                *e = *e < 0 ? -(ENGINE_REAL)v : (ENGINE_REAL)v;
        }
    }
}

/* The kernel on rows [i0, i0+r) × columns [j0, j0+c) of the output. */
static size_t ENGINE_FN(run_kernel)(const Job *J, size_t i0, size_t r, size_t j0, size_t c)
{
    size_t o = at(J, i0, j0);
    ENGINE_TILE tile = (ENGINE_TILE)(void (*)(void))J->k->tile; /* its own type: kernel_abi.h */
    return tile(r, c, J->x1 + i0 * J->dim, J->ENGINE_F(prep1) + i0 * J->ps, J->x2 + j0 * J->dim,
                J->ENGINE_F(prep2) + j0 * J->ps, J->dim, J->ENGINE_F(gram) ? J->ENGINE_F(gram) + o : NULL, J->ldo,
                J->ENGINE_F(nngp) ? J->ENGINE_F(nngp) + o : NULL, J->ENGINE_F(ntk) ? J->ENGINE_F(ntk) + o : NULL,
                J->ldo);
}

/* dst[k] = src[k·stride] for k < m. The mirror images are written once and
 * not read again here: with SSE2, non-temporal stores spare the cache (and
 * the read of each line before it is written) for the output's other half. */
static void ENGINE_FN(copy_column)(ENGINE_REAL *dst, const ENGINE_REAL *src, size_t stride, size_t m)
{
    size_t k = 0;
#ifdef __SSE2__
    for (; k < m && ((uintptr_t)(dst + k) & 15) != 0; k++)
        dst[k] = src[k * stride];
    for (; k + ENGINE_STREAM_N <= m; k += ENGINE_STREAM_N)
        ENGINE_STREAM(dst + k, src + k * stride, stride);
#endif
    for (; k < m; k++)
        dst[k] = src[k * stride];
}

/* Copies the entries of rows [r0, r1) of the tile above the diagonal to
 * their mirror images, in square blocks so both sides stay in cache. */
static void ENGINE_FN(mirror_rows)(const Job *J, const Tile *T, size_t r0, size_t r1)
{
    ENGINE_REAL *outs[2] = {J->ENGINE_F(nngp), J->ENGINE_F(ntk)};
    size_t n = J->ldo;
    for (int o = 0; o < 2; o++) {
        ENGINE_REAL *a = outs[o];
        if (a == NULL)
            continue;
        for (size_t ib = r0; ib < r1; ib += MIRROR_BLOCK)
            for (size_t jb = T->diagonal ? ib : 0; jb < T->c; jb += MIRROR_BLOCK) {
                size_t ie = min_size(ib + MIRROR_BLOCK, r1), je = min_size(jb + MIRROR_BLOCK, T->c);
                for (size_t j = jb; j < je; j++) {
                    size_t end = T->diagonal && j < ie ? j : ie; /* i < j on the diagonal */
                    if (end > ib)
                        ENGINE_FN(copy_column)(a + at(J, T->j0 + j, T->i0 + ib), a + at(J, T->i0 + ib, T->j0 + j),
                                               n, end - ib);
                }
            }
    }
#ifdef __SSE2__
    _mm_sfence(); /* the streamed stores are ordered before the task ends */
#endif
}

#undef ENGINE_REAL
#undef ENGINE_FN
#undef ENGINE_F
#undef ENGINE_TILE
#undef ENGINE_SYRK
#undef ENGINE_GEMM
#undef ENGINE_ONE
#undef ENGINE_ZERO
#undef ENGINE_TOL
#undef ENGINE_STREAM
#undef ENGINE_STREAM_N
