#include "c_text.h"

#include <stdio.h>

static int is_print(unsigned char c) { return c >= 0x20 && c < 0x7f; }

/* The second character of a pair that means something to C even inside a
 * comment or literal: a comment end or start, or a trigraph's "??". */
static int pair_needs_escape(unsigned char prev, unsigned char c)
{
    return (prev == '*' && c == '/') || (prev == '/' && c == '*') || (prev == '?' && c == '?');
}

void c_text_escape(StrBuf *sb, const char *text)
{
    unsigned char prev = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; prev = *p++) {
        char buf[8];
        if (*p == '\\' || *p == '"')
            snprintf(buf, sizeof buf, "\\%c", *p);
        else if (!is_print(*p) || pair_needs_escape(prev, *p))
            snprintf(buf, sizeof buf, "\\%03o", *p);
        else
            buf[0] = (char)*p, buf[1] = '\0';
        sb_puts(sb, buf);
    }
}

int c_ident_char(char ch) { return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'; }

int c_ident_ok(const char *s)
{
    if (s == NULL || !c_ident_char(*s) || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++)
        if (!c_ident_char(*s))
            return 0;
    return 1;
}
