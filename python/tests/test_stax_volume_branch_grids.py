"""ntkc.stax on volumes (n, D, H, W, C): FanInConcat along a spatial axis and ImageResize inside FanOut branches
(a width concat nested in a branch of a depth concat, a branch resized to fewer slices), translated to ntkc's
nested fanouts, against scripts/volume_reference.py (independent numpy: each branch from the fanout's grid, its
kernel placed by 0/1 maps, cross blocks only between identity branches, jax.image.resize as Rd ⊗ Rh ⊗ Rw); a
reference with the resize's antialiasing left out, or the inner identity's cross blocks dropped, must fail the
same comparison."""
from __future__ import annotations

import unittest

import numpy as np

from ntkc import stax

from .test_stax import close, kernels_of
from .test_stax_volume import ref

RNG = np.random.default_rng(2124)


def conv(chans, w=1.0, b=None):
    return stax.Conv(chans, (2, 2, 2), (1, 1, 1), "SAME", W_std=w, b_std=b)


def rconv(w=1.0, b=0.0):
    return ("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), w, b)


def reference(antialias=True, inner_identity=True):
    inner = [(1.0, [rconv(1.2)]), (1.0, [] if inner_identity else [("dense", 1.0, 0.0)])]
    return [rconv(1.3, 0.1),
            ("fanout", "concat", [(1.0, []),
                                  (1.0, [("fanout", "concat", inner, "width"), rconv(1.1),
                                         ("resize", (3, 2), "linear", antialias)]),
                                  (1.0, [("resize", (1, 3, 2), "linear", antialias), rconv(0.9, 0.2)])], "depth"),
            ("relu",), ("global_avg_pool",), ("dense", 1.1, 0.0)]


class VolumeBranchGrids(unittest.TestCase):
    def setUp(self) -> None:
        self.x = RNG.standard_normal((3, 2, 3, 2, 2))

    def test_concat_and_resize_inside_branches(self) -> None:
        inner = stax.serial(stax.FanOut(2), stax.parallel(conv(8, 1.2), stax.Identity()), stax.FanInConcat(axis=3),
                            conv(8, 1.1), stax.ImageResize((-1, -1, -1, 2, -1), "linear"))
        down = stax.serial(stax.ImageResize((-1, 1, -1, -1, -1), "linear"), conv(8, 0.9, 0.2))
        _, _, kfn = stax.serial(conv(8, 1.3, 0.1), stax.FanOut(3), stax.parallel(stax.Identity(), inner, down),
                                stax.FanInConcat(axis=1), stax.Relu(), stax.GlobalAvgPool(), stax.Dense(1, 1.1))
        src = kfn.source_for((2, 3, 2, 2))
        self.assertIn("fanout(axis=depth) {", src)
        self.assertIn("fanout(axis=width) {", src)
        self.assertIn("image_resize(3, 2, method=linear, d=1)", src)
        got = kernels_of(kfn, self.x)
        close(self, got, ref.kernels(reference(), self.x), rtol=1e-13)
        for wrong in (reference(antialias=False), reference(inner_identity=False)):
            with self.assertRaises(AssertionError):
                close(self, got, ref.kernels(wrong, self.x))


if __name__ == "__main__":
    unittest.main()
