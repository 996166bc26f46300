/* The catalogue of bad inputs: every way a user can hand the ntkc executable
 * something wrong, each answered with the right exit code and a message that
 * names the file and position (or the array element) at fault — and nothing
 * written: no output file appears, an existing output and every input are
 * left byte for byte as they were, and no temp file is left behind.
 *
 * Each case runs in a fresh directory DIR holding:
 *   net.ntk   the case's source (a good net when the case gives none)
 *   good.npy  a valid 3×4 float64 input
 *   x.npy     the case's generated .npy (when it names one)
 *   old.npy   an existing file the default command would overwrite (--nngp)
 * Two .npy "defects" are supported formats (big-endian, Fortran order): those
 * cases expect success and an output identical to good.npy's. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Generated .npy inputs, written to DIR/x.npy. */
typedef enum NpyGen {
    X_NONE,
    X_BAD_MAGIC,
    X_EMPTY,
    X_SHORT_PREAMBLE,
    X_HEADER_PAST_END,
    X_HEADER_TOO_LONG,
    X_VERSION,
    X_MALFORMED_DICT,
    X_MISSING_KEY,
    X_DUPLICATE_KEY,
    X_SIZE_LIE_SHORT,
    X_SIZE_LIE_LONG,
    X_SHAPE_OVERFLOW,
    X_BIG_ENDIAN,
    X_FORTRAN,
    X_FLOAT32,
    X_OBJECT,
    X_COMPLEX,
    X_STRING,
    X_STRUCTURED,
    X_LONG_DOUBLE,
    X_RANK3,
    X_RANK1,
    X_SCALAR,
    X_RANK9,
    X_ZERO_ROWS,
    X_ZERO_COLS,
    X_NAN,
    X_POS_INF,
    X_NEG_INF,
    X_HALF_INF,
    X_FIVE_FEATURES,
    X_HUGE_VALUES,
} NpyGen;

/* Generated net sources too long or too odd for the table. */
typedef enum SrcGen { S_TABLE, S_NUL_BYTE, S_DEEP_BLOCKS, S_DEEP_PARENS } SrcGen;

typedef enum Expect {
    FAILS,       /* exit code and message as given; nothing written */
    SAME_AS_GOOD /* exit 0 and DIR/out.npy identical to good.npy's output */
} Expect;

/* Arrays, not pointers: plain data (the cases were once Criterion
 * parameters, handed to a re-executed child as bytes). */
typedef struct BadCase {
    char name[40];
    char source[120]; /* net.ntk; "" = a good net */
    SrcGen src_gen;
    NpyGen npy;
    char args[160]; /* after "ntkc"; DIR substituted */
    Expect expect;
    int exit_code;
    char fragment[192]; /* expected in stderr: position and words */
    char graph[48];     /* DIR/x.graph when not empty */
} BadCase;

#define GAUSS " needs a Gaussian input (the output of a dense or conv layer); "
#define GOOD_NET "net mlp { dense(1.5, 0.05); relu; dense(1) }\n"
#define OUTS " --ntk DIR/out.npy --nngp DIR/old.npy"
#define K_GOOD "kernel DIR/net.ntk DIR/good.npy" OUTS /* the net is the suspect */
#define K_X "kernel DIR/net.ntk DIR/x.npy" OUTS     /* the data are the suspect */
#define LANG(name, src, frag) {name, src, S_TABLE, X_NONE, K_GOOD, FAILS, 1, frag, ""}
#define NPY(name, gen, frag) {name, "", S_TABLE, gen, K_X, FAILS, 1, frag, ""}
#define CLI(name, args, frag) {name, "", S_TABLE, X_NONE, args, FAILS, 1, frag, ""}
#define GRAPH_NET "net g { input graph(3); aggregate; dense(1.4); relu; readout(sum); dense }"
#define TWO_GRAPHS "2\n1 0\n0 0\n1 1\n1 0\n" /* one node each, tags 0 and 1, labels 0 and 1 */
#define PREDICT_GRAPHS "predict DIR/net.ntk --train DIR/x.graph --test DIR/x.graph --mean DIR/out.npy"
#define GRAPH(name, text, frag) {name, GRAPH_NET, S_TABLE, X_NONE, "kernel DIR/net.ntk DIR/x.graph" OUTS, FAILS, 1, frag, text}

static const BadCase cases[] = {
    /* ---- the language: lexer ---- */
    LANG("bad_character", "net n { dense @ }", "net.ntk:1:15: error: unexpected character '@'"),
    LANG("non_ascii", "net n { d\xc3\xa9nse }", "net.ntk:1:10: error: unexpected byte 0xc3"),
    LANG("malformed_number", "net n { dense(1e) }", "net.ntk:1:15: error: malformed number '1e'"),
    LANG("number_into_name", "net n { dense(2x) }", "net.ntk:1:15: error: malformed number '2x'"),
    LANG("number_too_large", "net n { dense(1e999) }", "net.ntk:1:15: error: number '1e999' is too large"),
    {"nul_byte", "", S_NUL_BYTE, X_NONE, K_GOOD, FAILS, 1, "net.ntk: contains a NUL byte", ""},
    /* ---- the language: parser ---- */
    LANG("file_level_junk", "dense", "net.ntk:1:1: error: expected 'net', 'let' or 'act' at file level"),
    LANG("net_without_name", "net { dense }", "net.ntk:1:5: error: expected a net name after 'net', found '{'"),
    LANG("net_named_keyword", "net repeat { dense }", "net.ntk:1:5: error: expected a net name after 'net', found keyword"),
    LANG("net_without_brace", "net n dense", "net.ntk:1:7: error: expected '{' after 'net n'"),
    LANG("unclosed_net", "net n {\n  dense", "net.ntk:2:8: error: expected '}' to close net 'n' opened at 1:7"),
    LANG("unclosed_arguments", "net n { dense(1, 2", "net.ntk:1:19: error: expected ')' to close the arguments of 'dense' opened at 1:14"),
    LANG("argument_separator", "net n { dense(1 2) }", "net.ntk:1:17: error: expected ',' or ')' in the arguments of 'dense'"),
    LANG("argument_without_value", "net n { dense(w_std=) }", "net.ntk:1:21: error: expected a number or a name as the value of 'w_std'"),
    LANG("positional_after_keyword", "net n { dense(w_std=1, 2) }", "net.ntk:1:24: error: positional argument after a keyword"),
    LANG("statement_start", "net n { 3 }", "net.ntk:1:9: error: expected a layer, 'let', 'repeat' or 'param'"),
    LANG("two_statements_one_line", "net n { dense relu }", "net.ntk:1:15: error: expected end of line or ';' after the statement"),
    LANG("keyword_typo", "net n { dense; repaet 2 { relu } }", "net.ntk:1:23: error: expected end of line or ';' after the statement ('repaet' is not a keyword; did you mean 'repeat'?"),
    LANG("net_inside_net", "net n { net m { dense } }", "net.ntk:1:9: error: 'net' definitions are only allowed at file level"),
    LANG("let_without_name", "let = 2\nnet n { dense }", "net.ntk:1:5: error: expected a constant name after 'let'"),
    LANG("let_without_equals", "let W 2\nnet n { dense }", "net.ntk:1:7: error: expected '=' after 'let W'"),
    LANG("let_without_value", "let W =\nnet n { dense }", "net.ntk:1:8: error: expected a number or a constant name after '='"),
    LANG("repeat_without_count", "net n { repeat { dense } }", "net.ntk:1:16: error: expected a number after 'repeat'"),
    LANG("repeat_without_block", "net n { repeat 2 dense }", "net.ntk:1:18: error: expected '{' after 'repeat 2'"),
    LANG("repeat_modifier", "net n { repeat 2 { dense } relu }", "net.ntk:1:28: error: 'repeat' takes no modifier"),
    LANG("param_without_name", "net n { param }", "net.ntk:1:15: error: expected 'ntk' or 'standard' after 'param'"),
    LANG("input_without_paren", "net n { input vector }", "net.ntk:1:22: error: expected '(' after 'input vector'"),
    LANG("junk_after_definition", "net n { dense } dense", "net.ntk:1:17: error: expected 'net', 'let' or 'act' at file level"),
    LANG("duplicate_net", "net a { dense }\nnet a { dense }", "net.ntk:2:5: error: duplicate net name 'a' (first defined at 1:5)"),
    LANG("duplicate_file_constant", "let W = 1\nlet W = 2\nnet n { dense(W) }", "net.ntk:2:1: error: constant 'W' is already defined at 1:1"),
    LANG("act_builtin_name", "act relu(x) = x\nnet n { dense }", "net.ntk:1:5: error: activation 'relu' is built in"),
    LANG("act_layer_name", "act dense(x) = x\nnet n { dense }", "net.ntk:1:5: error: activation 'dense' has the name of a built-in layer"),
    LANG("act_twice", "act f(x) = x\nact f(x) = x\nnet n { dense }", "net.ntk:2:5: error: activation 'f' is already defined at 1:5"),
    LANG("act_without_paren", "act f = x\nnet n { dense }", "net.ntk:1:7: error: expected '(' and the variable name after 'act f'"),
    LANG("act_without_variable", "act f() = x\nnet n { dense }", "net.ntk:1:7: error: expected the variable name"),
    LANG("act_param_is_variable", "act f(x, x = 1) = x\nnet n { dense }", "net.ntk:1:10: error: parameter 'x' has the name of the variable of 'f'"),
    LANG("act_param_twice", "act f(x, a = 1, a = 2) = x\nnet n { dense }", "net.ntk:1:17: error: parameter 'a' of 'f' declared twice (first at 1:10)"),
    LANG("act_param_without_default", "act f(x, a) = x\nnet n { dense }", "net.ntk:1:11: error: expected '=' and a default value after parameter 'a'"),
    LANG("act_default_not_number", "act f(x, a = b) = x\nnet n { dense }", "net.ntk:1:14: error: expected a number as the default of 'a'"),
    LANG("act_param_list", "act f(x a) = x\nnet n { dense }", "net.ntk:1:9: error: expected ',' or ')' in the parameter list"),
    LANG("act_without_formula", "act f(x)\nnet n { dense }", "net.ntk:1:9: error: expected '=' and the formula of 'f'"),
    LANG("act_bad_expression", "act f(x) = x +\nnet n { dense }", "net.ntk:1:15: error: expected an expression"),
    LANG("act_unclosed_paren", "act f(x) = (x + 1\nnet n { dense }", "net.ntk:2:1: error: expected ')' to close the '(' at 1:12"),
    LANG("act_unclosed_call", "act f(x) = g(x y)\nnet n { dense }", "net.ntk:1:16: error: expected ',' or ')' to close the call of 'g' opened at 1:13"),
    LANG("act_quad_not_number", "act f(x) = x quad many\nnet n { dense }", "net.ntk:1:19: error: expected a number of quadrature points"),
    LANG("act_quad_zero", "act f(x) = x quad 0\nnet n { dense }", "net.ntk:1:19: error: the number of quadrature points must be a whole number from 1 to 1000"),
    LANG("act_quad_fraction", "act f(x) = x quad 2.5\nnet n { dense }", "net.ntk:1:19: error: the number of quadrature points must be a whole number"),
    {"deep_blocks", "", S_DEEP_BLOCKS, X_NONE, K_GOOD, FAILS, 1, "net.ntk:1:2830: error: nesting deeper than 256 levels", ""},
    {"deep_parentheses", "", S_DEEP_PARENS, X_NONE, K_GOOD, FAILS, 1, "net.ntk:1:268: error: nesting deeper than 256 levels", ""},
    /* ---- the language: checks and lowering ---- */
    LANG("undefined_constant", "let Wd = 1\nnet n { dense(Wx) }", "net.ntk:2:15: error: undefined constant 'Wx'; did you mean 'Wd'?"),
    LANG("constant_twice_in_net", "net n { let A = 2; let A = 3; dense }", "net.ntk:1:20: error: constant 'A' is already defined in net 'n' at 1:9"),
    LANG("takes_no_arguments", "net n { dense; relu(1) }", "net.ntk:1:21: error: 'relu' takes no arguments"),
    LANG("takes_no_keyword", "net n { dense; relu(a=1) }", "net.ntk:1:21: error: 'relu' takes no arguments, got 'a'"),
    LANG("unknown_argument", "net n { dense(w_sdt=1) }", "net.ntk:1:15: error: unknown argument 'w_sdt' for 'dense'; did you mean 'w_std'?"),
    LANG("too_many_positional", "net n { dense; erf(1, 2, 3, 4) }", "net.ntk:1:29: error: too many positional arguments for 'erf': it takes at most 3"),
    LANG("duplicate_argument", "net n { dense(1.5, w_std=2) }", "net.ntk:1:20: error: duplicate argument 'w_std' for 'dense' (first given at 1:15)"),
    LANG("negative_w_std", "net n { dense(-1.5) }", "net.ntk:1:15: error: 'w_std' of 'dense' must be non-negative, got -1.5"),
    LANG("negative_b_std_constant", "let B = 0.1\nnet n { dense(b_std=-B) }", "net.ntk:2:21: error: 'b_std' of 'dense' must be non-negative, got -0.1"),
    LANG("w_std_square_overflows", "net n { dense(1e200) }", "net.ntk:1:15: error: 'w_std' of 'dense' is too large: at most 1e+150"),
    LANG("b_std_square_overflows", "let B = 2e150\nnet n { dense(1, B) }", "net.ntk:2:18: error: 'b_std' of 'dense' is too large"),
    LANG("width_under_ntk", "net n { dense(width=8); relu; dense }", "net.ntk:1:15: error: 'width' only applies to 'param standard'"),
    LANG("width_zero", "net n { param standard; dense(width=0); dense }", "net.ntk:1:37: error: 'width' of 'dense' must be a whole number >= 1, got 0"),
    LANG("width_fraction", "net n { param standard; dense(width=2.5); dense }", "net.ntk:1:37: error: 'width' of 'dense' must be a whole number >= 1, got 2.5"),
    LANG("width_too_large", "net n { param standard; dense(width=1e16); dense }", "net.ntk:1:37: error: 'width' of 'dense' is too large"),
    LANG("missing_width", "net n { param standard; dense; relu; dense }", "net.ntk:1:25: error: missing required argument 'width' for 'dense'"),
    LANG("too_many_layers", "net n { repeat 100001 { dense } }", "net.ntk:1:25: error: net 'n' has more than 100000 layers"),
    LANG("act_before_affine", "net n {\n  relu\n  dense(1)\n}", "net.ntk:2:3: error: relu at 2:3" GAUSS "its input is the net's input itself"),
    LANG("unknown_layer_suggestion", "net n {\n  dense(1)\n  relux\n}", "net.ntk:3:3: error: unknown layer 'relux'; did you mean 'relu'?"),
    LANG("unknown_layer_list", "net n { dense; qqqqqqq }", "net.ntk:1:16: error: unknown layer 'qqqqqqq' (known layers: dense, conv"),
    LANG("layer_with_block", "net n { dense { relu } }", "net.ntk:1:15: error: 'dense' does not take a block"),
    LANG("param_in_block", "net n { dense; repeat 2 { param ntk } }", "net.ntk:1:27: error: 'param' is only allowed at net level"),
    LANG("param_twice", "net n { param ntk\n param standard\n dense }", "net.ntk:2:2: error: 'param' given twice in net 'n' (first at 1:9)"),
    LANG("param_after_layer", "net n { dense; param standard }", "net.ntk:1:16: error: 'param' must come before the first layer"),
    LANG("unknown_parameterization", "net n { param ntkk; dense }", "net.ntk:1:15: error: unknown parameterization 'ntkk'"),
    LANG("repeat_zero", "net n { dense; repeat 0 { relu } }", "net.ntk:1:23: error: the 'repeat' count must be a positive whole number, got 0"),
    LANG("repeat_fraction", "net n { dense; repeat 1.5 { relu } }", "net.ntk:1:23: error: the 'repeat' count must be a positive whole number, got 1.5"),
    LANG("repeat_negative", "net n { dense; repeat -2 { relu } }", "net.ntk:1:23: error: the 'repeat' count must be a positive whole number, got -2"),
    LANG("repeat_empty", "net n { dense; repeat 2 { } }", "net.ntk:1:25: error: empty 'repeat' block"),
    LANG("let_in_block", "net n { dense; repeat 2 { let A = 1 } }", "net.ntk:1:27: error: 'let' is only allowed at file or net level"),
    LANG("input_dim_mismatch", "net n { input vector(3); dense }",
         "DIR/good.npy: rows of 4 features, but net 'n' declares input vector(3)"),
    /* ---- Gaussianity (docs/gaussianity.md): issue 14's four nets, then one case per rule ---- */
    LANG("gauss_act_after_act", "net n { dense(1.2); relu; relu; dense(1) }",
         "net.ntk:1:27: error: relu at 1:27" GAUSS "its input comes from relu at 1:21"),
    LANG("gauss_act_after_pool", "net n { input image(6, 6, 2); conv(3); relu; avg_pool(2); relu; flatten; dense(1) }",
         "net.ntk:1:59: error: relu at 1:59" GAUSS "its input comes from avg_pool at 1:46, which is not"),
    LANG("gauss_act_after_gap", "net n { input image(6, 6, 2); conv(3); relu; global_avg_pool; relu; dense(1) }",
         "relu at 1:63" GAUSS "its input comes from global_avg_pool at 1:46, which is not Gaussian because of relu at 1:40"),
    LANG("gauss_post_act_residual", "net n { dense(1.2); relu; residual { dense(1.4, 0.1); relu; dense(1) }; relu; dense(1) }",
         "relu at 1:73" GAUSS "its input comes from residual at 1:27, which is not Gaussian because of relu at 1:21"),
    LANG("gauss_formula_after_act", "act sq(x) = x * x\nnet n { dense; relu; sq; dense }",
         "net.ntk:2:22: error: sq at 2:22" GAUSS "its input comes from relu at 2:16"),
    LANG("gauss_layer_norm_after_act", "net n { dense; relu; layer_norm; dense }",
         "net.ntk:1:22: error: layer_norm at 1:22" GAUSS "its input comes from relu at 1:16"),
    LANG("gauss_prod_identity", "net n { dense; relu; fanout { branch { } branch { dense } } prod; dense }",
         "net.ntk:1:22: error: fanout \xe2\x80\xa6 prod at 1:22" GAUSS "the input of its identity branch 1 comes from relu"),
    LANG("gauss_act_after_prod", "net n { dense; fanout { branch { dense } branch { dense } } prod; erf; dense }",
         "net.ntk:1:67: error: erf at 1:67" GAUSS "its input comes from fanout \xe2\x80\xa6 prod at 1:16 (a product"),
    LANG("gauss_act_after_concat", "net n { dense; fanout { branch { dense } branch { dense(2) } } concat; erf; dense }",
         "net.ntk:1:72: error: erf at 1:72" GAUSS "its input comes from fanout \xe2\x80\xa6 concat at 1:16 (concat"),
    LANG("gauss_act_after_flatten", "net n { input image(2, 2, 1); conv(1); flatten; relu; dense }",
         "net.ntk:1:49: error: relu at 1:49" GAUSS "its input comes from flatten at 1:40 (flatten stacks pixels"),
    LANG("gauss_act_after_sum", "net n { dense; relu; fanout { branch { } branch { dense } } sum; erf; dense }",
         "net.ntk:1:66: error: erf at 1:66" GAUSS "its input comes from fanout \xe2\x80\xa6 sum at 1:22, which is not"),
    LANG("gauss_graph_aggregate", "net n { input graph(3); aggregate; relu; readout; dense }",
         "net.ntk:1:36: error: relu at 1:36" GAUSS "its input comes from aggregate at 1:25, a linear map of the"),
    {"gauss_graph_kernel", "net n { input graph(3); dense; relu; aggregate; relu; readout; dense }", S_TABLE, X_NONE,
     "kernel DIR/net.ntk DIR/x.graph" OUTS, FAILS, 1, "net.ntk:1:49: error: relu at 1:49" GAUSS "its input comes from aggregate at 1:38, which is not Gaussian because of relu at 1:32", TWO_GRAPHS},
    {"gauss_emit", "net n { dense; relu; relu; dense }", S_TABLE, X_NONE, "emit DIR/net.ntk -o DIR/out.c", FAILS, 1,
     "net.ntk:1:22: error: relu at 1:22" GAUSS "its input comes from relu at 1:16", ""},
    {"gauss_check", "net n { dense; relu; relu; dense }", S_TABLE, X_NONE, "check DIR/net.ntk DIR/good.npy", FAILS, 1,
     "net.ntk:1:22: error: relu at 1:22" GAUSS "its input comes from relu at 1:16", ""},
    {"gauss_predict", "net n { dense; relu; relu; dense }", S_TABLE, X_NONE,
     "predict DIR/net.ntk --train DIR/good.npy --targets DIR/good.npy --test DIR/good.npy --mean DIR/out.npy", FAILS, 1,
     "net.ntk:1:22: error: relu at 1:22" GAUSS "its input comes from relu at 1:16", ""},
    {"gauss_ir", "net n { dense; relu; relu; dense }", S_TABLE, X_NONE, "ir DIR/net.ntk", FAILS, 1,
     "net.ntk:1:22: error: relu at 1:22" GAUSS "its input comes from relu at 1:16", ""},
    /* ---- inputs, images, branches, formulas ---- */
    LANG("conv_w_std_square_overflows", "net n { input image(4, 4, 1); conv(3, 1e200); flatten; dense }",
         "net.ntk:1:39: error: 'w_std' of 'conv' is too large: at most 1e+150, got 1e+200"),
    LANG("conv_b_std_square_overflows", "net n { input image(4, 4, 1); conv(3, 1, 1e200); flatten; dense }",
         "net.ntk:1:42: error: 'b_std' of 'conv' is too large: at most 1e+150, got 1e+200"),
    LANG("residual_alpha_square_overflows", "net n { dense; residual(alpha=1e200) { dense }; dense }",
         "net.ntk:1:31: error: 'alpha' of 'residual' is too large: at most 1e+150, got 1e+200"),
    LANG("input_in_block", "net n { dense; repeat 2 { input vector(3) } }",
         "net.ntk:1:27: error: 'input' is only allowed at net level, not inside a block"),
    LANG("input_twice", "net n { input vector(3); input vector(3); dense }",
         "net.ntk:1:26: error: 'input' given twice in net 'n' (first at 1:9)"),
    LANG("input_after_layer", "net n { dense; input vector(3) }",
         "net.ntk:1:16: error: 'input' must come before the first layer of net 'n'"),
    LANG("unknown_input_kind", "net n { input picture(4, 4, 1); dense }",
         "net.ntk:1:15: error: unknown input kind 'picture' (known: image, sequence, volume, vector, graph)"),
    LANG("input_too_large", "net n { input image(100000, 100000, 100000); flatten; dense }",
         "net.ntk:1:9: error: input of 100000\xc3\x97" "100000\xc3\x97" "100000 values is too large"),
    LANG("image_standard", "net n { param standard; input image(4, 4, 1); conv(3); flatten; dense }",
         "net.ntk:1:47: error: missing required argument 'width' for 'conv': under param standard every dense or conv "
         "layer except the last needs width=N (its output channels)"),
    LANG("window_too_large", "net n { input image(4, 4, 1); conv(5, padding=valid); flatten; dense }",
         "net.ntk:1:36: error: 'conv': window 5 with padding=valid on an image height of 4 gives an output of size 0"),
    LANG("conv_missing_size", "net n { input image(4, 4, 1); conv; flatten; dense }",
         "net.ntk:1:31: error: missing required argument 'size' (or kh and kw) for 'conv'"),
    LANG("sequence_kh", "net n { input sequence(8, 2); conv(kh=3, kw=3); flatten; dense }",
         "net.ntk:1:36: error: 'conv' on a sequence: windows are 1-D, kh must be 1"),
    LANG("residual_modifier", "net n { dense; residual { dense } sum; dense }",
         "net.ntk:1:35: error: 'residual' takes nothing after its block (its fan-in is a sum)"),
    LANG("residual_shape", "net n { input image(4, 4, 1); conv(3); residual { conv(3, stride=2) }; flatten; dense }",
         "net.ntk:1:40: error: the residual block changes the shape from 4\xc3\x97" "4 to 2\xc3\x97" "2: x + f(x) needs equal shapes"),
    LANG("fanout_without_fanin", "net n { dense; fanout { branch { dense } branch { dense } }; dense }",
         "net.ntk:1:16: error: 'fanout { ... }' needs its fan-in after the block: sum, prod or concat"),
    LANG("unknown_fanin", "net n { dense; fanout { branch { dense } branch { dense } } mean; dense }",
         "net.ntk:1:61: error: unknown fan-in 'mean' (expected sum, prod or concat)"),
    LANG("fanout_non_branch", "net n { dense; fanout { branch { dense }; dense } sum; dense }",
         "net.ntk:1:43: error: a 'fanout' block holds only 'branch { ... }' blocks"),
    LANG("branch_args", "net n { dense; fanout { branch(1) { dense } branch { dense } } sum; dense }",
         "net.ntk:1:25: error: 'branch' takes neither arguments nor a modifier"),
    LANG("fanout_one_branch", "net n { dense; fanout { branch { dense } } sum; dense }",
         "net.ntk:1:23: error: a 'fanout' needs at least two branches"),
    LANG("fanout_without_block", "net n { dense; fanout sum; dense }",
         "net.ntk:1:23: error: expected end of line or ';' after the statement, found 'sum'"),
    LANG("branch_outside", "net n { dense; branch { dense }; dense }",
         "net.ntk:1:16: error: 'branch' blocks belong directly inside a 'fanout { ... }' block"),
    LANG("padding_unknown", "net n { input image(4, 4, 1); conv(3, padding=mirror); flatten; dense }",
         "net.ntk:1:47: error: unknown padding 'mirror' for 'conv' (one of: same, valid, circular)"),
    LANG("padding_number", "net n { input image(4, 4, 1); conv(3, padding=1); flatten; dense }",
         "net.ntk:1:47: error: 'padding' of 'conv' must be one of: same, valid, circular"),
    LANG("net_ends_on_image", "net n {\n input image(4, 4, 1)\n conv(3)\n relu }",
         "net.ntk:1:5: error: net 'n' ends on an image (4\xc3\x97" "4 pixels): reduce it to a vector with 'flatten' or 'global_avg_pool',"),
    LANG("dense_on_image", "net n { input image(4, 4, 1); conv(3); dense }",
         "net.ntk:1:5: error: net 'n' ends on an image (4\xc3\x97" "4 pixels): reduce it to a vector with 'flatten' or 'global_avg_pool',"),
    LANG("flatten_twice", "net n { input image(4, 4, 1); flatten; flatten; dense }",
         "net.ntk:1:40: error: 'flatten' after 'flatten' at 1:31: the net works on vectors from there on (dense, activations and"),
    LANG("conv_after_pool", "net n { input image(4, 4, 1); global_avg_pool; conv(1); dense }",
         "net.ntk:1:48: error: 'conv' after 'global_avg_pool' at 1:31: the net works on vectors from there on (dense, activations"),
    LANG("conv_on_vector", "net n { dense; conv(3); dense }",
         "net.ntk:1:16: error: 'conv' is an image layer but net 'n' works on vectors: declare 'input image(H, W, C)' or 'input"),
    LANG("formula_unknown_name", "act f(x) = x + y\nnet n { dense; f; dense }",
         "net.ntk:1:16: error: unknown name 'y' in the formula of 'f' (its variable is 'x'); did you mean 'x'?"),
    LANG("formula_function_as_name", "act f(x) = exp\nnet n { dense; f; dense }",
         "net.ntk:1:12: error: 'exp' is a function: call it, as in exp(x)"),
    LANG("formula_arity", "act f(x) = exp(x, x)\nnet n { dense; f; dense }",
         "net.ntk:1:12: error: 'exp' takes 1 argument, got 2"),
    LANG("formula_recursive", "act f(x) = f(x)\nnet n { dense; f; dense }",
         "net.ntk:1:12: error: recursive activation 'f': f -> f"),
    LANG("formula_recursive2", "act f(x) = g(x)\nact g(x) = f(x)\nnet n { dense; f; dense }",
         "net.ntk:2:12: error: recursive activation 'f': f -> g -> f"),
    LANG("formula_unknown_function", "act f(x) = expp(x)\nnet n { dense; f; dense }",
         "net.ntk:1:12: error: unknown function 'expp' in the formula of 'f'; did you mean 'exp'?"),
    LANG("formula_unknown_function2", "act f(x) = qqqq(x)\nnet n { dense; f; dense }",
         "net.ntk:1:12: error: unknown function 'qqqq' in the formula of 'f' (functions: exp, log, sqrt, sin, cos, tanh, atan,"),
    LANG("formula_div_zero", "act f(x) = x / 0\nnet n { dense; f; dense }",
         "net.ntk:1:14: error: division by zero: the denominator is the constant 0"),
    LANG("formula_zero_neg_power", "act f(x) = x * 0^-1\nnet n { dense; f; dense }",
         "net.ntk:1:17: error: division by zero: 0 raised to the negative power -1"),
    LANG("formula_not_real", "act f(x) = x * (-8)^0.5\nnet n { dense; f; dense }",
         "net.ntk:1:20: error: -8^0.5 is not a real number"),
    LANG("formula_not_finite2", "act f(x) = x * pow(10, 400)\nnet n { dense; f; dense }",
         "net.ntk:1:16: error: unknown function 'pow' in the formula of 'f'; did you mean 'log'?"),
    LANG("formula_not_finite1", "act f(x) = x * exp(1000)\nnet n { dense; f; dense }",
         "net.ntk:1:16: error: exp(1000) is not finite"),
    LANG("act_too_many_params", "act f(x, a=1, b=1, c=1, d=1, e=1, g=1, h=1, i=1, j=1) = x\nnet n { dense; f; dense }",
         "net.ntk:1:50: error: activation 'f' has 9 parameters; at most 8 are supported"),
    LANG("monomial_negative", "net n { dense; monomial(-1) }",
         "net.ntk:1:25: error: 'n' of 'monomial' must be a whole number in [0, 10], got -1"),
    LANG("rect_monomial_big", "net n { dense; rectified_monomial(7) }",
         "net.ntk:1:35: error: 'n' of 'rectified_monomial' must be a whole number in [0, 6], got 7"),
    LANG("layer_norm_eps", "net n { dense; layer_norm(eps=-1); dense }",
         "net.ntk:1:31: error: 'eps' of 'layer_norm' must be in [0, 1e+06], got -1"),
    LANG("unknown_option_value", "net n { input image(4, 4, 1); conv(3, padding=7); flatten; dense }",
         "net.ntk:1:47: error: 'padding' of 'conv' must be one of: same, valid, circular"),
    LANG("no_layers", "net n { }", "net.ntk:1:5: error: net 'n' has no layers"),
    LANG("only_constants", "net n { let A = 1 }", "net.ntk:1:5: error: net 'n' has no layers"),
    LANG("no_net", "let W = 1", "net.ntk: error: file defines no net"),
    LANG("empty_file", "\n", "net.ntk: error: file defines no net"),
    LANG("two_nets_no_choice", "net a { dense }\nnet b { dense }", "net.ntk: error: file has 2 nets (a, b); choose one with --net"),
    CLI("no_such_net", "kernel DIR/net.ntk DIR/good.npy --net nope" OUTS, "net.ntk: error: no net named 'nope' in this file (its nets: mlp)"),
    CLI("net_file_missing", "kernel DIR/nope.ntk DIR/good.npy" OUTS, "cannot open DIR/nope.ntk: No such file"),
    CLI("net_file_is_directory", "kernel DIR DIR/good.npy" OUTS, "cannot read DIR"),
    /* ---- .npy inputs ---- */
    NPY("npy_bad_magic", X_BAD_MAGIC, "x.npy: not a .npy file (it does not start with \\x93NUMPY)"),
    NPY("npy_empty", X_EMPTY, "x.npy: empty file"),
    NPY("npy_truncated_preamble", X_SHORT_PREAMBLE, "x.npy: truncated header: the file ends after 8 bytes"),
    NPY("npy_header_past_end", X_HEADER_PAST_END, "x.npy: truncated header: it claims 65545 bytes, the file has 20"),
    NPY("npy_header_too_long", X_HEADER_TOO_LONG, "x.npy: header claims 2147483647 bytes"),
    NPY("npy_unknown_version", X_VERSION, "x.npy: unsupported .npy format version 9.0"),
    NPY("npy_malformed_dict", X_MALFORMED_DICT, "x.npy: malformed header (expected ':' at character 10)"),
    NPY("npy_missing_key", X_MISSING_KEY, "x.npy: malformed header: key 'shape' is missing"),
    NPY("npy_duplicate_key", X_DUPLICATE_KEY, "x.npy: malformed header (duplicate key 'descr'"),
    NPY("npy_size_lie_short", X_SIZE_LIE_SHORT, "x.npy: truncated: header says 10\xc3\x97" "4 float64 = 320 bytes, file has 96"),
    NPY("npy_size_lie_long", X_SIZE_LIE_LONG, "x.npy: 8 trailing bytes: header says 3\xc3\x97" "4 float64 = 96 bytes"),
    NPY("npy_shape_overflow", X_SHAPE_OVERFLOW, "x.npy: shape 4294967296\xc3\x97" "4294967296\xc3\x97" "2 float64 is too large"),
    {"npy_big_endian_is_read", "", S_TABLE, X_BIG_ENDIAN, "kernel DIR/net.ntk DIR/x.npy" OUTS, SAME_AS_GOOD, 0, "", ""},
    {"npy_fortran_order_is_read", "", S_TABLE, X_FORTRAN, "kernel DIR/net.ntk DIR/x.npy" OUTS, SAME_AS_GOOD, 0, "", ""},
    {"npy_float32_is_read", "", S_TABLE, X_FLOAT32, "kernel DIR/net.ntk DIR/x.npy" OUTS, SAME_AS_GOOD, 0, "", ""},
    NPY("npy_object_dtype", X_OBJECT, "x.npy: unsupported dtype '|O' (Python objects)"),
    NPY("npy_complex_dtype", X_COMPLEX, "x.npy: unsupported dtype '<c16' (complex)"),
    NPY("npy_string_dtype", X_STRING, "x.npy: unsupported dtype '<U3' (strings)"),
    NPY("npy_structured_dtype", X_STRUCTURED, "x.npy: unsupported dtype: structured (record) arrays"),
    NPY("npy_long_double", X_LONG_DOUBLE, "x.npy: unsupported dtype '<f16' (extended precision)"),
    NPY("npy_rank3_for_vector_net", X_RANK3, "x.npy: expected a 2-D array (inputs \xc3\x97 features), got 3 dimensions"),
    NPY("npy_rank1", X_RANK1, "x.npy: expected a 2-D array (inputs \xc3\x97 features), got 1 dimensions"),
    NPY("npy_scalar", X_SCALAR, "x.npy: expected a 2-D array (inputs \xc3\x97 features), got 0 dimensions"),
    NPY("npy_rank9", X_RANK9, "x.npy: array of rank 9; ntkc reads at most 8 dimensions"),
    NPY("npy_zero_rows", X_ZERO_ROWS, "x.npy: the array is empty (shape 0 \xc3\x97 4)"),
    NPY("npy_zero_columns", X_ZERO_COLS, "x.npy: the array is empty (shape 3 \xc3\x97 0)"),
    NPY("npy_nan", X_NAN, "x.npy: element [1, 2] is NaN"),
    NPY("npy_pos_inf", X_POS_INF, "x.npy: element [2, 0] is +inf"),
    NPY("npy_neg_inf", X_NEG_INF, "x.npy: element [0, 3] is -inf"),
    NPY("npy_float16_inf", X_HALF_INF, "x.npy: element [1, 1] is +inf"),
    NPY("npy_values_overflow", X_HUGE_VALUES, "the kernel is not finite at entry [0, 0]"),
    LANG("depth_200_overflow", "net n { repeat 200 { dense(10); relu }; dense }",
         "error: the kernel is not finite at entry [0, 0]"),
    CLI("npy_missing", "kernel DIR/net.ntk DIR/nope.npy" OUTS, "DIR/nope.npy: no such file"),
    CLI("npy_is_directory", "kernel DIR/net.ntk DIR" OUTS, "DIR: is a directory, not a .npy file"),
    {"npy_x2_other_features", "", S_TABLE, X_FIVE_FEATURES, "kernel DIR/net.ntk DIR/good.npy DIR/x.npy" OUTS, FAILS, 1,
     "DIR/good.npy has 4 features per row but DIR/x.npy has 5", ""},
    /* ---- graph files (GIN/GNTK text format) for a net with input graph(3) ---- */
    GRAPH("graph_neighbour_out_of_range", "1\n2 0\n0 1 2\n0 1 0\n", "x.graph:3:5: error: a neighbour of node 0 (graph 1 has 2 nodes) must be in [0, 1], got 2"),
    GRAPH("graph_negative_neighbour", "1\n2 0\n0 1 -1\n0 1 0\n", "x.graph:3:5: error: a neighbour of node 0 (graph 1 has 2 nodes) must be in [0, 1], got -1"),
    GRAPH("graph_too_few_neighbours", "1\n2 0\n0 3 1\n0 1 0\n", "x.graph:3:3: error: node 0 of graph 1 declares 3 neighbours but only 1 values follow"),
    GRAPH("graph_too_few_graphs", "3\n1 0\n0 0\n", "x.graph:3:1: error: the file ends after 1 graphs, but its first line announces 3"),
    GRAPH("graph_too_few_nodes", "1\n3 0\n0 0\n", "x.graph:3:1: error: the file ends inside graph 1: expected node 1 of its 3"),
    GRAPH("graph_extra_content", "1\n1 0\n0 0\n1 0\n", "x.graph:4:1: error: unexpected content after the 1 graphs announced on line 1"),
    GRAPH("graph_bad_header", "1\n2 0 5\n", "x.graph:2:1: error: expected the header 'n label' of graph 1 (node count and label), got 3 values"),
    GRAPH("graph_zero_nodes", "1\n0 0\n", "x.graph:2:1: error: the node count must be in [1, 2147483647], got 0"),
    GRAPH("graph_count_not_a_number", "two\n", "x.graph:1:1: error: expected the number of graphs (a whole number), got 'two'"),
    GRAPH("graph_count_overflows", "99999999999999999999\n1 0\n0 0\n", "x.graph:1:1: error: expected the number of graphs (a whole number)"),
    GRAPH("graph_count_beyond_file", "494967295\n1 0\n0 0\n", "x.graph:1:1: error: the first line announces 494967295 graphs, more than the rest of the file can hold"),
    GRAPH("graph_nodes_beyond_file", "1\n2000000000 0\n0 0\n", "x.graph:2:1: error: graph 1 announces 2000000000 nodes, more than the rest of the file can hold"),
    GRAPH("graph_count_line_two_values", "2 3\n", "x.graph:1:3: error: expected only the number of graphs on the first line, got 2 values"),
    GRAPH("graph_features_not_matching_net", "1\n1 0\n0 0 1.5 2.5\n", "x.graph:3:5: error: node 0 of graph 1 has 2 feature values, but the net takes graph(3)"),
    GRAPH("graph_features_inconsistent", "1\n2 0\n0 1 1 1.5 2 3\n0 1 0\n", "x.graph:4:5: error: node 1 of graph 1 has 0 feature values after its neighbours, but line 3 has 3"),
    GRAPH("graph_tag_too_large", "1\n1 0\n4 0\n", "x.graph:3:1: error: tag 4 of node 0 is not below 3"),
    GRAPH("graph_negative_tag", "1\n1 0\n-1 0\n", "x.graph:3:1: error: tag -1 of node 0"),
    GRAPH("graph_feature_not_a_number", "1\n1 0\n0 0 abc 1 2\n", "x.graph:3:5: error: expected a node feature (a finite number), got 'abc'"),
    GRAPH("graph_feature_not_finite", "1\n1 0\n0 0 inf 1 2\n", "x.graph:3:5: error: expected a node feature (a finite number), got 'inf'"),
    GRAPH("graph_label_not_a_number", "1\n1 x\n0 0\n", "x.graph:2:3: error: expected the graph label (a finite number), got 'x'"),
    GRAPH("graph_empty_file", "\n\n", "x.graph: the file is empty; expected the number of graphs"),
    GRAPH("graph_binary_byte", "1\n1 0\n0 0\x93\n", "x.graph:3:3: error: expected the neighbour count k (a whole number)"),
    CLI("graph_file_missing", "kernel DIR/net.ntk DIR/nope.graph" OUTS, "nope.graph"),
    /* ---- the wrong kind of input for the net ---- */
    {"kernel_npy_for_graph_net", GRAPH_NET, S_TABLE, X_NONE, "kernel DIR/net.ntk DIR/good.npy" OUTS, FAILS, 1,
     "DIR/good.npy is a .npy array, but net 'g' takes graphs (input graph(3)): give a graph file", ""},
    {"kernel_graph_file_for_vector_net", "", S_TABLE, X_NONE, "kernel DIR/net.ntk DIR/x.graph" OUTS, FAILS, 1,
     "DIR/x.graph is a text file (a graph file?), not a .npy array: net 'mlp' takes vectors", TWO_GRAPHS},
    /* ---- predict on graph files (labels from the file unless --targets) ---- */
    {"predict_graph_file_for_vector_net", "", S_TABLE, X_NONE,
     "predict DIR/net.ntk --train DIR/x.graph --targets DIR/good.npy --test DIR/x.graph --mean DIR/out.npy", FAILS, 1,
     "DIR/x.graph is a text file (a graph file?), not a .npy array: net 'mlp' takes vectors", TWO_GRAPHS},
    {"predict_npy_for_graph_net", GRAPH_NET, S_TABLE, X_NONE,
     "predict DIR/net.ntk --train DIR/good.npy --test DIR/x.graph --mean DIR/out.npy", FAILS, 1,
     "DIR/good.npy is a .npy array, but net 'g' takes graphs (input graph(3))", TWO_GRAPHS},
    {"predict_npy_test_for_graph_net", GRAPH_NET, S_TABLE, X_NONE,
     "predict DIR/net.ntk --train DIR/x.graph --test DIR/good.npy --mean DIR/out.npy", FAILS, 1,
     "DIR/good.npy is a .npy array, but net 'g' takes graphs (input graph(3))", TWO_GRAPHS},
    {"predict_vector_net_without_targets", "", S_TABLE, X_NONE,
     "predict DIR/net.ntk --train DIR/good.npy --test DIR/good.npy --mean DIR/out.npy", FAILS, 1,
     "missing --targets Y.npy: net 'mlp' takes arrays, which carry no labels", ""},
    {"predict_graph_target_rows", GRAPH_NET, S_TABLE, X_NONE,
     "predict DIR/net.ntk --train DIR/x.graph --targets DIR/good.npy --test DIR/x.graph --mean DIR/out.npy", FAILS, 1,
     "DIR/good.npy has 3 target rows but DIR/x.graph has 2 graphs; they must match row for row", TWO_GRAPHS},
    {"predict_graph_test_target_rows", GRAPH_NET, S_TABLE, X_NONE, PREDICT_GRAPHS " --test-targets DIR/good.npy",
     FAILS, 1, "DIR/good.npy has 3 target rows but DIR/x.graph has 2 graphs", TWO_GRAPHS},
    {"predict_graph_label_not_a_class", GRAPH_NET, S_TABLE, X_NONE, PREDICT_GRAPHS, FAILS, 1,
     "DIR/x.graph: graph 2 has label 1.5, but the labels of the graphs are trained on as class labels",
     "2\n1 0\n0 0\n1 1.5\n1 0\n"},
    {"predict_graph_malformed", GRAPH_NET, S_TABLE, X_NONE, PREDICT_GRAPHS, FAILS, 1,
     "x.graph:3:5: error: a neighbour of node 0 (graph 1 has 2 nodes) must be in [0, 1], got 2",
     "1\n2 0\n0 1 2\n0 1 0\n"},
    {"predict_graph_singular_without_reg", GRAPH_NET, S_TABLE, X_NONE, PREDICT_GRAPHS, FAILS, 1, "--reg",
     "2\n1 0\n1 0\n1 1\n1 0\n"},
    /* ---- outputs ---- */
    CLI("output_dir_missing", "kernel DIR/net.ntk DIR/good.npy --ntk DIR/no/such/out.npy --nngp DIR/old.npy",
        "DIR/no/such/out.npy: cannot write output: directory 'DIR/no/such' does not exist"),
    CLI("output_dir_is_file", "kernel DIR/net.ntk DIR/good.npy --ntk DIR/good.npy/out.npy --nngp DIR/old.npy",
        "DIR/good.npy/out.npy: cannot write output: 'DIR/good.npy' is not a directory"),
    CLI("output_is_directory", "kernel DIR/net.ntk DIR/good.npy --ntk DIR --nngp DIR/old.npy",
        "DIR: cannot write output: it is a directory"),
    CLI("output_is_input", "kernel DIR/net.ntk DIR/good.npy --ntk DIR/good.npy --nngp DIR/old.npy",
        "output DIR/good.npy is also an input"),
    CLI("output_is_input_respelled", "kernel DIR/net.ntk DIR/good.npy --ntk DIR/./good.npy --nngp DIR/old.npy",
        "output DIR/./good.npy is also an input"),
    CLI("output_is_second_input", "kernel DIR/net.ntk DIR/good.npy DIR/old.npy --ntk DIR/out.npy --nngp DIR/old.npy",
        "output DIR/old.npy is also an input"),
    CLI("output_is_net_file", "kernel DIR/net.ntk DIR/good.npy --ntk DIR/net.ntk --nngp DIR/old.npy",
        "output DIR/net.ntk is also an input"),
    CLI("outputs_are_one_file", "kernel DIR/net.ntk DIR/good.npy --ntk DIR/old.npy --nngp DIR/old.npy",
        "--ntk and --nngp name the same file DIR/old.npy"),
    CLI("emit_over_its_source", "emit DIR/net.ntk -o DIR/net.ntk", "output DIR/net.ntk is also an input"),
    CLI("emit_dir_missing", "emit DIR/net.ntk -o DIR/no/out.c", "cannot write DIR/no/out.c"),
    /* ---- the command line ---- */
    CLI("no_output_requested", "kernel DIR/net.ntk DIR/good.npy", "ntkc kernel: give --ntk and/or --nngp"),
    CLI("too_few_arguments", "kernel DIR/net.ntk" OUTS, "ntkc kernel: needs NET.ntk and X1.npy"),
    CLI("too_many_arguments", "kernel DIR/net.ntk DIR/good.npy DIR/good.npy DIR/good.npy" OUTS, "ntkc kernel: too many arguments"),
    CLI("unknown_option", "kernel DIR/net.ntk DIR/good.npy" OUTS " --bogus", "ntkc kernel: unknown option '--bogus'"),
    CLI("option_without_value", "kernel DIR/net.ntk DIR/good.npy --nngp DIR/old.npy --ntk", "ntkc kernel: option --ntk needs a value"),
    CLI("flag_with_value", "kernel DIR/net.ntk DIR/good.npy" OUTS " --quiet=1", "ntkc kernel: option --quiet takes no value"),
    CLI("threads_zero", "kernel DIR/net.ntk DIR/good.npy" OUTS " --threads 0", "--threads expects a positive whole number, got '0'"),
    CLI("threads_junk", "kernel DIR/net.ntk DIR/good.npy" OUTS " --threads 2x", "--threads expects a positive whole number, got '2x'"),
    CLI("unknown_backend", "kernel DIR/net.ntk DIR/good.npy" OUTS " --backend gcc", "--backend must be tcc or cc, not 'gcc'"),
    CLI("check_width_zero", "check DIR/net.ntk DIR/good.npy --width 0", "ntkc check: --width expects a positive whole number"),
    CLI("check_tol_junk", "check DIR/net.ntk DIR/good.npy --tol abc", "ntkc check: --tol expects a positive number, got 'abc'"),
    CLI("emit_without_net", "emit", "usage: ntkc emit"),
    CLI("unknown_command", "frobnicate", "ntkc: unknown command 'frobnicate'"),
    CLI("no_command", "", "usage: ntkc COMMAND"),
};

/* Eight cases a test: a test is a worker process, whose start (~65 ms of
 * CPU: the test binary and its libraries loaded again) costs more than most
 * cases; every message names its case. */
enum { NCASES = sizeof cases / sizeof cases[0], CASES_PER_TEST = 8 };

ParameterizedTestParameters(catalogue, bad_input)
{
    static size_t groups[(NCASES + CASES_PER_TEST - 1) / CASES_PER_TEST];
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        groups[i] = i;
    return cr_make_param_array(size_t, groups, sizeof groups / sizeof groups[0]);
}

/* ---- files of a case ------------------------------------------------- */

/* Replaces every "DIR" in tmpl with dir. */
static void substitute(char *out, size_t size, const char *tmpl, const char *dir)
{
    size_t used = 0;
    for (const char *p = tmpl; *p && used + 1 < size;) {
        if (strncmp(p, "DIR", 3) == 0) {
            used += (size_t)snprintf(out + used, size - used, "%s", dir);
            p += 3;
        } else {
            out[used++] = *p++;
        }
    }
    out[used < size ? used : size - 1] = '\0';
}

typedef struct Buf {
    unsigned char *p;
    size_t len, cap;
} Buf;

static void buf_add(Buf *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = 2 * (b->len + n + 1);
        b->p = realloc(b->p, b->cap);
        cr_assert_not_null(b->p);
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void write_buf(const char *dir, const char *name, const Buf *b)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(b->p, 1, b->len, f), b->len);
    cr_assert_eq(fclose(f), 0);
}

static int same_bytes(const char *dir, const char *name, const Buf *b)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    unsigned char *got = malloc(b->len + 1);
    size_t n = fread(got, 1, b->len + 1, f);
    fclose(f);
    int same = n == b->len && memcmp(got, b->p, n) == 0;
    free(got);
    return same;
}

/* A .npy as numpy.save writes it: preamble, dict padded with blanks and a
 * newline to a multiple of 64 bytes, data. */
static Buf npy_bytes(const char *dict, const void *data, size_t len)
{
    Buf b = {0};
    size_t hlen = strlen(dict) + 1;
    size_t pad = (64 - (10 + hlen) % 64) % 64;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)((hlen + pad) & 0xff),
                             (unsigned char)((hlen + pad) >> 8)};
    buf_add(&b, pre, sizeof pre);
    buf_add(&b, dict, strlen(dict));
    for (size_t i = 0; i < pad; i++)
        buf_add(&b, " ", 1);
    buf_add(&b, "\n", 1);
    if (len)
        buf_add(&b, data, len);
    return b;
}

#define F8(shape) "{'descr': '<f8', 'fortran_order': False, 'shape': " shape ", }"

/* The 3×4 values of good.npy: eighths, exact in float32 and float16 too. */
static void good_values(double v[12])
{
    for (int i = 0; i < 12; i++)
        v[i] = (i % 5 - 2) * 0.375 + (i / 4) * 0.125;
}

static Buf make_npy(NpyGen g)
{
    double v[12], t[12];
    good_values(v);
    switch (g) {
    case X_NONE: break;
    case X_BAD_MAGIC: {
        Buf b = npy_bytes(F8("(3, 4)"), v, sizeof v);
        b.p[1] = 'n';
        return b;
    }
    case X_EMPTY: return (Buf){calloc(1, 1), 0, 1};
    case X_SHORT_PREAMBLE: {
        Buf b = npy_bytes(F8("(3, 4)"), v, sizeof v);
        b.len = 8;
        return b;
    }
    case X_HEADER_PAST_END: {
        Buf b = {0};
        buf_add(&b, "\x93NUMPY\x01\x00\xff\xff{'descr': ", 20);
        return b;
    }
    case X_HEADER_TOO_LONG: {
        Buf b = {0};
        buf_add(&b, "\x93NUMPY\x02\x00\xff\xff\xff\x7f{'descr': ", 22);
        return b;
    }
    case X_VERSION: {
        Buf b = npy_bytes(F8("(3, 4)"), v, sizeof v);
        b.p[6] = 9;
        return b;
    }
    case X_MALFORMED_DICT: return npy_bytes("{'descr' '<f8', 'fortran_order': False, 'shape': (3, 4), }", v, sizeof v);
    case X_MISSING_KEY: return npy_bytes("{'descr': '<f8', 'fortran_order': False, }", v, sizeof v);
    case X_DUPLICATE_KEY:
        return npy_bytes("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", v, sizeof v);
    case X_SIZE_LIE_SHORT: return npy_bytes(F8("(10, 4)"), v, sizeof v);
    case X_SIZE_LIE_LONG: {
        Buf b = npy_bytes(F8("(3, 4)"), v, sizeof v);
        buf_add(&b, v, 8);
        return b;
    }
    case X_SHAPE_OVERFLOW: return npy_bytes(F8("(4294967296, 4294967296, 2)"), v, sizeof v);
    case X_BIG_ENDIAN: {
        uint64_t be[12];
        for (int i = 0; i < 12; i++) {
            memcpy(&be[i], &v[i], 8);
            be[i] = __builtin_bswap64(be[i]);
        }
        return npy_bytes("{'descr': '>f8', 'fortran_order': False, 'shape': (3, 4), }", be, sizeof be);
    }
    case X_FORTRAN:
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                t[j * 3 + i] = v[i * 4 + j];
        return npy_bytes("{'descr': '<f8', 'fortran_order': True, 'shape': (3, 4), }", t, sizeof t);
    case X_FLOAT32: {
        float f[12];
        for (int i = 0; i < 12; i++)
            f[i] = (float)v[i];
        return npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", f, sizeof f);
    }
    case X_OBJECT: return npy_bytes("{'descr': '|O', 'fortran_order': False, 'shape': (3, 4), }", v, sizeof v);
    case X_COMPLEX: return npy_bytes("{'descr': '<c16', 'fortran_order': False, 'shape': (3, 2), }", v, sizeof v);
    case X_STRING: return npy_bytes("{'descr': '<U3', 'fortran_order': False, 'shape': (4,), }", v, 48);
    case X_STRUCTURED:
        return npy_bytes("{'descr': [('a', '<f8'), ('b', '<f8')], 'fortran_order': False, 'shape': (6,), }", v,
                         sizeof v);
    case X_LONG_DOUBLE: return npy_bytes("{'descr': '<f16', 'fortran_order': False, 'shape': (3, 2), }", v, sizeof v);
    case X_RANK3: return npy_bytes(F8("(3, 2, 2)"), v, sizeof v);
    case X_RANK1: return npy_bytes(F8("(12,)"), v, sizeof v);
    case X_SCALAR: return npy_bytes(F8("()"), v, 8);
    case X_RANK9: return npy_bytes(F8("(1, 1, 1, 1, 1, 1, 1, 1, 12)"), v, sizeof v);
    case X_ZERO_ROWS: return npy_bytes(F8("(0, 4)"), NULL, 0);
    case X_ZERO_COLS: return npy_bytes(F8("(3, 0)"), NULL, 0);
    case X_NAN: v[1 * 4 + 2] = 0.0 / 0.0; return npy_bytes(F8("(3, 4)"), v, sizeof v);
    case X_POS_INF: v[2 * 4 + 0] = 1.0 / 0.0; return npy_bytes(F8("(3, 4)"), v, sizeof v);
    case X_NEG_INF: v[0 * 4 + 3] = -1.0 / 0.0; return npy_bytes(F8("(3, 4)"), v, sizeof v);
    case X_HALF_INF: {
        uint16_t h[12] = {0x3c00, 0x3c00, 0x3c00, 0x3c00, 0x3c00, 0x7c00, 0, 0, 0, 0, 0, 0};
        return npy_bytes("{'descr': '<f2', 'fortran_order': False, 'shape': (3, 4), }", h, sizeof h);
    }
    case X_FIVE_FEATURES: return npy_bytes(F8("(2, 5)"), v, 80);
    case X_HUGE_VALUES:
        for (int i = 0; i < 12; i++)
            v[i] = 1e200 * (i + 1); /* finite, but x·x' overflows */
        return npy_bytes(F8("(3, 4)"), v, sizeof v);
    }
    return (Buf){0};
}

static Buf make_source(const BadCase *c)
{
    Buf b = {0};
    switch (c->src_gen) {
    case S_TABLE:
        buf_add(&b, c->source[0] ? c->source : GOOD_NET, strlen(c->source[0] ? c->source : GOOD_NET));
        break;
    case S_NUL_BYTE: buf_add(&b, "net n { dense }\0 relu\n", 22); break;
    case S_DEEP_BLOCKS: /* 100000 nested blocks: far past any stack */
        buf_add(&b, "net n { dense; ", 15);
        for (int i = 0; i < 100000; i++)
            buf_add(&b, "repeat 1 { ", 11);
        buf_add(&b, "relu", 4);
        for (int i = 0; i < 100000; i++)
            buf_add(&b, " }", 2);
        buf_add(&b, " }\n", 3);
        break;
    case S_DEEP_PARENS:
        buf_add(&b, "act f(x) = ", 11);
        for (int i = 0; i < 200000; i++)
            buf_add(&b, "(", 1);
        buf_add(&b, "x", 1);
        for (int i = 0; i < 200000; i++)
            buf_add(&b, ")", 1);
        buf_add(&b, "\nnet n { dense }\n", 17);
        break;
    }
    return b;
}

/* Every file in dir is one of the expected names: no temp file survived. */
static void expect_only(const char *dir, const char *const *names, size_t n, const char *who)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int known = 0;
        for (size_t i = 0; i < n; i++)
            known |= strcmp(e->d_name, names[i]) == 0;
        cr_expect(known, "%s: unexpected file %s left in the directory", who, e->d_name);
    }
    closedir(d);
}

static void read_file_buf(const char *path, Buf *b)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    unsigned char chunk[4096];
    for (size_t n; (n = fread(chunk, 1, sizeof chunk, f)) > 0;)
        buf_add(b, chunk, n);
    fclose(f);
}

static void check_case(const BadCase *c)
{
    char dir[256], args[2048], cmd[4096], errs[8192], frag[512], path[512];
    make_temp_dir(dir, sizeof dir);
    double v[12];
    good_values(v);
    Buf net = make_source(c), good = npy_bytes(F8("(3, 4)"), v, sizeof v), x = make_npy(c->npy), old = {0};
    read_file_buf("tests/data/npy/f8.npy", &old);
    write_buf(dir, "net.ntk", &net);
    write_buf(dir, "good.npy", &good);
    write_buf(dir, "old.npy", &old);
    if (c->npy != X_NONE)
        write_buf(dir, "x.npy", &x);
    Buf graph = {0};
    if (c->graph[0]) {
        buf_add(&graph, c->graph, strlen(c->graph));
        write_buf(dir, "x.graph", &graph);
    }

    substitute(args, sizeof args, c->args, dir);
    snprintf(cmd, sizeof cmd, "%s %s", ntkc_bin(), args);
    int rc = run_command(cmd, errs, sizeof errs);
    cr_expect_eq(rc, c->exit_code, "%s: exit %d, expected %d; stderr:\n%s", c->name, rc, c->exit_code, errs);
    substitute(frag, sizeof frag, c->fragment, dir);
    cr_expect(strstr(errs, frag) != NULL, "%s: stderr lacks\n  %s\nin:\n%s", c->name, frag, errs);

    cr_expect(same_bytes(dir, "net.ntk", &net), "%s: net.ntk was damaged", c->name);
    cr_expect(same_bytes(dir, "good.npy", &good), "%s: good.npy was damaged", c->name);
    if (c->npy != X_NONE)
        cr_expect(same_bytes(dir, "x.npy", &x), "%s: x.npy was damaged", c->name);
    if (c->graph[0])
        cr_expect(same_bytes(dir, "x.graph", &graph), "%s: x.graph was damaged", c->name);
    if (c->expect == FAILS) {
        cr_expect(same_bytes(dir, "old.npy", &old), "%s: the existing output old.npy was damaged", c->name);
        snprintf(path, sizeof path, "%s/out.npy", dir);
        cr_expect(!file_exists(path), "%s: an output file appeared", c->name);
        static const char *const left[] = {"net.ntk", "good.npy", "old.npy", "x.npy", "x.graph"};
        expect_only(dir, left, 5, c->name);
    } else {
        /* The same kernel from good.npy: a supported encoding changes nothing. */
        snprintf(cmd, sizeof cmd, "%s kernel %s/net.ntk %s/good.npy --ntk %s/ref.npy", ntkc_bin(), dir, dir, dir);
        cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "%s: %s", c->name, errs);
        snprintf(cmd, sizeof cmd, "cmp -s %s/ref.npy %s/out.npy", dir, dir);
        cr_expect_eq(system(cmd), 0, "%s: output differs from good.npy's", c->name);
    }
    free(net.p);
    free(good.p);
    free(x.p);
    free(old.p);
    free(graph.p);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

ParameterizedTest(size_t *group, catalogue, bad_input, .timeout = TIMEOUT(120))
{
    for (size_t i = *group * CASES_PER_TEST; i < NCASES && i < (*group + 1) * CASES_PER_TEST; i++)
        check_case(&cases[i]);
}

/* The catalogue's good path: the same command and files succeed. */
Test(catalogue, good_input_writes_outputs_and_help_works)
{
    char dir[256], cmd[2048], errs[4096], path[512];
    make_temp_dir(dir, sizeof dir);
    snprintf(cmd, sizeof cmd,
             "%s kernel examples/fc.ntk data/digits_test_x.npy --ntk %s/k.npy --nngp %s/s.npy --quiet",
             ntkc_bin(), dir, dir);
    cr_assert_eq(run_command(cmd, errs, sizeof errs), 0, "%s", errs);
    snprintf(path, sizeof path, "%s/k.npy", dir);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq((size_t)st.st_size, 128 + 797u * 797u * 8u, "size %lld", (long long)st.st_size);
    snprintf(cmd, sizeof cmd, "%s --help", ntkc_bin());
    cr_expect_eq(run_command(cmd, NULL, 0), 0);
    snprintf(cmd, sizeof cmd, "%s kernel --help", ntkc_bin());
    cr_expect_eq(run_command(cmd, NULL, 0), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* A net name of 1000 characters compiles, binds and runs. */
Test(catalogue, long_net_name_works)
{
    char src[1100] = "net ";
    memset(src + 4, 'n', 1000);
    strcpy(src + 1004, " { dense; relu; dense }");
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    double x[6] = {1, 2, 3, 4, 5, 6}, k[4];
    ntkc_error err = {0};
    cr_expect_eq(ntkc_kernel(net, 2, x, 0, NULL, 3, NULL, k, NULL, &err), 0, "%s", err.message);
    cr_expect_eq(strlen(ntkc_net_name(net)), 1000u);
    ntkc_net_free(net);
}
