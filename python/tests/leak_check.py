"""make test-python-leak: N compile + kernel calls (and compile errors) from
Python; resident memory after the first tenth must stay flat."""
from __future__ import annotations

import sys

import numpy as np

import ntkc

SOURCE = "net n {{ dense({w}, 0.1); relu; dense(1.2, 0.05); erf; dense }}"


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def main(n: int) -> int:
    x = np.random.default_rng(0).standard_normal((20, 8))
    baseline = 0
    for i in range(n):
        net = ntkc.Net(SOURCE.format(w=1.0 + (i % 7) / 10))
        k = net.kernel(x, x[:5])
        assert k.ntk.shape == (20, 5)
        if i % 10 == 0:
            try:
                ntkc.Net("net n { dense; relux }")
            except ntkc.Error:
                pass
        del net
        if i == n // 10:
            baseline = rss_kb()
    growth = rss_kb() - baseline
    # a leak of 256 bytes per call would add 2.2 MB over the remaining 90 %
    limit_kb = 2048
    print(f"leak check: {n} compile + kernel calls, RSS {baseline} kB after {n // 10}, growth {growth} kB "
          f"(limit {limit_kb} kB)")
    return 0 if growth <= limit_kb else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10000))
