#include "name_table.h"

#include <stdint.h>
#include <string.h>

/* FNV-1a: short identifiers, no adversary beyond the file's own author. */
static size_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)(h ^ (h >> 32));
}

/* The slot holding name, or the empty slot where it would go. */
static NameSlot *slot_for(NameSlot *slots, size_t cap, const char *name)
{
    size_t i = hash_name(name) & (cap - 1);
    while (slots[i].name != NULL && strcmp(slots[i].name, name) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

size_t name_table_find(const NameTable *t, const char *name)
{
    if (t->cap == 0)
        return (size_t)-1;
    const NameSlot *s = slot_for(t->slots, t->cap, name);
    return s->name ? s->index : (size_t)-1;
}

/* Doubles the table (the old slots stay in the arena: at most as much again). */
static void grow(Arena *a, NameTable *t)
{
    size_t cap = t->cap ? 2 * t->cap : 16;
    NameSlot *slots = arena_alloc(a, cap * sizeof *slots);
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].name != NULL)
            *slot_for(slots, cap, t->slots[i].name) = t->slots[i];
    t->slots = slots;
    t->cap = cap;
}

void name_table_put(Arena *a, NameTable *t, const char *name, size_t index)
{
    if (2 * (t->n + 1) > t->cap)
        grow(a, t);
    NameSlot *s = slot_for(t->slots, t->cap, name);
    if (s->name == NULL)
        t->n++;
    s->name = name;
    s->index = index;
}
