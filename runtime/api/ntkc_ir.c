/* ntkc_ir: the recursion IR a net lowers to, as text — what `ntkc ir` prints,
 * for the CLI and the library's callers alike. */
#include "arena.h"
#include "diag.h"
#include "frontend.h"
#include "ir_print.h"
#include "ntkc.h"
#include "strbuf.h"

char *ntkc_ir(const char *source, const char *filename, const char *net_name, ntkc_error *err)
{
    diag_clear(err);
    Arena a;
    arena_init(&a);
    const Program *p = frontend_parse(&a, source, filename ? filename : "<string>", err);
    IrNet *ir = p ? frontend_lower(&a, p, net_name, err) : NULL;
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
