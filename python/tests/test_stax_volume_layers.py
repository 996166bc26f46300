"""ntkc.stax on volumes beyond windows: LayerNorm, FanOut/FanIn* branches, GlobalSelfAttention and
parameterization='standard' on (n, D, H, W, C) inputs, each kernel against scripts/volume_reference.py
(independent numpy, neural-tangents' formulas: LayerNorm divides both kernels by √((Σ(p,p)+ε)(Σ'(q,q)+ε)),
FanInSum sums, FanInProd multiplies (Θ by the product rule), FanInConcat along the channels averages by
width, attention A = softmax(W_q·W_k·Σ_xx) with Σ' = (W_v·W_out)²·AΣAᵀ + b², Θ' = (W_v·W_out)²·(AΘAᵀ + 2AΣAᵀ)
+ b², standard Θ' = C·|F|·mean_F Σ + W²·mean_F Θ (+1 with a bias)); and the layers volume nets do not take
refused by name (test_stax_volume_variants.py: ConvTranspose, ConvLocal, normalize_edges, Index, Dropout)."""
from __future__ import annotations

import unittest

import numpy as np

from ntkc import stax

from .test_stax import close, kernels_of
from .test_stax_volume import ref

RNG = np.random.default_rng(2213)


def conv(chans, w=1.0, b=None, strides=(1, 1, 1)):
    return stax.Conv(chans, (2, 2, 2), strides, "SAME", W_std=w, b_std=b)


def rconv(w=1.0, b=0.0, opts=None):
    """The reference's spec of conv(...) above."""
    spec = ("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), w, b)
    return spec + (opts,) if opts else spec


class VolumeLayers(unittest.TestCase):
    def setUp(self) -> None:
        self.x = RNG.standard_normal((3, 2, 3, 2, 2))

    def test_layer_norm_over_the_channels(self) -> None:
        _, _, kfn = stax.serial(conv(8, 1.3, 0.2), stax.LayerNorm(eps=0.05), stax.Relu(), conv(8, 1.1),
                                stax.LayerNorm(axis=4), stax.Erf(), stax.GlobalAvgPool(), stax.Dense(1, 1.2, 0.1))
        want = ref.kernels([rconv(1.3, 0.2), ("layer_norm", 0.05), ("relu",), rconv(1.1), ("layer_norm", 1e-12),
                            ("erf",), ("global_avg_pool",), ("dense", 1.2, 0.1)], self.x)
        self.assertIn("layer_norm(eps=0.05)", kfn.source_for(self.x.shape[1:]))
        close(self, kernels_of(kfn, self.x), want)

    def test_layer_norm_over_spatial_axes(self) -> None:
        """LayerNorm(axis=(1, -1)) is axes=depth, (2, -1) height, (3, -1) width, (1, 2, 3, -1) all."""
        x = self.x * np.exp(np.linspace(-1, 1, 12)).reshape(1, 2, 3, 2, 1)
        for axis, spatial, name in (((1, 4), (0,), "depth"), ((2, -1), (1,), "height"), ((3, 4), (2,), "width"),
                                    ((1, 2, 3, 4), (0, 1, 2), "all")):
            with self.subTest(axis=axis):
                _, _, kfn = stax.serial(conv(8, 1.3, 0.2), stax.LayerNorm(axis=axis), stax.Relu(), conv(8, 1.1),
                                        stax.GlobalAvgPool(), stax.Dense(1, 1.2, 0.1))
                self.assertIn(f"axes={name}", kfn.source_for(x.shape[1:]))
                want = ref.kernels([rconv(1.3, 0.2), ("layer_norm", 1e-12, spatial), ("relu",), rconv(1.1),
                                    ("global_avg_pool",), ("dense", 1.2, 0.1)], x)
                close(self, kernels_of(kfn, x), want)

    def test_residual_sum_product_and_channel_concat(self) -> None:
        block = stax.serial(stax.FanOut(2), stax.parallel(stax.serial(stax.Relu(), conv(8, 1.4, 0.1)), stax.Identity()),
                            stax.FanInSum())
        prod = stax.serial(stax.FanOut(2), stax.parallel(conv(8, 1.2), conv(8, 0.9, 0.3)), stax.FanInProd())
        cat = stax.serial(stax.FanOut(3), stax.parallel(conv(8, 1.5), stax.serial(stax.Erf(), conv(8, 1.0, 0.2)),
                                                        stax.serial(stax.Relu(), conv(8, 0.8))), stax.FanInConcat())
        _, _, kfn = stax.serial(conv(8, 1.1, 0.1), block, stax.Relu(), conv(8), prod, conv(8, 1.2), cat, stax.Flatten(),
                                stax.Dense(1, 1.3))
        want = ref.kernels([
            rconv(1.1, 0.1),
            ("fanout", "sum", [(1.0, [("relu",), rconv(1.4, 0.1)]), (1.0, [])]), ("relu",), rconv(),
            ("fanout", "prod", [(1.0, [rconv(1.2)]), (1.0, [rconv(0.9, 0.3)])]), rconv(1.2),
            ("fanout", "concat", [(1.0, [rconv(1.5)]), (1.0, [("erf",), rconv(1.0, 0.2)]),
                                  (1.0, [("relu",), rconv(0.8)])]),
            ("flatten",), ("dense", 1.3, 0.0)], self.x)
        close(self, kernels_of(kfn, self.x), want)

    def test_branches_that_reduce_concatenated_by_width(self) -> None:
        """A pooled Conv(6) branch beside a flattened Conv(6) branch: neural-tangents' FanInConcat weights them by
        their widths, 6 and P·6 (P = D·H·W positions)."""
        _, _, kfn = stax.serial(stax.FanOut(2), stax.parallel(stax.serial(conv(6, 1.3), stax.GlobalAvgPool()),
                                                              stax.serial(conv(6, 0.9, 0.4), stax.Flatten())),
                                stax.FanInConcat(), stax.Dense(1, 1.1, 0.2))
        pooled = ref.kernels([rconv(1.3), ("global_avg_pool",)], self.x)
        flat = ref.kernels([rconv(0.9, 0.4), ("flatten",)], self.x)
        P = int(np.prod(self.x.shape[1:4]))
        s, t = ((pooled[i] + P * flat[i]) / (1 + P) for i in (0, 1))
        close(self, kernels_of(kfn, self.x), (1.21 * s + 0.04, 1.21 * s + 0.04 + 1.21 * t))

    def test_global_self_attention_over_every_position(self) -> None:
        cases = [("SOFTMAX", "NONE", None, 0.0), ("IDENTITY", "NONE", None, 0.0), ("RELU", "SUM", None, 0.49),
                 ("SOFTMAX", "CONCAT", 4, None)]
        for mech, pos, n_pos, pw in cases:
            with self.subTest(mechanism=mech, pos_emb=pos):
                attn = stax.GlobalSelfAttention(16, 8, 8, 2, W_key_std=0.9, W_query_std=1.3, W_value_std=1.2,
                                                W_out_std=0.8, b_std=0.1, attention_mechanism=mech, pos_emb_type=pos,
                                                n_chan_pos_emb=n_pos, W_pos_emb_std=0.7)
                _, _, kfn = stax.serial(conv(8, 1.2, 0.1), attn, stax.Relu(), stax.GlobalAvgPool(), stax.Dense(1))
                qk = 0.9 * 1.3
                if pos == "CONCAT":  # neural-tangents mixes C/(C + C_p)·Σ and W_pos²·C_p/(C + C_p)·I, C = 8
                    qk, pw = qk * 8 / 12, 0.49 * 4 / 8
                want = ref.kernels([rconv(1.2, 0.1), ("attention", mech.lower(), qk, 1.2 * 0.8, 0.1, pw), ("relu",),
                                    ("global_avg_pool",), ("dense", 1.0, 0.0)], self.x)
                close(self, kernels_of(kfn, self.x), want)

    def test_standard_parameterization(self) -> None:
        _, _, kfn = stax.serial(
            stax.Conv(5, (2, 2, 2), (1, 1, 1), "SAME", W_std=1.4, b_std=0.2, parameterization="standard"),
            stax.Relu(),
            stax.FanOut(2), stax.parallel(
                stax.Conv(3, (1, 2, 2), (1, 1, 1), "CIRCULAR", W_std=1.1, parameterization="standard"),
                stax.serial(stax.Conv(3, (2, 1, 1), (1, 1, 1), "SAME", W_std=0.9, b_std=0.1,
                                      parameterization="standard"), stax.Erf(),
                            stax.Conv(3, (1, 1, 1), (1, 1, 1), "SAME", W_std=1.3, parameterization="standard"))),
            stax.FanInSum(),
            stax.GlobalSelfAttention(7, 4, 4, 1, b_std=0.2), stax.Relu(), stax.Flatten(),
            stax.Dense(4, W_std=1.2, b_std=0.3, parameterization="standard"), stax.Relu(),
            stax.Dense(1, W_std=0.7, parameterization="standard"))
        want = ref.kernels([
            ("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.4, 0.2, {"width": 5, "bias": True}), ("relu",),
            ("fanout", "sum", [(1.0, [("conv", (1, 2, 2), (1, 1, 1), "circular", (1, 1, 1), 1.1, 0.0, {"width": 3})]),
                               (1.0, [("conv", (2, 1, 1), (1, 1, 1), "same", (1, 1, 1), 0.9, 0.1,
                                       {"width": 3, "bias": True}), ("erf",),
                                      ("conv", (1, 1, 1), (1, 1, 1), "same", (1, 1, 1), 1.3, 0.0, {"width": 3})])]),
            ("attention", "softmax", 1.0, 1.0, 0.2, 0.0, {"width": 7}), ("relu",), ("flatten",),
            ("dense", 1.2, 0.3, {"width": 4, "bias": True}), ("relu",), ("dense", 0.7, 0.0)], self.x, "standard")
        source = kfn.source_for(self.x.shape[1:])
        self.assertIn("param standard", source)
        self.assertIn("attention(width=7,", source)
        close(self, kernels_of(kfn, self.x), want)

    def test_attention_before_the_first_standard_layer_declares_its_width(self) -> None:
        """The parameterization is the net's, fixed by its Dense/Conv layers wherever they stand: attention ahead
        of them declares n_chan_out too (an image is a volume one slice deep for the reference)."""
        x = RNG.standard_normal((3, 3, 2, 2))
        _, _, kfn = stax.serial(stax.GlobalSelfAttention(6, 4, 4, 1, W_value_std=1.3), stax.Flatten(),
                                stax.Dense(5, W_std=1.2, b_std=0.1, parameterization="standard"), stax.Relu(),
                                stax.Dense(1, parameterization="standard"))
        self.assertIn("attention(width=6,", kfn.source_for(x.shape[1:]))
        want = ref.kernels([("attention", "softmax", 1.0, 1.3, 0.0, 0.0, {"width": 6}), ("flatten",),
                            ("dense", 1.2, 0.1, {"width": 5, "bias": True}), ("relu",), ("dense", 1.0, 0.0)],
                           x[:, None], "standard")
        close(self, kernels_of(kfn, x), want)

    def test_standard_finite_network_is_the_ntk_one_reparameterized(self) -> None:
        """The same draws give the same function under both parameterizations (only where the deviations live
        differs), and its output shape is init_fn's."""
        args = dict(filter_shape=(2, 1, 2), strides=(1, 2, 1), padding="SAME", W_std=1.3, b_std=0.4)
        init_s, apply_s, _ = stax.Conv(3, parameterization="standard", **args)
        init_n, apply_n, _ = stax.Conv(3, **args)
        shape, ps = init_s(11, self.x.shape)
        _, pn = init_n(11, self.x.shape)
        y = apply_s(ps, self.x)
        self.assertEqual(tuple(shape), y.shape)
        self.assertLess(np.abs(y - apply_n(pn, self.x)).max(), 1e-13)
        self.assertGreater(np.abs(ps[0] - pn[0]).max(), 0.1)


class VolumeRefusals(unittest.TestCase):
    """What volume nets do not take raises NotImplementedError naming the neural-tangents layer."""

    def refused(self, layer, name: str, *before) -> None:
        _, _, kfn = stax.serial(conv(4), *before, layer, stax.GlobalAvgPool(), stax.Dense(1))
        with self.assertRaisesRegex(NotImplementedError, name):
            kfn.source_for((2, 4, 4, 2))

    def test_layers_and_options_not_computed_on_volumes(self) -> None:
        self.refused(stax.LayerNorm(axis=(1, 2, 4)), r"LayerNorm\(axis=\(1, 2, 4\)\) over two of the three spatial "
                                                     r"axes on volumes")
        self.refused(stax.LayerNorm(axis=(-3, -2, -1)), r"LayerNorm.* on volumes")

    def test_mixed_parameterizations(self) -> None:
        self.refused(stax.Conv(4, (2, 2, 2), padding="SAME", parameterization="standard"), "mixes 'ntk' and 'standard'")


if __name__ == "__main__":
    unittest.main()
