"""ntkc.predict: bit-identical to `ntkc predict`, and neural-tangents' formulas."""
from __future__ import annotations

import unittest
from typing import Any

import numpy as np

import ntkc
from ntkc import predict, stax

from .util import Scratch, example, run_cli

RNG = np.random.default_rng(23)
X, Y, XT = RNG.standard_normal((30, 6)), RNG.standard_normal((30, 2)), RNG.standard_normal((7, 6))


class AsTheCli(unittest.TestCase):
    def cli(self, args: list[str]) -> tuple[np.ndarray, np.ndarray]:
        with Scratch() as s:
            r = run_cli(["predict", example("relu5.ntk"), "--train", s.save("x.npy", X), "--targets",
                         s.save("y.npy", Y), "--test", s.save("xt.npy", XT), "--mean", s.file("m.npy"),
                         "--cov", s.file("c.npy"), *args])
            self.assertEqual(r.returncode, 0, r.stderr)
            return np.load(s.file("m.npy")), np.load(s.file("c.npy"))

    def test_mean_and_cov(self) -> None:
        fn = predict.gradient_descent_mse_ensemble(ntkc.Net(example("relu5.ntk")), X, Y, diag_reg=1e-3)
        for kernel in ("ntk", "nngp"):
            with self.subTest(kernel=kernel):
                mean, cov = self.cli(["--time", "0.5,5,inf", "--reg", "1e-3", "--kernel", kernel])
                got = fn(t=np.array([0.5, 5, np.inf]), x_test=XT, get=kernel, compute_cov=True)
                self.assertTrue(np.array_equal(got.mean, mean))
                self.assertTrue(np.array_equal(got.covariance, cov))
                mean1, _ = self.cli(["--reg", "1e-3", "--kernel", kernel])  # t = inf
                self.assertTrue(np.array_equal(fn(x_test=XT, get=kernel), mean1))


class NeuralTangentsSemantics(unittest.TestCase):
    net = ntkc.Net(example("relu5.ntk"))

    def test_finite_time_formula(self) -> None:
        """mean(t) = K_td·K⁻¹·(I − exp(−η·t·K/(n·k)))·y, K regularised by diag_reg·tr(K)/n."""
        lr, reg = 0.3, 1e-2
        fn = predict.gradient_descent_mse_ensemble(self.net, X, Y, learning_rate=lr, diag_reg=reg)
        k = self.net.kernel(X, get="ntk")
        k_r = k + reg * np.trace(k) / len(k) * np.eye(len(k))
        k_td = self.net.kernel(XT, X, get="ntk")
        lam, v = np.linalg.eigh(k_r)
        for t in (0.0, 2.0, 40.0):
            want = k_td @ v @ np.diag(-np.expm1(-lam * lr * t / Y.size) / lam) @ v.T @ Y
            np.testing.assert_allclose(fn(t, XT, "ntk"), want, rtol=1e-9, atol=1e-12)

    def test_times_shape_and_get(self) -> None:
        fn = predict.gradient_descent_mse_ensemble(self.net, X, Y, diag_reg=1e-3)
        t = np.array([[1.0, 2.0], [3.0, np.inf]])
        both = fn(t, XT)
        self.assertEqual(both._fields, ("nngp", "ntk"))
        self.assertEqual(both.ntk.shape, (2, 2, 7, 2))
        self.assertTrue(np.array_equal(both.ntk[1, 1], fn(None, XT, "ntk")))
        self.assertEqual(fn(3.0, XT, "nngp").shape, (7, 2))
        self.assertEqual(fn(None, None, "ntk").shape, (30, 2))  # x_test None: the training inputs

    def test_gp_inference_is_t_infinity(self) -> None:
        k = self.net.kernel(X)
        k_td = self.net.kernel(XT, X)
        k_tt = self.net.kernel(XT, get="nngp")
        gp = predict.gp_inference(k, Y, diag_reg=1e-3)(get=("nngp", "ntk"), k_test_train=k_td, k_test_test=k_tt)
        fn = predict.gradient_descent_mse_ensemble(self.net, X, Y, diag_reg=1e-3)
        for g in ("nngp", "ntk"):
            want = fn(None, XT, g, compute_cov=True)
            np.testing.assert_allclose(getattr(gp, g).mean, want.mean, rtol=1e-8, atol=1e-11)
            np.testing.assert_allclose(getattr(gp, g).covariance, want.covariance, rtol=1e-8, atol=1e-11)
        # without test inputs: the training targets, zero covariance
        self.assertTrue(np.array_equal(predict.gp_inference(k.ntk, Y)(get="ntk"), Y))

    def test_absolute_regularisation(self) -> None:
        k = self.net.kernel(X, get="nngp")
        rel = predict.gradient_descent_mse_ensemble(self.net, X, Y, diag_reg=0.01)
        absolute = predict.gradient_descent_mse_ensemble(self.net, X, Y, diag_reg=0.01 * np.trace(k) / len(k),
                                                         diag_reg_absolute_scale=True)
        np.testing.assert_allclose(absolute(None, XT, "nngp"), rel(None, XT, "nngp"), rtol=1e-10, atol=1e-13)

    def test_stax_kernel_fn(self) -> None:
        _, _, kernel_fn = stax.serial(stax.Dense(512, 2.0, 0.5), stax.Relu(), stax.Dense(1))
        a = predict.gradient_descent_mse_ensemble(kernel_fn, X, Y, diag_reg=1e-3)(None, XT, "ntk")
        b = predict.gradient_descent_mse_ensemble(ntkc.Net(example("digits_fc.ntk")), X, Y, diag_reg=1e-3)(
            None, XT, "ntk")
        self.assertTrue(np.array_equal(a, b))

    def test_errors(self) -> None:
        fn = predict.gradient_descent_mse_ensemble(self.net, np.vstack([X, X[:1]]), np.vstack([Y, Y[:1]]))
        with self.assertRaisesRegex(ntkc.Error, "singular"):
            fn(None, XT, "ntk")
        with self.assertRaisesRegex(ntkc.Error, "time"):
            predict.gradient_descent_mse_ensemble(self.net, X, Y)(-1.0, XT, "ntk")
        with self.assertRaisesRegex(ntkc.Error, "y_train"):
            predict.gradient_descent_mse_ensemble(self.net, X, Y[:5])


if __name__ == "__main__":
    unittest.main()


class DigitsExample(unittest.TestCase):
    def test_same_accuracy_as_make_demo(self) -> None:
        """examples/python/digits.py: the FC net through ntkc.stax, as `make demo` (97.37 %, 776/797)."""
        import subprocess
        import sys

        from .util import ROOT
        r = subprocess.run([sys.executable, str(ROOT / "examples" / "python" / "digits.py")], capture_output=True,
                           text=True, cwd=ROOT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("FC    test accuracy 97.37% (776/797)", r.stdout)


class GradientDescentOneNet(unittest.TestCase):
    """predict.gradient_descent (ntkc_predict's fx0, loss, momentum and train_mean fields)
    against numpy on the net's own kernels: the closed form for MSE, and a fixed-step
    RK4 of the documented ODE (docs/predict.md) for cross-entropy and momentum, whose own
    error (estimated by halving the step) is asserted far below the tolerance."""

    net = ntkc.Net(example("relu5.ntk"))
    x, xt = RNG.standard_normal((8, 6)), RNG.standard_normal((4, 6))
    y = np.eye(3)[np.arange(8) % 3]
    f0, g0 = 0.3 * RNG.standard_normal((8, 3)), 0.3 * RNG.standard_normal((4, 3))

    def kernels(self) -> tuple[np.ndarray, np.ndarray]:
        return self.net.kernel(self.x, get="ntk"), self.net.kernel(self.xt, self.x, get="ntk")

    def test_mse_from_fx0_is_the_closed_form(self) -> None:
        k_tt, k_st = self.kernels()
        lam, v = np.linalg.eigh(k_tt)
        fn = predict.gradient_descent(self.net, self.x, self.y, learning_rate=0.5)
        for t in (0.0, 3.0, 50.0):
            tau = 0.5 * t / self.y.size
            decay = v @ np.diag(np.exp(-lam * tau)) @ v.T
            a = v @ np.diag(-np.expm1(-lam * tau) / lam) @ v.T
            train, test = fn(t, self.f0, self.g0, self.xt)
            np.testing.assert_allclose(train, self.y + decay @ (self.f0 - self.y), rtol=1e-9, atol=1e-11)
            np.testing.assert_allclose(test, self.g0 + k_st @ a @ (self.y - self.f0), rtol=1e-9, atol=1e-11)

    def rk4(self, grad_rhs: Any, state: np.ndarray, tau: float, steps: int) -> np.ndarray:
        h = tau / steps
        for _ in range(steps):
            a = grad_rhs(state)
            b = grad_rhs(state + h / 2 * a)
            c = grad_rhs(state + h / 2 * b)
            d = grad_rhs(state + h * c)
            state = state + h / 6 * (a + 2 * b + 2 * c + d)
        return state

    def xent_grad(self, f: np.ndarray) -> np.ndarray:
        p = np.exp(f - f.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        return (p * self.y.sum(axis=1, keepdims=True) - self.y) / self.y.size

    def check(self, got: tuple[np.ndarray, np.ndarray], rhs: Any, state0: np.ndarray, tau: float) -> None:
        coarse, fine = self.rk4(rhs, state0, tau, 400), self.rk4(rhs, state0, tau, 800)
        n = len(self.x)
        self.assertLess(np.abs(coarse - fine).max(), 1e-10)  # RK4's own error, O(h⁴)
        # the integrators' tolerances (1e-10 relative per step) over O(100) steps
        np.testing.assert_allclose(got[0], fine[:n], rtol=0, atol=1e-8)
        np.testing.assert_allclose(got[1], fine[n:n + len(self.xt)], rtol=0, atol=1e-8)

    def test_xent_is_the_ode(self) -> None:
        k_tt, k_st = self.kernels()
        g = np.vstack([k_tt, k_st])
        fn = predict.gradient_descent(self.net, self.x, self.y, loss="xent", learning_rate=2.0)
        t = 5.0
        got = fn(t, self.f0, self.g0, self.xt)
        state0 = np.vstack([self.f0, self.g0])
        self.check(got, lambda s: -g @ self.xent_grad(s[:8]), state0, 2.0 * t)

    def test_momentum_is_the_ode(self) -> None:
        k_tt, k_st = self.kernels()
        g = np.vstack([k_tt, k_st])
        eta, mu, t = 0.25, 0.8, 6.0
        fn = predict.gradient_descent(self.net, self.x, self.y, loss="xent", learning_rate=eta, momentum=mu)
        got = fn(t, self.f0, self.g0, self.xt)

        def rhs(s: np.ndarray) -> np.ndarray:  # (f, q): df = q, dq = −G∇L + (μ−1)/√η·q
            f, q = s[:12], s[12:]
            return np.vstack([q, -g @ self.xent_grad(f[:8]) + (mu - 1) / np.sqrt(eta) * q])

        state0 = np.vstack([self.f0, self.g0, np.zeros((12, 3))])
        self.check(got, rhs, state0, np.sqrt(eta) * t)

    def test_as_the_cli(self) -> None:
        fn = predict.gradient_descent(self.net, self.x, self.y, loss="xent", learning_rate=0.5, momentum=0.6)
        train, test = fn(np.array([1.0, 4.0]), 0.0, self.g0, self.xt)
        with Scratch() as s:
            r = run_cli(["predict", example("relu5.ntk"), "--train", s.save("x.npy", self.x), "--targets",
                         s.save("y.npy", self.y), "--test", s.save("xt.npy", self.xt), "--fx0-test",
                         s.save("g0.npy", self.g0), "--loss", "xent", "--momentum", "0.6", "--learning-rate", "0.5",
                         "--time", "1,4", "--mean", s.file("m.npy"), "--train-mean", s.file("p.npy"), "--quiet"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(np.array_equal(np.load(s.file("m.npy")), test))
            self.assertTrue(np.array_equal(np.load(s.file("p.npy")), train))

    def test_refusals(self) -> None:
        fn = predict.gradient_descent(self.net, self.x, self.y, loss="xent")
        with self.assertRaisesRegex(ntkc.Error, "finite times"):
            fn(np.inf)
        with self.assertRaisesRegex(ntkc.Error, "fx_train_0"):
            fn(1.0, np.zeros((3, 3)))
        with self.assertRaises(ValueError):
            predict.gradient_descent(self.net, self.x, self.y, loss="hinge")
