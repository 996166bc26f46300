"""stax.ConvTranspose / stax.ConvLocal with trainable=False (ntkc's frozen
layers): the source they write, and closed forms that need no reference — the
NNGP does not depend on trainable, a frozen first layer adds nothing to the
NTK (so the NTK of frozen → GlobalAvgPool → Dense is its NNGP), and trained it
is 2·NNGP − b² there."""
from __future__ import annotations

import unittest

import numpy as np

from ntkc import stax

from .test_stax import kernels_of

RNG = np.random.default_rng(23)


class FrozenConvVariants(unittest.TestCase):
    def test_source_and_closed_forms(self):
        x = RNG.standard_normal((4, 5, 4, 2))
        for layer in (stax.ConvTranspose, stax.ConvLocal):
            k = {}
            for trainable in (True, False):
                _, _, kernel_fn = stax.serial(layer(8, (3, 3), (2, 2), "SAME", W_std=1.4, b_std=0.1,
                                                    trainable=trainable),
                                              stax.GlobalAvgPool(), stax.Dense(1, 1.3, 0.2))
                src = kernel_fn.source_for((5, 4, 2))
                self.assertEqual("trainable=false" in src, not trainable, src)
                k[trainable] = kernels_of(kernel_fn, x)
            np.testing.assert_array_equal(k[True][0], k[False][0])
            np.testing.assert_allclose(k[False][1], k[False][0], rtol=1e-13, atol=0)
            np.testing.assert_allclose(k[True][1], 2 * k[True][0] - 0.04, rtol=1e-13, atol=0)


if __name__ == "__main__":
    unittest.main()
