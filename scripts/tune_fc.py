#!/usr/bin/python3
"""Chooses the demo's fully connected ReLU net (depth, w_std, b_std) and --reg
by 5-fold cross-validation on the 1000 training digits only: the test digits
are never read. For each net, `ntkc kernel` computes the NTK of the training
images once; each fold then predicts its 200 held-out images from the other
800 at t = inf, as `ntkc predict` does (Cholesky solve of Θ + reg·mean(diag Θ)·I).
Prints the ranking and the winner as an .ntk net.

    /usr/bin/python3 scripts/tune_fc.py [build/ntkc]      (needs numpy)
"""
import itertools
import os
import subprocess
import sys
import tempfile

import numpy as np

NTKC = sys.argv[1] if len(sys.argv) > 1 else "build/ntkc"
DEPTHS = [1, 2, 3, 4, 6, 8]
W_STDS = [1.0, 1.414, 2.0]
B_STDS = [0.0, 0.05, 0.1, 0.2, 0.5, 1.0]
REGS = [0.0, 1e-4, 1e-3, 1e-2, 1e-1]
FOLDS = 5


def net_source(depth, w, b):
    return "net fc {\n    repeat %d { dense(%g, %g); relu }\n    dense(1)\n}\n" % (depth, w, b)


def train_kernel(src, x_path, tmp):
    net = os.path.join(tmp, "net.ntk")
    out = os.path.join(tmp, "k.npy")
    with open(net, "w") as f:
        f.write(src)
    subprocess.run([NTKC, "kernel", net, x_path, "--ntk", out, "--quiet"], check=True)
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
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    x_path = "data/digits_train_x.npy"
    labels = np.load("data/digits_train_y.npy").astype(int)
    folds = np.array_split(np.random.default_rng(0).permutation(len(labels)), FOLDS)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for depth, w, b in itertools.product(DEPTHS, W_STDS, B_STDS):
            k = train_kernel(net_source(depth, w, b), x_path, tmp)
            for reg in REGS:
                results.append((cv_accuracy(k, labels, reg, folds), depth, w, b, reg))
    results = [r for r in results if r[0] == r[0]]
    # Ties (one image is 0.1 %) go to the shallower net, then the larger reg
    # (the better-conditioned solve), then the smaller b_std.
    results.sort(key=lambda r: (-r[0], r[1], -r[4], r[3]))
    row = "  %.2f%%  depth %d  w_std %-5g b_std %-4g reg %g"
    print("5-fold CV accuracy on the 1000 training digits, best 10 of %d:" % len(results))
    for r in results[:10]:
        print(row % ((100 * r[0],) + r[1:]))
    print("best per depth:")
    for depth in DEPTHS:
        print(row % next((100 * r[0],) + r[1:] for r in results if r[1] == depth))
    acc, depth, w, b, reg = results[0]
    print("\nbest (--reg %g):\n%s" % (reg, net_source(depth, w, b)), end="")


if __name__ == "__main__":
    main()
