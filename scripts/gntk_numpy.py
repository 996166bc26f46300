#!/usr/bin/python3
"""A straightforward numpy implementation of the GNTK recursion that ntkc
compiles, for `make bench` (speed baseline) and as an independent check of
its values. One graph pair at a time, as the reference scripts do, with
dense numpy matrices; no ntkc code is shared.

The architecture it computes is the net

    input graph(F, normalize=N)
    repeat BLOCKS { aggregate(scale=S, self_loops=true); repeat MLP { dense(W, B); relu } }
    readout(POOL, jk=JK)
    dense(W_OUT)

usage: gntk_numpy.py GRAPHS.txt --features F [--blocks 4] [--mlp 2] [--jk]
           [--scale uniform|degree] [--pool sum|mean] [--w 1.414..] [--b 0] [--w-out 1]
           [--raw] [--graphs K] [--out K.npy]
Computes the upper triangle of the Gram matrix of the first K graphs (all
when not given) and prints "numpy_pairs_per_s VALUE pairs/s", the per-graph
variances included in the time; --out writes the NNGP and NTK (2 × K × K,
NaN below the diagonal).
"""
import argparse
import math
import sys
import time

import numpy as np


def read_graphs(path, features):
    with open(path) as f:
        lines = [l.split() for l in f if l.strip()]
    count = int(lines[0][0])
    at = 1
    graphs = []
    for _ in range(count):
        n = int(lines[at][0])
        at += 1
        adj = np.zeros((n, n))
        x = np.zeros((n, features))
        for u in range(n):
            row = lines[at]
            at += 1
            k = int(row[1])
            for v in row[2:2 + k]:
                adj[u, int(v)] = adj[int(v), u] = 1.0
            rest = row[2 + k:]
            if rest:
                x[u] = [float(v) for v in rest]
            else:
                x[u, int(row[0])] = 1.0
        np.fill_diagonal(adj, 0.0)
        graphs.append((x, adj + np.eye(n)))
    return graphs


class Gntk:
    def __init__(self, a):
        self.a = a

    def relu_dual(self, s, v1, v2):
        norm = np.sqrt(np.outer(v1, v2))
        rho = np.clip(np.where(norm > 0, s / np.where(norm > 0, norm, 1.0), 0.0), -1.0, 1.0)
        theta = np.arccos(rho)
        t = norm * (np.sqrt(1.0 - rho * rho) + (math.pi - theta) * rho) / (2 * math.pi)
        td = (math.pi - theta) / (2 * math.pi)
        return t, td

    def aggregate(self, m, a1, a2):
        out = a1 @ m @ a2.T
        if self.a.scale == "degree":
            out = out / np.outer(a1.sum(axis=1), a2.sum(axis=1))
        return out

    def pool(self, m):
        return m.sum() if self.a.pool == "sum" else m.mean()

    def run(self, g1, g2, var1=None, var2=None):
        """Σ, Θ of the pair; with var1 None it is a graph with itself and
        returns the node variances before every activation instead."""
        a = self.a
        (x1, a1), (x2, a2) = g1, g2
        prep = var1 is None
        if prep:
            var1, var2 = [], []
        s = x1 @ x2.T / (1.0 if a.raw else x1.shape[1])
        t = np.zeros_like(s)
        jk_s = jk_t = 0.0
        slot = 0
        for _ in range(a.blocks):
            if a.jk:
                jk_s += self.pool(s)
                jk_t += self.pool(t)
            s = self.aggregate(s, a1, a2)
            t = self.aggregate(t, a1, a2)
            for _ in range(a.mlp):
                s = a.w * a.w * s + a.b * a.b
                t = s + a.w * a.w * t
                if prep:
                    var1.append(np.diag(s).copy())
                    var2.append(var1[-1])
                s, td = self.relu_dual(s, var1[slot], var2[slot])
                t = t * td
                slot += 1
        gs = self.pool(s) + jk_s
        gt = self.pool(t) + jk_t
        ww = a.w_out * a.w_out
        gs, gt = ww * gs, ww * gs + ww * gt
        return var1 if prep else (gs, gt)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("graphs_file")
    p.add_argument("--features", type=int, required=True)
    p.add_argument("--blocks", type=int, default=4)
    p.add_argument("--mlp", type=int, default=2)
    p.add_argument("--jk", action="store_true")
    p.add_argument("--scale", default="uniform", choices=["uniform", "degree"])
    p.add_argument("--pool", default="sum", choices=["sum", "mean"])
    p.add_argument("--w", type=float, default=math.sqrt(2.0))
    p.add_argument("--b", type=float, default=0.0)
    p.add_argument("--w-out", type=float, default=1.0)
    p.add_argument("--raw", action="store_true", help="input kernel x.x' (normalize=false)")
    p.add_argument("--graphs", type=int, default=0)
    p.add_argument("--out")
    a = p.parse_args()
    graphs = read_graphs(a.graphs_file, a.features)
    if a.graphs:
        graphs = graphs[: a.graphs]
    k = Gntk(a)
    n = len(graphs)
    start = time.perf_counter()
    variances = [k.run(g, g) for g in graphs]
    pairs = [(i, j) for i in range(n) for j in range(i, n)]
    ntk = np.full((n, n), np.nan)
    nngp = np.full((n, n), np.nan)
    for i, j in pairs:
        nngp[i, j], ntk[i, j] = k.run(graphs[i], graphs[j], variances[i], variances[j])
    seconds = time.perf_counter() - start
    if a.out:
        np.save(a.out, np.stack([nngp, ntk]))
    # The per-graph variances are a one-off cost included in the time, as in ntkc.
    print("numpy_pairs_per_s %.1f pairs/s" % (len(pairs) / seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
