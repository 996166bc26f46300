#!/usr/bin/env python3
"""The float32-vs-float64 error table of docs/precision.md, measured with the
ntkc CLI: for every net of examples/, `ntkc kernel --precision single` and
`--precision double` on the same seeded inputs; prints max |K32 − K64| /
max |K64| for the NNGP and the NTK, or the refusal for nets without float32
kernels. Graph nets take n random graphs of 10-30 nodes (scripts/random_graphs.py,
tags one-hot in the net's F features). A second table takes inputs in near-duplicate pairs (x and
x + δ·noise), whose correlations lie within δ² of 1: there acos' slope turns
float rounding into errors of order sqrt(u).

usage: precision_errors.py NTKC [N]"""
import os
import subprocess
import sys
import tempfile

import numpy as np

def kernel(ntkc, net, x, precision, out):
    r = subprocess.run([ntkc, "kernel", net, x, "--ntk", out + ".ntk.npy", "--nngp", out + ".nngp.npy",
                        "--precision", precision, "--quiet"], capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip().splitlines()[-1]
    return (np.load(out + ".nngp.npy"), np.load(out + ".ntk.npy")), None

def err(a, b):
    return np.max(np.abs(a.astype(np.float64) - b)) / np.max(np.abs(b))

def input_dim(ntkc, net):
    ir = subprocess.run([ntkc, "ir", net], capture_output=True, text=True).stdout
    for line in ir.splitlines():
        if "= input vector (" in line and "any dimension" not in line:
            return int(line.split("input vector (")[1].split()[0].rstrip(")"))
        for shape in ("sequence(", "image(", "volume("):  # every value of one input: the product of its sizes
            if "= input " + shape in line:
                sizes = line.split(shape)[1].split(")")[0].split(",")
                return int(np.prod([int(v) for v in sizes if "=" not in v]))
    return None

def graph_features(ntkc, net):
    """F of a net of `input graph(F)`, else None."""
    ir = subprocess.run([ntkc, "ir", net], capture_output=True, text=True).stdout
    for line in ir.splitlines():
        if "= input graph(" in line:
            return int(line.split("input graph(")[1].split(",")[0].rstrip(")"))
    return None

def graphs(n, tags, seed, path):
    """n random graphs of 10-30 nodes with tags in [0, tags) (scripts/random_graphs.py)."""
    with open(path, "w") as f:
        subprocess.run([sys.executable, "scripts/random_graphs.py", str(n), "10", "30", str(tags), str(seed)],
                       stdout=f, check=True)

def main():
    ntkc = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    rng = np.random.default_rng(19)
    nets = sorted(f for f in os.listdir("examples") if f.endswith(".ntk"))
    with tempfile.TemporaryDirectory() as tmp:
        for near in (False, True):
            print("near-duplicate pairs (x, x + 1e-3·noise)" if near else "seeded standard normal inputs")
            print("  %-26s %5s %10s %10s" % ("net", "d", "NNGP", "NTK"))
            for f in nets:
                net = os.path.join("examples", f)
                tags = graph_features(ntkc, net)
                if tags is not None:  # graph nets: n random graphs (no near-duplicate variant)
                    if near:
                        continue
                    d = tags
                    xp = os.path.join(tmp, "g.txt")
                    graphs(n, tags, 19, xp)
                else:
                    d = input_dim(ntkc, net) or 64
                    x = rng.standard_normal((n, d))
                    if near:
                        x[1::2] = x[0::2] + 1e-3 * rng.standard_normal(x[1::2].shape)
                    xp = os.path.join(tmp, "x.npy")
                    np.save(xp, x)
                k32, why = kernel(ntkc, net, xp, "single", os.path.join(tmp, "s"))
                if k32 is None:
                    if not near:
                        print("  %-26s refused: %s" % (f, why.replace("ntkc: error: ", "")[:120]))
                    continue
                k64, why = kernel(ntkc, net, xp, "double", os.path.join(tmp, "d"))
                print("  %-26s %5d %10.2e %10.2e" % (f, d, err(k32[0], k64[0]), err(k32[1], k64[1])))

main()
