/* generated/ holds the emitted C of every example net; regenerating it must
 * reproduce the committed files byte for byte (run `make regen` after an
 * intended change to the emitter). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"
#include "ntkc.h"
#include "util.h"

/* The C ntkc emits for examples/STEM.ntk equals generated/STEM.c. */
static void check_committed(const char *src_path, const char *stem)
{
    char gen_path[512];
    snprintf(gen_path, sizeof gen_path, "generated/%s.c", stem);
    ntkc_error err = {0};
    char *text = ntkc_read_text_file(src_path, &err);
    cr_assert_not_null(text, "%s", err.message);
    char *emitted = ntkc_emit(text, src_path, NULL, &err);
    cr_assert_not_null(emitted, "%s", err.message);
    char *committed = ntkc_read_text_file(gen_path, &err);
    cr_assert_not_null(committed, "%s (run make regen)", err.message);
    cr_expect_str_eq(emitted, committed, "%s differs from what %s emits now (run make regen)", gen_path, src_path);
    free(text);
    free(emitted);
    free(committed);
}

Test(generated, examples_match_committed_c)
{
    int checked = for_each_example(check_committed);
    cr_expect_geq(checked, 3, "expected at least three example nets, found %d", checked);
}
