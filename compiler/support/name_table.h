/* Names to indices in O(1): constants, nets and activations are looked up by
 * name once per definition and use, so a linear scan made a file of many
 * `let` lines quadratic (80k lines: 22 s). Lives in the compilation's arena. */
#ifndef NTKC_NAME_TABLE_H
#define NTKC_NAME_TABLE_H

#include <stddef.h>

#include "arena.h"

typedef struct NameSlot {
    const char *name; /* NULL: empty */
    size_t index;
} NameSlot;

typedef struct NameTable {
    NameSlot *slots;
    size_t cap, n; /* cap a power of two (or 0), n < cap / 2 */
} NameTable;

/* The index stored for name, or (size_t)-1. An all-zero table is empty. */
size_t name_table_find(const NameTable *t, const char *name);
/* Stores index for name (which must outlive the table: an arena string);
 * replaces the index of a name already present. */
void name_table_put(Arena *a, NameTable *t, const char *name, size_t index);

#endif
