/* An op's arguments as a table (ir_args.h). */
#include "ir_args.h"

#include <string.h>

int ir_arg_index(const IrArgs *a, const char *name)
{
    for (int k = 0; a->spec != NULL && k < a->n; k++)
        if (strcmp(a->spec[k].name, name) == 0)
            return k;
    return -1;
}

double ir_arg(const IrArgs *a, const char *name, double def)
{
    int k = ir_arg_index(a, name);
    return k < 0 ? def : a->v[k];
}
