"""Net.kernel(precision='single'): float32 kernels, the same bits as
`ntkc kernel --precision single`, and refusals by name (docs/precision.md)."""
from __future__ import annotations

import unittest

import numpy as np

import ntkc

from .util import cli_kernel, example

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

    def test_refused_by_name(self) -> None:
        net = ntkc.Net(example("cntk.ntk"))
        with self.assertRaisesRegex(ntkc.Error, "net 'cntk' is an image net"):
            net.kernel(RNG.standard_normal((2, 64)), precision="single")


if __name__ == "__main__":
    unittest.main()
