/* The graph-file fuzz target's oracles on its seed corpus (the graph reader's
 * test texts) and on the regressions under tests/data/fuzz/graph. */
#define LLVMFuzzerTestOneInput fuzz_graph_one
#include "../fuzz/fuzz_graph.c"

#include "fuzz_replay.h"

Test(fuzz_graph, seed_corpus) { cr_expect_gt(replay_dir("fuzz/corpus/graph", fuzz_graph_one), 10); }

Test(fuzz_graph, regressions) { cr_expect_geq(replay_dir("tests/data/fuzz/graph", fuzz_graph_one), 2); }
