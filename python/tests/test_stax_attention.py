"""ntkc.stax.GlobalSelfAttention (neural-tangents' arguments and defaults) is ntkc's
attention(...): the same kernels as the hand-written .ntk nets, neural-tangents' names
mapped to the right parameters, finite networks (init_fn/apply_fn) whose output
covariance approaches the NNGP, and unsupported arguments refused by name."""
from __future__ import annotations

import math
import unittest

import numpy as np

import ntkc
from ntkc import stax

RNG = np.random.default_rng(20)


def residual(*layers):
    return stax.serial(stax.FanOut(2), stax.parallel(stax.serial(*layers), stax.Identity()), stax.FanInSum())


def both(kernel_fn, x):
    k = kernel_fn(x, None, ("nngp", "ntk"))
    return k.nngp, k.ntk


class AsHandWritten(unittest.TestCase):
    def same(self, kernel_fn, source: str, x: np.ndarray) -> None:
        want = ntkc.Net(source).kernel(x)
        for g, w, name in zip(both(kernel_fn, x), want, ("NNGP", "NTK")):
            np.testing.assert_allclose(g, w, rtol=1e-13, atol=0, err_msg=name)

    def test_transformer_block(self) -> None:
        """A pre-LN transformer encoder (examples/transformer.ntk's structure)."""
        attn = stax.GlobalSelfAttention(64, 64, 64, 4, b_std=0.05)
        mlp = stax.serial(stax.Dense(64, 1.414, 0.05), stax.Relu(), stax.Dense(64, 1.0, 0.05))
        block = stax.serial(residual(stax.LayerNorm(), attn), residual(stax.LayerNorm(), mlp))
        _, _, kernel_fn = stax.serial(stax.Dense(64), stax.repeat(block, 2), stax.LayerNorm(), stax.GlobalAvgPool(),
                                      stax.Dense(1))
        source = """net t {
            input sequence(6, 3)
            dense(1.0)
            repeat 2 {
                residual { layer_norm(eps=1e-12); attention(heads=4, b_std=0.05) }
                residual { layer_norm(eps=1e-12); dense(1.414, 0.05); relu; dense(1.0, 0.05) }
            }
            layer_norm(eps=1e-12)
            global_avg_pool
            dense(1.0)
        }"""
        self.same(kernel_fn, source, RNG.standard_normal((4, 6, 3)))
        self.assertIn("attention(heads=4, scaling=linear, mechanism=softmax", kernel_fn.source)

    def test_every_mechanism_and_the_names_of_the_stds(self) -> None:
        """Distinct values for each std: W_query/W_key enter as w_q·w_k (the logits), W_value/W_out as
        w_v·w_out, so a swap across the two pairs would change the kernel."""
        x = RNG.standard_normal((3, 5, 2))
        cases = [(True, "SOFTMAX"), (True, "IDENTITY"), (True, "ABS"), (True, "RELU"), (False, "IDENTITY")]
        for linear, mech in cases:
            with self.subTest(linear_scaling=linear, mechanism=mech):
                attn = stax.GlobalSelfAttention(32, 16, 8, 2, linear_scaling=linear, W_key_std=0.7, W_value_std=1.3,
                                                W_query_std=1.6, W_out_std=0.9, b_std=0.2,
                                                attention_mechanism=mech)
                _, _, kernel_fn = stax.serial(stax.Dense(32, 1.2, 0.1), attn, stax.Relu(), stax.GlobalAvgPool(),
                                              stax.Dense(1))
                source = f"""net t {{ input sequence(5, 2); dense(1.2, 0.1)
                    attention(heads=2, scaling={'linear' if linear else 'sqrt'}, mechanism={mech.lower()},
                              w_q=1.6, w_k=0.7, w_v=1.3, w_out=0.9, b_std=0.2)
                    relu; global_avg_pool; dense(1) }}"""
                self.same(kernel_fn, source, x)

    def test_defaults_are_neural_tangents(self) -> None:
        """linear_scaling=True, SOFTMAX, unit stds and no bias (b_std=None)."""
        x = RNG.standard_normal((3, 4, 2))
        _, _, kernel_fn = stax.serial(stax.Dense(8), stax.GlobalSelfAttention(8, 8, 8, 1), stax.GlobalAvgPool(),
                                      stax.Dense(1))
        self.same(kernel_fn, "net t { input sequence(4, 2); dense; attention(mechanism=softmax, scaling=linear, "
                             "w_q=1, w_k=1, w_v=1, w_out=1, b_std=0); global_avg_pool; dense }", x)

    def test_attention_over_image_pixels(self) -> None:
        x = RNG.standard_normal((3, 2, 3, 2))
        _, _, kernel_fn = stax.serial(stax.Dense(8), stax.GlobalSelfAttention(8, 8, 8, 2, W_query_std=1.5),
                                      stax.Flatten(), stax.Dense(1))
        self.same(kernel_fn, "net t { input image(2, 3, 2); dense; attention(heads=2, w_q=1.5); flatten; dense }",
                  x)

    def test_positional_embeddings(self) -> None:
        """pos_emb_type SUM/CONCAT: neural-tangents weighs the input by C/(C + C_p) and the one-hot
        embedding by W_pos²·C_p/(C + C_p) under CONCAT (1 and W_pos² under SUM), C the input's channels
        and C_p = n_chan_pos_emb (default C): ntkc's pos_channels is C_p/C."""
        x = RNG.standard_normal((3, 4, 2))
        cases = [(dict(pos_emb_type="SUM", W_pos_emb_std=0.8), "pos_emb=sum, w_pos=0.8"),
                 (dict(pos_emb_type="SUM", val_pos_emb=True), "pos_emb=sum, w_pos=1, val_pos_emb=1"),
                 (dict(pos_emb_type="CONCAT", n_chan_pos_emb=16, W_pos_emb_std=1.3),
                  "pos_emb=concat, w_pos=1.3, pos_channels=2"),
                 (dict(pos_emb_type="CONCAT", val_pos_emb=True), "pos_emb=concat, w_pos=1, pos_channels=1, "
                                                                  "val_pos_emb=1")]
        for kw, args in cases:
            with self.subTest(**{k: str(v) for k, v in kw.items()}):
                _, _, kernel_fn = stax.serial(stax.Dense(8, 1.2), stax.GlobalSelfAttention(8, 8, 8, 1, **kw),
                                              stax.Relu(), stax.GlobalAvgPool(), stax.Dense(1))
                self.same(kernel_fn, f"net t {{ input sequence(4, 2); dense(1.2); attention({args}); relu; "
                                     f"global_avg_pool; dense }}", x)
                self.assertIn(args, kernel_fn.source)


class FiniteNetworks(unittest.TestCase):
    """apply_fn runs neural-tangents' finite attention: over readout units and
    initialisations its output covariance approaches kernel_fn's NNGP."""

    def check(self, attn, width: int, seeds: int, bias: float) -> None:
        x = RNG.standard_normal((3, 4, 2))
        init_fn, apply_fn, kernel_fn = stax.serial(stax.Dense(width, 1.2, 0.1), attn, stax.Relu(),
                                                   stax.GlobalAvgPool(), stax.Dense(width // 2, 1.0, 0.1))
        products = []
        for seed in range(seeds):
            out_shape, params = init_fn(seed, x.shape)
            f = apply_fn(params, x)
            self.assertEqual(f.shape, tuple(out_shape))
            products.append(np.einsum("iu,ju->uij", f, f))
        products = np.concatenate(products)
        mean, sem = products.mean(axis=0), products.std(axis=0) / math.sqrt(len(products))
        nngp = kernel_fn(x, get="nngp")
        # 5 standard errors of the Monte Carlo mean plus the finite-width bias (relative `bias`)
        tol = 5 * sem + bias * np.abs(nngp).max()
        bad = np.abs(mean - nngp) > tol
        self.assertFalse(bad.any(), f"finite nets {mean[bad]} vs NNGP {nngp[bad]} (tolerance {tol[bad]})")

    def test_softmax(self) -> None:
        """Linear scaling: the logits are averages over 128 key channels, a bias O(1/128) through the
        softmax; 4/128 allows for it and the relu's O(1/512). Measured: 2.3 % of the largest entry, 1.9
        standard errors."""
        self.check(stax.GlobalSelfAttention(512, 128, 128, 4, W_query_std=1.5, b_std=0.2), 512, 4, 4 / 128)

    def test_positional_embeddings(self) -> None:
        """Trainable N(0, 1) embeddings scaled by W_pos, added (SUM) or concatenated (CONCAT, wider keys and,
        with val_pos_emb, values) as neural-tangents' apply_fn does; the same bias allowance as softmax."""
        self.check(stax.GlobalSelfAttention(512, 128, 128, 4, W_query_std=1.5, pos_emb_type="SUM",
                                            W_pos_emb_std=0.7), 512, 4, 4 / 128)
        self.check(stax.GlobalSelfAttention(512, 128, 128, 4, W_query_std=1.5, pos_emb_type="CONCAT",
                                            n_chan_pos_emb=256, W_pos_emb_std=1.2, val_pos_emb=True), 512, 4, 4 / 128)

    def test_sqrt_identity(self) -> None:
        """Square-root scaling: the output is Gaussian only as the heads grow, a bias O(1/16) in the relu
        after it. Measured: 7.5 % of the largest entry, 2.4 standard errors (noise, not bias)."""
        self.check(stax.GlobalSelfAttention(512, 32, 32, 16, linear_scaling=False, W_query_std=0.8,
                                            attention_mechanism="IDENTITY"), 512, 4, 1 / 16)


class Refusals(unittest.TestCase):
    def test_unsupported_arguments_are_named(self) -> None:
        cases = [(dict(pos_emb_type="SUM", pos_emb_decay_fn=lambda d: d), "pos_emb_decay_fn"),
                 (dict(pos_emb_decay_fn=lambda d: d), "pos_emb_decay_fn"), (dict(channel_axis=1), "channel_axis"),
                 (dict(linear_scaling=False), "linear_scaling=False with attention_mechanism='SOFTMAX'"),
                 (dict(linear_scaling=False, attention_mechanism="RELU"), "no closed-form kernel")]
        for kw, name in cases:
            with self.subTest(**{k: str(v) for k, v in kw.items()}), self.assertRaisesRegex(NotImplementedError, name):
                stax.GlobalSelfAttention(8, 8, 8, 1, **kw)
        with self.assertRaisesRegex(ValueError, "attention_mechanism"):
            stax.GlobalSelfAttention(8, 8, 8, 1, attention_mechanism="SIGMOID")

    def test_needs_positions(self) -> None:
        _, _, kernel_fn = stax.serial(stax.Dense(8), stax.GlobalSelfAttention(8, 8, 8, 1), stax.Dense(1))
        with self.assertRaisesRegex(ValueError, "GlobalSelfAttention needs image or sequence inputs"):
            kernel_fn(np.ones((2, 3)))


if __name__ == "__main__":
    unittest.main()
