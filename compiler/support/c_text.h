/* The one gate between text from outside (file paths, net and activation
 * names) and the C the emitters write. Paths and formula text only ever
 * appear escaped; names only as validated identifiers behind a prefix that
 * no helper of the generated code or the library uses, so a net may be
 * called `asin`, `block_load` or `free` without clashing with anything.
 * Numbers go through sb_double (strbuf.h), which writes a C literal or
 * constant expression for every double. */
#ifndef NTKC_C_TEXT_H
#define NTKC_C_TEXT_H

#include "strbuf.h"

/* Every symbol derived from a net's name is NTKC_NET_PREFIX NAME [suffix]:
 * "ntkcnet_fc", "ntkcnet_fc_tile". Nothing else in generated code, the
 * host primitives or libntkc starts with it (tests/test_security_inject.c). */
#define NTKC_NET_PREFIX "ntkcnet_"

/* Appends text so that it is inert both inside a C comment and inside a
 * string literal, whatever its bytes: printable ASCII is kept except that
 * '\\' and '"' are backslash-escaped and the second character of every
 * "*" "/", "/" "*" and "??" pair (comment ends and starts, trigraphs) is
 * written as a three-digit octal escape, as is every other byte (newlines,
 * control characters, bytes >= 0x80). Nothing it writes can end a comment
 * or a string, splice lines, or form a trigraph. */
void c_text_escape(StrBuf *sb, const char *text);

/* 1 when s is a C identifier ([A-Za-z_][A-Za-z0-9_]*), the only names the
 * emitters put into symbols; 0 otherwise (also for NULL and ""). */
int c_ident_ok(const char *s);

/* 1 when ch may stand inside a C identifier ([A-Za-z0-9_]). */
int c_ident_char(char ch);

#endif
