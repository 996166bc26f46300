#!/usr/bin/python3
"""Python side of scripts/bench_python.sh: the best of REPS Net.kernel calls
(NNGP + NTK, symmetric) with THREADS threads, writing into reused outputs
(out=, as bench/bench_call.c does) and into new ones (the default); and the
wrapper's own cost, measured apart from the kernel: a call on 2 inputs
against the bare ctypes call, plus checking and converting the n inputs."""
import sys
import time
from ctypes import byref

import numpy as np

import ntkc
from ntkc._lib import CError, EvalOptions, lib
from ntkc._net import _as_double_p


def best_of(reps: int, fn) -> tuple[float, float]:
    """The best wall time and the best CPU time of the calling thread."""
    best, best_cpu = float("inf"), float("inf")
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.thread_time()
        fn()
        best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.thread_time() - c0)
    return best, best_cpu


def main(net_file: str, x_file: str, threads: int, reps: int) -> None:
    x = np.load(x_file)
    net = ntkc.Net(net_file)
    n = len(x)
    out = (np.zeros((n, n)), np.zeros((n, n)))
    wall, cpu = best_of(reps, lambda: net.kernel(x, out=out, threads=threads))
    print(f"reused {wall:.6f}\nreused_cpu {cpu:.6f}")
    print(f"fresh {best_of(reps, lambda: net.kernel(x, threads=threads))[0]:.6f}")
    if threads == 1:
        print(f"wrapper {wrapper_seconds(net, x, 20 * reps):.7f}")


def wrapper_seconds(net: ntkc.Net, x: np.ndarray, reps: int) -> float:
    """What Net.kernel adds to the C call: on 2 inputs (kernel time ~0) minus the bare
    ctypes call, plus the O(n·d) input check of all of x."""
    x2, out = np.ascontiguousarray(x[:2]), (np.zeros((2, 2)), np.zeros((2, 2)))
    err, opts = CError(), EvalOptions(threads=1)
    bare = best_of(reps, lambda: lib.ntkc_kernel(net._ptr, 2, _as_double_p(x2), 2, None, x.shape[1],
                                                 _as_double_p(out[0]), _as_double_p(out[1]), byref(opts),
                                                 byref(err)))[0]
    wrapped = best_of(reps, lambda: net.kernel(x2, out=out, threads=1))[0]
    check = best_of(reps, lambda: net._matrix_input(x, "x1"))[0]
    return wrapped - bare + check


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
