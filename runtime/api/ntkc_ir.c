/* ntkc_ir: the recursion IR a net lowers to, as text — what `ntkc ir` prints,
 * for the CLI and the library's callers alike. */
#include "arena.h"
#include "ntkc_err.h"
#include "frontend.h"
#include "ir_print.h"
#include "ntkc.h"
#include "strbuf.h"

char *ntkc_ir(const char *source, const char *filename, const char *net_name, ntkc_error *err)
{
    err_clear(err);
    Arena a;
    arena_init(&a);
    Diag diag = {0}; /* the compiler's errors, copied into err */
    const Program *p = frontend_parse(&a, source, filename ? filename : "<string>", &diag);
    IrNet *ir = p ? frontend_lower(&a, p, net_name, &diag) : NULL;
    err_from_diag(err, &diag);
    char *text = NULL;
    if (ir != NULL) {
        StrBuf sb;
        sb_init(&sb);
        ir_print(&sb, ir);
        text = sb_take(&sb);
    }
    arena_free(&a);
    return text;
}
