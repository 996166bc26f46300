/* Issue 15, items 1 and 9: nothing from outside changes the code ntkc
 * compiles. A hostile source path ("*" "/", newlines and #include, quotes,
 * trigraphs, backslash-newline, bytes >= 0x80) changes the emitted C only
 * inside its escaped header comment, and the kernel computed through libtcc
 * and the system compiler is the benign one's; a net or formula activation
 * named like any helper of the generated code, the host primitives or libm
 * (asin, block_load, relu_qr, dual_relu, free, ...) compiles and computes
 * what a plainly named one does. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "c_text.h"
#include "emit.h"
#include "net_internal.h"
#include "emit_prims.h"
#include "npy.h"
#include "strbuf.h"
#include "util.h"

static const char fc_src[] = "net fc {\n  dense(1.5, 0.05)\n  relu\n  dense(1.2, 0.1)\n  erf\n  dense\n}\n";

/* Each one ends the comment, starts a directive, splices a line or forms a
 * trigraph when pasted raw into C. */
static const char *const hostile_paths[] = {
    "runs*/fc.ntk",
    "a*/ int evil = 1; /*b.ntk",
    "x\n#include <stdio.h>\nint y;\n.ntk",
    "*/\n#error injected\n/*.ntk",
    "q\"uote\"\\.ntk",
    "tri?" "?/\nint z;.ntk",
    "back\\\nint w;.ntk",
    "\xff\xfe\xe2\x80\xae\x01\x1b[31m.ntk",
    "?""?=?""?(?""?)?""?'.ntk",
};

/* The emitted text after its header comment. */
static const char *after_header(const char *c)
{
    const char *end = strstr(c, "*/");
    cr_assert_not_null(end);
    return end + 2;
}

Test(security_inject, hostile_path_changes_only_the_escaped_comment)
{
    ntkc_error err = {0};
    char *benign = ntkc_emit(fc_src, "fc.ntk", NULL, &err);
    cr_assert_not_null(benign, "%s", err.message);
    for (size_t i = 0; i < sizeof hostile_paths / sizeof hostile_paths[0]; i++) {
        char *c = ntkc_emit(fc_src, hostile_paths[i], NULL, &err);
        cr_assert_not_null(c, "path %zu: %s", i, err.message);
        const char *rest = after_header(c);
        cr_expect_str_eq(rest, after_header(benign), "path %zu changed the code after the header comment", i);
        /* the comment itself: two lines as always, printable ASCII, no trigraph or splice */
        size_t newlines = 0;
        for (const char *p = c; p < rest; p++) {
            newlines += *p == '\n';
            cr_expect(*p == '\n' || (*p >= 0x20 && *p < 0x7f), "path %zu: byte 0x%02x in the comment", i,
                      (unsigned char)*p);
        }
        cr_expect_eq(newlines, 1, "path %zu: the header comment has %zu newlines", i, newlines);
        char head[4096];
        snprintf(head, sizeof head, "%.*s", (int)(rest - c), c);
        cr_expect_null(strstr(head, "??"), "path %zu: a trigraph in %s", i, head);
        cr_expect_null(strstr(head, "\\\n"), "path %zu: a line splice in %s", i, head);
        free(c);
    }
    free(benign);
}

/* The kernel of fc_src compiled under the given file name. */
static void kernel_named(const char *filename, ntkc_backend backend, double *ntk)
{
    enum { N = 4, D = 3 };
    double x[N * D];
    fill_random(x, N * D, 7);
    ntkc_error err = {0};
    ntkc_compile_options o = {.backend = backend};
    ntkc_net *net = ntkc_compile_string(fc_src, filename, &o, &err);
    cr_assert_not_null(net, "%s: %s", filename, err.message);
    cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, D, NULL, ntk, NULL, &err), 0, "%s", err.message);
    ntkc_net_free(net);
}

Test(security_inject, hostile_path_compiles_to_the_same_kernel, .timeout = TIMEOUT(60))
{
    double want[16], got[16];
    kernel_named("fc.ntk", NTKC_BACKEND_TCC, want);
    for (size_t i = 0; i < sizeof hostile_paths / sizeof hostile_paths[0]; i++) {
        kernel_named(hostile_paths[i], NTKC_BACKEND_TCC, got);
        cr_expect_eq(memcmp(got, want, sizeof want), 0, "libtcc, path %zu", i);
    }
    /* the system compiler: one path holding every hostile sequence at once */
    char all[1024] = "";
    for (size_t i = 0; i < sizeof hostile_paths / sizeof hostile_paths[0]; i++)
        strcat(all, hostile_paths[i]);
    kernel_named(all, NTKC_BACKEND_CC, got);
    kernel_named("fc.ntk", NTKC_BACKEND_CC, want);
    cr_expect_eq(memcmp(got, want, sizeof want), 0, "cc back end");
}

/* `mkdir 'runs*'` gave exit 2 (the comment ended at '*' '/'); a directory whose
 * name closes the comment and adds code ran that code. */
Test(security_inject, cli_net_in_hostile_directories, .timeout = TIMEOUT(60))
{
    char dir[256], path[1024], cmd[4096], errs[4096];
    make_temp_dir(dir, sizeof dir);
    ntkc_error err = {0};
    double x[12];
    fill_random(x, 12, 3);
    snprintf(path, sizeof path, "%s/x.npy", dir);
    cr_assert_eq(npy_write_f64(path, 2, (size_t[]){4, 3}, x, &err), 0, "%s", err.message);
    /* "*" "/" across two directories: the path reads "...runs*" "/ int evil = 1; /" "*" "/net.ntk" */
    const char *subdirs[] = {"runs*", "runs*/ int evil = 1; /*"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, "mkdir -p '%s/%s' && printf '%%s' '%s' > '%s/%s/net.ntk'", dir, subdirs[i], fc_src,
                 dir, subdirs[i]);
        cr_assert_eq(system(cmd), 0);
        snprintf(cmd, sizeof cmd, "%s kernel '%s/%s/net.ntk' %s --ntk %s/K%zu.npy --quiet && %s emit '%s/%s/net.ntk' -o %s/e%zu.c",
                 ntkc_bin(), dir, subdirs[i], path, dir, i, ntkc_bin(), dir, subdirs[i], dir, i);
        cr_expect_eq(run_command(cmd, errs, sizeof errs), 0, "%s: %s", cmd, errs);
    }
    /* the emitted files differ in their two-line header comment only */
    snprintf(cmd, sizeof cmd,
             "cd %s && cmp -s K0.npy K1.npy && tail -n +3 e0.c > t0 && tail -n +3 e1.c > t1 && cmp -s t0 t1 && "
             "head -n 2 e1.c | grep -q 'runs[*].057 int evil'",
             dir);
    cr_expect_eq(system(cmd), 0, "kernels or code differ, or the comment is not escaped");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    system(cmd);
}

/* Decodes what c_text_escape wrote as a C string literal's body would be. */
static size_t decode_c_string(const char *s, unsigned char *out)
{
    size_t n = 0;
    while (*s) {
        if (*s != '\\') {
            out[n++] = (unsigned char)*s++;
        } else if (s[1] >= '0' && s[1] <= '7') {
            out[n++] = (unsigned char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 4;
        } else {
            out[n++] = (unsigned char)s[1];
            s += 2;
        }
    }
    return n;
}

Test(security_inject, escape_is_inert_and_reversible)
{
    /* every byte, every pair of the characters that matter */
    unsigned char text[256 + 64 * 2 + 1];
    size_t len = 0;
    for (int b = 1; b < 256; b++)
        text[len++] = (unsigned char)b;
    const char specials[] = "*/?\\\"\n";
    for (size_t i = 0; specials[i]; i++)
        for (size_t j = 0; specials[j]; j++)
            text[len++] = (unsigned char)specials[i], text[len++] = (unsigned char)specials[j];
    text[len] = '\0';
    StrBuf sb;
    sb_init(&sb);
    c_text_escape(&sb, (const char *)text);
    for (size_t i = 0; i < sb.len; i++)
        cr_assert(sb.data[i] >= 0x20 && sb.data[i] < 0x7f, "byte 0x%02x written raw", (unsigned char)sb.data[i]);
    cr_expect_null(strstr(sb.data, "*/"));
    cr_expect_null(strstr(sb.data, "/*"));
    cr_expect_null(strstr(sb.data, "??"));
    for (size_t i = 0; i < sb.len; i++) /* every quote escaped: preceded by an odd run of backslashes */
        if (sb.data[i] == '"') {
            size_t k = 0;
            while (k < i && sb.data[i - 1 - k] == '\\')
                k++;
            cr_expect(k % 2 == 1, "an unescaped quote at %zu", i);
        }
    unsigned char back[sizeof text];
    cr_expect_eq(decode_c_string(sb.data, back), len);
    cr_expect_eq(memcmp(back, text, len), 0);
    sb_free(&sb);
}

Test(security_inject, numbers_are_c_for_every_double)
{
    const double v[] = {INFINITY, -INFINITY, NAN, 0.1, -0.0, 5e-324, 1.7976931348623157e308, 3.0};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char buf[SB_DOUBLE_MAX];
        sb_format_double(buf, v[i]);
        cr_expect_null(strpbrk(buf, "abcdfghijklmnopqrstuvwxyzABCDFGHIJKLMNOPQRSTUVWXYZ_"), "%s", buf);
        if (isfinite(v[i]))
            cr_expect(strtod(buf, NULL) == v[i] && signbit(strtod(buf, NULL)) == signbit(v[i]), "%s", buf);
        else
            cr_expect(buf[0] == '(', "%s", buf);
    }
}

/* The emitters' gate refuses a name that is no identifier (the front end
 * never makes one: this is the check behind that promise). */
Test(security_inject, emitter_refuses_names_that_are_not_identifiers)
{
    ntkc_net *net = compile_or_fail("net ok { input image(3, 3, 1); conv(3); residual { relu; conv(3) }; flatten; dense }",
                                    NTKC_BACKEND_TCC);
    IrNet copy = *ntkc_net_ir(net);
    Diag err = {0};
    copy.name = "a*/ int evil; /*";
    cr_expect_null(emit_net_c(&copy, "n.ntk", &err));
    cr_expect_eq(err.code, 2, "%s", err.message);
    /* an activation inside a residual branch */
    copy.name = "ok";
    IrOp *ops = malloc(copy.nops * sizeof *ops);
    memcpy(ops, copy.ops, copy.nops * sizeof *ops);
    IrOp *act = NULL;
    for (size_t i = 0; i < copy.nops; i++)
        if (ops[i].kind == IR_FANOUT) {
            for (size_t k = 0; k < ops[i].u.fanout.nbranches; k++)
                for (size_t j = 0; j < ops[i].u.fanout.branches[k].nops; j++)
                    if (ops[i].u.fanout.branches[k].ops[j].kind == IR_ACT)
                        act = &ops[i].u.fanout.branches[k].ops[j];
        }
    cr_assert(act && act->kind == IR_ACT);
    ActDef bad = *act->u.act.def;
    const ActDef *saved = act->u.act.def;
    bad.name = "relu\n#define x";
    act->u.act.def = &bad;
    copy.ops = ops;
    diag_clear(&err);
    cr_expect_null(emit_net_c(&copy, "n.ntk", &err));
    cr_expect_eq(err.code, 2, "%s", err.message);
    act->u.act.def = saved;
    free(ops);
    ntkc_net_free(net);
}

/* ---- item 9: names of helpers ---------------------------------------- */

typedef struct Names {
    char (*v)[64];
    size_t n, cap;
} Names;

static void names_add(Names *ns, const char *s, size_t len)
{
    if (len == 0 || len >= 64)
        return;
    for (size_t i = 0; i < ns->n; i++)
        if (strlen(ns->v[i]) == len && memcmp(ns->v[i], s, len) == 0)
            return;
    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? 2 * ns->cap : 256;
        ns->v = realloc(ns->v, ns->cap * sizeof *ns->v);
    }
    memcpy(ns->v[ns->n], s, len);
    ns->v[ns->n++][len] = '\0';
}

/* Every helper identifier of text: ntkc_X as X and as itself; the libm and
 * libc names the generated code declares are added by the caller. */
static void collect_identifiers(Names *ns, const char *text)
{
    for (const char *p = text; *p;) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_')) {
            p += (*p >= '0' && *p <= '9') ? strspn(p, "0123456789.eE+-xXabcdefABCDEF") : 1;
            continue;
        }
        size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        if (len > 5 && strncmp(p, "ntkc_", 5) == 0) {
            names_add(ns, p, len);
            names_add(ns, p + 5, len - 5);
        }
        p += len;
    }
}

/* The helpers' names: the host primitives (every block and plane primitive,
 * the image runtime, ntkc_acos and friends, the libm prototypes) and the
 * emitted code of a vector, an image and a graph net. */
static Names helper_names(void)
{
    Names ns = {0};
    char *host = prim_emit_host_source();
    collect_identifiers(&ns, host);
    cr_expect_null(strstr(host, NTKC_NET_PREFIX), "the host primitives use the net prefix");
    free(host);
    const char *nets[] = {fc_src, "net img { input image(4, 4, 1); conv(3, 1.2); relu; global_avg_pool; dense }",
                          "net g { input graph(2); aggregate; dense(1.4); relu; readout(sum); dense }",
                          "act sw(x) = x / (1 + exp(-x))\nnet f { dense; sw; dense }"};
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        ntkc_error err = {0};
        char *c = ntkc_emit(nets[i], "n.ntk", NULL, &err);
        cr_assert_not_null(c, "%s", err.message);
        collect_identifiers(&ns, c);
        free(c);
    }
    const char *more[] = {"asin", "acos", "atan", "atan2", "exp", "log", "log1p", "erf", "erfc", "sin", "cos", "tanh",
                          "pow", "sqrt", "fabs", "floor", "fma", "malloc", "free", "size_t", "main", "p0", "p1",
                          "dual_relu", "phi_sw", "fn_exp", "NTKC_PI", "NTKC_BLOCK", "NTKC_LANES", "NTKC_INLINE"};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        names_add(&ns, more[i], strlen(more[i]));
    return ns;
}

/* Compiles a net called name (a user error is fine: a keyword, a built-in
 * activation's name; an internal one is the clash this test is about) and
 * compares its kernel with the reference's. */
static int net_named(const char *tmpl, const char *name, ntkc_backend backend, const double *x, size_t n, size_t d,
                     double *ntk)
{
    char src[512];
    snprintf(src, sizeof src, tmpl, name);
    ntkc_error err = {0};
    ntkc_compile_options o = {.backend = backend};
    ntkc_net *net = ntkc_compile_string(src, "n.ntk", &o, &err);
    if (net == NULL) {
        cr_expect_eq(err.code, 1, "'%s': %s", name, err.message);
        return -1;
    }
    cr_expect_eq(ntkc_kernel(net, n, x, 0, NULL, d, NULL, ntk, NULL, &err), 0, "'%s': %s", name, err.message);
    ntkc_net_free(net);
    return 0;
}

/* Names whose index is shard modulo shards (a test can take a share of them:
 * formula activations cost a quadrature calibration each). */
static void check_names(const char *tmpl, const char *ref_name, size_t d, ntkc_backend backend, const char *only,
                        size_t shard, size_t shards)
{
    enum { N = 3 };
    double x[N * 32], want[N * N], got[N * N];
    fill_random(x, N * d, 5);
    cr_assert_eq(net_named(tmpl, ref_name, NTKC_BACKEND_TCC, x, N, d, want), 0);
    Names ns = helper_names();
    size_t compiled = 0;
    for (size_t i = 0; i < ns.n; i++) {
        char padded[70];
        snprintf(padded, sizeof padded, " %s ", ns.v[i]);
        if ((only && strstr(only, padded) == NULL) || i % shards != shard)
            continue;
        memset(got, 0, sizeof got);
        if (net_named(tmpl, ns.v[i], backend, x, N, d, got) == 0) {
            compiled++;
            cr_expect(max_rel_diff(got, want, N * N) < 1e-13, "net named '%s' computes another kernel", ns.v[i]);
        }
    }
    cr_expect_gt(compiled, only ? 1 : 100 / shards, "only %zu names compiled", compiled);
    free(ns.v);
}

Test(security_inject, nets_named_like_helpers_vector, .timeout = TIMEOUT(60))
{
    check_names("net %s {\n dense(1.5, 0.05)\n relu\n dense(1.2)\n erf\n dense\n}\n", "ref", 3, NTKC_BACKEND_TCC, NULL, 0,
                1);
}

Test(security_inject, nets_named_like_helpers_image, .timeout = TIMEOUT(60))
{
    check_names("net %s { input image(3, 3, 1); conv(3, 1.2, 0.1); relu; global_avg_pool; dense }", "ref", 9,
                NTKC_BACKEND_TCC, NULL, 0, 1);
}

/* Three tests, a third of the names each: every name compiles a formula
 * activation and its quadrature calibration (seconds in all). */
ParameterizedTestParameters(security_inject, formula_activations_named_like_helpers)
{
    static size_t shards[] = {0, 1, 2};
    return cr_make_param_array(size_t, shards, 3);
}

ParameterizedTest(size_t *shard, security_inject, formula_activations_named_like_helpers, .timeout = TIMEOUT(60))
{
    check_names("act %1$s(x) = x * x / (1 + x * x)\nnet f { dense(1.3); %1$s; dense }", "ref", 3, NTKC_BACKEND_TCC,
                NULL, *shard, 3);
}

Test(security_inject, nets_named_like_helpers_cc_back_end, .timeout = TIMEOUT(60))
{
    check_names("net %s {\n dense(1.5, 0.05)\n relu\n dense(1.2)\n erf\n dense\n}\n", "ref", 3, NTKC_BACKEND_CC,
                " asin relu_qr block_load ", 0, 1);
}
