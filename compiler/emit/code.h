/* The code builder every emitter writes C through: one line at a time at
 * the current indentation, blocks opened and closed, doubles as exact
 * literals, names only as identifiers checked by c_text.h, and sizes the
 * emitted code shares under names (an enum) rather than as bare numbers.
 *
 * A line is a printf format of ntkc's own text with a few arguments; in it
 * "$" stands for the net's symbol prefix ("ntkcnet_NAME"), so no template
 * repeats the net's name as a positional argument, and "@" for the scalar
 * type of the kernel's blocks and outputs ("double", or "float" under
 * `--precision single`), so one template serves both precisions, and "`"
 * for the suffix of the kernel-time functions of that type (code_prim_suffix:
 * "" or "_f", the names float.sed gives the float32 runtime), written after
 * the name of each call ("ntkc_copy`(s, t, NTKC_LANES);"): C has no use for
 * the character, so no template needs it as itself. Numbers from the net
 * (w_std, eps, scales) go through code_lit / code_rlit, never "%g". */
#ifndef NTKC_CODE_H
#define NTKC_CODE_H

#include <stddef.h>

#include "kernel_text.h"
#include "strbuf.h"

/* The placeholders of a line: the net prefix, the scalar type, the suffix. */
#define CODE_MARKS "$@`"

/* Where a kernel text sits in the file (code_kernel). */
typedef struct CodeKernelAt {
    size_t at;
    const KernelText *text;
} CodeKernelAt;
enum { CODE_MAX_KERNELS = 16 };

typedef struct Code {
    StrBuf *sb;
    int depth;                 /* indentation, four spaces a level */
    const char *name;          /* the net's name; "$" writes NTKC_NET_PREFIX name */
    int bad_name;              /* a name failed c_ident_ok: the emitter's bug */
    int single;                /* float32 blocks and outputs ("@" = float) */
    CodeKernelAt kernels[CODE_MAX_KERNELS]; /* the kernel texts written, in order */
    int nkernels;              /* > CODE_MAX_KERNELS: too many (the emitter's bug) */
} Code;

/* Writes into sb (not owned; net_name must outlive c). 0, or -1 when
 * net_name is not a C identifier (the front end admits no such name: ntkc's
 * bug). */
int code_init(Code *c, StrBuf *sb, const char *net_name);

/* One line: indentation, the formatted text ("$" = the net prefix), "\n". */
void code_line(Code *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line (ending in "{" by convention), then one level deeper. */
void code_open(Code *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One level shallower, then "}" followed by tail ("", ";", " else {" ...). */
void code_close(Code *c, const char *tail);
void code_blank(Code *c);
/* snprintf into buf for the pieces of a line (argument lists): %d %u %ld
 * %lu %zu %s %c %% formatted by hand as code_line does, anything else by
 * vsnprintf; truncated as snprintf truncates. */
void code_format(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Text written as it is (kernel-time C embedded from compiler/kernel_c/). */
void code_text(Code *c, const char *text);

/* name when it is a C identifier, else a placeholder and c->bad_name set:
 * activation names reach symbols only through here (c_text.h). */
const char *code_ident(Code *c, const char *name);

/* A double as a literal that reads back exactly (sb_double); use as
 * code_lit(v).s within one expression. */
typedef struct CodeLit {
    char s[SB_DOUBLE_MAX];
} CodeLit;
CodeLit code_lit(double v);
/* A literal of the kernel's scalar type: code_lit(v), or under single
 * precision v rounded to float, printed to read back exactly, suffix f. */
CodeLit code_rlit(const Code *c, double v);
/* "" or "_f": the suffix of the block primitives of the scalar type. */
const char *code_prim_suffix(const Code *c);

/* A call's argument list, written one argument at a time and joined by
 * ", ": numbers as integers or exact literals, other arguments as C text of
 * ntkc's own ("pl[3]", "ae * 2"). Replaces printf templates with a dozen
 * positional numbers: a kernel-time call is its fixed arguments plus what
 * the op's descriptor adds (emit_args.h). */
typedef struct CodeArgs {
    StrBuf sb;
} CodeArgs;
void code_args_init(CodeArgs *a);
void code_args_free(CodeArgs *a);
void code_arg(CodeArgs *a, const char *text);
void code_arg_int(CodeArgs *a, long v);
void code_arg_size(CodeArgs *a, size_t v);
void code_arg_lit(CodeArgs *a, double v);
/* The list so far ("" when empty), valid until the next code_arg*. */
const char *code_args_text(const CodeArgs *a);

/* Named sizes and offsets: code_enum_begin, code_enum_item per name
 * (emitted as "$_" NAME = value), code_enum_end. -1 when value does not fit
 * an enum constant (int). */
void code_enum_begin(Code *c, const char *comment);
int code_enum_item(Code *c, const char *name, size_t value);
void code_enum_end(Code *c);

/* Kernel-time C (kernel_text.h) of which the finished file keeps only the
 * static functions the rest of the file reaches (code_kernel.c). */
void code_kernel(Code *c, const KernelText *text);
/* Drops the kernel texts' functions (and their prototypes) that no text
 * outside them names, directly or through the build-time call graph; -1 when
 * the emitter wrote more than CODE_MAX_KERNELS texts. Call once, when the
 * file is written. */
int code_kernel_finish(Code *c);

#endif
