"""stax.ConvTranspose and stax.ConvLocal against neural-tangents' kernel
formulas written out here in numpy, step by step as its code computes them
(neural_tangents/_src/stax/linear.py: _conv_kernel_full_spatial_transpose with
lax.conv_transpose's padding and the CIRCULAR crop of
_same_pad_for_filter_shape_transpose; _conv_kernel_full_spatial_unshared),
and their finite networks (init_fn/apply_fn) against the NNGP."""
from __future__ import annotations

import math
import unittest

import numpy as np

from ntkc import stax

from . import reference as ref
from . import test_stax as base
from .test_stax import close, kernels_of, reference_pairs

RNG = np.random.default_rng(21)


def _lax_transpose_pads(k: int, s: int, padding: str) -> tuple[int, int]:
    """jax.lax's _conv_transpose_padding."""
    if padding == "SAME":
        pad_len = k + s - 2
        pad_a = k - 1 if s > k - 1 else int(math.ceil(pad_len / 2))
    else:
        pad_len = k + s - 2 + max(k - s, 0)
        pad_a = k - 1
    return pad_a, pad_len - pad_a


def _transpose_pair(c: np.ndarray, axes: tuple[int, int], k: int, s: int, padding: str) -> np.ndarray:
    """lax.conv_transpose of the (p, q) plane of one spatial axis with the filter diag(1/k):
    both axes dilated by s, padded, then a stride-1 VALID correlation."""
    c = np.moveaxis(c, axes, (0, 1))
    n = c.shape[0]
    d = np.zeros(((n - 1) * s + 1,) * 2 + c.shape[2:])
    d[::s, ::s] = c
    lo, hi = _lax_transpose_pads(k, s, padding)
    d = np.pad(d, [(lo, hi), (lo, hi)] + [(0, 0)] * (c.ndim - 2))
    m = d.shape[0] - k + 1
    out = sum(d[u:u + m, u:u + m] for u in range(k)) / k
    return np.moveaxis(out, (0, 1), axes)


def _crop_fold(x: np.ndarray, axis: int, n_out: int) -> np.ndarray:
    """_same_pad_for_filter_shape_transpose along one axis: reduce_window (sum) with an odd
    window of ⌈L/n⌉//2·2+1 taps n apart, SAME padding, then the central n_out entries."""
    x = np.moveaxis(x, axis, 0)
    L = x.shape[0]
    w = int(np.ceil(L / n_out)) // 2 * 2 + 1
    span = (w - 1) * n_out + 1
    total = span - 1
    xp = np.pad(x, [(total // 2, total - total // 2)] + [(0, 0)] * (x.ndim - 1))
    y = sum(xp[m * n_out:m * n_out + L] for m in range(w))
    lo = (L - n_out) // 2
    return np.moveaxis(y[lo:lo + n_out], 0, axis)


def nt_conv_transpose(k: ref.K, window, strides, padding: str, w: float, b: float) -> ref.K:
    """Σ' = w²·T(Σ) + b², Θ' = w²·T(Θ) + Σ' with ref's (H, W, H, W) layout."""
    def t(c: np.ndarray) -> np.ndarray:
        H, W = c.shape[:2]
        p = "VALID" if padding == "CIRCULAR" else padding
        c = _transpose_pair(c, (0, 2), window[0], strides[0], p)
        c = _transpose_pair(c, (1, 3), window[1], strides[1], p)
        if padding == "CIRCULAR":
            for axis, n in ((0, H * strides[0]), (2, H * strides[0]), (1, W * strides[1]), (3, W * strides[1])):
                c = _crop_fold(c, axis, n)
        return w * w * c

    s = lambda c: t(c) + b * b
    return ref.K(s(k.aa), s(k.bb), s(k.ab), s(k.ab) + t(k.ntk), s(k.aa) + t(k.ntk_aa), s(k.bb) + t(k.ntk_bb))


def nt_conv_local(k: ref.K, window, strides, padding: str, w: float, b: float) -> ref.K:
    """The same-pixel covariances windowed and divided by |F| (_conv_kernel_diagonal_spatial),
    placed on the diagonal; other pixel pairs and their bias are 0."""
    (kh, kw), (sh, sw) = window, strides
    H, W = k.ab.shape[:2]
    lh, hh, oh = ref._pads(H, kh, sh, padding)
    lw, hw, ow = ref._pads(W, kw, sw, padding)

    def t(c: np.ndarray, bias: float) -> np.ndarray:
        diag = np.einsum("ijij->ij", c)
        dp = np.pad(diag, [(lh, hh), (lw, hw)], mode="wrap" if padding == "CIRCULAR" else "constant")
        acc = sum(dp[u:u + sh * oh:sh, v:v + sw * ow:sw] for u in range(kh) for v in range(kw))
        out = np.zeros((oh, ow, oh, ow))
        idx = np.indices((oh, ow))
        out[idx[0], idx[1], idx[0], idx[1]] = w * w * acc / (kh * kw) + bias
        return out

    s = lambda c: t(c, b * b)
    return ref.K(s(k.aa), s(k.bb), s(k.ab), s(k.ab) + t(k.ntk, 0.0), s(k.aa) + t(k.ntk_aa, 0.0),
                 s(k.bb) + t(k.ntk_bb, 0.0))


class NeuralTangentsFormulas(unittest.TestCase):
    x = RNG.standard_normal((3, 3, 4, 2))

    def test_conv_transpose_every_padding(self) -> None:
        for padding in ("SAME", "VALID", "CIRCULAR"):
            for window, strides in (((3, 2), (2, 3)), ((4, 1), (3, 1)), ((2, 5), (1, 2))):
                with self.subTest(padding=padding, window=window, strides=strides):
                    _, _, kernel_fn = stax.serial(
                        stax.ConvTranspose(8, window, strides, padding, W_std=1.4, b_std=0.2), stax.Relu(),
                        stax.GlobalAvgPool(), stax.Dense(1, 1.1, 0.1))
                    want = reference_pairs(self.x, lambda a, b: ref.dense(ref.global_avg_pool(ref.activation(
                        nt_conv_transpose(ref.images(a, b), window, strides, padding, 1.4, 0.2), ref.relu_dual)),
                        1.1, 0.1))
                    close(self, kernels_of(kernel_fn, self.x), want)

    def test_conv_local_every_padding(self) -> None:
        for padding in ("SAME", "VALID", "CIRCULAR"):
            for window, strides in (((3, 2), (2, 3)), ((1, 1), (1, 1)), ((2, 3), (1, 2))):
                with self.subTest(padding=padding, window=window, strides=strides):
                    _, _, kernel_fn = stax.serial(
                        stax.Conv(8, (2, 2), padding="SAME", W_std=1.3, b_std=0.1), stax.Erf(),
                        stax.ConvLocal(8, window, strides, padding, W_std=1.4, b_std=0.3), stax.Relu(),
                        stax.GlobalAvgPool(), stax.Dense(1, 1.1, 0.1))
                    want = reference_pairs(self.x, lambda a, b: ref.dense(ref.global_avg_pool(ref.activation(
                        nt_conv_local(ref.activation(ref.conv(ref.images(a, b), (2, 2), (1, 1), "SAME", 1.3, 0.1),
                                                     ref.erf_dual(1, 1, 0)), window, strides, padding, 1.4, 0.3),
                        ref.relu_dual)), 1.1, 0.1))
                    close(self, kernels_of(kernel_fn, self.x), want)

    def test_inside_fanout_branches(self) -> None:
        """FanInSum of two ConvTranspose branches (equal output grids), and a ConvLocal residual: the branches'
        kernels summed (neural-tangents' FanInSum), each by the formulas above."""
        _, _, kernel_fn = stax.serial(
            stax.Conv(8, (2, 2), padding="SAME", W_std=1.3, b_std=0.1), stax.FanOut(2),
            stax.parallel(stax.serial(stax.Relu(), stax.ConvTranspose(8, (2, 2), (2, 2), "SAME", 1.4, 0.2)),
                          stax.serial(stax.Erf(), stax.ConvTranspose(8, (3, 2), (2, 2), "SAME", 0.9))),
            stax.FanInSum(), stax.FanOut(2),
            stax.parallel(stax.serial(stax.Relu(), stax.ConvLocal(8, (3, 3), (1, 1), "SAME", 1.2, 0.1)),
                          stax.Identity()),
            stax.FanInSum(), stax.Relu(), stax.GlobalAvgPool(), stax.Dense(1, 1.1, 0.1))

        def plus(k1: ref.K, k2: ref.K) -> ref.K:
            return ref.K(*(getattr(k1, f) + getattr(k2, f) for f in ("aa", "bb", "ab", "ntk", "ntk_aa", "ntk_bb")))

        def recursion(a, b):
            k = ref.conv(ref.images(a, b), (2, 2), (1, 1), "SAME", 1.3, 0.1)
            k = plus(nt_conv_transpose(ref.activation(k, ref.relu_dual), (2, 2), (2, 2), "SAME", 1.4, 0.2),
                     nt_conv_transpose(ref.activation(k, ref.erf_dual(1, 1, 0)), (3, 2), (2, 2), "SAME", 0.9, 0.0))
            k = plus(nt_conv_local(ref.activation(k, ref.relu_dual), (3, 3), (1, 1), "SAME", 1.2, 0.1), k)
            return ref.dense(ref.global_avg_pool(ref.activation(k, ref.relu_dual)), 1.1, 0.1)

        close(self, kernels_of(kernel_fn, self.x), reference_pairs(self.x, recursion))

    def test_sources(self) -> None:
        _, _, kernel_fn = stax.serial(stax.ConvTranspose(4, (3,), (2,), "CIRCULAR", 1.5, 0.1), stax.Relu(),
                                      stax.ConvLocal(4, (2,)), stax.Flatten(), stax.Dense(1))
        kernel_fn(RNG.standard_normal((2, 5, 3)))
        self.assertIn("conv_transpose(kh=1, kw=3, sh=1, sw=2, w_std=1.5, b_std=0.1, padding=circular)",
                      kernel_fn.source)
        self.assertIn("conv_local(kh=1, kw=2, sh=1, sw=1, w_std=1, b_std=0, padding=valid)", kernel_fn.source)

    def test_refusals_are_named(self) -> None:
        with self.assertRaisesRegex(NotImplementedError, "ConvLocal"):
            stax.ConvLocal(4, (3, 3), s=(2, 1))


class FiniteVariantNetworks(unittest.TestCase):
    """apply_fn of ConvTranspose/ConvLocal networks: output covariances approach the NNGP
    (test_stax's criterion: 5 standard errors plus the O(1/width) bias)."""

    def test_conv_transpose_and_local(self) -> None:
        x = RNG.standard_normal((3, 3, 2, 2))
        base.FiniteNetworks.check(self, [
            stax.ConvTranspose(256, (3, 2), (2, 2), "CIRCULAR", W_std=1.3, b_std=0.1), stax.Relu(),
            stax.ConvLocal(256, (2, 2), (2, 1), "SAME", W_std=1.2, b_std=0.2), stax.Relu(),
            stax.ConvTranspose(256, (2, 2), (1, 2), "VALID"), stax.Relu(), stax.GlobalAvgPool(),
            stax.Dense(128, 1.1, 0.2)], x, 256, 4)


if __name__ == "__main__":
    unittest.main()
