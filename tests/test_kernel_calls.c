/* The build-time call graph of the kernel-time C (tools/kernel_calls.c) and
 * the emitters' use of it (compiler/emit/code_kernel.c), checked by a C
 * compiler rather than by reading the graph again: for every static
 * function of the kernel texts, a file carrying all of them whose only use
 * is that function keeps exactly what it needs — clang, which warns of an
 * unused static inline function in the main file, compiles it with
 * -Wunused-function -Werror (an extra function fails), and with the
 * implicit-declaration error a missing callee fails too. The same file with
 * nothing cut must fail, so the flags do catch an unused static. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code.h"
#include "kernel_text.h"
#include "util.h"

static const char flags[] = "-std=c99 -pedantic -Wall -Wextra -Wmissing-prototypes -Wunused-function "
                            "-Werror=implicit-function-declaration -Werror -fsyntax-only";

/* Every kernel text in one file, cut (or not) to what `use` (a function
 * name, or NULL) reaches. */
static char *probe_file(const char *use, int cut)
{
    StrBuf sb;
    sb_init(&sb);
    Code c;
    cr_assert_eq(code_init(&c, &sb, "probe"), 0);
    void (*put)(Code *, const KernelText *) = cut ? code_kernel : NULL;
#define KERNEL(parts) (put ? put(&c, &(parts)) : code_text(&c, (parts).text))
    code_line(&c, "typedef __SIZE_TYPE__ size_t;");
    code_line(&c, "void *malloc(size_t);");
    code_line(&c, "void free(void *);");
    code_text(&c, kernel_libm);
    code_line(&c, "#define NTKC_PI 3.14159265358979323846");
    KERNEL(kernel_math_parts);
    KERNEL(kernel_math_f_parts);
    code_line(&c, "#define NTKC_LANES 8");
    KERNEL(emit_image_runtime_common_parts);
    code_line(&c, "#define NTKC_FN static inline");
    KERNEL(emit_image_runtime_functions_parts);
    KERNEL(emit_image_runtime_common_f_parts); /* the float32 runtime (image_runtime_f.c) */
    KERNEL(emit_image_runtime_functions_f_parts);
    code_text(&c, emit_image_runtime_end_f);
    KERNEL(emit_attn_runtime_common_parts);
    KERNEL(emit_attn_runtime_functions_parts);
    KERNEL(emit_attn_runtime_common_f_parts); /* the float32 all-pairs runtime (attn_runtime_f.c) */
    KERNEL(emit_attn_runtime_functions_f_parts);
    code_text(&c, kernel_graph_set_type);
    KERNEL(kernel_graph_entry_parts);
    KERNEL(kernel_graph_entry_f_parts); /* the float32 driver (graph_entry_f.c) */
#undef KERNEL
    code_line(&c, "void ntkcprobe(void);");
    code_line(&c, "void ntkcprobe(void) { %s%s; }", use ? "(void)" : "", use ? use : "");
    code_text(&c, emit_image_runtime_end);
    cr_assert_eq(code_kernel_finish(&c), 0);
    return sb_take(&sb);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* A node is a function when its closure holds itself. */
static int is_function(unsigned k)
{
    for (unsigned i = 0; i < kernel_nodes[k].count; i++)
        if (kernel_closure[kernel_nodes[k].first + i] == k)
            return 1;
    return 0;
}

/* Four shards, every fourth function each (a clang start per file: 0.15 s of
 * CPU, 170 files). make test checks the first (a quarter of the functions,
 * spread over every kernel text, and the file that uses nothing); the other
 * three are suite kernel_calls_long (make check-long), so every function is
 * checked there. */
enum { CALL_SHARDS = 4 };

static void check_shard(unsigned shard)
{
    char dir[256], path[512], cmd[1024], err[8192];
    make_temp_dir(dir, sizeof dir);
    char *text;
    if (shard == 0) {
        snprintf(path, sizeof path, "%s/none.c", dir);
        text = probe_file(NULL, 1);
        write_text(path, text);
        free(text);
    }
    unsigned functions = 0, probes = shard == 0;
    for (unsigned k = 0; k < kernel_node_count; k++) {
        if (!is_function(k) || functions++ % CALL_SHARDS != shard)
            continue;
        snprintf(path, sizeof path, "%s/%s.c", dir, kernel_nodes[k].name);
        text = probe_file(kernel_nodes[k].name, 1);
        cr_assert_not_null(strstr(text, kernel_nodes[k].name), "%s", kernel_nodes[k].name);
        write_text(path, text);
        free(text);
        probes++;
    }
    /* at least the image and attention runtimes' entry points */
    cr_assert_geq(functions, emit_image_runtime_count + emit_attn_runtime_count - 2, "the graph lost functions: %u",
                  functions);
    cr_assert_gt(probes, 0);
    snprintf(cmd, sizeof cmd, "cd %s && ls *.c | xargs -n16 clang %s && rm -f *.c && rmdir %s", dir, flags, dir);
    cr_assert_eq(run_command(cmd, err, sizeof err), 0, "%s", err);
}

Test(kernel_calls, every_fourth_function_keeps_exactly_its_callees, .timeout = TIMEOUT(600)) { check_shard(0); }

/* The other three shards, two at a time under -j2. */
ParameterizedTestParameters(kernel_calls_long, every_function_keeps_exactly_its_callees)
{
    static unsigned shards[CALL_SHARDS - 1] = {1, 2, 3};
    return cr_make_param_array(unsigned, shards, CALL_SHARDS - 1);
}

ParameterizedTest(unsigned *shard, kernel_calls_long, every_function_keeps_exactly_its_callees,
                  .timeout = TIMEOUT(600))
{
    check_shard(*shard);
}

Test(kernel_calls, uncut_text_fails_the_same_flags)
{
    char dir[256], path[512], cmd[1024], err[8192];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/whole.c", dir);
    char *text = probe_file(NULL, 0);
    write_text(path, text);
    free(text);
    snprintf(cmd, sizeof cmd, "cd %s && clang %s whole.c", dir, flags);
    cr_assert_neq(run_command(cmd, err, sizeof err), 0, "the whole kernel text compiled without a warning");
    cr_assert_not_null(strstr(err, "-Wunused-function"), "%s", err);
}

/* Text outside the kernel texts is left as written, and a kernel text's
 * functions leave with their prototypes (the library's declarations). */
Test(kernel_calls, cuts_only_kernel_pieces)
{
    StrBuf sb;
    sb_init(&sb);
    Code c;
    code_init(&c, &sb, "probe");
    code_line(&c, "/* before: ntkc_conv_plane */");
    code_kernel(&c, &emit_image_runtime_functions_parts);
    code_kernel(&c, &emit_image_runtime_decls_parts);
    code_line(&c, "int f(void) { return ntkc_offset(3, 0); }");
    cr_assert_eq(code_kernel_finish(&c), 0);
    cr_assert_eq(strncmp(sb.data, "/* before: ntkc_conv_plane */\n", 30), 0);
    cr_assert_not_null(strstr(sb.data, "NTKC_FN void ntkc_conv_plane("), "a name in the file's own comment keeps it");
    cr_assert_not_null(strstr(sb.data, "\nvoid ntkc_conv_plane("), "its prototype stays: %s", sb.data);
    cr_assert_null(strstr(sb.data, "void ntkc_ln_plane("), "nothing reaches layer_norm's plane");
    size_t len = strlen("int f(void) { return ntkc_offset(3, 0); }\n");
    cr_assert_eq(strcmp(sb.data + sb.len - len, "int f(void) { return ntkc_offset(3, 0); }\n"), 0);
    cr_assert_lt(sb.len, emit_image_runtime_functions_parts.len);
    sb_free(&sb);
}

/* A static function the emitters could not leave out stops the build. */
Test(kernel_calls, unreadable_layouts_stop_the_build)
{
    static const struct {
        const char *body, *message;
    } cases[] = {
        {"static void ntkc_f(void) {\n}\n", "\"{\" on its declarator line"},
        {"static void ntkc_f(void)\n  {\n}\n", "not laid out as its declarator"},
        {"static void helper(void)\n{\n}\n", "does not start with ntkc_ or NTKC_"},
        {"static void ntkc_f(void)\n{\n}\nstatic void ntkc_f(void)\n{\n}\n", "defined twice"},
    };
    char dir[256], path[512], cmd[2048], err[4096], tool[512];
    /* next to the ntkc under test (build/, build-asan/, ...) */
    snprintf(tool, sizeof tool, "%s", ntkc_bin());
    char *slash = strrchr(tool, '/');
    snprintf(slash ? slash + 1 : tool, sizeof tool - (size_t)(slash ? slash + 1 - tool : 0), "embed_text");
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/k.c", dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fprintf(f, "/* @text kernel_probe */\n%s/* @end */\n", cases[i].body);
        cr_assert_eq(fclose(f), 0);
        snprintf(cmd, sizeof cmd, "%s %s/out.c %s", tool, dir, path);
        cr_assert_neq(run_command(cmd, err, sizeof err), 0, "case %zu was accepted", i);
        cr_assert_not_null(strstr(err, cases[i].message), "case %zu: %s", i, err);
    }
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("/* @text kernel_probe */\nstatic int ntkc_g(void);\nstatic int ntkc_g(void) { return 1; }\n/* @end */\n", f);
    cr_assert_eq(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "%s %s/out.c %s", tool, dir, path);
    cr_assert_eq(run_command(cmd, err, sizeof err), 0, "%s", err);
}
