/* Helpers shared by the .npy test files: fixtures, temp directories, files. */
#ifndef NTKC_NPY_TESTUTIL_H
#define NTKC_NPY_TESTUTIL_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npy.h"

#define FIXTURE(name) ("tests/data/npy/" name)

/* Reads a whole file; aborts the test if it cannot. */
static inline unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static inline void spit(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(buf, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

/* A fresh directory under /tmp, path written into dir (>= 64 bytes). */
static inline void make_temp_dir(char *dir)
{
    strcpy(dir, "/tmp/ntkc-npy-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static inline int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

static inline void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Entries in dir other than . and .. */
static inline int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static inline void assert_same_bytes(const char *got_path, const char *want_path)
{
    size_t n1, n2;
    unsigned char *a = slurp(got_path, &n1), *b = slurp(want_path, &n2);
    cr_assert_eq(n1, n2, "%s has %zu bytes, %s has %zu", got_path, n1, want_path, n2);
    cr_assert(memcmp(a, b, n1) == 0, "%s differs from %s", got_path, want_path);
    free(a);
    free(b);
}

/* The error message contains `part`. */
#define assert_msg(err, part)                                                                      \
    cr_assert(strstr((err).message, (part)) != NULL, "message \"%s\" lacks \"%s\"", (err).message, \
              (part))

#endif
