"""ntkc.stax on volumes: a 1×1×1 window with padding='VALID' inside a FanOut branch (Conv, dilated too,
ConvTranspose, ConvLocal, AvgPool, SumPool). Its one tap is the voxel itself, so the grid is kept (ntkc's
ir_window_keeps_grid) and the branch translates. Each kernel_fn against scripts/volume_reference.py (independent
numpy over all position pairs, neural-tangents' conventions, the layers with padding 'valid' as written); planted
errors in the reference (a ConvLocal taken for a Conv, a W_std 10 % off, a branch left out) must fail the same
comparison; wider valid windows inside branches (which move the grid) translate too."""
from __future__ import annotations

import unittest

import numpy as np

from ntkc import stax

from .test_stax import close, kernels_of
from .test_stax_volume import ref

RNG = np.random.default_rng(4417)
ONE = (1, 1, 1)
TAIL = [("conv", (1, 2, 2), ONE, "same", ONE, 1.05, 0.0), ("relu",), ("global_avg_pool",), ("dense", 1.1, 0.1)]
CONV_IN = ("conv", (2, 2, 2), ONE, "same", ONE, 1.2, 0.1)


def net(block):
    """kernel_fn of Conv(SAME), the block, Conv(SAME) (a concat's output is no Gaussian), Relu, GlobalAvgPool,
    Dense."""
    return stax.serial(stax.Conv(4, (2, 2, 2), padding="SAME", W_std=1.2, b_std=0.1), block,
                       stax.Conv(4, (1, 2, 2), padding="SAME", W_std=1.05), stax.Relu(), stax.GlobalAvgPool(),
                       stax.Dense(1, 1.1, 0.1))[2]


def conv_block():
    return stax.serial(
        stax.FanOut(3),
        stax.parallel(stax.serial(stax.Relu(), stax.Conv(4, ONE, padding="VALID", W_std=1.3, b_std=0.2)),
                      stax.serial(stax.Erf(), stax.Conv(4, ONE, padding="VALID", W_std=0.9, rhs_dilation=(2, 1, 2))),
                      stax.Identity()),
        stax.FanInSum())


def variants_block():
    return stax.serial(
        stax.FanOut(4),
        stax.parallel(stax.serial(stax.Relu(), stax.ConvTranspose(4, ONE, padding="VALID", W_std=1.4, b_std=0.1)),
                      stax.serial(stax.Erf(), stax.ConvLocal(4, ONE, padding="VALID", W_std=1.1, b_std=0.3)),
                      stax.AvgPool(ONE, padding="VALID"),
                      stax.SumPool(ONE, padding="VALID")),
        stax.FanInConcat())


def conv_ref(w1=1.3, dil_w=0.9, third=True):
    branches = [(1.0, [("relu",), ("conv", ONE, ONE, "valid", ONE, w1, 0.2)]),
                (1.0, [("erf",), ("conv", ONE, ONE, "valid", (2, 1, 2), dil_w, 0.0)])]
    branches += [(1.0, [])] if third else []
    return [CONV_IN, ("fanout", "sum", branches)] + TAIL


def variants_ref(local="conv_local", wt=1.4):
    return [CONV_IN,
            ("fanout", "concat", [(1.0, [("relu",), ("conv_transpose", ONE, ONE, "valid", wt, 0.1)]),
                                  (1.0, [("erf",), (local, ONE, ONE, "valid", ONE, 1.1, 0.3)]),
                                  (1.0, [("avg_pool", ONE, ONE, "valid")]),
                                  (1.0, [("sum_pool", ONE, ONE, "valid")])])] + TAIL


class OneTapValidWindowsInBranches(unittest.TestCase):
    x = RNG.standard_normal((3, 2, 3, 3, 2))

    def test_conv_translates_and_matches_the_reference(self) -> None:
        kfn = net(conv_block())
        src = kfn.source_for(self.x.shape[1:])
        self.assertIn("conv(w_std=1.3, b_std=0.2, kd=1, kh=1, kw=1, sd=1, sh=1, sw=1, padding=valid", src)
        close(self, kernels_of(kfn, self.x), ref.kernels(conv_ref(), self.x))

    def test_variants_and_pools_translate_and_match_the_reference(self) -> None:
        kfn = net(variants_block())
        src = kfn.source_for(self.x.shape[1:])
        self.assertIn("conv_transpose(kd=1, kh=1, kw=1, sd=1, sh=1, sw=1, padding=valid", src)
        self.assertIn("conv_local(kd=1, kh=1, kw=1, sd=1, sh=1, sw=1, padding=valid", src)
        close(self, kernels_of(kfn, self.x), ref.kernels(variants_ref(), self.x))

    def test_planted_errors_fail(self) -> None:
        got_conv = kernels_of(net(conv_block()), self.x)
        got_var = kernels_of(net(variants_block()), self.x)
        for name, got, wrong in (("W_std 10 % off", got_conv, conv_ref(w1=1.3 * 1.1)),
                                 ("dilated W_std 10 % off", got_conv, conv_ref(dil_w=0.9 * 1.1)),
                                 ("a branch left out", got_conv, conv_ref(third=False)),
                                 ("ConvLocal taken for a Conv", got_var, variants_ref(local="conv")),
                                 ("ConvTranspose W_std 10 % off", got_var, variants_ref(wt=1.4 * 1.1))):
            with self.subTest(wrong=name), self.assertRaises(AssertionError):
                close(self, got, ref.kernels(wrong, self.x))

    def test_wider_or_strided_valid_windows_translate(self) -> None:
        """Windows that move the grid inside branches (each branch from the fanout's grid, ending on one grid)."""
        block = stax.serial(stax.FanOut(2),
                            stax.parallel(stax.Conv(4, (1, 2, 1), (1, 1, 1), "VALID", W_std=1.3),
                                          stax.serial(stax.AvgPool((1, 2, 1), (1, 1, 1), "VALID"),
                                                      stax.Conv(4, ONE, (1, 1, 1), "VALID", W_std=0.9, b_std=0.2))),
                            stax.FanInSum())
        want = ref.kernels([CONV_IN, ("fanout", "sum", [(1.0, [("conv", (1, 2, 1), ONE, "valid", ONE, 1.3, 0.0)]),
                                                        (1.0, [("avg_pool", (1, 2, 1), ONE, "valid"),
                                                               ("conv", ONE, ONE, "valid", ONE, 0.9, 0.2)])])] + TAIL,
                           self.x)
        close(self, kernels_of(net(block), self.x), want)


if __name__ == "__main__":
    unittest.main()
