"""ntkc.stax on volumes (n, D, H, W, C): FanInConcat along depth (axis=1), height (2) and width (3), and
ImageResize with a 5-axis shape (a -1 keeps an axis), against scripts/volume_reference.py (independent numpy:
the concat as 0/1 placement maps with the identity branches' cross blocks, neural-tangents' zero blocks beside
fresh branches; the resize as Rd ⊗ Rh ⊗ Rw, jax.image.resize contracting one weight matrix per axis); the source
they write; the finite network's shapes and values."""
from __future__ import annotations

import unittest

import numpy as np

from ntkc import stax

from .test_stax import close, kernels_of
from .test_stax_volume import ref

RNG = np.random.default_rng(2121)


def conv(chans, w=1.0, b=None):
    return stax.Conv(chans, (2, 2, 2), (1, 1, 1), "SAME", W_std=w, b_std=b)


def rconv(w=1.0, b=0.0):
    return ("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), w, b)


class VolumeConcatResize(unittest.TestCase):
    def setUp(self) -> None:
        self.x = RNG.standard_normal((3, 2, 3, 2, 2))

    def test_concat_along_each_spatial_axis(self) -> None:
        for axis, name in ((1, "depth"), (2, "height"), (-2, "width")):
            with self.subTest(axis=axis):
                _, _, kfn = stax.serial(conv(8, 1.3, 0.1), stax.FanOut(3),
                                        stax.parallel(conv(8, 1.2), stax.Identity(), stax.Identity()),
                                        stax.FanInConcat(axis=axis), stax.Relu(), stax.GlobalAvgPool(),
                                        stax.Dense(1, 1.1))
                self.assertIn(f"fanout(axis={name}) {{", kfn.source_for((2, 3, 2, 2)))
                want = ref.kernels([rconv(1.3, 0.1),
                                    ("fanout", "concat", [(1.0, [rconv(1.2)]), (1.0, []), (1.0, [])], name),
                                    ("relu",), ("global_avg_pool",), ("dense", 1.1, 0.0)], self.x)
                close(self, kernels_of(kfn, self.x), want, rtol=1e-13)

    def test_resize_with_a_new_depth(self) -> None:
        _, _, kfn = stax.serial(conv(8, 1.3, 0.1), stax.Relu(), stax.ImageResize((-1, 3, -1, 3, -1), "trilinear"),
                                conv(8, 1.2), stax.Erf(),
                                stax.ImageResize((-1, 1, 2, 2, -1), "linear", antialias=False), stax.Flatten(),
                                stax.Dense(1))
        self.assertIn("image_resize(3, 3, method=linear, d=3)", kfn.source_for((2, 3, 2, 2)))
        want = ref.kernels([rconv(1.3, 0.1), ("relu",), ("resize", (3, 3, 3), "linear", True), rconv(1.2),
                            ("erf",), ("resize", (1, 2, 2), "linear", False), ("flatten",), ("dense", 1.0, 0.0)],
                           self.x)
        close(self, kernels_of(kfn, self.x), want, rtol=1e-13)
        _, _, near = stax.serial(conv(8), stax.ImageResize((-1, 4, 2, -1, -1), "nearest"), stax.Relu(),
                                 stax.GlobalAvgPool(), stax.Dense(1))
        want = ref.kernels([rconv(), ("resize", (4, 2, 2), "nearest", True), ("relu",), ("global_avg_pool",),
                            ("dense", 1.0, 0.0)], self.x)
        close(self, kernels_of(near, self.x), want, rtol=1e-13)

    def test_finite_network_shapes_and_values(self) -> None:
        init_fn, apply_fn, _ = stax.serial(stax.FanOut(2), stax.parallel(stax.Identity(), stax.Identity()),
                                           stax.FanInConcat(axis=1))
        shape, params = init_fn(np.random.default_rng(0), (-1, 2, 3, 2, 2))
        self.assertEqual(tuple(shape[1:]), (4, 3, 2, 2))
        np.testing.assert_array_equal(apply_fn(params, self.x)[:, 2:], self.x)
        init_fn, apply_fn, _ = stax.ImageResize((-1, 4, -1, 1, -1), "nearest")
        shape, params = init_fn(np.random.default_rng(0), (-1, 2, 3, 2, 2))
        self.assertEqual(tuple(shape[1:]), (4, 3, 1, 2))
        y = apply_fn(params, self.x)  # nearest: slice floor((j + 1/2)·2/4) = 0, 0, 1, 1; column floor(1/2·2) = 1
        np.testing.assert_array_equal(y, self.x[:, [0, 0, 1, 1]][:, :, :, [1]])


if __name__ == "__main__":
    unittest.main()
