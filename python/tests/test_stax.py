"""ntkc.stax: nets equal to the hand-written .ntk they map to, every layer's
parameters as neural-tangents defines them (tests/reference.py), finite
networks whose output covariance approaches the kernel, and clear errors."""
from __future__ import annotations

import math
import unittest

import numpy as np

import ntkc
from ntkc import stax

from . import reference as ref
from .util import example

RNG = np.random.default_rng(4)


def kernels_of(kernel_fn, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = kernel_fn(x, None, ("nngp", "ntk"))
    return k.nngp, k.ntk


def reference_pairs(x: np.ndarray, recursion) -> tuple[np.ndarray, np.ndarray]:
    """NNGP and NTK of every pair of rows of x by the reference recursion."""
    n = len(x)
    nngp, ntk = np.empty((n, n)), np.empty((n, n))
    for i in range(n):
        for j in range(n):
            k = recursion(x[i], x[j])
            nngp[i, j], ntk[i, j] = float(k.ab), float(k.ntk)
    return nngp, ntk


class AsHandWritten(unittest.TestCase):
    """A stax net and the .ntk it maps to give the same kernel."""

    def same(self, kernel_fn, ntk_file: str, x: np.ndarray, exact: bool = True) -> None:
        want = ntkc.Net(example(ntk_file)).kernel(x)
        got = kernel_fn(x, None, ("nngp", "ntk"))
        for g, w in zip(got, want):
            if exact:
                self.assertTrue(np.array_equal(g, w), f"{ntk_file}: not bit-identical")
            else:
                np.testing.assert_allclose(g, w, rtol=1e-13, atol=0)

    def test_digits_fc(self) -> None:
        _, _, kernel_fn = stax.serial(stax.Dense(512, W_std=2.0, b_std=0.5), stax.Relu(), stax.Dense(1))
        self.same(kernel_fn, "digits_fc.ntk", RNG.standard_normal((30, 64)))

    def test_digits_cntk(self) -> None:
        block = stax.serial(stax.Conv(64, (3, 3), padding="SAME", W_std=1.414, b_std=0.1), stax.Relu())
        _, _, kernel_fn = stax.serial(stax.repeat(block, 3), stax.GlobalAvgPool(), stax.Dense(1))
        self.same(kernel_fn, "digits_cntk.ntk", RNG.standard_normal((5, 8, 8, 1)))

    def test_standard(self) -> None:
        p = dict(parameterization="standard")
        _, _, kernel_fn = stax.serial(stax.Dense(512, 1.5, 0.05, **p), stax.Relu(), stax.Dense(512, 1.5, 0.05, **p),
                                      stax.Relu(), stax.Dense(1, 1.0, **p))
        self.same(kernel_fn, "standard.ntk", RNG.standard_normal((12, 7)))

    def test_cntk_with_residual_blocks(self) -> None:
        """examples/cntk.ntk: pre-activation residual blocks (neural-tangents' WideResNet style)."""
        conv = lambda b=0.1, **kw: stax.Conv(32, (3, 3), padding="SAME", W_std=1.414, b_std=b, **kw)
        def residual(main, shortcut=stax.Identity()):
            return stax.serial(stax.FanOut(2), stax.parallel(main, shortcut), stax.FanInSum())
        block = stax.serial(stax.Relu(), conv(), stax.Relu(), conv())
        halving = stax.serial(stax.Relu(), conv(strides=(2, 2)), stax.Relu(), conv())
        _, _, kernel_fn = stax.serial(conv(0.0), residual(block), residual(block),
                                      residual(halving, conv(strides=(2, 2))), residual(block),
                                      stax.AvgPool((2, 2), strides=(2, 2)), stax.Relu(), stax.GlobalAvgPool(),
                                      stax.Dense(1, W_std=1.0))
        self.same(kernel_fn, "cntk.ntk", RNG.standard_normal((3, 8, 8, 1)), exact=False)

    def test_source_shown(self) -> None:
        _, _, kernel_fn = stax.serial(stax.Dense(512, W_std=1.5, b_std=0.05), stax.Relu(), stax.Dense(1))
        self.assertIn("dense(w_std=1.5, b_std=0.05)\n    relu\n    dense(w_std=1)", kernel_fn.source)
        self.assertTrue(np.array_equal(ntkc.Net(kernel_fn.source).kernel(np.eye(3), get="ntk"),
                                       kernel_fn(np.eye(3), get="ntk")))


def close(testcase: unittest.TestCase, got: tuple, want: tuple, rtol: float = 1e-12) -> None:
    for g, w, name in zip(got, want, ("NNGP", "NTK")):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * np.abs(w).max(), err_msg=name)


class ParametersAsNeuralTangents(unittest.TestCase):
    """Each layer's parameters mean what neural-tangents says (reference.py's formulas)."""

    x = RNG.standard_normal((5, 6)) * np.array([[0.5, 1, 2, 1, 3, 0.1]])
    x_moderate = RNG.standard_normal((4, 6)) * 0.9

    def fc(self, act, dual, w1=1.3, b1=0.2, w2=0.9, b2=0.4, x=None, rtol=1e-12) -> None:
        x = self.x if x is None else x
        _, _, kernel_fn = stax.serial(stax.Dense(7, W_std=w1, b_std=b1), act, stax.Dense(3, W_std=w2, b_std=b2))
        want = reference_pairs(x, lambda a, b: ref.dense(ref.activation(ref.dense(ref.vectors(a, b), w1, b1),
                                                                        dual), w2, b2))
        close(self, kernels_of(kernel_fn, x), want, rtol=rtol)

    def test_dense_defaults_and_bias(self) -> None:
        _, _, kernel_fn = stax.serial(stax.Dense(4), stax.Dense(4, W_std=2.0, b_std=0.5))
        want = reference_pairs(self.x, lambda a, b: ref.dense(ref.dense(ref.vectors(a, b), 1.0, 0.0), 2.0, 0.5))
        close(self, kernels_of(kernel_fn, self.x), want)

    def test_frozen_dense(self) -> None:
        """trainable=False: Σ as Dense's, Θ ← w²Θ (the layer's own term Σ' left out)."""
        _, _, kernel_fn = stax.serial(stax.Dense(7, W_std=1.3, b_std=0.2, trainable=False), stax.Relu(),
                                      stax.Dense(3, W_std=0.9, b_std=0.4))

        def frozen(k: ref.K, w: float, b: float) -> ref.K:
            d = ref.dense(k, w, b)
            return ref.K(d.aa, d.bb, d.ab, w * w * k.ntk, w * w * k.ntk_aa, w * w * k.ntk_bb)

        want = reference_pairs(self.x, lambda a, b: ref.dense(ref.activation(frozen(ref.vectors(a, b), 1.3, 0.2),
                                                                            ref.relu_dual), 0.9, 0.4))
        got = kernels_of(kernel_fn, self.x)
        close(self, got, want)
        # only the readout trains: Θ = Σ, the NNGP of the net
        np.testing.assert_allclose(got[1], got[0], rtol=1e-13)
        self.assertIn("dense(w_std=1.3, b_std=0.2, trainable=false)", kernel_fn.source)

    def test_frozen_conv(self) -> None:
        x = RNG.standard_normal((3, 5, 5, 2))
        _, _, kernel_fn = stax.serial(stax.Conv(8, (3, 3), padding="SAME", W_std=1.4, b_std=0.1, trainable=False),
                                      stax.Relu(), stax.GlobalAvgPool(), stax.Dense(1, W_std=1.2))
        self.assertIn("trainable=false", kernel_fn.source_for((5, 5, 2)))
        nngp, ntk = kernels_of(kernel_fn, x)
        np.testing.assert_allclose(ntk, nngp, rtol=1e-13)

    def test_exp_normalized(self) -> None:
        """neural-tangents' ExpNormalized.kernel_fn: Σ ← √(Σ11Σ22)·e^{γ(ρ+shift)}, Θ ← γ·Θ·e^{γ(ρ+shift)}."""
        g, shift = 1.7, -0.6
        init_fn, apply_fn, kernel_fn = stax.serial(stax.Dense(7, W_std=1.3, b_std=0.2),
                                                   stax.ExpNormalized(g, shift), stax.Dense(3, W_std=0.9, b_std=0.4))

        def exp_normalized(k: ref.K) -> ref.K:
            e = lambda c, a, b: np.exp(g * (c / np.sqrt(a * b) + shift))
            return ref.K(k.aa * e(k.aa, k.aa, k.aa), k.bb * e(k.bb, k.bb, k.bb),
                         np.sqrt(k.aa * k.bb) * e(k.ab, k.aa, k.bb), g * k.ntk * e(k.ab, k.aa, k.bb),
                         g * k.ntk_aa * e(k.aa, k.aa, k.aa), g * k.ntk_bb * e(k.bb, k.bb, k.bb))

        want = reference_pairs(self.x, lambda a, b: ref.dense(exp_normalized(ref.dense(ref.vectors(a, b), 1.3, 0.2)),
                                                              0.9, 0.4))
        close(self, kernels_of(kernel_fn, self.x), want)
        self.assertIn("exp_normalized(gamma=1.7, shift=-0.6)", kernel_fn.source)
        with self.assertRaisesRegex(NotImplementedError, "ExpNormalized"):
            apply_fn(init_fn(0, (-1, 6))[1], self.x)

    def test_dropout(self) -> None:
        """neural-tangents' Dropout(rate) in train mode: the diagonal (an input with itself) divided by rate,
        every other pair as in test mode; the cross kernel of two arrays is not scaled."""
        rate, b = 0.7, 0.4
        net = lambda mode: stax.serial(stax.Dense(7, W_std=1.3, b_std=0.2), stax.Relu(), stax.Dense(7, 1.1),
                                       stax.Dropout(rate, mode), stax.Dense(3, W_std=0.9, b_std=b))[2]
        train, test = kernels_of(net("train"), self.x), kernels_of(net("test"), self.x)
        off = ~np.eye(len(self.x), dtype=bool)
        for k_train, k_test in zip(train, test):
            np.testing.assert_array_equal(k_train[off], k_test[off])
        np.testing.assert_allclose(np.diag(train[0]), (np.diag(test[0]) - b * b) / rate + b * b, rtol=1e-14)
        np.testing.assert_allclose(np.diag(train[1] - train[0]), np.diag(test[1] - test[0]) / rate, rtol=1e-13)
        cross = net("train")(self.x, self.x.copy(), "nngp")
        np.testing.assert_array_equal(cross, test[0])
        self.assertIn("dropout(rate=0.7)", net("train").source)
        with self.assertRaisesRegex(ValueError, "rate"):
            stax.Dropout(0.0)
        with self.assertRaisesRegex(ValueError, "mode"):
            stax.Dropout(0.5, "eval")

    def test_dense_standard(self) -> None:
        p = dict(parameterization="standard")
        _, _, kernel_fn = stax.serial(stax.Dense(40, W_std=1.3, b_std=0.2, **p), stax.Relu(),
                                      stax.Dense(1, W_std=0.8, **p))
        d = self.x.shape[1]
        want = reference_pairs(self.x, lambda a, b: ref.dense_standard(
            ref.activation(ref.dense_standard(ref.vectors(a, b), 1.3, 0.2, d), ref.relu_dual), 0.8, None, 40))
        close(self, kernels_of(kernel_fn, self.x), want)

    def test_relu_family(self) -> None:
        self.fc(stax.Relu(), ref.relu_dual)
        self.fc(stax.LeakyRelu(0.2), ref.abrelu_dual(0.2, 1.0))
        self.fc(stax.ABRelu(-0.5, 2.0), ref.abrelu_dual(-0.5, 2.0))
        self.fc(stax.Abs(), ref.abrelu_dual(-1.0, 1.0))
        self.fc(stax.Sign(), ref.sign_dual)
        self.fc(stax.Step(), ref.step_dual)
        self.fc(stax.RectifiedMonomial(2), ref.rectified_square_dual)

    def test_erf(self) -> None:
        self.fc(stax.Erf(), ref.erf_dual(1, 1, 0))
        self.fc(stax.Erf(a=1.5, b=0.7, c=0.3), ref.erf_dual(1.5, 0.7, 0.3))

    def test_smooth_activations_by_quadrature(self) -> None:
        """The kernel of each smooth activation against quadrature of the φ its finite network applies."""
        for make in (lambda: stax.Gelu(), lambda: stax.Sigmoid_like(), lambda: stax.Sin(1.2, 0.8, 0.3),
                     lambda: stax.Cos(0.9, 1.1, -0.4), lambda: stax.Exp(0.7, 0.3), lambda: stax.Gaussian(1.3, -0.6),
                     lambda: stax.Rbf(0.8), lambda: stax.Monomial(3),
                     lambda: stax.Polynomial([0.1, -0.5, 0.3, 0.2]), lambda: stax.Hermite(3),
                     lambda: stax.Gabor()):
            layer = make()
            with self.subTest(layer=layer[2].layer.statement):
                phi = lambda v, f=layer[1]: f((), v)
                # variances 0.1-3: where 120-point Gauss-Hermite reaches 1e-9 on these φ
                self.fc(layer, ref.quadrature_dual(phi), x=self.x_moderate, rtol=1e-7)

    def test_layer_norm(self) -> None:
        _, _, kernel_fn = stax.serial(stax.Dense(4, 1.4, 0.3), stax.LayerNorm(eps=0.5), stax.Relu(), stax.Dense(1))
        want = reference_pairs(self.x, lambda a, b: ref.dense(ref.activation(
            ref.layer_norm(ref.dense(ref.vectors(a, b), 1.4, 0.3), 0.5), ref.relu_dual), 1.0, 0.0))
        close(self, kernels_of(kernel_fn, self.x), want)

    def test_fan_in(self) -> None:
        branch_a = stax.Dense(8, 1.5, 0.2)
        branch_b = stax.serial(stax.Dense(8, 0.7), stax.Relu(), stax.Dense(8, 1.1, 0.3))

        def ref_branches(a, b):
            k = ref.activation(ref.dense(ref.vectors(a, b), 1.2, 0.1), ref.relu_dual)
            return ref.dense(k, 1.5, 0.2), ref.dense(ref.activation(ref.dense(k, 0.7, 0.0), ref.relu_dual), 1.1, 0.3)

        def join(kind):
            def f(a, b):
                ka, kb = ref_branches(a, b)
                if kind == "sum":
                    k = ref.K(*(u + v for u, v in zip(vars(ka).values(), vars(kb).values())))
                elif kind == "prod":
                    k = ref.K(ka.aa * kb.aa, ka.bb * kb.bb, ka.ab * kb.ab, ka.ntk * kb.ab + ka.ab * kb.ntk,
                              ka.ntk_aa * kb.aa + ka.aa * kb.ntk_aa, ka.ntk_bb * kb.bb + ka.bb * kb.ntk_bb)
                else:
                    k = ref.K(*((u + v) / 2 for u, v in zip(vars(ka).values(), vars(kb).values())))
                return ref.dense(k, 0.9, 0.1)
            return f

        for kind, fan_in in (("sum", stax.FanInSum()), ("prod", stax.FanInProd()), ("concat", stax.FanInConcat())):
            with self.subTest(kind=kind):
                _, _, kernel_fn = stax.serial(stax.Dense(8, 1.2, 0.1), stax.Relu(), stax.FanOut(2),
                                              stax.parallel(branch_a, branch_b), fan_in, stax.Dense(1, 0.9, 0.1))
                close(self, kernels_of(kernel_fn, self.x), reference_pairs(self.x, join(kind)))

    def test_conv_pool_flatten(self) -> None:
        """Conv filter/stride/padding (SAME, VALID, CIRCULAR), AvgPool's default stride 1, Flatten, GlobalAvgPool."""
        x = RNG.standard_normal((3, 7, 6, 2))
        nets = {
            "same-strided-flatten": (
                [stax.Conv(4, (2, 3), strides=(2, 1), padding="SAME", W_std=1.3, b_std=0.2), stax.Relu(),
                 stax.AvgPool((2, 2)), stax.Conv(4, (3, 3), padding="CIRCULAR", W_std=1.1, b_std=0.1), stax.Relu(),
                 stax.Flatten(), stax.Dense(1, 0.9, 0.3)],
                lambda k: ref.dense(ref.flatten(ref.activation(ref.conv(ref.avg_pool(ref.activation(
                    ref.conv(k, (2, 3), (2, 1), "SAME", 1.3, 0.2), ref.relu_dual), (2, 2), (1, 1), "VALID"),
                    (3, 3), (1, 1), "CIRCULAR", 1.1, 0.1), ref.relu_dual)), 0.9, 0.3)),
            "valid-default-gap": (
                [stax.Conv(4, (3, 2)), stax.Erf(), stax.AvgPool((2, 2), strides=(1, 2), padding="SAME"),
                 stax.GlobalAvgPool(), stax.Dense(1, 1.2, 0.1)],
                lambda k: ref.dense(ref.global_avg_pool(ref.avg_pool(ref.activation(
                    ref.conv(k, (3, 2), (1, 1), "VALID", 1.0, 0.0), ref.erf_dual(1, 1, 0)), (2, 2), (1, 2), "SAME")),
                    1.2, 0.1)),
        }
        for name, (layers, recursion) in nets.items():
            with self.subTest(net=name):
                _, _, kernel_fn = stax.serial(*layers)
                want = reference_pairs(x, lambda a, b: recursion(ref.images(a, b)))
                close(self, kernels_of(kernel_fn, x), want)


    def test_dilated_conv_is_the_plain_conv_on_each_phase(self) -> None:
        """rhs_dilation=(2, 2), VALID, stride 1: an output pixel of phase (i, j) (its coordinates mod 2) reads
        only input pixels of that phase, so after Flatten the kernel is the mean over the four phases of the
        undilated net's kernel on the phase sub-images (8×8 → four 4×4 images, four 3×3 outputs each)."""
        x = RNG.standard_normal((3, 8, 8, 2))
        conv = lambda **kw: stax.Conv(4, (2, 2), W_std=1.3, b_std=0.2, **kw)
        tail = [stax.Flatten(), stax.Dense(1, 0.9, 0.1)]
        _, _, dilated = stax.serial(conv(rhs_dilation=(2, 2)), stax.Relu(), conv(rhs_dilation=(2, 2)), *tail)
        _, _, plain = stax.serial(conv(), stax.Relu(), conv(), *tail)
        self.assertIn("dilation=2", dilated.source_for((8, 8, 2)))
        phases = [x[:, i::2, j::2] for i in (0, 1) for j in (0, 1)]
        for get in ("nngp", "ntk"):
            with self.subTest(get=get):
                want = np.mean([plain(p, None, get) for p in phases], axis=0)
                np.testing.assert_allclose(dilated(x, None, get), want, rtol=1e-12, atol=1e-14)

    def test_dilated_conv_finite_network(self) -> None:
        """apply_fn of a dilated conv: the same weights applied to each phase sub-image with the plain conv
        (per axis: dh = 2, dw = 3); a dilated 1-D filter on a sequence."""
        x = RNG.standard_normal((2, 7, 9, 3))
        init_d, apply_d, _ = stax.Conv(5, (3, 2), rhs_dilation=(2, 3), W_std=1.2, b_std=0.3)
        _, apply_p, _ = stax.Conv(5, (3, 2), W_std=1.2, b_std=0.3)
        shape, params = init_d(RNG, x.shape)
        y = apply_d(params, x)
        self.assertEqual(y.shape, shape)
        self.assertEqual(shape, (2, 7 - 4, 9 - 3, 5))
        for i in range(2):
            for j in range(3):
                np.testing.assert_allclose(y[:, i::2, j::3], apply_p(params, x[:, i::2, j::3]), rtol=1e-13,
                                           atol=1e-13)
        _, _, k = stax.serial(stax.Conv(4, (3,), rhs_dilation=(2,), padding="SAME"), stax.Relu(),
                              stax.GlobalAvgPool(), stax.Dense(1))
        self.assertEqual(k(RNG.standard_normal((2, 9, 2)), None, "nngp").shape, (2, 2))
        self.assertIn("dw=2", k.source)
        with self.assertRaisesRegex(ValueError, "rhs_dilation"):
            stax.Conv(4, (3, 3), rhs_dilation=(0, 1))

    def test_conv_standard_and_normalize_edges(self) -> None:
        """Conv and Dense(parameterization='standard') on images (fan_in·Σ terms in the NTK), and
        AvgPool(normalize_edges=True) under SAME padding (each output divides by its in-bounds pixels)."""
        x = RNG.standard_normal((3, 5, 4, 2))
        p = dict(parameterization="standard")
        _, _, kernel_fn = stax.serial(
            stax.Conv(6, (3, 2), padding="SAME", W_std=1.3, b_std=0.2, **p), stax.Relu(),
            stax.AvgPool((2, 2), strides=(1, 1), padding="SAME", normalize_edges=True),
            stax.Conv(5, (2, 2), strides=(2, 1), padding="VALID", W_std=1.1, **p), stax.Relu(),
            stax.Flatten(), stax.Dense(1, 0.9, 0.3, **p))
        self.assertIn("normalize_edges=true", kernel_fn.source_for(x.shape[1:]))

        def recursion(k):
            k = ref.conv_standard(k, (3, 2), (1, 1), "SAME", 1.3, 0.2, 2)
            k = ref.avg_pool_normalized(ref.activation(k, ref.relu_dual), (2, 2), (1, 1))
            k = ref.activation(ref.conv_standard(k, (2, 2), (2, 1), "VALID", 1.1, None, 6), ref.relu_dual)
            return ref.dense_standard(ref.flatten(k), 0.9, 0.3, 5 * 2 * 3)  # 5 channels × 2×3 pixels

        close(self, kernels_of(kernel_fn, x), reference_pairs(x, lambda a, b: recursion(ref.images(a, b))))

    def test_layer_norm_over_axes(self) -> None:
        """LayerNorm(axis=...) over the channels and rows, columns or both: the group means of the variances."""
        x = RNG.standard_normal((3, 4, 5, 2)) * np.exp(np.linspace(-1, 1, 4))[None, :, None, None]
        for axis, spatial, name in (((1, 3), (0,), "height"), ((2, 3), (1,), "width"), ((1, 2, 3), (0, 1), "all")):
            with self.subTest(axis=axis):
                _, _, kernel_fn = stax.serial(stax.Conv(4, (1, 1), W_std=1.3, b_std=0.2), stax.LayerNorm(axis=axis),
                                              stax.Erf(), stax.GlobalAvgPool(), stax.Dense(1, 1.1))
                self.assertIn(f"axes={name}", kernel_fn.source_for(x.shape[1:]))

                def recursion(k, spatial=spatial):
                    k = ref.layer_norm_axes(ref.conv(k, (1, 1), (1, 1), "VALID", 1.3, 0.2), 1e-12, spatial)
                    return ref.dense(ref.global_avg_pool(ref.activation(k, ref.erf_dual(1, 1, 0))), 1.1, 0.0)

                close(self, kernels_of(kernel_fn, x), reference_pairs(x, lambda a, b: recursion(ref.images(a, b))))

    def test_sequences_are_one_row_images(self) -> None:
        """1-D filters on (n, L, C) sequences: the kernel of (n, 1, L, C) images under 1 × k filters."""
        x = RNG.standard_normal((3, 9, 2))
        _, _, seq = stax.serial(stax.Conv(8, (3,), padding="SAME", W_std=1.3, b_std=0.1), stax.Relu(),
                                stax.AvgPool((2,), (2,)), stax.GlobalAvgPool(), stax.Dense(1))
        _, _, img = stax.serial(stax.Conv(8, (1, 3), padding="SAME", W_std=1.3, b_std=0.1), stax.Relu(),
                                stax.AvgPool((1, 2), (1, 2)), stax.GlobalAvgPool(), stax.Dense(1))
        self.assertTrue(np.array_equal(seq(x, get="ntk"), img(x[:, None], get="ntk")))
        self.assertIn("input sequence(9, 2)", seq.source)


class FiniteNetworks(unittest.TestCase):
    """init_fn/apply_fn build real networks: the covariance of their outputs over
    readout units and initialisations approaches the NNGP (width → ∞)."""

    def check(self, layers, x: np.ndarray, width: int, seeds: int) -> None:
        init_fn, apply_fn, kernel_fn = stax.serial(*layers)
        products = []
        for seed in range(seeds):
            out_shape, params = init_fn(seed, x.shape)
            f = apply_fn(params, x)
            self.assertEqual(f.shape, tuple(out_shape))
            products.append(np.einsum("iu,ju->uij", f, f))  # one sample per readout unit
        products = np.concatenate(products)
        mean, sem = products.mean(axis=0), products.std(axis=0) / math.sqrt(len(products))
        nngp = kernel_fn(x, get="nngp")
        # 5 standard errors of the Monte Carlo mean plus the O(1/width) finite-width bias
        tol = 5 * sem + 4.0 / width * np.abs(nngp).max()
        bad = np.abs(mean - nngp) > tol
        self.assertFalse(bad.any(), f"finite nets {mean[bad]} vs NNGP {nngp[bad]} (tolerance {tol[bad]})")

    def test_fc(self) -> None:
        x = RNG.standard_normal((4, 5))
        self.check([stax.Dense(1024, 1.5, 0.1), stax.Erf(), stax.Dense(1024, 1.2, 0.05), stax.Relu(),
                    stax.Dense(256, 1.0, 0.2)], x, 1024, 4)

    def test_standard(self) -> None:
        x = RNG.standard_normal((4, 5))
        p = dict(parameterization="standard")
        self.check([stax.Dense(1024, 1.5, 0.1, **p), stax.Relu(), stax.Dense(256, 1.0, 0.3, **p)], x, 1024, 4)

    def test_branches_and_layer_norm(self) -> None:
        x = RNG.standard_normal((4, 5))
        self.check([stax.Dense(1024, 1.5, 0.1), stax.Relu(), stax.FanOut(2),
                    stax.parallel(stax.Dense(1024, 1.1, 0.2), stax.Identity()), stax.FanInConcat(),
                    stax.Dense(1024, 1.2), stax.LayerNorm(), stax.Gelu(), stax.Dense(256, 1.0)], x, 1024, 4)

    def test_cnn(self) -> None:
        x = RNG.standard_normal((3, 5, 4, 2))
        self.check([stax.Conv(256, (3, 3), padding="SAME", W_std=1.3, b_std=0.1), stax.Relu(),
                    stax.Conv(256, (2, 2), strides=(2, 1), padding="CIRCULAR"), stax.Relu(), stax.AvgPool((2, 2)),
                    stax.Flatten(), stax.Dense(128, 1.1, 0.2)], x, 256, 4)


    def test_cnn_standard_normalize_edges(self) -> None:
        x = RNG.standard_normal((3, 5, 4, 2))
        p = dict(parameterization="standard")
        self.check([stax.Conv(256, (3, 3), padding="SAME", W_std=1.3, b_std=0.1, **p), stax.Relu(),
                    stax.AvgPool((2, 2), strides=(1, 1), padding="SAME", normalize_edges=True),
                    stax.Conv(256, (2, 2), strides=(2, 1), padding="CIRCULAR", **p), stax.Relu(),
                    stax.Flatten(), stax.Dense(128, 1.1, 0.2, **p)], x, 256, 4)


    def test_cnn_layer_norm_over_pixels(self) -> None:
        x = RNG.standard_normal((3, 5, 4, 2))
        self.check([stax.Conv(256, (3, 3), padding="SAME", W_std=1.3, b_std=0.1), stax.LayerNorm(axis=(1, 2, 3)),
                    stax.Relu(), stax.Flatten(), stax.Dense(128, 1.1, 0.2)], x, 256, 4)


class Errors(unittest.TestCase):
    def test_missing_layers_are_named(self) -> None:
        for name in ("Elementwise",):
            with self.subTest(layer=name), self.assertRaisesRegex(NotImplementedError, name):
                getattr(stax, name)(0.5)

    def test_unsupported_arguments(self) -> None:
        with self.assertRaisesRegex(NotImplementedError, "FanInConcat"):
            stax.FanInConcat(axis=0)
        with self.assertRaisesRegex(NotImplementedError, "parameterization"):
            stax.serial(stax.Dense(4), stax.Relu(), stax.Dense(1, parameterization="standard"))[2].source
        with self.assertRaisesRegex(NotImplementedError, "parameterization"):
            stax.serial(stax.Conv(4, (2, 2)), stax.Relu(), stax.Conv(1, (2, 2), parameterization="standard"),
                        stax.Flatten())[2].source_for((3, 3, 1))
        with self.assertRaisesRegex(NotImplementedError, "channel axis"):
            stax.serial(stax.Conv(4, (2, 2)), stax.LayerNorm(axis=(1, 2)), stax.Flatten())[2].source_for((3, 3, 1))
        with self.assertRaisesRegex(ValueError, "padding"):
            stax.Conv(4, (3, 3), padding="FULL")

    def test_ntkc_errors_carry_positions(self) -> None:
        _, _, kernel_fn = stax.serial(stax.Relu(), stax.Dense(1))
        with self.assertRaises(ntkc.Error) as cm:
            kernel_fn(np.ones((2, 3)))
        self.assertEqual((cm.exception.file, cm.exception.line), ("<stax>", 3))
        self.assertIsNotNone(cm.exception.column)

    def test_image_source_needs_a_shape(self) -> None:
        _, _, kernel_fn = stax.serial(stax.Conv(4, (3, 3)), stax.Flatten(), stax.Dense(1))
        with self.assertRaisesRegex(ValueError, "source_for"):
            kernel_fn.source
        self.assertIn("input image(5, 5, 1)", kernel_fn.source_for((5, 5, 1)))


if __name__ == "__main__":
    unittest.main()
