#include "input_kind.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ntkc_tool.h"

static const char npy_magic[6] = "\x93NUMPY";

/* What a net takes, in words. */
static const char *input_words(const ntkc_net *net)
{
    size_t shape[4];
    switch (ntkc_net_input_shape(net, shape)) {
    case 4: return "volumes (input volume(D, H, W, C))";
    case 3: return "images (input image(H, W, C))";
    case 2: return "sequences (input sequence(L, C))";
    default: return "vectors";
    }
}

int check_input_kind(const ntkc_net *net, const char *path, ntkc_error *err)
{
    /* Only a regular file can be looked at twice: a FIFO or pipe sniffed here
     * would lose what the reader needs (the readers' messages apply instead). */
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    unsigned char head[64];
    size_t len = fread(head, 1, sizeof head, f);
    fclose(f);
    int npy = len >= sizeof npy_magic && memcmp(head, npy_magic, sizeof npy_magic) == 0;
    size_t first = 0;
    while (first < len && isspace(head[first]))
        first++;
    int text = first < len && isdigit(head[first]);
    int graphs = ntkc_net_takes_graphs(net);
    if (graphs && npy)
        err_user(err, "%s is a .npy array, but net '%s' takes graphs (input graph(%zu)): give a graph file in the "
                       "GIN/GNTK text format (README, \"Graphs\")",
                  path, ntkc_net_name(net), ntkc_net_input_dim(net));
    else if (!graphs && text)
        err_user(err, "%s is a text file (a graph file?), not a .npy array: net '%s' takes %s; graph files are for "
                       "nets that declare 'input graph(F)'",
                  path, ntkc_net_name(net), input_words(net));
    return (graphs && npy) || (!graphs && text) ? err->code : 0;
}
