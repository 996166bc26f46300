#!/usr/bin/python3
"""Chooses the demo's nets and their --reg by 5-fold cross-validation on the
1000 training digits only: the test digits are never read. For each candidate
net, `ntkc kernel` computes the NTK of the training images once; each fold
then predicts its 200 held-out images from the other 800 at t = inf, as
`ntkc predict` does (Cholesky solve of Θ + reg·mean(diag Θ)·I).

    /usr/bin/python3 scripts/tune.py fc|cntk [build/ntkc]     (needs numpy)

fc: fully connected ReLU nets (depth, w_std, b_std); cntk: convolutional ReLU
nets with global average pooling (conv depth, b_std, an average pooling after
the first block or not). Prints the ranking and the winner as an .ntk net.
"""
import itertools
import os
import subprocess
import sys
import tempfile

import numpy as np

REGS = [0.0, 1e-4, 1e-3, 1e-2, 1e-1]
FOLDS = 5


def fc_candidates():
    for depth, w, b in itertools.product([1, 2, 3, 4, 6, 8], [1.0, 1.414, 2.0], [0.0, 0.05, 0.1, 0.2, 0.5, 1.0]):
        src = "net digits_fc {\n    repeat %d { dense(%g, %g); relu }\n    dense(1)\n}\n" % (depth, w, b)
        yield "depth %d  w_std %-5g b_std %-4g" % (depth, w, b), depth, src


def cntk_candidates():
    # The GAP kernel needs every pixel pair: (H·W)² per entry and conv layer
    # at 8×8, a sixteenth of it after a 2×2 average pooling.
    for depth, b, pool in itertools.product([1, 2, 3], [0.0, 0.1], [False, True]):
        if pool and depth == 1:
            continue
        first = "    conv(3, 1.414, %g); relu\n" % b
        if pool:
            first += "    avg_pool(2)\n"
        rest = "    repeat %d { conv(3, 1.414, %g); relu }\n" % (depth - 1, b) if depth > 1 else ""
        src = ("net digits_cntk {\n    input image(8, 8, 1)\n%s%s    global_avg_pool\n    dense(1)\n}\n"
               % (first, rest))
        yield "depth %d  b_std %-4g %s" % (depth, b, "avg_pool(2) after the first" if pool else "no pooling"), \
            depth, src


def train_kernel(ntkc, src, x_path, tmp):
    net = os.path.join(tmp, "net.ntk")
    out = os.path.join(tmp, "k.npy")
    with open(net, "w") as f:
        f.write(src)
    subprocess.run([ntkc, "kernel", net, x_path, "--ntk", out, "--quiet"], check=True)
    return np.load(out)


def cv_accuracy(k, labels, reg, folds):
    y = np.eye(labels.max() + 1)[labels]
    right = 0
    for held in folds:
        fit = np.setdiff1d(np.arange(len(labels)), held)
        kff = k[np.ix_(fit, fit)]
        kff = kff + reg * np.trace(kff) / len(fit) * np.eye(len(fit))
        try:
            c = np.linalg.cholesky(kff)
        except np.linalg.LinAlgError:
            return float("nan")
        alpha = np.linalg.solve(c.T, np.linalg.solve(c, y[fit]))
        right += np.sum(np.argmax(k[np.ix_(held, fit)] @ alpha, axis=1) == labels[held])
    return right / len(labels)


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("fc", "cntk"):
        sys.exit(__doc__)
    candidates = fc_candidates() if sys.argv[1] == "fc" else cntk_candidates()
    ntkc = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else "build/ntkc")
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    labels = np.load("data/digits_train_y.npy").astype(int)
    folds = np.array_split(np.random.default_rng(0).permutation(len(labels)), FOLDS)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, depth, src in candidates:
            k = train_kernel(ntkc, src, "data/digits_train_x.npy", tmp)
            for reg in REGS:
                results.append((cv_accuracy(k, labels, reg, folds), depth, reg, name, src))
            print("  %-44s best %.2f%%" % (name, 100 * max(r[0] for r in results[-len(REGS):])), flush=True)
    results = [r for r in results if r[0] == r[0]]
    # Ties (one image is 0.1 %) go to the shallower net, then the larger reg
    # (the better-conditioned solve), then the candidate listed first.
    results.sort(key=lambda r: (-r[0], r[1], -r[2]))
    print("5-fold CV accuracy on the 1000 training digits, best 10 of %d:" % len(results))
    for acc, depth, reg, name, src in results[:10]:
        print("  %.2f%%  %s reg %g" % (100 * acc, name, reg))
    acc, depth, reg, name, src = results[0]
    print("\nbest (--reg %g):\n%s" % (reg, src), end="")


if __name__ == "__main__":
    main()
