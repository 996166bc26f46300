/* The .npy fuzz target's oracles on its seed corpus (the reader's fixtures)
 * and on the defects kept under tests/data/fuzz/npy. */
#define LLVMFuzzerTestOneInput fuzz_npy_one
#include "../fuzz/fuzz_npy.c"

#include "fuzz_replay.h"

Test(fuzz_npy, seed_corpus) { cr_expect_gt(replay_dir("fuzz/corpus/npy", fuzz_npy_one), 30); }

Test(fuzz_npy, regressions) { cr_expect_gt(replay_dir("tests/data/fuzz/npy", fuzz_npy_one), 5); }
