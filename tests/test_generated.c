/* generated/ holds the emitted C of every example net; regenerating it must
 * reproduce the committed files byte for byte (run `make regen` after an
 * intended change to the emitter). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"
#include "ntkc.h"

Test(generated, examples_match_committed_c)
{
    DIR *d = opendir("examples");
    cr_assert_not_null(d, "run the tests from the project root");
    int checked = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".ntk") != 0)
            continue;
        char src_path[512], gen_path[512];
        snprintf(src_path, sizeof src_path, "examples/%s", e->d_name);
        snprintf(gen_path, sizeof gen_path, "generated/%.*s.c", (int)(len - 4), e->d_name);
        ntkc_error err = {0};
        char *text = ntkc_read_text_file(src_path, &err);
        cr_assert_not_null(text, "%s", err.message);
        char *emitted = ntkc_emit(text, src_path, NULL, &err);
        cr_assert_not_null(emitted, "%s", err.message);
        char *committed = ntkc_read_text_file(gen_path, &err);
        cr_assert_not_null(committed, "%s (run make regen)", err.message);
        cr_expect_str_eq(emitted, committed, "%s differs from what %s emits now (run make regen)", gen_path,
                         src_path);
        free(text);
        free(emitted);
        free(committed);
        checked++;
    }
    closedir(d);
    cr_expect_geq(checked, 3, "expected at least three example nets, found %d", checked);
}
