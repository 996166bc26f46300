/* One arena per compilation: every AST node, IR op and string of a compilation
 * lives here and dies with it, so no stage frees anything piecemeal. */
#ifndef NTKC_ARENA_H
#define NTKC_ARENA_H

#include <setjmp.h>
#include <stddef.h>

typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
    ArenaBlock *head;
    /* Where an allocation that fails jumps (set by the compilation that owns
     * the arena, which reports the error); NULL: print and abort. */
    jmp_buf *on_oom;
} Arena;

void arena_init(Arena *a);
void arena_free(Arena *a);
/* Zeroed, 16-byte aligned; on out-of-memory longjmps to on_oom, or aborts. */
void *arena_alloc(Arena *a, size_t size);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_strdup(Arena *a, const char *s);
/* Room for one more element in the arena array v of n elements of size
 * elem, *cap allocated: v itself while n < *cap, else a copy with twice the
 * capacity (first when *cap is 0), *cap updated. */
void *arena_grow(Arena *a, void *v, size_t n, size_t *cap, size_t elem, size_t first);
/* printf into the arena. */
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
