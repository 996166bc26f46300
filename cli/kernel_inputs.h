/* The inputs of `ntkc kernel` and `ntkc-mpi kernel`: one or two data sets of
 * the kind the net takes — matrices, or graph sets for a graph net. */
#ifndef NTKC_CLI_KERNEL_INPUTS_H
#define NTKC_CLI_KERNEL_INPUTS_H

#include "ntkc_tool.h"
#include "ntkc.h"

typedef struct KernelInputs {
    NpyArray x1, x2;
    ntkc_graphs *g1, *g2;
    size_t n1, n2; /* rows or graphs; n2 = n1 when there is one input */
    int second;    /* a second input was given */
} KernelInputs;

/* Loads paths[0] and, when not NULL, paths[1] (matrices with as many values
 * per row as each other, or graph files; quiet silences the graph reader's
 * warnings). Returns 0, or the error code with err set; free in either case. */
int kernel_inputs_load(const ntkc_net *net, const char *const paths[2], int quiet, KernelInputs *in,
                       ntkc_error *err);
void kernel_inputs_free(KernelInputs *in);

#endif
