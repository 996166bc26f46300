/* Replays a directory of inputs through a fuzz target's entry point, so the
 * seed corpus and the regression inputs found by fuzzing run with every
 * `make test` (and under the sanitizers with `make check-asan`). */
#ifndef NTKC_FUZZ_REPLAY_H
#define NTKC_FUZZ_REPLAY_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*FuzzEntry)(const uint8_t *data, size_t size);

/* Runs every regular file of dir through fn (a crash names the file in the
 * log); returns how many ran. */
static inline size_t replay_dir(const char *dir, FuzzEntry fn)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s", dir);
    size_t ran = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s", path);
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
        cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len, "%s", path);
        fclose(f);
        fprintf(stderr, "replay %s\n", path);
        fn(buf, (size_t)len);
        free(buf);
        ran++;
    }
    closedir(d);
    return ran;
}

#endif
