/* Edit distance for "did you mean" suggestions. */
#ifndef NTKC_EDITDIST_H
#define NTKC_EDITDIST_H

/* Optimal-string-alignment distance (a swap of neighbours counts 1), capped:
 * returns cap + 1 when larger, and for names of 64 bytes or more. */
int edit_distance(const char *s, const char *t, int cap);

#endif
