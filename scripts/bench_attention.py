#!/usr/bin/python3
"""The numpy peer for `make bench`'s transformer row (issue 20): the NNGP and NTK
of NET.ntk on X.npy by scripts/attention_reference.py's recursion, vectorised
over blocks of input pairs (full L×L kernels per pair, G·K·Gᵀ by batched matmul).

usage: bench_attention.py NET.ntk X.npy REPS [NTK.npy NNGP.npy]
Prints (best of REPS, symmetric Gram matrix of X's sequences):
  seconds S        (wall)
  cpu S            (core-seconds of the best run)
  entries N        (kernel entries computed, n·(n+1)/2)
and, given ntkc's outputs, agree_ntk / agree_nngp (max |numpy - ntkc| / max |numpy|).
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attention_reference as ar  # noqa: E402


def main():
    if len(sys.argv) not in (4, 6):
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        net = ar.parse_net(f.read())
    ar.check_net(*net)
    x, m = ar.load_inputs(np.load(sys.argv[2]), shape=net[0])
    best, best_cpu = float("inf"), float("inf")
    for _ in range(int(sys.argv[3])):
        t0, c0 = time.perf_counter(), time.process_time()
        nngp, ntk = ar.kernels(net, x, m)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    print(f"seconds {best:.6f}")
    print(f"cpu {best_cpu:.6f}")
    print(f"entries {len(x) * (len(x) + 1) // 2}")
    if len(sys.argv) == 6:
        for name, ours, path in (("ntk", ntk, sys.argv[4]), ("nngp", nngp, sys.argv[5])):
            theirs = np.load(path)
            print(f"agree_{name} {np.max(np.abs(ours - theirs)) / np.max(np.abs(ours)):.3e}")


if __name__ == "__main__":
    main()
