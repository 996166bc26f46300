/* The front-end fuzz target's oracles on its seed corpus and on every input
 * fuzzing has ever turned into a bug (tests/data/fuzz/frontend). */
#define LLVMFuzzerTestOneInput fuzz_frontend_one
#include "../fuzz/fuzz_frontend.c"

#include "fuzz_replay.h"

Test(fuzz_frontend, seed_corpus) { cr_expect_gt(replay_dir("fuzz/corpus/frontend", fuzz_frontend_one), 100); }

Test(fuzz_frontend, regressions) { cr_expect_gt(replay_dir("tests/data/fuzz/frontend", fuzz_frontend_one), 5); }
