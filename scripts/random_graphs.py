#!/usr/bin/python3
"""Writes random graphs in the GIN/GNTK text format (for `make bench`).

usage: random_graphs.py COUNT MIN_NODES MAX_NODES TAGS SEED > graphs.txt
Each graph: a random spanning tree plus Erdős–Rényi edges of probability
3/n (mean degree about 5), node tags uniform in [0, TAGS), label = the parity
of its edge count.
"""
import sys

import numpy as np


def main():
    count, lo, hi, tags, seed = (int(v) for v in sys.argv[1:6])
    rng = np.random.default_rng(seed)
    out = [str(count)]
    for _ in range(count):
        n = int(rng.integers(lo, hi + 1))
        adj = np.zeros((n, n), dtype=bool)
        for v in range(1, n):
            u = int(rng.integers(0, v))
            adj[u, v] = adj[v, u] = True
        extra = np.triu(rng.random((n, n)) < 3.0 / n, 1)
        adj |= extra | extra.T
        np.fill_diagonal(adj, False)
        out.append("%d %d" % (n, int(adj.sum() // 2) % 2))
        node_tags = rng.integers(0, tags, n)
        for u in range(n):
            nb = np.flatnonzero(adj[u])
            out.append(" ".join(str(v) for v in [node_tags[u], len(nb), *nb]))
    print("\n".join(out))


if __name__ == "__main__":
    main()
