#!/usr/bin/python3
"""Writes cycles, paths and stars in the GIN/GNTK text format: a small graph
classification task for `ntkc predict` (README, "Graphs").

usage: shape_graphs.py COUNT SEED > graphs.txt
Graph i is a cycle (label 0), a path (1) or a star (2) as i % 3, of 8 to 20
nodes, the graphs in a shuffled order. Every node has tag 0: only the
structure tells the classes apart.
"""
import random
import sys


def edges(kind, n):
    if kind == 2:
        return [(0, v) for v in range(1, n)]
    return [(v - 1, v) for v in range(1, n)] + ([(n - 1, 0)] if kind == 0 else [])


def main():
    count, seed = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    kinds = [i % 3 for i in range(count)]
    rng.shuffle(kinds)
    out = [str(count)]
    for kind in kinds:
        n = rng.randint(8, 20)
        nbrs = [[] for _ in range(n)]
        for u, v in edges(kind, n):
            nbrs[u].append(v)
            nbrs[v].append(u)
        out.append("%d %d" % (n, kind))
        out.extend(" ".join(str(x) for x in [0, len(nb), *nb]) for nb in nbrs)
    print("\n".join(out))


if __name__ == "__main__":
    main()
