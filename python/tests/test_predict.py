"""ntkc.predict: bit-identical to `ntkc predict`, and neural-tangents' formulas."""
from __future__ import annotations

import unittest

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
