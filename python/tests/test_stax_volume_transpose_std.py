"""ntkc.stax: ConvTranspose(parameterization='standard') with a 3-D filter on volumes (n, D, H, W, C) becomes
ntkc's conv_transpose(..., width=C) under param standard. kernel_fn against scripts/volume_reference.py
(independent numpy over all position pairs: neural-tangents' standard conv recursion, Θ' = C·Σ_f A_fΣA_fᵀ +
w²/|F|·Σ_f A_fΘA_fᵀ (+1 with b_std given), on lax.conv_transpose's maps) for every padding; planted errors (the
NTK parameterization, the bias's +1 dropped, the fan-in of the wrong layer) fail the same comparison; the finite
networks' Monte Carlo NNGP is kernel_fn's; ConvLocal(parameterization='standard') on volumes likewise (the conv's
standard recursion on equal positions); mixed parameterizations stay refused, naming the layer."""
from __future__ import annotations

import unittest

import numpy as np

from ntkc import stax

from .test_stax import close, kernels_of
from .test_stax_volume import ref

RNG = np.random.default_rng(5519)
STD = "standard"


def net(padding, first_b=0.1):
    return stax.serial(stax.Conv(5, (2, 2, 2), padding="SAME", W_std=1.3, b_std=0.2, parameterization=STD),
                       stax.Relu(),
                       stax.ConvTranspose(4, (2, 1, 2), (2, 1, 2), padding, W_std=1.2, b_std=first_b,
                                          parameterization=STD),
                       stax.Relu(),
                       stax.ConvTranspose(3, (1, 2, 1), None, padding, W_std=0.9, parameterization=STD),
                       stax.Erf(), stax.GlobalAvgPool(), stax.Dense(1, 1.1, parameterization=STD))[2]


def reference(padding, x, param=STD, bias=True, width=4):
    return ref.kernels([("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.3, 0.2, {"width": 5, "bias": True}),
                        ("relu",),
                        ("conv_transpose", (2, 1, 2), (2, 1, 2), padding.lower(), 1.2, 0.1,
                         {"width": width, "bias": bias}),
                        ("relu",),
                        ("conv_transpose", (1, 2, 1), (1, 1, 1), padding.lower(), 0.9, 0.0, {"width": 3}),
                        ("erf",), ("global_avg_pool",), ("dense", 1.1, 0.0)], x, param=param)


class ConvTransposeStandardOnVolumes(unittest.TestCase):
    x = RNG.standard_normal((3, 2, 2, 2, 3))

    def test_every_padding_matches_the_reference(self) -> None:
        for padding in ("SAME", "VALID", "CIRCULAR"):
            with self.subTest(padding=padding):
                kfn = net(padding)
                self.assertIn(f"conv_transpose(kd=2, kh=1, kw=2, sd=2, sh=1, sw=2, padding={padding.lower()}, "
                              "w_std=1.2, width=4, b_std=0.1)", kfn.source_for(self.x.shape[1:]))
                close(self, kernels_of(kfn, self.x), reference(padding, self.x))

    def test_planted_errors_fail(self) -> None:
        got = kernels_of(net("SAME"), self.x)
        for name, wrong in (("NTK parameterization", reference("SAME", self.x, param="ntk")),
                            ("bias's +1 dropped", reference("SAME", self.x, bias=False)),
                            ("the next fan-in 5, not 4", reference("SAME", self.x, width=5))):
            with self.subTest(wrong=name), self.assertRaises(AssertionError):
                close(self, got, wrong)

    def test_finite_networks_average_to_kernel_fn(self) -> None:
        """One hidden layer and a linear readout, both 'standard': E[f(x)f(x')] is the NNGP at any width, so the
        Monte Carlo mean must be within z = 5 standard errors (measured) of kernel_fn's, and 20 % off must not."""
        x = RNG.standard_normal((3, 2, 2, 2, 2))
        init, apply, kfn = stax.serial(
            stax.ConvTranspose(96, (2, 2, 2), (1, 2, 1), "SAME", W_std=1.4, b_std=0.1, parameterization=STD),
            stax.Relu(), stax.GlobalAvgPool(), stax.Dense(64, 1.2, 0.1, parameterization=STD))
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

    def test_conv_local_matches_the_reference(self) -> None:
        """ConvLocal under 'standard' on a volume: the conv's standard recursion kept on equal positions (b² and
        the +1 there only); the same kernels with the NTK parameterization planted fail."""
        for padding in ("SAME", "VALID", "CIRCULAR"):
            with self.subTest(padding=padding):
                kfn = stax.serial(stax.Conv(5, (2, 2, 2), padding="SAME", W_std=1.3, b_std=0.2, parameterization=STD),
                                  stax.Relu(),
                                  stax.ConvLocal(4, (2, 1, 2), (1, 2, 1), padding, W_std=1.7, b_std=0.6,
                                                 parameterization=STD),
                                  stax.Relu(), stax.Flatten(), stax.Dense(1, 0.8, parameterization=STD))[2]
                self.assertIn(f"conv_local(kd=2, kh=1, kw=2, sd=1, sh=2, sw=1, padding={padding.lower()}, w_std=1.7, "
                              "width=4, b_std=0.6)", kfn.source_for(self.x.shape[1:]))

                def want(param):
                    return ref.kernels([("conv", (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1.3, 0.2,
                                         {"width": 5, "bias": True}), ("relu",),
                                        ("conv_local", (2, 1, 2), (1, 2, 1), padding.lower(), (1, 1, 1), 1.7, 0.6,
                                         {"width": 4, "bias": True}), ("relu",), ("flatten",), ("dense", 0.8, 0.0)],
                                       self.x, param=param)
                got = kernels_of(kfn, self.x)
                close(self, got, want(STD))
                with self.assertRaises(AssertionError):
                    close(self, got, want("ntk"))

    def test_mixed_parameterizations_are_refused(self) -> None:
        with self.assertRaisesRegex(NotImplementedError, "ConvTranspose: ntkc takes one parameterization per net"):
            stax.serial(stax.Conv(4, (2, 2), padding="SAME", parameterization=STD), stax.ConvTranspose(4, (2, 2)),
                        stax.GlobalAvgPool(), stax.Dense(1, parameterization=STD))[2].source_for((4, 4, 2))
        with self.assertRaisesRegex(NotImplementedError, "mixes 'ntk' and 'standard'"):
            stax.serial(stax.Conv(4, (2, 2, 2), padding="SAME"), stax.ConvTranspose(4, (2, 2, 2), parameterization=STD),
                        stax.GlobalAvgPool(), stax.Dense(1))[2].source_for((2, 2, 2, 2))
        with self.assertRaisesRegex(NotImplementedError, "ConvLocal: ntkc takes one parameterization per net"):
            stax.serial(stax.Conv(4, (2, 2, 2), padding="SAME", parameterization=STD), stax.ConvLocal(4, (2, 2, 2)),
                        stax.GlobalAvgPool(), stax.Dense(1, parameterization=STD))[2].source_for((2, 2, 2, 2))


if __name__ == "__main__":
    unittest.main()
