"""layer_norm(axes=...) on the all-pairs back end (issue 21): volumes (depth,
and the height and width of each slice, all), and images and sequences in nets
with attention, against scripts/volume_reference.py, an independent numpy
recursion over (input, position) pairs whose layer_norm divides by the mean of
the variances over the normalised axes (neural-tangents' LayerNorm(axis=...)).
An image is the reference's volume (1, H, W, C), a sequence (1, 1, L, C)."""
from __future__ import annotations

import unittest

import numpy as np

import ntkc

from .test_volume import ref

RNG = np.random.default_rng(2122)
D, H, W = 0, 1, 2  # the reference's spatial axes


def conv(k, w, b, padding="same"):
    return ("conv", k, (1, 1, 1), padding, (1, 1, 1), w, b)


# (ntkc source, reference layers, input shape D, H, W, C)
NETS = [
    ("""net v { input volume(3, 2, 3, 2); conv(2, 1.3, 0.1); layer_norm(axes=depth); relu;
                conv(kd=3, kh=2, kw=1, w_std=1.2); layer_norm(axes=height); erf;
                attention(w_q=1.2, b_std=0.1); layer_norm(axes=width); relu; dense(1.1, 0.1);
                layer_norm(axes=all, eps=0.01); relu; global_avg_pool; dense(1.1) }""",
     [conv((2, 2, 2), 1.3, 0.1), ("layer_norm", 1e-12, (D,)), ("relu",),
      conv((3, 2, 1), 1.2, 0.0), ("layer_norm", 1e-12, (H,)), ("erf",),
      ("attention", "softmax", 1.2, 1.0, 0.1), ("layer_norm", 1e-12, (W,)), ("relu",), ("dense", 1.1, 0.1),
      ("layer_norm", 0.01, (D, H, W)), ("relu",), ("global_avg_pool",), ("dense", 1.1, 0.0)],
     (3, 2, 3, 2)),
    ("""net v { input volume(2, 3, 2, 1); conv(kd=1, kh=2, kw=1, padding=valid, w_std=1.4);
                layer_norm(axes=depth); relu; conv(2, 1.2, padding=circular); layer_norm(axes=all); relu;
                flatten; dense(0.9, 0.1) }""",
     [("conv", (1, 2, 1), (1, 1, 1), "valid", (1, 1, 1), 1.4, 0.0), ("layer_norm", 1e-12, (D,)), ("relu",),
      conv((2, 2, 2), 1.2, 0.0, "circular"), ("layer_norm", 1e-12, (D, H, W)), ("relu",), ("flatten",),
      ("dense", 0.9, 0.1)],
     (2, 3, 2, 1)),
    ("""net i { input image(3, 4, 2); conv(3, 1.3, 0.1); layer_norm(axes=height); relu; dense(1.2);
                residual { layer_norm(axes=width); attention(mechanism=relu, w_q=1.1, w_v=1.2, b_std=0.1) }
                layer_norm(axes=all); erf; global_avg_pool; dense(1.1) }""",
     [conv((1, 3, 3), 1.3, 0.1), ("layer_norm", 1e-12, (H,)), ("relu",), ("dense", 1.2, 0.0),
      ("fanout", "sum", [(1.0, []), (1.0, [("layer_norm", 1e-12, (W,)),
                                           ("attention", "relu", 1.1, 1.2, 0.1)])]),
      ("layer_norm", 1e-12, (D, H, W)), ("erf",), ("global_avg_pool",), ("dense", 1.1, 0.0)],
     (1, 3, 4, 2)),
    ("""net s { input sequence(5, 3); dense(1.2, 0.1); layer_norm(axes=width);
                attention(w_q=1.5, b_std=0.2, pos_emb=sum, w_pos=0.8); layer_norm(axes=all); relu;
                dense(1.1); layer_norm(axes=height); erf; index(1); dense(1.0, 0.1) }""",
     [("dense", 1.2, 0.1), ("layer_norm", 1e-12, (W,)), ("attention", "softmax", 1.5, 1.0, 0.2, 0.64),
      ("layer_norm", 1e-12, (D, H, W)), ("relu",), ("dense", 1.1, 0.0), ("layer_norm", 1e-12, (H,)), ("erf",),
      ("index", 1), ("dense", 1.0, 0.1)],
     (1, 1, 5, 3)),
]


class LayerNormAxes(unittest.TestCase):
    def test_against_the_numpy_reference(self) -> None:
        worst = 0.0
        for text, layers, shape in NETS:
            net = ntkc.Net(text)
            # positions of different scales, so the groups' means differ
            scale = np.exp(np.linspace(-0.8, 0.8, int(np.prod(shape[:3])))).reshape(shape[:3] + (1,))
            x1, x2 = RNG.standard_normal((3,) + shape) * scale, RNG.standard_normal((2,) + shape) * scale
            x1[1] = 0.0  # an input of zeros (variance 0 at net v's first layer_norm)
            drop = 0 if "volume(" in text else 2 if "sequence(" in text else 1
            k = net.kernel(x1.reshape((3,) + shape[drop:]), x2.reshape((2,) + shape[drop:]))
            s, t = ref.kernels(layers, np.concatenate([x1, x2]))
            for got, want, what in ((k.nngp, s[:3, 3:], "NNGP"), (k.ntk, t[:3, 3:], "NTK")):
                self.assertTrue(np.isfinite(got).all())
                err = np.abs(got - want).max() / np.abs(want).max()
                worst = max(worst, err)
                self.assertLess(err, 1e-13, f"{what} of net {text.split()[1]}: relative error {err:.3g}")
        print(f"\nlayer_norm over axes, all-pairs back end vs volume_reference.py: worst relative error {worst:.2e}")


if __name__ == "__main__":
    unittest.main()
