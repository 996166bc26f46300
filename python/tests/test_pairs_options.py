"""The all-pairs back end's options (issue 21): param standard in volume and
attention nets, and on volumes layer_norm, residual/fanout, frozen and dilated
conv and attention over the positions — against scripts/volume_reference.py,
an independent numpy recursion over (input, position) pairs. A sequence net is
checked as the volume (1, 1, L, C), an image as (1, H, W, C), which the
reference takes; image_resize in nets with attention too."""
from __future__ import annotations

import unittest

import numpy as np

import ntkc

from .test_volume import ref

RNG = np.random.default_rng(2121)
STD = {"bias": True}

# (ntkc source, reference layers, input shape D, H, W, C, parameterization)
NETS = [
    ("""net v { param standard; input volume(3, 3, 3, 2); conv(2, w_std=1.4, b_std=0.1, width=6); relu;
                conv(kd=2, kh=2, kw=3, stride=2, padding=valid, w_std=1.3, width=5); erf; global_avg_pool;
                dense(1.2, 0.2, width=7); relu; dense(1.1) }""",
     [("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.4, 0.1, {"bias": True, "width": 6}), ("relu",),
      ("conv", (2, 2, 3), (2, 2, 2), "valid", (1, 1, 1), 1.3, 0.0, {"width": 5}), ("erf",),
      ("global_avg_pool",), ("dense", 1.2, 0.2, {"bias": True, "width": 7}), ("relu",), ("dense", 1.1, 0.0)],
     (3, 3, 3, 2), "standard"),
    ("""net v { param standard; input volume(2, 3, 2, 3); dense(1.3, 0.2, width=4); relu; avg_pool(kd=1, kh=2, kw=2, stride=1);
                conv(2, 1.2, 0.1, dd=2, width=3); relu; conv(2, 1.1, trainable=false, width=5); relu;
                flatten; dense(0.9, 0.3) }""",
     [("dense", 1.3, 0.2, {"bias": True, "width": 4}), ("relu",), ("avg_pool", (1, 2, 2), (1, 1, 1), "valid"),
      ("conv", (2, 2, 2), (1, 1, 1), "same", (2, 1, 1), 1.2, 0.1, {"bias": True, "width": 3}), ("relu",),
      ("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.1, 0.0, {"frozen": True, "width": 5}), ("relu",),
      ("flatten",), ("dense", 0.9, 0.3, {"bias": True})],
     (2, 3, 2, 3), "standard"),
    ("""net s { param standard; input sequence(5, 3); dense(1.2, 0.1, width=8); relu;
                attention(w_q=1.3, w_k=0.8, w_v=1.1, w_out=0.9, b_std=0.2, width=6);
                residual { relu; dense(1.1, width=6) }; global_avg_pool; dense(1.0, 0.1) }""",
     [("dense", 1.2, 0.1, {"bias": True, "width": 8}), ("relu",),
      ("attention", "softmax", 1.3 * 0.8, 1.1 * 0.9, 0.2, 0.0, {"width": 6}),
      ("fanout", "sum", [(1.0, []), (1.0, [("relu",), ("dense", 1.1, 0.0, {"width": 6})])]),
      ("global_avg_pool",), ("dense", 1.0, 0.1, {"bias": True})],
     (1, 1, 5, 3), "standard"),
    ("""net v { input volume(2, 3, 3, 2); conv(2, 1.3, 0.1); layer_norm(eps=0.01); relu;
                residual(alpha=0.7) { conv(3, 1.2, 0.1, padding=circular); relu;
                                      conv(kd=1, kh=2, kw=2, w_std=1.1, trainable=false) }
                attention(mechanism=relu, w_q=1.2, w_k=0.9, w_v=1.1, b_std=0.1); erf;
                fanout { branch { dense(1.2); relu; dense(1.0, 0.1) } branch { dense(1.1) } } prod
                dense(1.2); fanout { branch { relu } branch { } } concat
                global_avg_pool; dense(1.1) }""",
     [("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.3, 0.1), ("layer_norm", 0.01), ("relu",),
      ("fanout", "sum", [(1.0, []), (0.7, [("conv", (3, 3, 3), (1, 1, 1), "circular", (1, 1, 1), 1.2, 0.1),
                                            ("relu",),
                                            ("conv", (1, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.1, 0.0,
                                             {"frozen": True})])]),
      ("attention", "relu", 1.2 * 0.9, 1.1, 0.1), ("erf",),
      ("fanout", "prod", [(1.0, [("dense", 1.2, 0.0), ("relu",), ("dense", 1.0, 0.1)]),
                          (1.0, [("dense", 1.1, 0.0)])]),
      ("dense", 1.2, 0.0), ("fanout", "concat", [(1.0, [("relu",)]), (1.0, [])]),
      ("global_avg_pool",), ("dense", 1.1, 0.0)],
     (2, 3, 3, 2), "ntk"),
    ("""net v { input volume(3, 2, 2, 2); dense(1.2, 0.1); relu;
                attention(mechanism=softmax, w_q=0.8, w_k=1.1, w_v=1.3, w_out=0.9, pos_emb=sum, w_pos=0.7);
                conv(kd=2, kh=1, kw=2, stride=2, padding=valid, w_std=1.2); relu;
                attention(mechanism=identity, w_q=0.5, w_k=0.5); flatten; dense(1.0, 0.2) }""",
     [("dense", 1.2, 0.1), ("relu",), ("attention", "softmax", 0.8 * 1.1, 1.3 * 0.9, 0.0, 0.49),
      ("conv", (2, 1, 2), (2, 2, 2), "valid", (1, 1, 1), 1.2, 0.0), ("relu",),
      ("attention", "identity", 0.25, 1.0, 0.0), ("flatten",), ("dense", 1.0, 0.2)],
     (3, 2, 2, 2), "ntk"),
 ("""net r { input image(3, 4, 2); conv(3, 1.3, 0.1); relu; image_resize(5, 3);
                conv(2, 1.2, padding=circular); relu; attention(w_q=1.4, w_k=0.9, b_std=0.1); erf;
                conv_local(kh=2, kw=3, w_std=1.3, b_std=0.2, padding=circular); relu; conv_local(2, 1.1, trainable=false);
                image_resize(2, 2, antialias=false); attention(mechanism=abs, w_v=1.2); global_avg_pool; dense(1.1) }""",
     [("conv", (1, 3, 3), (1, 1, 1), "same", (1, 1, 1), 1.3, 0.1), ("relu",), ("resize", (5, 3), "linear", True),
      ("conv", (1, 2, 2), (1, 1, 1), "circular", (1, 1, 1), 1.2, 0.0), ("relu",),
      ("attention", "softmax", 1.4 * 0.9, 1.0, 0.1), ("erf",),
      ("conv_local", (1, 2, 3), (1, 1, 1), "circular", (1, 1, 1), 1.3, 0.2), ("relu",),
      ("conv_local", (1, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.1, 0.0, {"frozen": True}),
      ("resize", (2, 2), "linear", False),
      ("attention", "abs", 1.0, 1.2, 0.0), ("global_avg_pool",), ("dense", 1.1, 0.0)],
     (1, 3, 4, 2), "ntk"),
    ("""net r { param standard; input sequence(6, 2); dense(1.2, 0.1, width=5); relu;
                image_resize(1, 4, method=nearest); attention(w_q=1.1, width=7); relu; image_resize(1, 9);
                conv(3, 1.3, width=4); relu; flatten; dense(1.0, 0.2) }""",
     [("dense", 1.2, 0.1, {"bias": True, "width": 5}), ("relu",), ("resize", (1, 4), "nearest", True),
      ("attention", "softmax", 1.1, 1.0, 0.0, 0.0, {"width": 7}), ("relu",), ("resize", (1, 9), "linear", True),
      ("conv", (1, 1, 3), (1, 1, 1), "same", (1, 1, 1), 1.3, 0.0, {"width": 4}), ("relu",), ("flatten",),
      ("dense", 1.0, 0.2, {"bias": True})],
     (1, 1, 6, 2), "standard"),
]


class PairsOptions(unittest.TestCase):
    def test_against_the_numpy_reference(self) -> None:
        for text, layers, shape, param in NETS:
            net = ntkc.Net(text)
            x1, x2 = RNG.standard_normal((3,) + shape), RNG.standard_normal((2,) + shape)
            # an image (n, H, W, C) or a sequence (n, L, C) is the reference's volume (n, 1, H, W, C)
            drop = 0 if "volume(" in text else 2 if "sequence(" in text else 1
            k = net.kernel(x1.reshape((3,) + shape[drop:]), x2.reshape((2,) + shape[drop:]))
            s, t = ref.kernels(layers, np.concatenate([x1, x2]), param=param)
            for got, want, what in ((k.nngp, s[:3, 3:], "NNGP"), (k.ntk, t[:3, 3:], "NTK")):
                err = np.abs(got - want).max() / np.abs(want).max()
                self.assertLess(err, 1e-12, f"{what} of {text.split(';')[1:3]}: relative error {err:.3g}")


if __name__ == "__main__":
    unittest.main()
