"""ntkc.stax: ConvTranspose and ConvLocal with parameterization='standard' on images and sequences (issue 21)
become ntkc's conv_transpose/conv_local(..., width=C) under param standard.

neural-tangents' _Conv (stax/linear.py) is one code for Conv, ConvTranspose and ConvLocal: fan_in = C·|F| (input
channels times the filter, get_fan_in) for all three; standard_init_fn draws W·W_std/√fan_in and b·b_std, apply_fn
uses them unscaled; kernel_fn's standard branch is
  nngp' = W_std²·conv_unscaled(nngp) + b_std²,  ntk' = fan_in·conv_unscaled(nngp) + W_std²·conv_unscaled(ntk) (+1)
with conv_unscaled the tap average of the layer's maps (the transposed maps of lax.conv_transpose, folded for
CIRCULAR; ConvLocal's same-pixel pairs only, where its affine also adds b_std² and the 1).

kernel_fn against two references written without ntkc: scripts/volume_reference.py (every window a sum of 0/1
maps A_f over all position pairs; an image is a one-slice volume) and the recursion as neural-tangents' code
computes it step by step (test_stax_conv_variants.py's nt_conv_transpose / nt_conv_local, the CIRCULAR crop of
_same_pad_for_filter_shape_transpose included) with the standard branch above; every padding, strides that do
not divide the size, variances far from 1. Planted errors (the NTK parameterization, the bias's +1 dropped, the
fan-in C instead of C·|F|) fail the same comparison; the finite networks' Monte Carlo NNGP is kernel_fn's."""
from __future__ import annotations

import unittest

import numpy as np

from ntkc import stax

from . import reference as ref
from .test_stax import close, kernels_of, reference_pairs
from .test_stax_conv_variants import nt_conv_local, nt_conv_transpose
from .test_stax_volume import ref as vref

RNG = np.random.default_rng(2161)
STD = "standard"
# layer 2 (ConvTranspose) and 3 (ConvLocal): windows and strides that do not divide the 3×4 / 6×12 grids
T_WIN, T_STR, L_WIN, L_STR = (3, 2), (2, 3), (2, 3), (2, 2)


def net(padding: str, t_bias=0.9, local_padding=None):
    lp = local_padding or padding
    return stax.serial(stax.Conv(5, (2, 2), padding="SAME", W_std=1.3, b_std=0.2, parameterization=STD),
                       stax.Relu(),
                       stax.ConvTranspose(4, T_WIN, T_STR, padding, W_std=2.3, b_std=t_bias, parameterization=STD),
                       stax.Relu(),
                       stax.ConvLocal(3, L_WIN, L_STR, lp, W_std=0.45, b_std=1.6, parameterization=STD),
                       stax.Erf(), stax.GlobalAvgPool(), stax.Dense(1, 1.1, parameterization=STD))[2]


def volume_reference(padding: str, x: np.ndarray, param=STD, t_bias=True, local_padding=None):
    """scripts/volume_reference.py on one-slice volumes."""
    lp = (local_padding or padding).lower()
    return vref.kernels([("conv", (1, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.3, 0.2, {"width": 5, "bias": True}),
                         ("relu",),
                         ("conv_transpose", (1,) + T_WIN, (1,) + T_STR, padding.lower(), 2.3, 0.9,
                          {"width": 4, "bias": t_bias}),
                         ("relu",),
                         ("conv_local", (1,) + L_WIN, (1,) + L_STR, lp, (1, 1, 1), 0.45, 1.6, {"width": 3, "bias": True}),
                         ("erf",), ("global_avg_pool",), ("dense", 1.1, 0.0)], x[:, None], param=param)


def standard(unscaled: ref.K, w: float, b: float | None, fan_in: float, local: bool) -> ref.K:
    """neural-tangents' standard branch from an NTK-parameterized layer at w = 1, b = 0 (Σ' = U(Σ),
    Θ' = U(Σ) + U(Θ)): nngp = w²·U(Σ) + b², ntk = fan_in·U(Σ) + w²·U(Θ) (+1 with a bias); b² and the 1 on the
    same-pixel pairs only for ConvLocal (its affine's spatial-diagonal shift)."""
    oh, ow = unscaled.ab.shape[:2]
    mask = np.einsum("ik,jl->ijkl", np.eye(oh), np.eye(ow)) if local else np.ones((oh, ow, oh, ow))
    bb, one = (0.0, 0.0) if b is None else (b * b, 1.0)
    s = lambda m: w * w * m + bb * mask
    t = lambda m, th: fan_in * m + w * w * (th - m) + one * mask
    u = unscaled
    return ref.K(s(u.aa), s(u.bb), s(u.ab), t(u.ab, u.ntk), t(u.aa, u.ntk_aa), t(u.bb, u.ntk_bb))


def nt_reference(padding: str, x: np.ndarray, fan_taps=True):
    """The recursion as neural-tangents' code runs it (fan_taps=False plants C instead of C·|F|)."""
    t_fan = 5 * (T_WIN[0] * T_WIN[1] if fan_taps else 1)
    l_fan = 4 * (L_WIN[0] * L_WIN[1] if fan_taps else 1)

    def recursion(a, b):
        k = ref.activation(ref.conv_standard(ref.images(a, b), (2, 2), (1, 1), "SAME", 1.3, 0.2, x.shape[-1]),
                           ref.relu_dual)
        k = standard(nt_conv_transpose(k, T_WIN, T_STR, padding, 1.0, 0.0), 2.3, 0.9, t_fan, False)
        k = ref.activation(k, ref.relu_dual)
        k = standard(nt_conv_local(k, L_WIN, L_STR, padding, 1.0, 0.0), 0.45, 1.6, l_fan, True)
        k = ref.global_avg_pool(ref.activation(k, ref.erf_dual(1, 1, 0)))
        return ref.dense_standard(k, 1.1, None, 3)

    return reference_pairs(x, recursion)


class StandardOnImages(unittest.TestCase):
    x = RNG.standard_normal((3, 3, 4, 2)) * np.array([1.8, 0.4])

    def test_every_padding_matches_both_references(self) -> None:
        for padding in ("SAME", "VALID", "CIRCULAR"):
            with self.subTest(padding=padding):
                kfn = net(padding)
                got = kernels_of(kfn, self.x)
                source = kfn.source_for(self.x.shape[1:])
                self.assertIn(f"conv_transpose(kh=3, kw=2, sh=2, sw=3, w_std=2.3, width=4, b_std=0.9, "
                              f"padding={padding.lower()})", source)
                self.assertIn(f"conv_local(kh=2, kw=3, sh=2, sw=2, w_std=0.45, width=3, b_std=1.6, "
                              f"padding={padding.lower()})", source)
                close(self, got, volume_reference(padding, self.x), rtol=1e-13)
                close(self, got, nt_reference(padding, self.x), rtol=1e-13)

    def test_planted_errors_fail(self) -> None:
        got = kernels_of(net("VALID"), self.x)
        for name, wrong in (("NTK parameterization", volume_reference("VALID", self.x, param="ntk")),
                            ("the transpose's +1 dropped", volume_reference("VALID", self.x, t_bias=False)),
                            ("fan-in C, not C·|F|", nt_reference("VALID", self.x, fan_taps=False))):
            with self.subTest(wrong=name), self.assertRaises(AssertionError):
                close(self, got, wrong, rtol=1e-6)

    def test_sequences(self) -> None:
        """(n, L, C) inputs: 1-D filters on a one-row image (the image back end's sequences)."""
        x = RNG.standard_normal((3, 5, 2)) * 1.5
        for padding in ("SAME", "CIRCULAR"):
            with self.subTest(padding=padding):
                kfn = stax.serial(stax.ConvTranspose(4, (3,), (2,), padding, W_std=1.9, b_std=0.4, parameterization=STD),
                                  stax.Relu(), stax.ConvLocal(3, (2,), (3,), padding, W_std=0.7, parameterization=STD),
                                  stax.Relu(), stax.Flatten(), stax.Dense(1, 1.2, 0.3, parameterization=STD))[2]
                want = vref.kernels([("conv_transpose", (1, 1, 3), (1, 1, 2), padding.lower(), 1.9, 0.4,
                                      {"width": 4, "bias": True}), ("relu",),
                                     ("conv_local", (1, 1, 2), (1, 1, 3), padding.lower(), (1, 1, 1), 0.7, 0.0,
                                      {"width": 3}), ("relu",), ("flatten",), ("dense", 1.2, 0.3, {"bias": True})],
                                    x[:, None, None], param=STD)
                close(self, kernels_of(kfn, x), want, rtol=1e-13)

    def test_one_tap_identity(self) -> None:
        """A 1×1 stride-1 ConvTranspose is the 1×1 Conv (lax.conv_transpose of one tap is the tap): the same
        kernels, fan-in term and bias included."""
        def with_layer(layer):
            return stax.serial(stax.Conv(5, (2, 2), padding="SAME", W_std=1.3, b_std=0.2, parameterization=STD),
                               stax.Relu(), layer, stax.Erf(), stax.GlobalAvgPool(),
                               stax.Dense(1, 1.1, parameterization=STD))[2]
        for padding in ("SAME", "VALID", "CIRCULAR"):
            with self.subTest(padding=padding):
                a = kernels_of(with_layer(stax.ConvTranspose(4, (1, 1), None, padding, 2.1, 0.7, parameterization=STD)),
                               self.x)
                b = kernels_of(with_layer(stax.Conv(4, (1, 1), None, padding, 2.1, 0.7, parameterization=STD)), self.x)
                close(self, a, b, rtol=1e-13)

    def test_finite_networks_average_to_kernel_fn(self) -> None:
        """One hidden layer of each and a linear readout, all 'standard': E[f(x)f(x')] is the NNGP at any width,
        so the Monte Carlo mean must be within z = 5 standard errors (measured) of kernel_fn's, and 20 % off
        must not."""
        x = RNG.standard_normal((3, 2, 3, 2))
        for name, hidden in (
                ("ConvTranspose", stax.ConvTranspose(96, (2, 3), (2, 1), "CIRCULAR", W_std=1.4, b_std=0.3,
                                                     parameterization=STD)),
                ("ConvLocal", stax.ConvLocal(96, (2, 2), (1, 2), "SAME", W_std=1.4, b_std=0.3, parameterization=STD))):
            with self.subTest(layer=name):
                init, apply, kfn = stax.serial(hidden, stax.Relu(), stax.Flatten(),
                                               stax.Dense(64, 1.2, 0.1, parameterization=STD))
                exact = kfn(x, get="nngp")
                samples = []
                for seed in range(48):
                    _, params = init(seed, x.shape)
                    f = apply(params, x)
                    samples.append(f @ f.T / f.shape[1])
                samples = np.array(samples)
                mean, se = samples.mean(axis=0), samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
                self.assertLess((np.abs(mean - exact) / se).max(), 5.0, f"Monte Carlo NNGP {mean} vs {exact}")
                self.assertGreater((np.abs(mean * 1.2 - exact) / se).max(), 5.0, "a 20 % error would pass")

    def test_what_stays_refused(self) -> None:
        with self.assertRaisesRegex(NotImplementedError, "mixes 'ntk' and 'standard'"):
            stax.serial(stax.Conv(4, (2, 2), padding="SAME"), stax.ConvLocal(4, (2, 2), parameterization=STD),
                        stax.GlobalAvgPool(), stax.Dense(1))[2].source_for((3, 3, 2))
        with self.assertRaisesRegex(NotImplementedError, "mixes 'ntk' and 'standard'"):
            stax.serial(stax.Conv(4, (2, 2), padding="SAME", parameterization=STD), stax.ConvTranspose(4, (2, 2)),
                        stax.GlobalAvgPool(), stax.Dense(1, parameterization=STD))[2].source_for((3, 3, 2))


if __name__ == "__main__":
    unittest.main()
