#include "arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ArenaBlock {
    ArenaBlock *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

enum { ARENA_BLOCK = 64 * 1024 };

void arena_init(Arena *a)
{
    a->head = NULL;
    a->on_oom = NULL;
}

void arena_free(Arena *a)
{
    for (ArenaBlock *b = a->head, *next; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    a->head = NULL;
}

static void out_of_memory(Arena *a)
{
    if (a->on_oom != NULL)
        longjmp(*a->on_oom, 1);
    fputs("ntkc: out of memory\n", stderr);
    abort();
}

void *arena_alloc(Arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size > ARENA_BLOCK / 4) {
        /* A large array gets a block of its own behind the head (the head's
         * free space stays in use), from calloc: fresh pages come zeroed, so
         * a 10 MB source's token array is not written twice. */
        ArenaBlock *big = calloc(1, sizeof *big + size);
        if (big == NULL)
            out_of_memory(a);
        big->used = big->cap = size;
        ArenaBlock **link = a->head ? &a->head->next : &a->head;
        big->next = *link;
        *link = big;
        return big->data;
    }
    ArenaBlock *b = a->head;
    if (b == NULL || b->cap - b->used < size) {
        b = malloc(sizeof *b + ARENA_BLOCK);
        if (b == NULL)
            out_of_memory(a);
        b->used = 0;
        b->cap = ARENA_BLOCK;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(Arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

void *arena_grow(Arena *a, void *v, size_t n, size_t *cap, size_t elem, size_t first)
{
    if (n < *cap)
        return v;
    size_t more = *cap ? 2 * *cap : first;
    void *w = arena_alloc(a, more * elem);
    if (n)
        memcpy(w, v, n * elem);
    *cap = more;
    return w;
}

char *arena_printf(Arena *a, const char *fmt, ...)
{
    /* Most strings fit the first try; longer ones are formatted again. */
    char small[256];
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    size_t size = (size_t)(n < 0 ? 0 : n) + 1;
    char *p = arena_alloc(a, size);
    if (size <= sizeof small)
        memcpy(p, small, size - 1);
    else
        vsnprintf(p, size, fmt, ap2);
    va_end(ap2);
    return p;
}
