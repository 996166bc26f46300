/* The float32 names of an image kernel's runtime calls (`--precision
 * single`): image_runtime_f.c is image_runtime.c through float.sed, which
 * gives every function name the suffix _f, so the image emitter writes its
 * calls once, with the float64 names, and this pass renames the calls of the
 * runtime's functions in the float32 file. Only those names change: the
 * duals of activations (float64 in either file) and the net's own symbols
 * are not in the list. */
#include <string.h>

#include "emit_image.h"
#include "kernel_text.h"
#include "c_text.h"

/* 1 when the n bytes at name are a function of the float64 runtime. */
static int runtime_function(const char *name, size_t n)
{
    for (unsigned i = 0; i < emit_image_runtime_count; i++)
        if (strlen(emit_image_runtime_names[i]) == n && memcmp(emit_image_runtime_names[i], name, n) == 0)
            return 1;
    return 0;
}

void emit_image_calls_f(StrBuf *sb, size_t from)
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
        if ((q == sb->data || !c_ident_char(q[-1])) && e < end && *e == '(' && runtime_function(q, (size_t)(e - q)))
            sb_puts(&out, "_f");
        p = e;
    }
    sb->len = from;
    sb->data[from] = '\0';
    sb_putn(sb, out.data ? out.data : "", out.len);
    sb_free(&out);
}
