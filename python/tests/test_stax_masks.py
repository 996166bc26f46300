"""ntkc.stax's kernel_fn(..., mask_constant=...) (neural-tangents' argument): padded sequences against
scripts/attention_reference.py (independent numpy of neural-tangents' masking: Σ(s, t) = Θ(s, t) = 0 when
s or t is padding, softmax over the valid keys only, global pooling over valid pairs, conv's output masked
at the window centre), with and without attention; masks that have no infinite-width kernel refused."""
from __future__ import annotations

import importlib.util
import sys
import unittest

import numpy as np

from ntkc import stax

from .util import ROOT

spec = importlib.util.spec_from_file_location("attention_reference", ROOT / "scripts" / "attention_reference.py")
ref = importlib.util.module_from_spec(spec)
sys.modules.setdefault("attention_reference", ref)
spec.loader.exec_module(ref)

RNG = np.random.default_rng(4711)


def padded(n: int, L: int, C: int, lengths, fill: float) -> np.ndarray:
    x = RNG.standard_normal((n, L, C))
    for i, length in enumerate(lengths):
        x[i, length:] = fill
    return x


def reference(net: str, x1, x2, constant):
    parsed = ref.parse_net(net)
    a1, m1 = ref.load_inputs(x1, mask_constant=constant)
    if x2 is None:
        return ref.kernels(parsed, a1, m1)
    a2, m2 = ref.load_inputs(x2, mask_constant=constant)
    return ref.kernels(parsed, a1, m1, a2, m2)


def close(test, got, want) -> None:
    for g, w, name in zip(got, want, ("NNGP", "NTK")):
        err = np.abs(g - w).max() / np.abs(w).max()
        test.assertLess(err, 1e-12, f"{name}: relative error {err:.2e}")


class MaskConstant(unittest.TestCase):
    def test_transformer_block_on_padded_sequences(self) -> None:
        def residual(*layers):
            return stax.serial(stax.FanOut(2), stax.parallel(stax.serial(*layers), stax.Identity()), stax.FanInSum())
        _, _, kfn = stax.serial(
            stax.Dense(16, 1.0, 0.1),
            residual(stax.LayerNorm(), stax.GlobalSelfAttention(16, 8, 8, 2, W_query_std=1.5, b_std=0.2)),
            residual(stax.LayerNorm(), stax.Dense(16, 1.4, 0.1), stax.Relu(), stax.Dense(16)),
            stax.GlobalAvgPool(), stax.Dense(1))
        net = """net t { input sequence(6, 3)
            dense(1.0, 0.1)
            residual { layer_norm; attention(scaling=linear, mechanism=softmax, w_q=1.5, b_std=0.2) }
            residual { layer_norm; dense(1.4, 0.1); relu; dense(1.0, 0.0) }
            global_avg_pool
            dense(1.0, 0.0) }"""
        x1, x2 = padded(4, 6, 3, (6, 4, 2, 5), np.nan), padded(3, 6, 3, (3, 6, 1), np.nan)
        k = kfn(x1, x2, ("nngp", "ntk"), mask_constant=np.nan)
        close(self, k, reference(net, x1, x2, float("nan")))
        self.assertIn("input sequence(6, 3, masked=true)", kfn.source)
        # how much padding does not matter (no positional embeddings): two more padded positions, same kernel
        pad = np.full((4, 2, 3), np.nan)
        k8 = kfn(np.concatenate([x1, pad], axis=1), np.concatenate([x2, pad[:3]], axis=1), ("nngp", "ntk"),
                 mask_constant=np.nan)
        close(self, k8, k)

    def test_conv_net_without_attention(self) -> None:
        _, _, kfn = stax.serial(stax.Conv(8, (3,), padding="SAME", W_std=1.2, b_std=0.1), stax.Relu(),
                                stax.Conv(8, (3,), padding="SAME"), stax.Erf(), stax.GlobalAvgPool(),
                                stax.Dense(1, 1.1, 0.2))
        net = """net t { input sequence(7, 2)
            conv(3, 1.2, 0.1); relu; conv(3, 1.0, 0.0); erf; global_avg_pool; dense(1.1, 0.2) }"""
        x = padded(4, 7, 2, (7, 3, 5, 1), -5.0)
        close(self, kfn(x, None, ("nngp", "ntk"), mask_constant=-5.0), reference(net, x, None, -5.0))
        unmasked = kfn(x, None, ("nngp", "ntk"))
        self.assertGreater(np.abs(unmasked.nngp - reference(net, x, None, -5.0)[0]).max(), 1e-3)

    def test_padded_image_pixels(self) -> None:
        """Without windows an image's pixels are a sequence of H·W positions (row-major) for the reference."""
        _, _, kfn = stax.serial(stax.Dense(8, 1.1, 0.1), stax.GlobalSelfAttention(8, 8, 8, 1, attention_mechanism="RELU",
                                                                                  pos_emb_type="SUM", W_pos_emb_std=0.6),
                                stax.Relu(), stax.Dense(8), stax.GlobalAvgPool(), stax.Dense(1))
        net = """net t { input sequence(6, 2)
            dense(1.1, 0.1); attention(mechanism=relu, pos_emb=sum, w_pos=0.6); relu; dense(1.0, 0.0)
            global_avg_pool; dense(1.0, 0.0) }"""
        x = RNG.standard_normal((3, 2, 3, 2))
        x[0, 1, 1:] = 9.0
        x[2, 1] = 9.0
        close(self, kfn(x, None, ("nngp", "ntk"), mask_constant=9.0), reference(net, x.reshape(3, 6, 2), None, 9.0))
        self.assertIn("input image(2, 3, 2, masked=true)", kfn.source)

    def test_nothing_masked_is_the_unmasked_kernel(self) -> None:
        _, _, kfn = stax.serial(stax.Conv(4, (2,), padding="SAME"), stax.Relu(), stax.GlobalAvgPool(), stax.Dense(1))
        x = RNG.standard_normal((3, 5, 2))
        np.testing.assert_array_equal(kfn(x, None, "ntk", mask_constant=np.nan), kfn(x, None, "ntk"))
        self.assertNotIn("masked", kfn.source)

    def test_masks_without_an_infinite_width_kernel_are_refused(self) -> None:
        _, _, kfn = stax.serial(stax.Conv(4, (2,), padding="SAME"), stax.Relu(), stax.GlobalAvgPool(), stax.Dense(1))
        x = RNG.standard_normal((3, 5, 2))
        x[1, 2, 0] = np.nan
        with self.assertRaisesRegex(NotImplementedError, r"x1\[1\] at position \(2,\): only some channels"):
            kfn(x, None, "ntk", mask_constant=np.nan)
        _, _, dense = stax.serial(stax.Dense(4), stax.Relu(), stax.Dense(1))
        v = RNG.standard_normal((3, 4))
        v[0, 1] = 0.0
        with self.assertRaisesRegex(NotImplementedError, "mask_constant: x1 are vectors with masked entries"):
            dense(v, None, "ntk", mask_constant=0.0)
        init_fn, apply_fn, _ = stax.Dense(3)
        _, params = init_fn(0, (-1, 4))
        with self.assertRaisesRegex(NotImplementedError, r"apply_fn\(mask_constant=...\)"):
            apply_fn(params, v, mask_constant=0.0)


if __name__ == "__main__":
    unittest.main()
