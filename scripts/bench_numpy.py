#!/usr/bin/python3
"""The baseline a researcher would write for `make bench`: the FC ReLU NNGP
and NTK recursion vectorised over full n x n arrays in numpy (one arccos per
layer shared by T and its derivative, sin(arccos c) = sqrt(1 - c^2)).

usage: bench_numpy.py X.npy DEPTH W_STD B_STD OUT_W OUT_B REPS NTK.npy NNGP.npy
(DEPTH hidden dense+relu layers, then a readout dense(OUT_W, OUT_B))
Times the recursion (best of REPS, Gram matrix included), then compares with
ntkc's outputs and prints:
  seconds S        (wall)
  cpu S            (core-seconds of the best run)
  agree_ntk R      (max elementwise |numpy - ntkc| / |numpy|)
  agree_nngp R
"""
import sys
import time

import numpy as np


def relu_fc_kernels(x, depth, w_std, b_std, out_w, out_b):
    n, d = x.shape
    w2, b2 = w_std * w_std, b_std * b_std
    sigma = x @ x.T / d
    theta = np.zeros_like(sigma)
    for _ in range(depth):
        sigma = w2 * sigma + b2
        theta = sigma + w2 * theta
        var = np.diag(sigma).copy()
        norm = np.sqrt(np.outer(var, var))
        c = np.clip(sigma / norm, -1.0, 1.0)
        angle = np.arccos(c)
        sigma = norm * (np.sqrt(1.0 - c * c) + (np.pi - angle) * c) / (2.0 * np.pi)
        theta = theta * ((np.pi - angle) / (2.0 * np.pi))
    sigma = out_w * out_w * sigma + out_b * out_b  # the readout dense layer
    theta = sigma + out_w * out_w * theta
    return sigma, theta


def main():
    if len(sys.argv) != 10:
        sys.exit(__doc__)
    x = np.load(sys.argv[1]).astype(np.float64)
    depth, w_std, b_std = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    out_w, out_b, reps = float(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
    best, best_cpu = float("inf"), float("inf")
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        nngp, ntk = relu_fc_kernels(x, depth, w_std, b_std, out_w, out_b)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    print(f"seconds {best:.6f}")
    print(f"cpu {best_cpu:.6f}")
    for name, ours, path in (("ntk", ntk, sys.argv[8]), ("nngp", nngp, sys.argv[9])):
        theirs = np.load(path, mmap_mode="r")
        rel = np.max(np.abs(ours - theirs) / np.abs(ours))
        print(f"agree_{name} {rel:.3e}")


if __name__ == "__main__":
    main()
