/* The renaming pass of emit_calls_f.h. */
#include "emit_calls_f.h"

#include <string.h>

#include "c_text.h"

/* 1 when the n bytes at name are one of names[0, count). */
static int listed(const char *name, size_t n, const char *const *names, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        if (strlen(names[i]) == n && memcmp(names[i], name, n) == 0)
            return 1;
    return 0;
}

void emit_calls_f(StrBuf *sb, size_t from, const char *const *names, unsigned count)
{
    if (sb->data == NULL || from >= sb->len)
        return;
    StrBuf out;
    sb_init(&out);
    const char *p = sb->data + from, *end = sb->data + sb->len;
    while (p < end) {
        const char *q = strstr(p, "ntkc_");
        if (q == NULL || q >= end) {
            sb_putn(&out, p, (size_t)(end - p));
            break;
        }
        const char *e = q;
        while (e < end && c_ident_char(*e))
            e++;
        sb_putn(&out, p, (size_t)(e - p));
        if ((q == sb->data || !c_ident_char(q[-1])) && e < end && *e == '(' && listed(q, (size_t)(e - q), names, count))
            sb_puts(&out, "_f");
        p = e;
    }
    sb->len = from;
    sb->data[from] = '\0';
    sb_putn(sb, out.data ? out.data : "", out.len);
    sb_free(&out);
}
