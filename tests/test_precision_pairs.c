/* --precision single on the all-pairs back end (docs/precision.md, "All-pairs
 * nets"): float32 kernels of the attention and volume nets of examples/, of
 * nets on masked inputs (padding given by lengths), of an index readout and
 * of square-root attention, against float64 ones, symmetric and cross, on
 * both back ends.
 *
 * The error bound, relative to the largest entry of the float64 kernel, is
 * accumulated op by op along the net's IR (ntkc_ir), ε ← m·ε + a·u with
 * u = 2^-24, starting from the input kernel's (C + 2)·u (a dot product over
 * C channels and the rounding of both inputs, as test_precision_image.c):
 *   - a conv's window sum of F taps (F = kh·kw, or kd·kh·kw on volumes):
 *     a = F + 2 (its scale and bias); a pool sums F taps along rows, then F
 *     along columns: a = 2F + 2 + 32;
 *   - softmax attention (scaling=linear), reading a layer_norm's output
 *     (|Σ| <= 1): the weights' logits w_q·w_k·kw·Σ (kw <= 1) move by at most
 *     |w_q·w_k|·ε, so log A by twice that; A₁ΣA₂ᵀ (rows of A sum to 1, so
 *     |A₁||Σ||A₂ᵀ| <= max|Σ|) then carries ε + 2·2|w_q·w_k|·ε: m = 1 + 4|w_q·w_k|,
 *     and a = 4P + 4 + 32 (the softmax's sum of P terms and its division on
 *     both sides, the two products of P terms each, the update);
 *   - square-root attention (mechanism identity): d = ⟨Σ̃, V⟩ and e = ⟨Σ̃, Θ̃⟩,
 *     sums of products of nonnegative-correlated factors, summed in float64,
 *     carry 2ε, times Σ̃: m = 3, a = 32;
 *   - a layer_norm over positions too (axes=height|width|all|depth): each
 *     variance becomes its group's mean, a float sum of at most P
 *     nonnegative terms and a division: a = P + 32;
 *   - every other op (dense, activations, layer_norm, fan-in, the global
 *     pool's float64 sum, flatten, index): a = 32, as the fully connected
 *     bound (test_precision.c).
 * The test asserts what the derivation assumes (softmax attention reads a
 * layer_norm). Counts come from the IR, not from this file. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntkc.h"
#include "precision_util.h"
#include "util.h"

static const double unit_roundoff = UNIT_ROUNDOFF_F32;

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char *text = calloc(1, 1 << 16);
    size_t len = fread(text, 1, (1 << 16) - 1, f);
    fclose(f);
    text[len] = 0;
    return text;
}

/* The product of a window "3", "3x3" or "2x2x2" after "window ". */
static double window_taps(const char *op)
{
    const char *w = strstr(op, "window ");
    if (w == NULL)
        return 0;
    double taps = 1;
    const char *p = w + 7;
    for (;;) {
        char *end;
        long k = strtol(p, &end, 10);
        cr_assert(end != p && k > 0, "window in '%s'", op);
        taps *= (double)k;
        if (*end != 'x')
            return taps;
        p = end + 1;
    }
}

static double field(const char *op, const char *name)
{
    const char *f = strstr(op, name);
    cr_assert_not_null(f, "no %s in '%s'", name, op);
    return strtod(f + strlen(name), NULL);
}

/* The bound above, accumulated along the IR of source. */
static double pairs_bound(const char *source, const char *name)
{
    ntkc_error err = {0};
    char *ir = ntkc_ir(source, name, NULL, &err);
    cr_assert_not_null(ir, "%s", err.message);
    double eps = -1, positions = 0;
    char last_ln[32] = ""; /* the value the last layer_norm defined */
    for (char *line = strtok(ir, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        const char *p = line + strspn(line, " ");
        const char *eq = strstr(p, " = ");
        if (*p != '%' || eq == NULL)
            continue;
        const char *op = eq + 3;
        unsigned a, b, c, d;
        if (strncmp(op, "input ", 6) == 0) {
            if (sscanf(op, "input volume(%u, %u, %u, %u", &a, &b, &c, &d) == 4)
                positions = (double)a * b * c, eps = d + 2;
            else if (sscanf(op, "input image(%u, %u, %u", &a, &b, &c) == 3)
                positions = (double)a * b, eps = c + 2;
            else if (sscanf(op, "input sequence(%u, %u", &a, &c) == 2)
                positions = a, eps = c + 2;
            continue;
        }
        cr_assert_geq(eps, 0, "%s: an op before the input line", name);
        double taps = window_taps(op);
        if (strncmp(op, "attention ", 10) == 0 && strstr(op, "scaling sqrt") != NULL) {
            eps = 3 * eps + 32;
        } else if (strncmp(op, "attention ", 10) == 0) {
            char operand[32] = "";
            sscanf(op + 10, "%31[^,]", operand);
            cr_assert(strstr(op, "mechanism softmax") != NULL, "%s: the bound is derived for softmax", name);
            cr_assert_str_eq(operand, last_ln, "%s: the bound assumes softmax attention reads a layer_norm", name);
            eps = (1 + 4 * fabs(field(op, "w_q ") * field(op, "w_k "))) * eps + 4 * positions + 4 + 32;
        } else if (strncmp(op, "conv ", 5) == 0 && taps > 0) {
            eps += taps + 2;
        } else if (strncmp(op, "layer_norm ", 11) == 0 && strstr(op, ", over channels and ") != NULL) {
            eps += positions + 32;
        } else if (taps > 0) { /* pools */
            eps += 2 * taps + 2 + 32;
        } else if (strncmp(op, "residual", 8) != 0 && strncmp(op, "fanout", 6) != 0) {
            eps += 32;
        } else {
            eps += 32; /* the fan-in */
        }
        if (strncmp(op, "layer_norm ", 11) == 0)
            snprintf(last_ln, sizeof last_ln, "%.*s", (int)(eq - p), p);
    }
    ntkc_free(ir);
    cr_assert_gt(positions, 0, "%s: no input line in its IR", name);
    return eps * unit_roundoff;
}

/* n1 inputs against themselves (n2 = 0: the symmetric kernel) or against n2
 * others; with lengths (sequences of masked nets) every other input is
 * padded to a shorter length. */
static void compare(const char *source, const char *name, ntkc_backend backend, size_t dim, size_t n1, size_t n2,
                    size_t length)
{
    ntkc_net *n64 = compile_prec(source, name, NTKC_PRECISION_DOUBLE, backend);
    ntkc_net *n32 = compile_prec(source, name, NTKC_PRECISION_SINGLE, backend);
    size_t cols = n2 ? n2 : n1, count = n1 * cols, n = n1 + n2;
    double *x = malloc(n * dim * sizeof *x), *x2 = n2 ? x + n1 * dim : NULL;
    fill_random(x, n * dim, 8765);
    memcpy(x + (n1 - 1) * dim, x, dim * sizeof *x); /* a duplicate of input 0 */
    ntkc_error err = {0};
    if (length) {
        double *len = malloc(n * sizeof *len);
        for (size_t i = 0; i < n; i++)
            len[i] = i % 2 && i != n1 - 1 ? (double)(length - 1 - i % (length - 1) / 2) : (double)length;
        cr_assert_eq(ntkc_mask_lengths(n64, n, x, dim, len, &err), 0, "%s", err.message);
        free(len);
    }
    double *k64 = malloc(2 * count * sizeof *k64);
    float *k32 = malloc(2 * count * sizeof *k32);
    cr_assert_eq(ntkc_kernel(n64, n1, x, n2, x2, dim, k64, k64 + count, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(ntkc_kernel_f32(n32, n1, x, n2, x2, dim, k32, k32 + count, NULL, &err), 0, "%s", err.message);
    double bound = pairs_bound(source, name);
    double e_nngp = rel_to_largest(k64, k32, count), e_ntk = rel_to_largest(k64 + count, k32 + count, count);
    cr_expect_leq(e_nngp, bound, "%s NNGP (%zu x %zu): float32 error %.3g above the bound %.3g", name, n1, cols,
                  e_nngp, bound);
    cr_expect_leq(e_ntk, bound, "%s NTK (%zu x %zu): float32 error %.3g above the bound %.3g", name, n1, cols, e_ntk,
                  bound);
    cr_expect_gt(e_nngp + e_ntk, 0, "%s: float32 equals float64: the float32 path did not run", name);
    if (!n2) { /* symmetric, and the duplicate's entry with input 0 is the diagonal's, computed alike */
        for (size_t i = 0; i < n1; i++)
            for (size_t j = 0; j < i; j++)
                cr_assert_eq(k32[i * n1 + j], k32[j * n1 + i], "%s: not symmetric at %zu, %zu", name, i, j);
        cr_expect_eq(k32[(n1 - 1) * n1], k32[0], "%s: NNGP of a duplicate %.9g vs %.9g", name, k32[(n1 - 1) * n1],
                     k32[0]);
        cr_expect_eq(k32[count + (n1 - 1) * n1], k32[count], "%s: NTK of a duplicate", name);
    }
    free(x);
    free(k64);
    free(k32);
    ntkc_net_free(n64);
    ntkc_net_free(n32);
}

static void compare_example(const char *path, ntkc_backend backend, size_t dim)
{
    char *text = read_text(path);
    compare(text, path, backend, dim, 9, 0, 0);
    compare(text, path, backend, dim, 4, 6, 0);
    free(text);
}

Test(precision_pairs, examples_within_bound_of_float64_tcc, .timeout = TIMEOUT(300))
{
    compare_example("examples/transformer.ntk", NTKC_BACKEND_TCC, 16 * 8);
    compare_example("examples/volume.ntk", NTKC_BACKEND_TCC, 4 * 4 * 4);
}

Test(precision_pairs, examples_within_bound_of_float64_cc, .timeout = TIMEOUT(600))
{
    compare_example("examples/transformer.ntk", NTKC_BACKEND_CC, 16 * 8);
    compare_example("examples/volume.ntk", NTKC_BACKEND_CC, 4 * 4 * 4);
}

/* Masked inputs (padding given by lengths): attention with positional
 * embeddings (summed, and concatenated seen by the values), every fan-in,
 * erf's float64 dual, a conv and a pool on the masked positions; an index
 * readout; square-root attention; a conv and a pool on an image net
 * declared masked. */
static const char *const pair_nets[] = {
    "net m { input sequence(6, 3, masked=true); dense(1.2, 0.1)\n"
    "  residual { layer_norm; attention(w_q=1.3, w_k=0.8, b_std=0.1, pos_emb=sum, w_pos=0.7) }\n"
    "  fanout { branch { erf; conv(3, 1.2, 0.1) } branch { relu; dense(1.3) } } concat\n"
    "  avg_pool(3, stride=1, padding=same); dense(1.1); layer_norm; attention(mechanism=softmax, pos_emb=concat, w_pos=0.5, val_pos_emb=1, b_std=0.2)\n"
    "  global_avg_pool; dense(1.1, 0.1); relu; dense }",
    "net s { input sequence(5, 3); dense(1.3, 0.1); relu; dense(1.2); index(2); erf; dense(1.1) }",
    "net q { input sequence(6, 3); dense(1.0, 0.1); attention(scaling=sqrt, mechanism=identity, b_std=0.1)\n"
    "  gelu; fanout { branch { dense(1.2, 0.1) } branch { dense(1.1) } } prod; flatten; dense }",
    "net i { input image(3, 3, 2, masked=true); conv(3, 1.2, 0.1); relu; sum_pool(2, stride=1, padding=same)\n"
    "  conv(3, 1.1, 0.1); relu; global_sum_pool; dense }",
};
static const size_t pair_dims[] = {18, 15, 18, 18};
static const size_t pair_lengths[] = {6, 0, 0, 0};

Test(precision_pairs, masked_index_and_sqrt_nets_within_bound, .timeout = TIMEOUT(300))
{
    for (size_t i = 0; i < sizeof pair_nets / sizeof *pair_nets; i++) {
        compare(pair_nets[i], "pairs.ntk", NTKC_BACKEND_TCC, pair_dims[i], 11, 0, pair_lengths[i]);
        compare(pair_nets[i], "pairs.ntk", NTKC_BACKEND_TCC, pair_dims[i], 5, 8, pair_lengths[i]);
    }
}

/* Volumes' conv_transpose (same and valid: every output pair sums at most
 * F = kd·kh·kw tap pairs, as a conv; a circular fold would sum more), conv_local,
 * and avg_pool(normalize_edges=true): the bound takes a pool's
 * a = 2F + 2 + 32 for a windowed op other than conv (at least a conv's F + 2). */
Test(precision_pairs, volume_variants_within_bound, .timeout = TIMEOUT(300))
{
    static const char net[] =
        "net v { input volume(2, 2, 2, 2); conv_transpose(2, 1.4, 0.1, stride=2); relu\n"
        "  conv_local(kd=2, kh=3, kw=2, w_std=1.3, b_std=0.2); relu\n"
        "  avg_pool(2, stride=1, padding=same, normalize_edges=true)\n"
        "  conv_transpose(kd=1, kh=2, kw=2, sd=1, sh=1, sw=2, padding=valid, w_std=1.2); erf; global_avg_pool; dense }";
    compare(net, "v", NTKC_BACKEND_TCC, 16, 7, 0, 0);
    compare(net, "v", NTKC_BACKEND_TCC, 16, 3, 4, 0);
}

/* layer_norm over positions (the group means of ntkc_m_ln_groups in float32):
 * an image attention net, a volume (depth, all, two axes) and a masked sequence. */
Test(precision_pairs, layer_norm_axes_within_bound, .timeout = TIMEOUT(300))
{
    static const char *const nets[] = {
        "net l { input image(3, 4, 2); conv(3, 1.2, 0.1); layer_norm(axes=height); relu; dense(1.1)\n"
        "  residual { layer_norm(axes=all); attention(w_q=1.3, b_std=0.1) }; layer_norm(axes=width); relu\n"
        "  global_avg_pool; dense }",
        "net v { input volume(2, 2, 2, 2); conv(2, 1.3, 0.1); layer_norm(axes=depth); relu; conv(2, 1.1)\n"
        "  layer_norm(axes=all); erf; dense(1.2); layer_norm(axes=depth_width); relu; flatten; dense }",
        "net m { input sequence(6, 3, masked=true); dense(1.2, 0.1)\n"
        "  residual { layer_norm(axes=width); attention(w_q=1.3, w_k=0.8, b_std=0.1) }; relu; dense(1.1)\n"
        "  layer_norm(axes=all); relu; global_avg_pool; dense }",
    };
    static const size_t dims[] = {24, 16, 18}, lengths[] = {0, 0, 6};
    for (size_t i = 0; i < 3; i++) {
        compare(nets[i], "ln.ntk", NTKC_BACKEND_TCC, dims[i], 9, 0, lengths[i]);
        compare(nets[i], "ln.ntk", NTKC_BACKEND_TCC, dims[i], 4, 5, lengths[i]);
    }
}

/* A volume's concat along depth, height and width (the fan-in's a = 32: each
 * block a copy) and image_resize with a new depth (six axis maps, each a
 * float64 sum of nonnegative weights summing to 1 rounded to float: within
 * a = 32), and image_resize in a net with attention: the helpers these
 * write read and write the slots in the kernel's precision. */
Test(precision_pairs, volume_concat_resize_within_bound, .timeout = TIMEOUT(300))
{
    static const char net[] =
        "net c { input volume(2, 2, 2, 1); conv(2, 1.3, 0.1)\n"
        "  fanout(axis=depth) { branch { } branch { conv(2, 1.2) } branch { } } concat; relu\n"
        "  image_resize(3, 2, method=linear, antialias=false, d=3); conv(2); relu\n"
        "  fanout(axis=height) { branch { dense(1.1) } branch { conv(kd=1, kh=2, kw=1) } } concat; erf\n"
        "  fanout(axis=width) { branch { dense } branch { } } concat; image_resize(2, 2, method=nearest, d=1)\n"
        "  global_avg_pool; dense }";
    compare(net, "c", NTKC_BACKEND_TCC, 8, 7, 0, 0);
    compare(net, "c", NTKC_BACKEND_TCC, 8, 3, 4, 0);
    static const char attn[] = "net a { input image(3, 4, 2); conv(3, 1.4, 0.1); layer_norm; attention\n"
                               "  image_resize(5, 2); conv(2, 1.3, 0.2); erf; global_avg_pool; dense(1.2) }";
    compare(attn, "a", NTKC_BACKEND_TCC, 24, 7, 0, 0);
}
