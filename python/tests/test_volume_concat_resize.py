"""Volumes with a fanout's concat along depth, height or width and with
image_resize (issue 21) against scripts/volume_reference.py, an independent
numpy recursion: the concat as 0/1 maps E_b placing each branch
(Σ' = Σ_b E_b Σ_b E_bᵀ, plus E_b Σ_in E_cᵀ between identity branches), the
resize as R = Rd ⊗ Rh ⊗ Rw of jax.image.resize's per-axis weights), outside
and inside fanout branches (every branch from the fanout's grid)."""
from __future__ import annotations

import unittest

import numpy as np

import ntkc

from .test_volume import ref

RNG = np.random.default_rng(2121)


def conv(k, w=1.0, b=0.0):
    return ("conv", k, (1, 1, 1), "same", (1, 1, 1), w, b)


# (ntkc source, the same net as reference layers, input shape D, H, W, C)
NETS = [
    ("""net d { input volume(2, 3, 2, 2); conv(2, 1.3, 0.1);
                fanout(axis=depth) { branch { conv(2, 1.2) } branch { } branch { } branch { dense(1.1) } } concat;
                relu; global_avg_pool; dense }""",
     [conv((2, 2, 2), 1.3, 0.1),
      ("fanout", "concat", [(1.0, [conv((2, 2, 2), 1.2)]), (1.0, []), (1.0, []), (1.0, [("dense", 1.1, 0.0)])],
       "depth"),
      ("relu",), ("global_avg_pool",), ("dense", 1.0, 0.0)], (2, 3, 2, 2)),
    ("""net h { input volume(2, 3, 2, 2); dense(1.3, 0.1);
                fanout(axis=height) { branch { } branch { conv(kd=2, kh=1, kw=2, w_std=1.2) } } concat;
                erf; conv(2); relu; flatten; dense }""",
     [("dense", 1.3, 0.1),
      ("fanout", "concat", [(1.0, []), (1.0, [conv((2, 1, 2), 1.2)])], "height"),
      ("erf",), conv((2, 2, 2)), ("relu",), ("flatten",), ("dense", 1.0, 0.0)], (2, 3, 2, 2)),
    ("""net w { input volume(3, 2, 2, 1); conv(2, 1.2, 0.2); relu;
                fanout(axis=width) { branch { conv(2, 1.4) } branch { dense(0.8, 0.3) } } concat;
                conv(kd=1, kh=2, kw=3, b_std=0.1); relu; global_avg_pool; dense(1.1) }""",
     [conv((2, 2, 2), 1.2, 0.2), ("relu",),
      ("fanout", "concat", [(1.0, [conv((2, 2, 2), 1.4)]), (1.0, [("dense", 0.8, 0.3)])], "width"),
      conv((1, 2, 3), 1.0, 0.1), ("relu",), ("global_avg_pool",), ("dense", 1.1, 0.0)], (3, 2, 2, 1)),
    ("""net r { input volume(3, 2, 3, 1); conv(2, 1.3, 0.1); relu; image_resize(3, 2, d=2); conv(2, 1.1); relu;
                image_resize(4, 4, method=nearest, d=4); global_avg_pool; dense }""",
     [conv((2, 2, 2), 1.3, 0.1), ("relu",), ("resize", (2, 3, 2), "linear", True), conv((2, 2, 2), 1.1),
      ("relu",), ("resize", (4, 4, 4), "nearest", True), ("global_avg_pool",), ("dense", 1.0, 0.0)],
     (3, 2, 3, 1)),
    ("""net s { input volume(4, 3, 2, 2); dense(1.2, 0.2); erf;
                image_resize(2, 3, method=triangle, antialias=false, d=3); dense(1.3); relu;
                image_resize(3, 3, d=1); flatten; dense(0.9, 0.1) }""",
     [("dense", 1.2, 0.2), ("erf",), ("resize", (3, 2, 3), "linear", False), ("dense", 1.3, 0.0), ("relu",),
      ("resize", (1, 3, 3), "linear", True), ("flatten",), ("dense", 0.9, 0.1)], (4, 3, 2, 2)),
    ("""net l { input volume(2, 2, 3, 1); conv(2, 1.3, 0.1);
                fanout(axis=depth) { branch { } branch { conv(2, 1.2) } } concat; layer_norm(axes=depth); relu;
                image_resize(2, 2, d=3); conv(2); layer_norm(axes=height); erf; flatten; dense }""",
     [conv((2, 2, 2), 1.3, 0.1), ("fanout", "concat", [(1.0, []), (1.0, [conv((2, 2, 2), 1.2)])], "depth"),
      ("layer_norm", 1e-12, (0,)), ("relu",), ("resize", (3, 2, 2), "linear", True), conv((2, 2, 2)),
      ("layer_norm", 1e-12, (1,)), ("erf",), ("flatten",), ("dense", 1.0, 0.0)], (2, 2, 3, 1)),
    # inside branches (each from the fanout's grid): a width concat nested in a depth concat's branch, resized
    # back, beside an identity and a branch resized to one slice; windows that move the grid and a resize
    # joined by a sum; conv_transpose beside a resize
    ("""net n { input volume(2, 2, 3, 1); conv(2, 1.3, 0.1);
                fanout(axis=depth) { branch { }
                  branch { fanout(axis=width) { branch { conv(2, 1.2) } branch { } } concat; conv(2, 1.1);
                           image_resize(2, 3) }
                  branch { image_resize(2, 3, d=1); dense(0.9, 0.2) } } concat;
                relu; global_avg_pool; dense }""",
     [conv((2, 2, 2), 1.3, 0.1),
      ("fanout", "concat", [(1.0, []),
                            (1.0, [("fanout", "concat", [(1.0, [conv((2, 2, 2), 1.2)]), (1.0, [])], "width"),
                                   conv((2, 2, 2), 1.1), ("resize", (2, 3), "linear", True)]),
                            (1.0, [("resize", (1, 2, 3), "linear", True), ("dense", 0.9, 0.2)])], "depth"),
      ("relu",), ("global_avg_pool",), ("dense", 1.0, 0.0)], (2, 2, 3, 1)),
    ("""net p { input volume(2, 4, 4, 1); dense(1.2, 0.1);
                fanout { branch { conv(2, stride=2, w_std=1.3) }
                         branch { avg_pool(kd=1, kh=2, kw=2); image_resize(2, 2, d=1) } } sum;
                erf; dense(1.1); fanout(axis=height) { branch { conv(kd=1, kh=2, kw=1, sh=2, padding=valid) } branch { } } concat;
                relu; flatten; dense }""",
     [("dense", 1.2, 0.1),
      ("fanout", "sum", [(1.0, [("conv", (2, 2, 2), (2, 2, 2), "same", (1, 1, 1), 1.3, 0.0)]),
                         (1.0, [("avg_pool", (1, 2, 2), (1, 2, 2), "valid"), ("resize", (1, 2, 2), "linear", True)])]),
      ("erf",), ("dense", 1.1, 0.0),
      ("fanout", "concat", [(1.0, [("conv", (1, 2, 1), (1, 2, 1), "valid", (1, 1, 1), 1.0, 0.0)]), (1.0, [])],
       "height"),
      ("relu",), ("flatten",), ("dense", 1.0, 0.0)], (2, 4, 4, 1)),
    ("""net t { input volume(2, 2, 2, 1); conv(2, 1.2);
                residual(alpha=0.7) { conv_transpose(2, padding=valid, w_std=1.1); erf; conv(2, 1.3);
                                      image_resize(2, 2, method=nearest, d=2) }
                relu; global_avg_pool; dense }""",
     [conv((2, 2, 2), 1.2, 0.0),
      ("fanout", "sum", [(1.0, []), (0.7, [("conv_transpose", (2, 2, 2), (1, 1, 1), "valid", 1.1, 0.0), ("erf",),
                                           conv((2, 2, 2), 1.3), ("resize", (2, 2, 2), "nearest", True)])]),
      ("relu",), ("global_avg_pool",), ("dense", 1.0, 0.0)], (2, 2, 2, 1)),
    # layer_norm over height and attention on a branch's resized grid
    ("""net a { input volume(2, 2, 2, 1); conv(2, 1.3, 0.1);
                fanout(axis=height) { branch { image_resize(3, 2); layer_norm(axes=height); relu;
                                               attention(w_q=1.2, b_std=0.1) }
                                      branch { conv(2, 1.1) } } concat;
                relu; global_avg_pool; dense }""",
     [conv((2, 2, 2), 1.3, 0.1),
      ("fanout", "concat", [(1.0, [("resize", (3, 2), "linear", True), ("layer_norm", 1e-12, (1,)), ("relu",),
                                   ("attention", "softmax", 1.2, 1.0, 0.1)]),
                            (1.0, [conv((2, 2, 2), 1.1)])], "height"),
      ("relu",), ("global_avg_pool",), ("dense", 1.0, 0.0)], (2, 2, 2, 1)),
]


class VolumeConcatResize(unittest.TestCase):
    def test_against_the_numpy_reference(self) -> None:
        for text, layers, shape in NETS:
            x1, x2 = RNG.standard_normal((3,) + shape), RNG.standard_normal((2,) + shape)
            k = ntkc.Net(text).kernel(x1, x2)
            s, t = ref.kernels(layers, np.concatenate([x1, x2]))
            for got, want, what in ((k.nngp, s[:3, 3:], "NNGP"), (k.ntk, t[:3, 3:], "NTK")):
                err = np.abs(got - want).max() / np.abs(want).max()
                self.assertLess(err, 1e-13, f"{what} of net {text.split()[1]}: relative error {err:.3g}")

    def test_the_reference_concat_is_a_copy(self) -> None:
        """The reference's placement maps: concatenating two identities of a
        field along an axis gives the kernel of the field copied twice."""
        x = RNG.standard_normal((2, 2, 3, 2, 1))
        for axis, a in (("depth", 1), ("height", 2), ("width", 3)):
            s, _ = ref.kernels([("fanout", "concat", [(1.0, []), (1.0, [])], axis), ("flatten",)], x)
            y = np.concatenate([x, x], axis=a).reshape(2, -1)
            np.testing.assert_allclose(s, y @ y.T / y.shape[1], rtol=1e-14, atol=0)


if __name__ == "__main__":
    unittest.main()
