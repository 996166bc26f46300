"""ntkc.stax on volumes (issue 21): Conv, AvgPool, SumPool with 3-D windows on NDHWC
inputs. kernel_fn against scripts/volume_reference.py (independent numpy, neural-tangents'
conventions); apply_fn against a convolution written out tap by tap, against the 2-D
Conv slice by slice for one-slice-deep filters, and its Monte Carlo NNGP against
kernel_fn within its standard errors."""
from __future__ import annotations

import importlib.util
import sys
import unittest

import numpy as np

from ntkc import stax

from .util import ROOT


def load_reference():
    spec = importlib.util.spec_from_file_location("volume_reference", ROOT / "scripts" / "volume_reference.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("volume_reference", mod)
    spec.loader.exec_module(mod)
    return mod


ref = load_reference()
RNG = np.random.default_rng(2112)


def conv_by_taps(x, Wt, b, strides, padding, dilation, w_std, b_std):
    """The NTK-parameterized 3-D conv, one output and one tap at a time (XLA's SAME: low = total // 2)."""
    n, grid, C = x.shape[0], x.shape[1:4], x.shape[4]
    k = Wt.shape[:3]
    outs, lows = [], []
    for size, kk, s, d in zip(grid, k, strides, dilation):
        span = (kk - 1) * d + 1
        out = (size - span) // s + 1 if padding == "VALID" else -(-size // s)
        outs.append(out)
        lows.append(0 if padding == "VALID" else max((out - 1) * s + span - size, 0) // 2)
    y = np.zeros((n,) + tuple(outs) + (Wt.shape[-1],))
    for o in np.ndindex(*outs):
        acc = np.zeros((n, Wt.shape[-1]))
        for f in np.ndindex(*k):
            idx = [o[a] * strides[a] + f[a] * dilation[a] - lows[a] for a in range(3)]
            if padding == "CIRCULAR":
                idx = [i % g for i, g in zip(idx, grid)]
            if all(0 <= i < g for i, g in zip(idx, grid)):
                acc += x[(slice(None),) + tuple(idx)] @ Wt[f]
        y[(slice(None),) + o] = w_std / np.sqrt(np.prod(k) * C) * acc + (b_std * b if b is not None else 0.0)
    return y


class StaxVolumes(unittest.TestCase):
    def test_kernel_fn_against_the_numpy_reference(self) -> None:
        _, _, kfn = stax.serial(
            stax.Conv(8, (2, 3, 2), (1, 2, 1), "SAME", W_std=1.4, b_std=0.1, rhs_dilation=(2, 1, 1)), stax.Relu(),
            stax.AvgPool((2, 1, 2), padding="SAME"), stax.Conv(8, (2, 2, 2), (2, 1, 1), "CIRCULAR", W_std=1.2),
            stax.Erf(), stax.SumPool((1, 2, 2), (1, 2, 2)), stax.Flatten(), stax.Dense(1, 1.1, 0.2))
        layers = [("conv", (2, 3, 2), (1, 2, 1), "same", (2, 1, 1), 1.4, 0.1), ("relu",),
                  ("avg_pool", (2, 1, 2), (1, 1, 1), "same"), ("conv", (2, 2, 2), (2, 1, 1), "circular", (1, 1, 1), 1.2, 0.0),
                  ("erf",), ("sum_pool", (1, 2, 2), (1, 2, 2), "valid"), ("flatten",), ("dense", 1.1, 0.2)]
        x = RNG.standard_normal((3, 3, 4, 5, 2))
        k = kfn(x)
        s, t = ref.kernels(layers, x)
        self.assertIn("input volume(3, 4, 5, 2)", kfn.source)
        self.assertLess(np.abs(k.nngp - s).max() / np.abs(s).max(), 1e-13)
        self.assertLess(np.abs(k.ntk - t).max() / np.abs(t).max(), 1e-13)

    def test_apply_fn_is_the_convolution_tap_by_tap(self) -> None:
        x = RNG.standard_normal((2, 3, 5, 5, 2))  # rows: 3 taps 2 apart span 5
        for padding in ("SAME", "VALID", "CIRCULAR"):
            init, apply, _ = stax.Conv(3, (2, 3, 2), (2, 1, 2), padding, W_std=1.3, b_std=0.4, rhs_dilation=(1, 2, 1))
            shape, params = init(7, x.shape)
            y = apply(params, x)
            want = conv_by_taps(x, params[0], params[1], (2, 1, 2), padding, (1, 2, 1), 1.3, 0.4)
            self.assertEqual(tuple(shape), y.shape)
            self.assertLess(np.abs(y - want).max(), 1e-12, padding)

    def test_one_slice_deep_filters_are_the_2d_conv_per_slice(self) -> None:
        x = RNG.standard_normal((2, 3, 4, 4, 2))
        init3, apply3, _ = stax.Conv(4, (1, 3, 3), (1, 1, 1), "SAME", W_std=1.5, b_std=0.2)
        _, apply2, _ = stax.Conv(4, (3, 3), (1, 1), "SAME", W_std=1.5, b_std=0.2)
        _, (Wt, b) = init3(3, x.shape)
        y = apply3((Wt, b), x)
        for d in range(3):
            self.assertLess(np.abs(y[:, d] - apply2((Wt[0], b), x[:, d])).max(), 1e-13)

    def test_finite_networks_average_to_kernel_fn(self) -> None:
        """One hidden conv layer and a linear readout: E[f(x)f(x')] is the NNGP at any width, so the
        Monte Carlo mean over samples must be within z = 5 standard errors (measured) of kernel_fn's."""
        init, apply, kfn = stax.serial(stax.Conv(128, (2, 2, 2), (1, 1, 1), "SAME", W_std=1.4, b_std=0.1),
                                       stax.Relu(), stax.GlobalAvgPool(), stax.Dense(64, 1.2, 0.1))
        x = RNG.standard_normal((3, 2, 3, 3, 2))
        exact = kfn(x, get="nngp")
        samples = []
        for seed in range(64):
            _, params = init(seed, x.shape)
            f = apply(params, x)  # (3, 64): 64 independent readout units given the hidden layer
            samples.append(f @ f.T / f.shape[1])
        samples = np.array(samples)
        mean, se = samples.mean(axis=0), samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
        worst = (np.abs(mean - exact) / se).max()
        self.assertLess(worst, 5.0, f"Monte Carlo NNGP {mean} vs {exact}")
        self.assertGreater((np.abs(mean * 1.2 - exact) / se).max(), 5.0, "a 20 % error would pass")


if __name__ == "__main__":
    unittest.main()
