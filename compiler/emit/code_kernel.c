/* Kernel-time C in an emitted file, without its unused static functions
 * (code.h: code_kernel, code_kernel_finish).
 *
 * Kernel texts come whole (compiler/kernel_c/), and a net calls only part of
 * them: a conv net without layer_norm never calls ntkc_ln_plane, and an
 * unused static is a warning in a file a user vendors. Make cut each text
 * into pieces and computed which function reaches which (tools/kernel_calls.c,
 * kernel_text.h), so the emitter only reads the net's own code: every
 * ntkc_ or NTKC_ name in it that is a node of the graph keeps the node's
 * closure; the text's roots are kept too. The other pieces are then cut out
 * in place. The kernel text itself is not scanned at every compile. */
#include "code.h"
#include "c_text.h"

#include <string.h>

void code_kernel(Code *c, const KernelText *text)
{
    if (c->nkernels < CODE_MAX_KERNELS)
        c->kernels[c->nkernels] = (CodeKernelAt){c->sb->len, text};
    if (c->nkernels <= CODE_MAX_KERNELS)
        c->nkernels++;
    sb_putn(c->sb, text->text, text->len);
}


static void keep_node(int node, unsigned char *live)
{
    const KernelNode *d = &kernel_nodes[node];
    for (unsigned i = 0; i < d->count; i++)
        live[kernel_closure[d->first + i]] = 1;
}

/* The node named s[0, n), or -1. */
static int find_node(const char *s, size_t n)
{
    for (unsigned h = kernel_name_hash(s, n) % KERNEL_NODE_SLOTS;; h = (h + 1) % KERNEL_NODE_SLOTS) {
        int k = kernel_node_slots[h];
        if (k < 0)
            return -1;
        if (strncmp(kernel_nodes[k].name, s, n) == 0 && kernel_nodes[k].name[n] == '\0')
            return k;
    }
}

/* Every node named in s[0, n) keeps its closure. Names start with ntkc_ or
 * NTKC_: found by their '_' (memchr), the rest of the text not looked at. */
static void scan(const char *s, size_t n, unsigned char *seen, unsigned char *live)
{
    const char *end = s + n;
    for (const char *u = s; (u = memchr(u, '_', (size_t)(end - u))) != NULL;) {
        const char *w = u - 4;
        if (w < s || !(memcmp(w, "ntkc", 4) == 0 || memcmp(w, "NTKC", 4) == 0) || (w > s && c_ident_char(w[-1]))) {
            u++;
            continue;
        }
        for (u++; u < end && c_ident_char(*u);)
            u++;
        int k = find_node(w, (size_t)(u - w));
        if (k >= 0 && !seen[k]) {
            seen[k] = 1;
            keep_node(k, live);
        }
    }
}

int code_kernel_finish(Code *c)
{
    if (c->nkernels > CODE_MAX_KERNELS)
        return -1;
    if (c->nkernels == 0)
        return 0;
    unsigned char seen[KERNEL_MAX_NODES] = {0}, live[KERNEL_MAX_NODES] = {0};
    char *data = c->sb->data;
    size_t from = 0;
    for (int t = 0; t < c->nkernels; t++) { /* the file outside the kernel texts */
        const CodeKernelAt *k = &c->kernels[t];
        scan(data + from, k->at - from, seen, live);
        from = k->at + k->text->len;
        for (unsigned r = 0; r < k->text->nroots; r++)
            live[k->text->roots[r]] = 1;
    }
    scan(data + from, c->sb->len - from, seen, live);
    /* cut the dead pieces out, moving the rest down in place */
    char *dst = data + c->kernels[0].at;
    from = c->kernels[0].at;
    for (int t = 0; t < c->nkernels; t++) {
        const CodeKernelAt *k = &c->kernels[t];
        memmove(dst, data + from, k->at - from); /* the emitter's text before it */
        dst += k->at - from;
        for (unsigned p = 0; p < k->text->npieces; p++) {
            const KernelPiece *piece = &k->text->pieces[p];
            if (piece->node >= 0 && !live[piece->node])
                continue;
            memmove(dst, data + k->at + piece->start, piece->len);
            dst += piece->len;
        }
        from = k->at + k->text->len;
    }
    memmove(dst, data + from, c->sb->len - from);
    dst += c->sb->len - from;
    *dst = '\0';
    c->sb->len = (size_t)(dst - data);
    c->nkernels = 0;
    return 0;
}
