#include "frontend.h"

#include <string.h>

#include "ast.h"
#include "lower.h"
#include "parser.h"

Program *frontend_parse(Arena *a, const char *src, const char *filename, ntkc_error *err)
{
    Program *p = parse_program(a, src, filename, err);
    if (p == NULL || !lower_check_program(p, err))
        return NULL;
    return p;
}

size_t program_net_count(const Program *p) { return p->nnets; }

const char *program_net_name(const Program *p, size_t i) { return i < p->nnets ? p->nets[i]->name : NULL; }

static const char *net_list(Arena *a, const Program *p)
{
    const char *s = "";
    for (size_t i = 0; i < p->nnets; i++)
        s = arena_printf(a, "%s%s%s", s, i ? ", " : "", p->nets[i]->name);
    return s;
}

IrNet *frontend_lower(Arena *a, const Program *p, const char *net_name, ntkc_error *err)
{
    SrcPos file = {p->file, 0, 0};
    if (p->nnets == 0) {
        diag_at(err, file, NULL, "file defines no net (expected 'net NAME { ... }')");
        return NULL;
    }
    if (net_name == NULL) {
        if (p->nnets > 1) {
            diag_at(err, file, NULL, "file has %zu nets (%s); choose one with --net", p->nnets, net_list(a, p));
            return NULL;
        }
        return lower_net(a, p, p->nets[0], err);
    }
    for (size_t i = 0; i < p->nnets; i++)
        if (strcmp(p->nets[i]->name, net_name) == 0)
            return lower_net(a, p, p->nets[i], err);
    diag_at(err, file, NULL, "no net named '%s' in this file (its nets: %s)", net_name, net_list(a, p));
    return NULL;
}
