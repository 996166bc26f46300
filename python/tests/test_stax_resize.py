"""stax.ImageResize against neural-tangents' kernel_fn written out here in
numpy: nt resizes the kernel tensor itself with jax.image.resize (the same
method on every spatial axis of both inputs), i.e. Σ' = R·Σ·Rᵀ with R the
interpolation weights, which this file computes from jax's definition
(scale.py: compute_weight_mat, _resize_nearest) on its own; and the finite
networks (init_fn/apply_fn) against the NNGP."""
from __future__ import annotations

import unittest

import numpy as np

from ntkc import stax

from . import reference as ref
from . import test_stax as base
from .test_stax import close, kernels_of, reference_pairs

RNG = np.random.default_rng(22)


def jax_weights(n_in: int, n_out: int, method: str, antialias: bool) -> np.ndarray:
    """n_out × n_in, as jax.image.resize builds them (translation 0); an axis of equal size is skipped."""
    if n_in == n_out:
        return np.eye(n_in)
    if method == "nearest":
        idx = np.floor((np.arange(n_out) + 0.5) * n_in / n_out).astype(int)
        return np.eye(n_in)[idx]
    inv_scale = n_in / n_out
    kernel_scale = max(inv_scale, 1.0) if antialias else 1.0
    sample_f = (np.arange(n_out) + 0.5) * inv_scale - 0.5
    x = np.abs(sample_f[np.newaxis, :] - np.arange(n_in)[:, np.newaxis]) / kernel_scale
    w = np.maximum(0.0, 1.0 - x)
    total = w.sum(axis=0, keepdims=True)
    w = np.where(np.abs(total) > 1000.0 * np.finfo(np.float32).eps, w / np.where(total != 0, total, 1), 0)
    inside = (sample_f >= -0.5) & (sample_f <= n_in - 0.5)
    return np.where(inside[np.newaxis, :], w, 0).T


def nt_resize(k: ref.K, h: int, w: int, method: str, antialias: bool) -> ref.K:
    """The (H, W, H, W) kernel resized on both inputs' axes."""
    def r(c: np.ndarray) -> np.ndarray:
        H, W = c.shape[:2]
        Rh, Rw = jax_weights(H, h, method, antialias), jax_weights(W, w, method, antialias)
        return np.einsum("ai,bj,ck,dl,ijkl->abcd", Rh, Rw, Rh, Rw, c)
    return k.map(r)


class NeuralTangentsFormulas(unittest.TestCase):
    x = RNG.standard_normal((3, 4, 3, 2))

    def test_every_method(self) -> None:
        for method, antialias, (h, w) in (("linear", True, (6, 2)), ("bilinear", False, (2, 5)),
                                          ("nearest", True, (3, 7)), ("triangle", True, (-1, 2))):
            with self.subTest(method=method, antialias=antialias, shape=(h, w)):
                _, _, kernel_fn = stax.serial(
                    stax.Conv(8, (2, 2), padding="SAME", W_std=1.3, b_std=0.1), stax.Relu(),
                    stax.ImageResize((-1, h, w, -1), method, antialias=antialias),
                    stax.Conv(8, (2, 2), padding="SAME", W_std=1.2, b_std=0.2), stax.Erf(),
                    stax.GlobalAvgPool(), stax.Dense(1, 1.1, 0.1))
                hh = 4 if h == -1 else h
                want = reference_pairs(self.x, lambda a, b: ref.dense(ref.global_avg_pool(ref.activation(
                    ref.conv(nt_resize(ref.activation(ref.conv(ref.images(a, b), (2, 2), (1, 1), "SAME", 1.3, 0.1),
                                                      ref.relu_dual), hh, w, method, antialias),
                             (2, 2), (1, 1), "SAME", 1.2, 0.2), ref.erf_dual(1, 1, 0))), 1.1, 0.1))
                close(self, kernels_of(kernel_fn, self.x), want)

    def test_sources(self) -> None:
        _, _, kernel_fn = stax.serial(stax.Conv(4, (3,), padding="SAME"), stax.Relu(),
                                      stax.ImageResize((-1, 9, -1), "bilinear", antialias=False),
                                      stax.Flatten(), stax.Dense(1))
        kernel_fn(RNG.standard_normal((2, 5, 3)))
        self.assertIn("image_resize(1, 9, method=linear, antialias=false)", kernel_fn.source)

    def test_refusals_are_named(self) -> None:
        with self.assertRaisesRegex(NotImplementedError, '"linear" and "nearest"'):
            stax.ImageResize((-1, 4, 4, -1), "lanczos3")
        with self.assertRaisesRegex(ValueError, "channel axis"):
            stax.ImageResize((-1, 4, 4, 8), "linear")
        with self.assertRaisesRegex(ValueError, "batch axis"):
            stax.ImageResize((5, 4, 4, -1), "linear")


class FiniteResizeNetworks(unittest.TestCase):
    """apply_fn of an ImageResize network: output covariances approach the NNGP (test_stax's criterion:
    5 standard errors plus the O(1/width) bias)."""

    def test_resize(self) -> None:
        x = RNG.standard_normal((3, 3, 2, 2))
        base.FiniteNetworks.check(self, [
            stax.Conv(256, (2, 2), padding="SAME", W_std=1.3, b_std=0.1), stax.Relu(),
            stax.ImageResize((-1, 5, 3, -1), "linear"), stax.Conv(256, (2, 2), padding="SAME", W_std=1.2),
            stax.Relu(), stax.ImageResize((-1, 2, 2, -1), "nearest"), stax.GlobalAvgPool(),
            stax.Dense(128, 1.1, 0.2)], x, 256, 4)


if __name__ == "__main__":
    unittest.main()


class IndexAsNeuralTangents(unittest.TestCase):
    """stax.Index on positions maps to index(k): a sequence's token k, an image's pixel (i, j) = k = i·W + j;
    its kernel is the (k, k) entry of the position-pair kernel (neural-tangents' Index on a spatial axis)."""

    def test_positions(self) -> None:
        x = RNG.standard_normal((3, 3, 4, 2))
        for idx, (i, j) in ((stax.Slice[:, 1, 2], (1, 2)), (stax.Slice[:, -1, 0, :], (2, 0)),
                            (stax.Slice[..., 2, 3, :], (2, 3))):
            with self.subTest(idx=idx):
                _, _, kernel_fn = stax.serial(stax.Conv(8, (2, 2), padding="SAME", W_std=1.3, b_std=0.1),
                                              stax.Relu(), stax.Index(idx), stax.Dense(1, 1.1, 0.1))
                want = reference_pairs(x, lambda a, b: ref.dense(ref.activation(
                    ref.conv(ref.images(a, b), (2, 2), (1, 1), "SAME", 1.3, 0.1), ref.relu_dual).map(
                        lambda c: c[i, j, i, j]), 1.1, 0.1))
                close(self, kernels_of(kernel_fn, x), want)
                self.assertIn(f"index({i * 4 + j})", kernel_fn.source)

    def test_sequence_token_and_finite_net(self) -> None:
        x = RNG.standard_normal((3, 5, 2))
        layers = [stax.Conv(256, (3,), padding="SAME", W_std=1.3, b_std=0.1), stax.Relu(), stax.Index(stax.Slice[:, 3]),
                  stax.Dense(128, 1.1, 0.2)]
        _, _, kernel_fn = stax.serial(*layers)
        kernel_fn(x)
        self.assertIn("index(3)", kernel_fn.source)
        base.FiniteNetworks.check(self, layers, x, 256, 4)

    def test_refusals_are_named(self) -> None:
        x = RNG.standard_normal((2, 3, 4, 2))
        for idx, err, what in ((stax.Slice[:, 1, 2, 0], NotImplementedError, "channel axis"),
                               (stax.Slice[:, 1:3, 2], NotImplementedError, "one position"),
                               (stax.Slice[0, 1, 2], NotImplementedError, "batch axis")):
            with self.subTest(idx=idx):
                _, _, kernel_fn = stax.serial(stax.Conv(4, (2, 2)), stax.Relu(), stax.Index(idx), stax.Dense(1))
                with self.assertRaisesRegex(err, what):
                    kernel_fn(x)
