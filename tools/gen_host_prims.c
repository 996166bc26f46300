/* Writes the host block primitives (compiler/emit_prims.h) for every entry
 * of the activation table to the file named by argv[1]; the Makefile compiles
 * it into the library with gcc's optimiser. */
#include <stdio.h>
#include <stdlib.h>

#include "emit_prims.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_host_prims OUT.c\n");
        return 2;
    }
    char *src = prim_emit_host_source();
    FILE *f = fopen(argv[1], "w");
    if (f == NULL || fputs(src, f) < 0 || fclose(f) != 0) {
        perror(argv[1]);
        free(src);
        return 1;
    }
    free(src);
    return 0;
}
