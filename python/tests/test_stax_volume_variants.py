"""ntkc.stax on volumes: ConvTranspose, ConvLocal, AvgPool(normalize_edges=True), Index and Dropout with 3-D
inputs (n, D, H, W, C), and windows inside FanOut branches. Each kernel_fn against
scripts/volume_reference.py (independent numpy over all position pairs, neural-tangents' conventions:
ConvTranspose the conv recursion on lax.conv_transpose's maps, ConvLocal the conv's kernels on equal positions
and 0 across them, normalize_edges dividing each output by its window's in-bounds voxels, Dropout(rate) dividing
an input's kernel with itself at the same position by rate, Index reading position (d, h, w)); a wrong reference
must fail the same comparison; what stays refused on volumes names the layer."""
from __future__ import annotations

import unittest

import numpy as np

import ntkc
from ntkc import stax

from .test_stax import close, kernels_of
from .test_stax_volume import ref

RNG = np.random.default_rng(3321)


def readout(kfn_layers, x, tail=None):
    """kernel_fn of the layers then GlobalAvgPool and Dense(1, 1.1, 0.1) (or tail), on x."""
    _, _, kfn = stax.serial(*kfn_layers, *(tail or (stax.GlobalAvgPool(), stax.Dense(1, 1.1, 0.1))))
    return kfn, kernels_of(kfn, x)


POOLED = [("global_avg_pool",), ("dense", 1.1, 0.1)]


class VolumeVariants(unittest.TestCase):
    def setUp(self) -> None:
        self.x = RNG.standard_normal((3, 2, 3, 3, 2))

    def test_conv_transpose_every_padding(self) -> None:
        for padding in ("SAME", "VALID", "CIRCULAR"):
            with self.subTest(padding=padding):
                kfn, got = readout([stax.ConvTranspose(4, (2, 2, 3), (1, 2, 1), padding, W_std=1.3, b_std=0.1),
                                    stax.Relu(), stax.ConvTranspose(4, (1, 3, 2), (2, 1, 2), padding, W_std=1.2),
                                    stax.Erf()], self.x)
                want = ref.kernels([("conv_transpose", (2, 2, 3), (1, 2, 1), padding.lower(), 1.3, 0.1), ("relu",),
                                    ("conv_transpose", (1, 3, 2), (2, 1, 2), padding.lower(), 1.2, 0.0), ("erf",)]
                                   + POOLED, self.x)
                self.assertIn(f"conv_transpose(kd=2, kh=2, kw=3, sd=1, sh=2, sw=1, padding={padding.lower()}",
                              kfn.source_for(self.x.shape[1:]))
                close(self, got, want)

    def test_conv_local_every_padding_and_frozen(self) -> None:
        for padding in ("SAME", "VALID", "CIRCULAR"):
            with self.subTest(padding=padding):
                _, got = readout([stax.ConvLocal(4, (2, 2, 2), (1, 1, 2), padding, W_std=1.4, b_std=0.2), stax.Relu(),
                                  stax.ConvLocal(4, (1, 2, 1), padding=padding, W_std=0.9, trainable=False)], self.x,
                                 (stax.Flatten(), stax.Dense(1, 1.1, 0.1)))
                want = ref.kernels([("conv_local", (2, 2, 2), (1, 1, 2), padding.lower(), (1, 1, 1), 1.4, 0.2),
                                    ("relu",), ("conv_local", (1, 2, 1), (1, 1, 1), padding.lower(), (1, 1, 1), 0.9,
                                                0.0, {"frozen": True}), ("flatten",), ("dense", 1.1, 0.1)], self.x)
                close(self, got, want)

    def test_avg_pool_normalize_edges(self) -> None:
        for padding, strides in (("SAME", (1, 1, 1)), ("SAME", (2, 2, 1)), ("VALID", (1, 2, 1))):
            with self.subTest(padding=padding, strides=strides):
                _, got = readout([stax.Conv(4, (2, 2, 2), padding="SAME", W_std=1.2, b_std=0.1), stax.Relu(),
                                  stax.AvgPool((2, 3, 2), strides, padding, normalize_edges=True)], self.x)
                want = ref.kernels([("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.2, 0.1), ("relu",),
                                    ("avg_pool", (2, 3, 2), strides, padding.lower(), True)] + POOLED, self.x)
                close(self, got, want)

    def test_dropout_and_index(self) -> None:
        cases = [(stax.Slice[:, 1, 2, 0], 1 * 9 + 2 * 3 + 0), (stax.Slice[:, -1, 0, -1, :], 1 * 9 + 0 + 2),
                 (stax.Slice[:, 0, 2, 1, ...], 7)]
        for idx, p in cases:
            with self.subTest(index=idx):
                kfn, got = readout([stax.Conv(4, (2, 2, 2), padding="SAME", W_std=1.3, b_std=0.2), stax.Relu(),
                                    stax.Dropout(0.6), stax.Index(idx)], self.x, (stax.Dense(1, 1.1, 0.1),))
                want = ref.kernels([("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.3, 0.2), ("relu",),
                                    ("dropout", 0.6), ("index", p), ("dense", 1.1, 0.1)], self.x)
                self.assertIn(f"index({p})", kfn.source_for(self.x.shape[1:]))
                close(self, got, want)

    def test_dropout_test_mode_is_the_identity(self) -> None:
        layers = [stax.Conv(4, (2, 2, 2), padding="SAME", W_std=1.3), stax.Relu()]
        _, got = readout(layers[:1] + [stax.Dropout(0.3, mode="test")] + layers[1:], self.x)
        close(self, got, ref.kernels([("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.3, 0.0), ("relu",)]
                                     + POOLED, self.x))

    def test_windows_inside_branches_that_keep_the_grid(self) -> None:
        block = stax.serial(
            stax.FanOut(3),
            stax.parallel(stax.serial(stax.Relu(), stax.ConvTranspose(4, (2, 2, 2), padding="SAME", W_std=1.3)),
                          stax.serial(stax.Erf(), stax.ConvLocal(4, (2, 1, 2), padding="CIRCULAR", W_std=1.1,
                                                                 b_std=0.1)),
                          stax.AvgPool((2, 2, 2), padding="SAME", normalize_edges=True)),
            stax.FanInSum())
        _, got = readout([stax.Conv(4, (2, 2, 2), padding="SAME", W_std=1.2), block, stax.Relu(),
                          stax.SumPool((1, 2, 2), padding="CIRCULAR")], self.x)
        want = ref.kernels([("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.2, 0.0),
                            ("fanout", "sum", [(1.0, [("relu",), ("conv_transpose", (2, 2, 2), (1, 1, 1), "same", 1.3,
                                                                  0.0)]),
                                               (1.0, [("erf",), ("conv_local", (2, 1, 2), (1, 1, 1), "circular",
                                                                 (1, 1, 1), 1.1, 0.1)]),
                                               (1.0, [("avg_pool", (2, 2, 2), (1, 1, 1), "same", True)])]),
                            ("relu",), ("sum_pool", (1, 2, 2), (1, 1, 1), "circular")] + POOLED, self.x)
        close(self, got, want)

    def test_a_wrong_reference_fails(self) -> None:
        """The comparison tells these layers apart: edges not normalised, the index's axes reversed, the dropout
        left out, a transposed conv taken for a conv each fail it."""
        conv = stax.Conv(4, (2, 2, 2), padding="SAME", W_std=1.3, b_std=0.2)
        rconv = ("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.3, 0.2)
        cases = [
            ([conv, stax.AvgPool((2, 3, 2), padding="SAME", normalize_edges=True), stax.GlobalAvgPool(),
              stax.Dense(1, 1.1, 0.1)],
             [rconv, ("avg_pool", (2, 3, 2), (1, 1, 1), "same", False)] + POOLED),
            ([conv, stax.Relu(), stax.Index(stax.Slice[:, 1, 2, 0]), stax.Dense(1, 1.1, 0.1)],
             [rconv, ("relu",), ("index", 0 * 9 + 2 * 3 + 1), ("dense", 1.1, 0.1)]),
            ([conv, stax.Relu(), stax.Dropout(0.6), stax.GlobalAvgPool(), stax.Dense(1, 1.1, 0.1)],
             [rconv, ("relu",)] + POOLED),
            ([stax.ConvTranspose(4, (2, 2, 2), (1, 2, 1), "SAME", W_std=1.3), stax.Relu(), stax.GlobalAvgPool(),
              stax.Dense(1, 1.1, 0.1)],
             [("conv", (2, 2, 2), (1, 2, 1), "same", (1, 1, 1), 1.3, 0.0), ("relu",)] + POOLED),
        ]
        for layers, wrong in cases:
            with self.subTest(wrong=wrong[1][0]):
                _, _, kfn = stax.serial(*layers)
                with self.assertRaises(AssertionError):
                    close(self, kernels_of(kfn, self.x), ref.kernels(wrong, self.x))


class VolumeVariantNetworks(unittest.TestCase):
    """init_fn/apply_fn of the 3-D ConvTranspose and ConvLocal: one-slice-deep filters are the 2-D layers slice by
    slice; swapping the depth and height axes of the input, the filter and the strides swaps the output's; their
    Monte Carlo NNGP is kernel_fn's."""

    x = RNG.standard_normal((2, 3, 4, 3, 2))

    def test_one_slice_deep_filters_are_the_2d_layers_per_slice(self) -> None:
        for padding in ("SAME", "VALID", "CIRCULAR"):
            with self.subTest(padding=padding):
                init3, apply3, _ = stax.ConvTranspose(4, (1, 3, 2), (1, 2, 3), padding, W_std=1.5, b_std=0.2)
                _, apply2, _ = stax.ConvTranspose(4, (3, 2), (2, 3), padding, W_std=1.5, b_std=0.2)
                shape, (Wt, b) = init3(3, self.x.shape)
                y = apply3((Wt, b), self.x)
                self.assertEqual(tuple(shape), y.shape)
                for d in range(3):
                    self.assertLess(np.abs(y[:, d] - apply2((Wt[0], b), self.x[:, d])).max(), 1e-13)
                init3, apply3, _ = stax.ConvLocal(4, (1, 2, 2), (1, 2, 1), padding, W_std=1.5, b_std=0.2)
                _, apply2, _ = stax.ConvLocal(4, (2, 2), (2, 1), padding, W_std=1.5, b_std=0.2)
                shape, (Wt, b) = init3(4, self.x.shape)
                y = apply3((Wt, b), self.x)
                self.assertEqual(tuple(shape), y.shape)
                for d in range(3):
                    self.assertLess(np.abs(y[:, d] - apply2((Wt[d, :, :, 0], b[d]), self.x[:, d])).max(), 1e-13)

    def test_depth_and_height_play_the_same_part(self) -> None:
        for padding in ("SAME", "VALID", "CIRCULAR"):
            with self.subTest(padding=padding):
                init, apply, _ = stax.ConvTranspose(3, (2, 3, 2), (2, 1, 2), padding, W_std=1.2, b_std=0.3)
                _, swapped, _ = stax.ConvTranspose(3, (3, 2, 2), (1, 2, 2), padding, W_std=1.2, b_std=0.3)
                _, (Wt, b) = init(5, self.x.shape)
                y = apply((Wt, b), self.x)
                z = swapped((Wt.transpose(1, 0, 2, 3, 4), b), self.x.transpose(0, 2, 1, 3, 4))
                self.assertLess(np.abs(y - z.transpose(0, 2, 1, 3, 4)).max(), 1e-13)
                init, apply, _ = stax.ConvLocal(3, (2, 3, 2), (2, 1, 2), padding, W_std=1.2, b_std=0.3)
                _, swapped, _ = stax.ConvLocal(3, (3, 2, 2), (1, 2, 2), padding, W_std=1.2, b_std=0.3)
                _, (Wt, b) = init(6, self.x.shape)
                y = apply((Wt, b), self.x)
                z = swapped((Wt.transpose(1, 0, 2, 4, 3, 5, 6, 7), b.transpose(1, 0, 2, 3)),
                            self.x.transpose(0, 2, 1, 3, 4))
                self.assertLess(np.abs(y - z.transpose(0, 2, 1, 3, 4)).max(), 1e-13)

    def test_finite_networks_average_to_kernel_fn(self) -> None:
        """One hidden layer and a linear readout: E[f(x)f(x')] is the NNGP at any width, so the Monte Carlo mean
        over samples must be within z = 5 standard errors (measured) of kernel_fn's."""
        x = RNG.standard_normal((3, 2, 3, 3, 2))
        for hidden in (stax.ConvTranspose(128, (2, 2, 2), (1, 2, 1), "SAME", W_std=1.4, b_std=0.1),
                       stax.ConvLocal(128, (2, 2, 2), (1, 1, 1), "CIRCULAR", W_std=1.4, b_std=0.1)):
            init, apply, kfn = stax.serial(hidden, stax.Relu(), stax.GlobalAvgPool(), stax.Dense(64, 1.2, 0.1))
            exact = kfn(x, get="nngp")
            samples = []
            for seed in range(64):
                _, params = init(seed, x.shape)
                f = apply(params, x)  # (3, 64): 64 independent readout units given the hidden layer
                samples.append(f @ f.T / f.shape[1])
            samples = np.array(samples)
            mean, se = samples.mean(axis=0), samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
            with self.subTest(layer=hidden[2].layer.name):
                self.assertLess((np.abs(mean - exact) / se).max(), 5.0, f"Monte Carlo NNGP {mean} vs {exact}")
                self.assertGreater((np.abs(mean * 1.2 - exact) / se).max(), 5.0, "a 20 % error would pass")


class VolumeVariantRefusals(unittest.TestCase):
    """What stays refused on volumes raises naming the layer."""

    def source(self, *layers) -> str:
        _, _, kfn = stax.serial(stax.Conv(4, (2, 2, 2), padding="SAME"), *layers, stax.GlobalAvgPool(), stax.Dense(1))
        return kfn.source_for((2, 4, 4, 2))

    def test_layers_still_refused(self) -> None:
        with self.assertRaisesRegex(NotImplementedError, r"LayerNorm\(axis=\(2, 3, 4\)\) over two of the three "
                                                         r"spatial axes on volumes"):
            self.source(stax.LayerNorm(axis=(2, 3, 4)))
        with self.assertRaisesRegex(NotImplementedError, "ConvTranspose: ntkc takes one parameterization per net; "
                                                         "this one mixes 'ntk' and 'standard'"):
            _, _, kfn = stax.serial(stax.Conv(4, (2, 2, 2), padding="SAME", parameterization="standard"),
                                    stax.ConvTranspose(4, (2, 2, 2)), stax.GlobalAvgPool(), stax.Dense(1))
            kfn.source_for((2, 4, 4, 2))
        with self.assertRaisesRegex(ValueError, r"ConvLocal on volumes needs a 3-D filter_shape"):
            self.source(stax.ConvLocal(4, (2, 2)))
        with self.assertRaisesRegex(IndexError, r"Index: position \(2, 0, 0\) outside the volumes' \(2, 4, 4\)"):
            self.source(stax.Index(stax.Slice[:, 2, 0, 0]))

    def test_masks_on_volumes(self) -> None:
        """mask_constant on volumes is computed (input volume(..., masked=true)), dropout too; ConvTranspose,
        whose outputs would mix padded and valid positions, is refused by name."""
        _, _, kfn = stax.serial(stax.Conv(4, (2, 2, 2), padding="SAME"), stax.Dropout(0.5), stax.GlobalAvgPool(),
                                stax.Dense(1))
        x = RNG.standard_normal((2, 2, 3, 3, 1))
        x[0, 1] = -7.0
        t = kfn(x, None, "ntk", mask_constant=-7.0)
        m = np.all(x == -7.0, axis=-1)
        _, want = ref.kernels([("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.0, 0.0), ("dropout", 0.5),
                               ("global_avg_pool",), ("dense", 1.0, 0.0)], np.where(m[..., None], 0.0, x), "ntk", m)
        self.assertLess(np.abs(t - want).max() / np.abs(want).max(), 1e-13)
        _, _, up = stax.serial(stax.ConvTranspose(4, (2, 2, 2), padding="SAME"), stax.Relu(), stax.GlobalAvgPool(),
                               stax.Dense(1))
        with self.assertRaisesRegex(ntkc.Error, "masked volumes take conv, conv_local and local pooling that keep "
                                                "the grid, not conv_transpose"):
            up(x, None, "ntk", mask_constant=-7.0)


if __name__ == "__main__":
    unittest.main()
