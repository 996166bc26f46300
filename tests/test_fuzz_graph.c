/* The graph-file fuzz target's oracles on its seed corpus (the graph reader's
 * test texts) and on the regressions under tests/data/fuzz/graph. Empty until
 * the graph reader is part of the build. */
#define LLVMFuzzerTestOneInput fuzz_graph_one
#include "../fuzz/fuzz_graph.c"

#if NTKC_HAVE_GRAPHS
#include "fuzz_replay.h"

Test(fuzz_graph, seed_corpus) { cr_expect_gt(replay_dir("fuzz/corpus/graph", fuzz_graph_one), 10); }

Test(fuzz_graph, regressions) { cr_expect_geq(replay_dir("tests/data/fuzz/graph", fuzz_graph_one), 2); }
#endif
