"""Net.kernel(precision='single'): float32 kernels, the same bits as
`ntkc kernel --precision single`, and refusals by name (docs/precision.md)."""
from __future__ import annotations

import subprocess
import unittest

import numpy as np

import ntkc

from .util import ROOT, Scratch, cli_kernel, example, run_cli

RNG = np.random.default_rng(19)


class SinglePrecision(unittest.TestCase):
    def test_float32_as_the_cli(self) -> None:
        x1, x2 = RNG.standard_normal((33, 12)), RNG.standard_normal((9, 12))
        net = ntkc.Net(example("relu5.ntk"))
        for a, b in ((x1, None), (x1, x2)):
            k = net.kernel(a, b, precision="single")
            self.assertEqual(k.ntk.dtype, np.float32)
            self.assertEqual(k.nngp.dtype, np.float32)
            nngp, ntk = cli_kernel(example("relu5.ntk"), a, b, extra=["--precision", "single"])
            self.assertEqual(ntk.dtype, np.float32)
            self.assertTrue(np.array_equal(k.nngp, nngp), "NNGP differs from the CLI's")
            self.assertTrue(np.array_equal(k.ntk, ntk), "NTK differs from the CLI's")

    def test_close_to_float64(self) -> None:
        # the bound of tests/test_precision.c: (d + 2 + 32·L)·2^-24, L = 11 ops of relu5
        x = RNG.standard_normal((40, 12))
        net = ntkc.Net(example("relu5.ntk"))
        k64, k32 = net.kernel(x, get="ntk"), net.kernel(x, get="ntk", precision="single")
        bound = (12 + 2 + 32 * 11) * 2.0 ** -24
        self.assertLessEqual(np.max(np.abs(k32 - k64)) / np.max(np.abs(k64)), bound)

    def test_out_must_be_float32(self) -> None:
        x = RNG.standard_normal((5, 3))
        net = ntkc.Net(example("relu5.ntk"))
        out = np.empty((5, 5), np.float32)
        self.assertIs(net.kernel(x, get="ntk", out=out, precision="single"), out)
        with self.assertRaisesRegex(ValueError, "float32"):
            net.kernel(x, get="ntk", out=np.empty((5, 5)), precision="single")
        with self.assertRaisesRegex(ValueError, "precision must be"):
            net.kernel(x, precision="half")

    def test_image_net_as_the_cli_and_close_to_float64(self) -> None:
        # the bound of tests/test_precision_image.c, (C + 2 + Σ_conv (kh·kw + 2) + 32·L)·2^-24,
        # for digits_cntk: C = 1, three 3x3 convs, L = 5 (3 relu, the pool, the dense)
        x1, x2 = RNG.standard_normal((11, 64)), RNG.standard_normal((5, 64))
        net = ntkc.Net(example("digits_cntk.ntk"))
        for a, b in ((x1, None), (x1, x2)):
            k32 = net.kernel(a, b, precision="single")
            self.assertEqual(k32.ntk.dtype, np.float32)
            nngp, ntk = cli_kernel(example("digits_cntk.ntk"), a, b, extra=["--precision", "single"])
            self.assertTrue(np.array_equal(k32.nngp, nngp), "NNGP differs from the CLI's")
            self.assertTrue(np.array_equal(k32.ntk, ntk), "NTK differs from the CLI's")
            k64 = net.kernel(a, b)
            bound = (1 + 2 + 3 * (9 + 2) + 32 * 5) * 2.0 ** -24
            for f, d in ((k32.nngp, k64.nngp), (k32.ntk, k64.ntk)):
                err = np.max(np.abs(f - d)) / np.max(np.abs(d))
                self.assertLessEqual(err, bound)
                self.assertGreater(err, 0.0)  # the float32 path ran

    def test_graph_net_as_the_cli_and_close_to_float64(self) -> None:
        # the bound of tests/test_precision_graph.c, (1 + Σ_aggregate (2Δ + 4) + 32·L + 2)·2^-24,
        # for gntk: 4 aggregations with self-loops (Δ = largest degree + 1), L = 17 (8 dense, 8 relu, the
        # last dense)
        with Scratch() as s:
            path = s.file("g.txt")
            with open(path, "w") as f:
                subprocess.run(["/usr/bin/python3", "scripts/random_graphs.py", "14", "4", "12", "7", "3"], cwd=ROOT,
                               stdout=f, check=True)
            net = ntkc.Net(example("gntk.ntk"))
            g = ntkc.read_graphs(path, 7)
            k32 = net.kernel(g, precision="single")
            self.assertEqual(k32.ntk.dtype, np.float32)
            r = run_cli(["kernel", example("gntk.ntk"), path, "--nngp", s.file("s.npy"), "--ntk", s.file("k.npy"),
                         "--precision", "single", "--quiet"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(np.array_equal(k32.nngp, np.load(s.file("s.npy"))), "NNGP differs from the CLI's")
            self.assertTrue(np.array_equal(k32.ntk, np.load(s.file("k.npy"))), "NTK differs from the CLI's")
            with open(path) as f:  # node lines "tag k v1 .. vk" have k + 2 words, graph lines "n label" two
                degree = max(int(w[1]) for w in (line.split() for line in f.read().splitlines()[1:]) if len(w) > 2)
            k64 = net.kernel(g)
            bound = (1 + 4 * (2 * (degree + 1) + 4) + 32 * 17 + 2) * 2.0 ** -24
            for f32, f64 in ((k32.nngp, k64.nngp), (k32.ntk, k64.ntk)):
                err = np.max(np.abs(f32 - f64)) / np.max(np.abs(f64))
                self.assertLessEqual(err, bound)
                self.assertGreater(err, 0.0)  # the float32 path ran

    def test_attention_net_with_masks_as_the_cli_and_close_to_float64(self) -> None:
        # the bound of tests/test_precision_pairs.c, accumulated along transformer's IR: ε = C + 2 = 10 ulps
        # at the input, + 32 for each of dense, layer_norm, the fan-ins, relu, the pool; each softmax
        # attention ε ← (1 + 4·w_q·w_k)·ε + 4·L + 36, L = 16 positions
        eps = 10.0
        for ops_before in (3, 7):  # the ops before each attention in the IR, then 8 after the last
            eps = 5 * (eps + 32 * ops_before) + 4 * 16 + 36
        bound = (eps + 32 * 8) * 2.0 ** -24
        x1, x2 = RNG.standard_normal((7, 128)), RNG.standard_normal((4, 128))
        m1 = np.arange(16)[None, :] >= np.array([16, 11, 16, 9, 14, 16, 12])[:, None]
        net = ntkc.Net(example("transformer.ntk"))
        for a, b, m, m2 in ((x1, None, m1, None), (x1, x2, m1, np.zeros((4, 16)))):
            k32 = net.kernel(a, b, precision="single", mask=m, mask2=m2)
            self.assertEqual(k32.ntk.dtype, np.float32)
            k64 = net.kernel(a, b, mask=m, mask2=m2)
            for f, d in ((k32.nngp, k64.nngp), (k32.ntk, k64.ntk)):
                err = np.max(np.abs(f - d)) / np.max(np.abs(d))
                self.assertLessEqual(err, bound)
                self.assertGreater(err, 0.0)  # the float32 path ran
        nngp, ntk = cli_kernel(example("transformer.ntk"), x1, x2, extra=["--precision", "single"])
        k32 = net.kernel(x1, x2, precision="single")
        self.assertTrue(np.array_equal(k32.nngp, nngp) and np.array_equal(k32.ntk, ntk), "differs from the CLI's")


if __name__ == "__main__":
    unittest.main()
