"""GlobalAvgPool, GlobalSumPool, Flatten and Index inside parallel branches (ntkc's fanouts whose branches
reduce an image to vectors), against neural-tangents' conventions written out in numpy: the input kernel
x·x'ᵀ/C per pixel pair, a 1×1 Conv's NNGP W²K + b² (its NTK the same for a first layer), GlobalAvgPool the
mean over all pixel pairs, GlobalSumPool their sum, Flatten the mean over same-pixel pairs, Index one
position's own pair, FanInSum the sum of the branches' kernels, FanInConcat along the channels their average
weighted by the branches' channel counts (a flattened P-pixel image of C channels has P·C), ReLU the
arc-cosine kernel."""
from __future__ import annotations

import unittest

import numpy as np

from ntkc import stax

from .reference import relu_dual
from .test_stax import close, kernels_of

RNG = np.random.default_rng(29)


def pixel_kernel(x: np.ndarray) -> np.ndarray:
    """K0[i, j, p, q] = x_i[p]·x_j[q]/C for images flattened to (n, P, C)."""
    n, H, W, C = x.shape
    f = x.reshape(n, H * W, C)
    return np.einsum("ipc,jqc->ijpq", f, f) / C


class BranchReductions(unittest.TestCase):
    def setUp(self) -> None:
        self.x = RNG.standard_normal((4, 3, 2, 2))
        self.K0 = pixel_kernel(self.x)
        self.P = 6

    def test_pooled_and_flattened_branches_concatenated(self) -> None:
        a, b, c, w, d, width = 1.3, 0.9, 0.4, 1.1, 0.2, 8
        _, _, kernel_fn = stax.serial(
            stax.FanOut(2),
            stax.parallel(stax.serial(stax.Conv(width, (1, 1), W_std=a), stax.GlobalAvgPool()),
                          stax.serial(stax.Conv(width, (1, 1), W_std=b, b_std=c), stax.Flatten())),
            stax.FanInConcat(), stax.Dense(1, W_std=w, b_std=d))
        self.assertIn("flatten", kernel_fn.source_for((3, 2, 2)))
        pooled = a * a * self.K0.mean(axis=(2, 3))
        flat = b * b * np.einsum("ijpp->ij", self.K0) / self.P + c * c
        # neural-tangents' _concat_kernels: weights = the branches' widths, width and P·width
        k = (width * pooled + self.P * width * flat) / (width + self.P * width)
        nngp = w * w * k + d * d
        close(self, kernels_of(kernel_fn, self.x), (nngp, nngp + w * w * k))

    def test_summed_reductions_then_relu(self) -> None:
        a, b, c = 1.2, 0.8, 0.3
        _, _, kernel_fn = stax.serial(
            stax.FanOut(3),
            stax.parallel(stax.serial(stax.Conv(4, (1, 1), W_std=a, padding="SAME"), stax.GlobalAvgPool()),
                          stax.serial(stax.Conv(4, (1, 1), W_std=b, b_std=c, padding="SAME"), stax.GlobalSumPool()),
                          stax.serial(stax.Conv(4, (1, 1), padding="SAME"), stax.Index(stax.Slice[:, 2, 1]))),
            stax.FanInSum(), stax.Relu(), stax.Dense(1))
        pos = 2 * 2 + 1
        s = (a * a * self.K0.mean(axis=(2, 3)) + b * b * self.K0.sum(axis=(2, 3)) + self.P ** 2 * c * c
             + self.K0[:, :, pos, pos])
        diag = np.diag(s)
        t, td = relu_dual(diag[:, None], diag[None, :], s)
        close(self, kernels_of(kernel_fn, self.x), (t, t + s * td))

    def test_unequal_widths_per_unit_refused(self) -> None:
        _, _, kernel_fn = stax.serial(
            stax.FanOut(2),
            stax.parallel(stax.serial(stax.Conv(8, (1, 1)), stax.GlobalAvgPool()),
                          stax.serial(stax.Conv(4, (1, 1)), stax.Flatten())),
            stax.FanInConcat(), stax.Dense(1))
        with self.assertRaisesRegex(NotImplementedError, "FanInConcat: neural-tangents weights branches by"):
            kernel_fn(self.x, None, "ntk")

    def test_finite_network_shapes(self) -> None:
        init_fn, apply_fn, _ = stax.serial(
            stax.Conv(4, (1, 1)), stax.FanOut(2),
            stax.parallel(stax.GlobalAvgPool(), stax.Flatten()), stax.FanInConcat())
        shape, params = init_fn(np.random.default_rng(0), (-1, 3, 2, 2))
        self.assertEqual(tuple(shape[1:]), (4 + 24,))
        self.assertEqual(apply_fn(params, self.x).shape, (4, 28))


if __name__ == "__main__":
    unittest.main()
