"""`input volume(D, H, W, C)` (issue 21) against scripts/volume_reference.py, an
independent numpy recursion over position pairs (3-D windows as Kronecker
products of per-axis selection matrices): every padding, strides and dilations
per axis, both pools, flatten and global pooling, relu and erf."""
from __future__ import annotations

import importlib.util
import sys
import unittest

import numpy as np

import ntkc

from .util import ROOT

SCRIPT = ROOT / "scripts" / "volume_reference.py"


def load_reference():
    spec = importlib.util.spec_from_file_location("volume_reference", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("volume_reference", mod)
    spec.loader.exec_module(mod)
    return mod


ref = load_reference()
RNG = np.random.default_rng(21)

# (ntkc source, the same net as reference layers, input shape D, H, W, C)
NETS = [
    ("""net v { input volume(3, 4, 4, 2); conv(3, w_std=1.5, b_std=0.1); relu;
                conv(kd=2, kh=3, kw=2, stride=2, padding=valid); relu; global_avg_pool; dense(1.2, 0.2) }""",
     [("conv", (3, 3, 3), (1, 1, 1), "same", (1, 1, 1), 1.5, 0.1), ("relu",),
      ("conv", (2, 3, 2), (2, 2, 2), "valid", (1, 1, 1), 1.0, 0.0), ("relu",),
      ("global_avg_pool",), ("dense", 1.2, 0.2)], (3, 4, 4, 2)),
    ("""net v { input volume(4, 3, 5, 1); conv(kd=2, kh=2, kw=3, padding=circular, dd=2, dw=2, w_std=1.3);
                erf; avg_pool(2); flatten; dense(0.9, 0.3) }""",
     [("conv", (2, 2, 3), (1, 1, 1), "circular", (2, 1, 2), 1.3, 0.0), ("erf",),
      ("avg_pool", (2, 2, 2), (2, 2, 2), "valid"), ("flatten",), ("dense", 0.9, 0.3)], (4, 3, 5, 1)),
    ("""net v { input volume(3, 3, 4, 2); dense(1.2); sum_pool(kd=1, kh=2, kw=2, stride=1, padding=same); relu;
                conv(2, stride=2, padding=same, dilation=2, b_std=0.5); relu; flatten; dense }""",
     [("dense", 1.2, 0.0), ("sum_pool", (1, 2, 2), (1, 1, 1), "same"), ("relu",),
      ("conv", (2, 2, 2), (2, 2, 2), "same", (2, 2, 2), 1.0, 0.5), ("relu",), ("flatten",),
      ("dense", 1.0, 0.0)], (3, 3, 4, 2)),
    ("""net v { input volume(5, 4, 3, 2); dense(1.1, 0.1); relu; conv(kd=3, kh=1, kw=2, sd=2, sh=3, sw=1,
                padding=valid, w_std=1.4, b_std=0.2); erf; avg_pool(kd=2, kh=1, kw=2, padding=same);
                global_avg_pool; dense(1.0, 0.1); relu; dense }""",
     [("dense", 1.1, 0.1), ("relu",), ("conv", (3, 1, 2), (2, 3, 1), "valid", (1, 1, 1), 1.4, 0.2), ("erf",),
      ("avg_pool", (2, 1, 2), (2, 1, 2), "same"), ("global_avg_pool",), ("dense", 1.0, 0.1), ("relu",),
      ("dense", 1.0, 0.0)], (5, 4, 3, 2)),
]

# Layers beyond windows (kernels of the inputs with themselves: dropout acts
# on equal inputs): conv_transpose, conv_local, avg_pool(normalize_edges),
# pooling inside a fanout, dropout and index.
NETS_SELF = [
    ("""net t { input volume(2, 2, 3, 2); conv_transpose(2, 1.4, 0.1, stride=2); relu;
                conv_transpose(kd=3, kh=2, kw=3, sd=1, sh=2, sw=1, padding=valid, w_std=1.2, b_std=0.2); relu;
                global_avg_pool; dense(1.1) }""",
     [("conv_transpose", (2, 2, 2), (2, 2, 2), "same", 1.4, 0.1), ("relu",),
      ("conv_transpose", (3, 2, 3), (1, 2, 1), "valid", 1.2, 0.2), ("relu",),
      ("global_avg_pool",), ("dense", 1.1, 0.0)], (2, 2, 3, 2)),
    ("""net c { input volume(2, 3, 2, 1); conv_transpose(kd=3, kh=2, kw=3, sd=2, sh=1, sw=3, padding=circular,
                w_std=1.3, b_std=0.1); erf; conv_local(kd=2, kh=3, kw=2, stride=2, padding=valid, w_std=1.2,
                b_std=0.3); relu; flatten; dense(0.9, 0.1) }""",
     [("conv_transpose", (3, 2, 3), (2, 1, 3), "circular", 1.3, 0.1), ("erf",),
      ("conv_local", (2, 3, 2), (2, 2, 2), "valid", (1, 1, 1), 1.2, 0.3), ("relu",), ("flatten",),
      ("dense", 0.9, 0.1)], (2, 3, 2, 1)),
    ("""net l { input volume(3, 3, 3, 2); conv_local(2, 1.4, 0.1, trainable=false); relu;
                conv_local(kd=3, kh=2, kw=1, padding=circular, w_std=1.1); relu;
                avg_pool(kd=2, kh=3, kw=2, stride=2, padding=same, normalize_edges=true); global_avg_pool; dense }""",
     [("conv_local", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.4, 0.1, {"frozen": True}), ("relu",),
      ("conv_local", (3, 2, 1), (1, 1, 1), "circular", (1, 1, 1), 1.1, 0.0), ("relu",),
      ("avg_pool", (2, 3, 2), (2, 2, 2), "same", True), ("global_avg_pool",), ("dense", 1.0, 0.0)], (3, 3, 3, 2)),
    ("""net f { input volume(2, 3, 3, 2); conv(2, 1.3, 0.1); relu; dropout(0.3);
                fanout { branch { conv(2, 1.1); avg_pool(kd=2, kh=2, kw=3, stride=1, padding=same, normalize_edges=true) }
                         branch { sum_pool(2, stride=1, padding=circular); conv_local(2, 1.2) } } sum;
                relu; index(7); dense(1.2, 0.1) }""",
     [("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.3, 0.1), ("relu",), ("dropout", 0.3),
      ("fanout", "sum", [(1.0, [("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.1, 0.0),
                                ("avg_pool", (2, 2, 3), (1, 1, 1), "same", True)]),
                         (1.0, [("sum_pool", (2, 2, 2), (1, 1, 1), "circular"),
                                ("conv_local", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.2, 0.0)])]),
      ("relu",), ("index", 7), ("dense", 1.2, 0.1)], (2, 3, 3, 2)),
]


class VolumeKernels(unittest.TestCase):
    def test_layers_beyond_windows_against_the_numpy_reference(self) -> None:
        for text, layers, shape in NETS_SELF:
            x = RNG.standard_normal((3,) + shape)
            k = ntkc.Net(text).kernel(x)
            s, t = ref.kernels(layers, x)
            for got, want, what in ((k.nngp, s, "NNGP"), (k.ntk, t, "NTK")):
                err = np.abs(got - want).max() / np.abs(want).max()
                self.assertLess(err, 1e-13, f"{what} of net {text.split()[1]}: relative error {err:.3g}")

    def test_against_the_numpy_reference(self) -> None:
        for text, layers, shape in NETS:
            x1, x2 = RNG.standard_normal((3,) + shape), RNG.standard_normal((2,) + shape)
            k = ntkc.Net(text).kernel(x1, x2)
            s, t = ref.kernels(layers, np.concatenate([x1, x2]))
            for got, want, what in ((k.nngp, s[:3, 3:], "NNGP"), (k.ntk, t[:3, 3:], "NTK")):
                err = np.abs(got - want).max() / np.abs(want).max()
                self.assertLess(err, 1e-13, f"{what} of {text.split(';')[1:3]}: relative error {err:.3g}")

    def test_input_shape_and_flattened_rows(self) -> None:
        text, _, shape = NETS[0]
        net = ntkc.Net(text)
        self.assertEqual(net.input_shape, shape)
        x = RNG.standard_normal((2,) + shape)
        a, b = net.kernel(x), net.kernel(x.reshape(2, -1))
        self.assertTrue(np.array_equal(a.ntk, b.ntk))
        with self.assertRaisesRegex(ntkc.Error, r"whose input is volume \(3, 4, 4, 2\).*NDHWC"):
            net.kernel(x[:, :2])


if __name__ == "__main__":
    unittest.main()
