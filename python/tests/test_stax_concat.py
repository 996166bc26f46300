"""stax.FanInConcat(axis=...) on a spatial axis (ntkc's fanout(axis=height|width) … concat): the source it
writes, its kernel by identities that hold whatever the implementation (a width concat of two equal branches
flattens to one branch; a height concat of two identity branches globally pools to the input, which needs the
cross blocks neural-tangents leaves zero), and the finite network's shapes."""
from __future__ import annotations

import unittest

import numpy as np

from ntkc import stax

from .test_stax import close, kernels_of

RNG = np.random.default_rng(23)


class SpatialConcat(unittest.TestCase):
    def setUp(self) -> None:
        self.x = RNG.standard_normal((3, 3, 4, 2))

    def test_source_names_the_axis(self) -> None:
        for axis, name in ((1, "height"), (-3, "height"), (2, "width"), (-2, "width")):
            with self.subTest(axis=axis):
                _, _, kernel_fn = stax.serial(stax.Conv(4, (3, 3), padding="SAME"), stax.FanOut(2),
                                              stax.parallel(stax.Conv(4, (1, 1)), stax.Identity()),
                                              stax.FanInConcat(axis=axis), stax.Flatten(), stax.Dense(1))
                self.assertIn(f"fanout(axis={name}) {{", kernel_fn.source_for((3, 4, 2)))
        _, _, kernel_fn = stax.serial(stax.Conv(4, (3,), padding="SAME"), stax.FanOut(2),
                                      stax.parallel(stax.Conv(4, (1,)), stax.Identity()), stax.FanInConcat(axis=1),
                                      stax.Flatten(), stax.Dense(1))
        self.assertIn("fanout(axis=width) {", kernel_fn.source_for((5, 2)))  # a sequence's length

    def test_width_concat_of_equal_branches_flattens_to_one(self) -> None:
        conv = stax.Conv(4, (3, 3), padding="SAME", W_std=1.2)
        _, _, two = stax.serial(stax.Conv(4, (3, 3), padding="SAME", W_std=1.3), stax.Relu(), stax.FanOut(2),
                                stax.parallel(conv, conv), stax.FanInConcat(axis=2), stax.Flatten(), stax.Dense(1))
        _, _, one = stax.serial(stax.Conv(4, (3, 3), padding="SAME", W_std=1.3), stax.Relu(), conv, stax.Flatten(),
                                stax.Dense(1))
        close(self, kernels_of(two, self.x), kernels_of(one, self.x))

    def test_height_concat_of_identities_pools_to_the_input(self) -> None:
        _, _, two = stax.serial(stax.Conv(4, (3, 3), padding="SAME", W_std=1.3), stax.FanOut(2),
                                stax.parallel(stax.Identity(), stax.Identity()), stax.FanInConcat(axis=1),
                                stax.GlobalAvgPool(), stax.Dense(1))
        _, _, one = stax.serial(stax.Conv(4, (3, 3), padding="SAME", W_std=1.3), stax.GlobalAvgPool(), stax.Dense(1))
        close(self, kernels_of(two, self.x), kernels_of(one, self.x))

    def test_finite_network_concatenates(self) -> None:
        init_fn, apply_fn, _ = stax.serial(stax.Conv(4, (3, 3), padding="SAME"), stax.FanOut(2),
                                           stax.parallel(stax.AvgPool((2, 1), strides=(1, 1)), stax.Identity()),
                                           stax.FanInConcat(axis=1))
        shape, params = init_fn(np.random.default_rng(0), (-1, 3, 4, 2))
        self.assertEqual(tuple(shape[1:]), (5, 4, 4))
        y = apply_fn(params, self.x)
        self.assertEqual(y.shape, (3, 5, 4, 4))
        np.testing.assert_array_equal(y[:, 2:], apply_fn(params[:1], self.x))

    def test_standard_parameterization_through_branches(self) -> None:
        """The NNGP does not depend on the parameterization; the NTK grows with the fan-ins."""
        def net(p: str):
            return stax.serial(stax.Conv(6, (3, 3), padding="SAME", W_std=1.3, b_std=0.1, parameterization=p),
                               stax.Relu(), stax.Conv(6, (1, 1), parameterization=p), stax.FanOut(2),
                               stax.parallel(stax.Conv(6, (3, 3), padding="SAME", parameterization=p),
                                             stax.serial(stax.AvgPool((1, 1)), stax.Identity())),
                               stax.FanInSum(), stax.Relu(), stax.Flatten(), stax.Dense(1, parameterization=p))[2]
        std, ntk = net("standard"), net("ntk")
        s1, t1 = kernels_of(std, self.x)
        s2, t2 = kernels_of(ntk, self.x)
        self.assertIn("param standard", std.source_for((3, 4, 2)))
        np.testing.assert_allclose(s1, s2, rtol=1e-12)
        self.assertTrue(np.all(np.abs(t1 - t2) > 0.1 * np.abs(t2)))

    def test_batch_axis_refused(self) -> None:
        with self.assertRaisesRegex(NotImplementedError, "batch axis"):
            stax.FanInConcat(axis=0)


if __name__ == "__main__":
    unittest.main()
