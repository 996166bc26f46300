"""Masked volumes, `input volume(D, H, W, C, masked=true)` (issue 21): (n, D, H, W) masks through
Net.kernel(mask=...), ntkc.stax's kernel_fn(..., mask_constant=c) and `ntkc kernel --mask`, against
scripts/volume_reference.py (independent numpy of neural-tangents' masking: padding reads as zeros, every
layer's kernel is 0 on pairs with a padded side, softmax over the valid keys, global_avg_pool over the
pairs of valid positions); masks of the wrong shape refused naming the array."""
from __future__ import annotations

import unittest

import numpy as np

import ntkc
from ntkc import stax

from .test_volume import ref
from .util import Scratch, run_cli

RNG = np.random.default_rng(2121)

# (ntkc source, the same net as reference layers, input shape D, H, W, C): windows that keep the grid,
# pooling, layer_norm, attention (softmax with positional embeddings, relu), fanouts, conv_local, index,
# flatten and global pooling, param standard
NETS = [
    ("""net a { input volume(3, 3, 2, 2, masked=true); conv(3, 1.4, 0.1); relu;
                avg_pool(2, stride=1, padding=same); conv(kd=2, kh=1, kw=2, padding=circular, w_std=1.2, b_std=0.2);
                erf; global_avg_pool; dense(1.1, 0.1) }""",
     [("conv", (3, 3, 3), (1, 1, 1), "same", (1, 1, 1), 1.4, 0.1), ("relu",),
      ("avg_pool", (2, 2, 2), (1, 1, 1), "same"),
      ("conv", (2, 1, 2), (1, 1, 1), "circular", (1, 1, 1), 1.2, 0.2), ("erf",),
      ("global_avg_pool",), ("dense", 1.1, 0.1)], (3, 3, 2, 2)),
    ("""net b { input volume(2, 3, 3, 2, masked=true); dense(1.3, 0.1); layer_norm;
                residual { attention(w_q=1.4, b_std=0.1, pos_emb=sum, w_pos=0.7) }; relu;
                sum_pool(kd=1, kh=2, kw=2, stride=1, padding=same);
                attention(mechanism=relu, w_v=1.1); relu; flatten; dense(1.2) }""",
     [("dense", 1.3, 0.1), ("layer_norm", 1e-12),
      ("fanout", "sum", [(1.0, [("attention", "softmax", 1.4, 1.0, 0.1, 0.49)]), (1.0, [])]), ("relu",),
      ("sum_pool", (1, 2, 2), (1, 1, 1), "same"), ("attention", "relu", 1.0, 1.1, 0.0), ("relu",),
      ("flatten",), ("dense", 1.2, 0.0)], (2, 3, 3, 2)),
    ("""net c { input volume(2, 2, 3, 2, masked=true); conv(2, 1.3, 0.1); relu;
                fanout { branch { conv(2, 1.1); avg_pool(kd=2, kh=2, kw=3, stride=1, padding=same,
                                                         normalize_edges=true) }
                         branch { sum_pool(2, stride=1, padding=circular); conv_local(2, 1.2, 0.1) } } concat;
                conv(kd=1, kh=1, kw=1, padding=valid, w_std=1.2); erf; index(4); dense(1.1, 0.2) }""",
     [("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.3, 0.1), ("relu",),
      ("fanout", "concat", [(1.0, [("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.1, 0.0),
                                   ("avg_pool", (2, 2, 3), (1, 1, 1), "same", True)]),
                            (1.0, [("sum_pool", (2, 2, 2), (1, 1, 1), "circular"),
                                   ("conv_local", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.2, 0.1)])]),
      ("conv", (1, 1, 1), (1, 1, 1), "valid", (1, 1, 1), 1.2, 0.0), ("erf",), ("index", 4),
      ("dense", 1.1, 0.2)], (2, 2, 3, 2)),
    ("""net l { input volume(3, 2, 3, 2, masked=true); conv(2, 1.3, 0.1); layer_norm(axes=all); relu;
                conv(kd=2, kh=1, kw=2, w_std=1.2); layer_norm(axes=depth); erf; dense(1.1, 0.1);
                layer_norm(axes=height); relu; global_avg_pool; dense }""",
     [("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.3, 0.1), ("layer_norm", 1e-12, (0, 1, 2)), ("relu",),
      ("conv", (2, 1, 2), (1, 1, 1), "same", (1, 1, 1), 1.2, 0.0), ("layer_norm", 1e-12, (0,)), ("erf",),
      ("dense", 1.1, 0.1), ("layer_norm", 1e-12, (1,)), ("relu",), ("global_avg_pool",), ("dense", 1.0, 0.0)],
     (3, 2, 3, 2)),
    ("""net q { input volume(2, 3, 2, 2, masked=true); conv(2, 1.3, 0.1); layer_norm(axes=depth_height); relu;
                conv(2, 1.2); layer_norm(axes=depth_width); erf; dense(1.1, 0.1);
                layer_norm(axes=height_width); relu; global_avg_pool; dense }""",
     [("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.3, 0.1), ("layer_norm", 1e-12, (0, 1)), ("relu",),
      ("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.2, 0.0), ("layer_norm", 1e-12, (0, 2)), ("erf",),
      ("dense", 1.1, 0.1), ("layer_norm", 1e-12, (1, 2)), ("relu",), ("global_avg_pool",), ("dense", 1.0, 0.0)],
     (2, 3, 2, 2)),
    ("""net s { param standard; input volume(2, 2, 2, 3, masked=true); conv(2, 1.4, 0.1, width=4); relu;
                dense(1.2, 0.2, width=5); relu; global_avg_pool; dense(1.1, 0.1) }""",
     [("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.4, 0.1, {"width": 4, "bias": True}), ("relu",),
      ("dense", 1.2, 0.2, {"width": 5, "bias": True}), ("relu",), ("global_avg_pool",),
      ("dense", 1.1, 0.1, {"bias": True})], (2, 2, 2, 3)),
]


def random_masks(n: int, grid) -> np.ndarray:
    """(n, D, H, W) booleans, True at padding anywhere in the grid, at least one valid position each."""
    m = RNG.random((n,) + tuple(grid)) < 0.35
    for i in range(n):
        if m[i].all():
            m[i].flat[RNG.integers(m[i].size)] = False
    return m


def worst(got, want) -> float:
    return float(np.abs(got - want).max() / np.abs(want).max())


class MaskedVolumes(unittest.TestCase):
    def test_against_the_numpy_reference(self) -> None:
        for text, layers, shape in NETS:
            param = "standard" if "param standard" in text else "ntk"
            x1, x2 = RNG.standard_normal((3,) + shape), RNG.standard_normal((2,) + shape)
            m1, m2 = random_masks(3, shape[:3]), random_masks(2, shape[:3])
            if "index(4)" in text:  # the readout position valid in some inputs, padding in one
                m1.reshape(3, -1)[:, 4] = (False, True, False)
                m2.reshape(2, -1)[:, 4] = False
                m1.reshape(3, -1)[1, 0] = False
            k = ntkc.Net(text).kernel(x1, x2, mask=m1, mask2=m2)
            s, t = ref.kernels(layers, np.concatenate([x1, x2]), param, np.concatenate([m1, m2]))
            for got, want, what in ((k.nngp, s[:3, 3:], "NNGP"), (k.ntk, t[:3, 3:], "NTK")):
                self.assertLess(worst(got, want), 1e-13, f"{what} of net {text.split()[1]}")
            # the padded values change nothing; without the masks the kernels differ
            y1 = np.where(m1[..., None], 1e3 * RNG.standard_normal(x1.shape), x1)
            again = ntkc.Net(text).kernel(y1, x2, mask=m1, mask2=m2)
            np.testing.assert_array_equal(again.ntk, k.ntk)
            self.assertGreater(worst(ntkc.Net(text).kernel(x1, x2).ntk, k.ntk), 1e-3)

    def test_stax_mask_constant_on_volumes(self) -> None:
        _, _, kfn = stax.serial(stax.Conv(8, (2, 3, 2), padding="SAME", W_std=1.4, b_std=0.1), stax.Relu(),
                                stax.AvgPool((2, 2, 2), (1, 1, 1), "SAME"), stax.Conv(8, (1, 2, 2), padding="CIRCULAR"),
                                stax.Erf(), stax.GlobalAvgPool(), stax.Dense(1, 1.1, 0.2))
        layers = [("conv", (2, 3, 2), (1, 1, 1), "same", (1, 1, 1), 1.4, 0.1), ("relu",),
                  ("avg_pool", (2, 2, 2), (1, 1, 1), "same"),
                  ("conv", (1, 2, 2), (1, 1, 1), "circular", (1, 1, 1), 1.0, 0.0), ("erf",),
                  ("global_avg_pool",), ("dense", 1.1, 0.2)]
        x1, x2 = RNG.standard_normal((3, 2, 3, 3, 2)), RNG.standard_normal((2, 2, 3, 3, 2))
        m1, m2 = random_masks(3, (2, 3, 3)), random_masks(2, (2, 3, 3))
        x1[m1], x2[m2] = np.nan, np.nan
        k = kfn(x1, x2, ("nngp", "ntk"), mask_constant=np.nan)
        self.assertIn("input volume(2, 3, 3, 2, masked=true)", kfn.source)
        s, t = ref.kernels(layers, np.nan_to_num(np.concatenate([x1, x2])), "ntk", np.concatenate([m1, m2]))
        self.assertLess(worst(k[0], s[:3, 3:]), 1e-13)
        self.assertLess(worst(k[1], t[:3, 3:]), 1e-13)

    def test_masks_of_the_wrong_shape_are_refused(self) -> None:
        text, _, shape = NETS[0]
        net = ntkc.Net(text)
        self.assertIn("volume(3, 3, 2, 2, masked=true)", net.ir())
        x = RNG.standard_normal((2,) + shape)
        with self.assertRaisesRegex(ntkc.Error, r"mask: 9 values per input, but net 'a' has 18 positions"):
            net.kernel(x, mask=np.zeros((2, 3, 3)))
        with self.assertRaisesRegex(ntkc.Error, r"mask2: expected a 0/1 array of shape \(n, positions\) with n = 2"):
            net.kernel(x, x, mask2=np.zeros((3,) + shape[:3]))
        unmasked = ntkc.Net(text.replace(", masked=true", ""))
        with self.assertRaisesRegex(ntkc.Error, r"takes volumes and its input is not declared masked"):
            unmasked.kernel(x, mask=np.zeros((2,) + shape[:3]))

    def test_cli_mask_files(self) -> None:
        text, _, shape = NETS[0]
        x = RNG.standard_normal((3,) + shape)
        m = random_masks(3, shape[:3])
        want = ntkc.Net(text).kernel(x, mask=m)
        with Scratch() as s:
            net, xs, ms = s.file("v.ntk"), s.save("x.npy", x), s.save("m.npy", m)
            with open(net, "w") as f:
                f.write(text)
            out = str(s.path / "K.npy")
            r = run_cli(["kernel", net, xs, "--mask", ms, "--ntk", out])
            self.assertEqual(r.returncode, 0, r.stderr)
            np.testing.assert_array_equal(np.load(out), want.ntk)
            bad, out2 = s.save("bad.npy", m[:, :2]), str(s.path / "K2.npy")
            r = run_cli(["kernel", net, xs, "--mask", bad, "--ntk", out2])
            self.assertEqual(r.returncode, 1)
            self.assertIn("bad.npy: a mask for", r.stderr)
            self.assertIn("must be (3, D, H, W)", r.stderr)
            self.assertFalse((s.path / "K2.npy").exists())


if __name__ == "__main__":
    unittest.main()
