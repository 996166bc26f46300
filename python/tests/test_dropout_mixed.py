"""The mixed kernel of a net with dropout from Python (Net.kernel(dropout_mixed=True)) and the prediction of nets
trained with fresh masks (predict.gradient_descent_mse_ensemble(dropout="fresh")): bit-identical to `ntkc kernel
--dropout-mixed` and `ntkc predict --dropout fresh` (whose files tests/test_dropout_mixed_cli.c checks against the
internal kernel of `ntkc train`); rate 1 and nets without dropout give the ordinary kernel; the prediction is the
regression with the training kernel between independent masks (x_train against a copy) and the mixed test–train
kernel, recomputed here in numpy from the kernels (eigendecomposition, clipped at 0; t = inf a solve)."""
from __future__ import annotations

import unittest

import numpy as np

import ntkc
from ntkc import predict

from .util import Scratch, cli_kernel, run_cli

RNG = np.random.default_rng(2107)
SRC = "net n { dense(1.4, 0.1); dropout(0.6); dense(1.3); relu; dense(1.2); erf; dense }\n"
X, XT, Y = RNG.standard_normal((6, 4)), RNG.standard_normal((3, 4)), RNG.standard_normal((6, 2))


class MixedKernel(unittest.TestCase):
    net = ntkc.Net(SRC)

    def test_as_the_cli_bit_for_bit(self) -> None:
        with Scratch() as s:
            path = s.file("net.ntk")
            with open(path, "w", encoding="utf-8") as f:
                f.write(SRC)
            for x2 in (X, None):
                with self.subTest(x2=x2 is None):
                    want = cli_kernel(path, XT if x2 is not None else X, x2, ["--dropout-mixed"])
                    got = self.net.kernel(XT if x2 is not None else X, x2, dropout_mixed=True)
                    self.assertTrue(np.array_equal(got.nngp, want[0]) and np.array_equal(got.ntk, want[1]))

    def test_not_the_train_mode_kernel(self) -> None:
        """An input against itself under its mask has correlation √rate after the dropout: the diagonal is
        neither the train-mode kernel's (both sides masked) nor the eval-mode one's."""
        mixed = self.net.kernel(X, dropout_mixed=True, get="nngp")
        masked = self.net.kernel(X, X.copy(), get="nngp")
        self.assertGreater(np.abs(np.diag(mixed) - np.diag(masked)).max(), 1e-3 * np.abs(np.diag(masked)).max())
        self.assertFalse(np.allclose(mixed, mixed.T))  # not symmetric

    def test_rate_one_and_no_dropout_are_the_ordinary_kernel(self) -> None:
        plain = ntkc.Net("net n { dense(1.4, 0.1); dense(1.3); relu; dense(1.2); erf; dense }")
        one = ntkc.Net("net n { dense(1.4, 0.1); dropout(1.0); dense(1.3); relu; dense(1.2); erf; dense }")
        want = plain.kernel(XT, X)
        for name, got in (("rate 1", one.kernel(XT, X, dropout_mixed=True)),
                          ("no dropout", plain.kernel(XT, X, dropout_mixed=True))):
            with self.subTest(net=name):
                np.testing.assert_allclose(got.nngp, want.nngp, rtol=1e-14, atol=0)
                np.testing.assert_allclose(got.ntk, want.ntk, rtol=1e-14, atol=0)

    def test_refusals(self) -> None:
        with self.assertRaisesRegex(ntkc.Error, "dropout_mixed is computed in double precision only"):
            self.net.kernel(X, dropout_mixed=True, precision="single")


class MixedGraphKernel(unittest.TestCase):
    def test_as_the_cli_bit_for_bit(self) -> None:
        src = ("net g { input graph(2); dense(1.4, 0.1); relu; dropout(0.7); dense(1.2); aggregate; dense(1.1); relu;"
               " readout(sum); dense }\n")
        adjacency = [[[1], [0, 2], [1]], [[1, 2], [0, 2], [0, 1]], [[1], [0]]]
        features = [RNG.standard_normal((len(a), 2)) for a in adjacency]
        text = ["3"]
        for a, feats in zip(adjacency, features):
            text.append(f"{len(a)} 0")
            text += [" ".join(["0", str(len(nb))] + [str(u) for u in nb] + [repr(float(v)) for v in row])
                     for nb, row in zip(a, feats)]
        with Scratch() as s:
            path, graphs = s.file("net.ntk"), s.file("g.txt")
            with open(path, "w", encoding="utf-8") as f:
                f.write(src)
            with open(graphs, "w", encoding="utf-8") as f:
                f.write("\n".join(text) + "\n")
            r = run_cli(["kernel", path, graphs, "--dropout-mixed", "--nngp", s.file("s.npy"), "--ntk",
                         s.file("k.npy"), "--quiet"])
            self.assertEqual(r.returncode, 0, r.stderr)
            got = ntkc.Net(src).kernel(ntkc.make_graphs(adjacency, features), dropout_mixed=True)
            self.assertTrue(np.array_equal(got.nngp, np.load(s.file("s.npy"))))
            self.assertTrue(np.array_equal(got.ntk, np.load(s.file("k.npy"))))
            plain = ntkc.Net(src).kernel(graphs, graphs)  # both sides masked: another kernel
            self.assertGreater(np.abs(plain.ntk - got.ntk).max(), 1e-3 * np.abs(got.ntk).max())


def regression(k_tt: np.ndarray, k_st: np.ndarray, y: np.ndarray, t: float) -> np.ndarray:
    """neural-tangents' mean: K_st·K_tt⁻¹·(I − e^{−K_tt·t/(n·k)})·y (eigenvalues clipped at 0); t = inf a solve."""
    if np.isinf(t):
        return k_st @ np.linalg.solve(k_tt, y)
    lam, v = np.linalg.eigh(0.5 * (k_tt + k_tt.T))
    lam = np.maximum(lam, 0)
    decay = -np.expm1(-lam * t / y.size) / np.where(lam > 0, lam, 1.0)
    return k_st @ v @ np.diag(np.where(lam > 0, decay, t / y.size)) @ v.T @ y


class FreshPrediction(unittest.TestCase):
    net = ntkc.Net(SRC)

    def test_the_regression_of_the_fresh_mask_kernels(self) -> None:
        fn = predict.gradient_descent_mse_ensemble(self.net, X, Y, dropout="fresh")
        k_tt = self.net.kernel(X, X.copy(), get="ntk")  # two mask draws: no pair is the same input
        k_st = self.net.kernel(XT, X, get="ntk", dropout_mixed=True)
        for t in (0.7, 6.0, np.inf):
            with self.subTest(t=t):
                got = fn(t=t, x_test=XT, get="ntk")
                want = regression(k_tt, k_st, Y, t)
                np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())
                # the default (neural-tangents: every input under its own masks) is another prediction
                fixed = predict.gradient_descent_mse_ensemble(self.net, X, Y)(t=t, x_test=XT, get="ntk")
                self.assertGreater(np.abs(fixed - want).max(), 1e-3 * np.abs(want).max())

    def test_as_the_cli_bit_for_bit(self) -> None:
        fn = predict.gradient_descent_mse_ensemble(self.net, X, Y, dropout="fresh")
        with Scratch() as s:
            path = s.file("net.ntk")
            with open(path, "w", encoding="utf-8") as f:
                f.write(SRC)
            r = run_cli(["predict", path, "--train", s.save("x.npy", X), "--targets", s.save("y.npy", Y), "--test",
                         s.save("xt.npy", XT), "--time", "0.5,inf", "--dropout", "fresh", "--mean", s.file("m.npy"),
                         "--cov", s.file("c.npy"), "--quiet"])
            self.assertEqual(r.returncode, 0, r.stderr)
            got = fn(t=np.array([0.5, np.inf]), x_test=XT, get="ntk", compute_cov=True)
            self.assertTrue(np.array_equal(got.mean, np.load(s.file("m.npy"))))
            self.assertTrue(np.array_equal(got.covariance, np.load(s.file("c.npy"))))

    def test_bad_value(self) -> None:
        with self.assertRaisesRegex(ValueError, "dropout must be 'fixed' or 'fresh'"):
            predict.gradient_descent_mse_ensemble(self.net, X, Y, dropout="train")


class FreshSingleNet(unittest.TestCase):
    """predict.gradient_descent(dropout="fresh"): one net from zero outputs, trained with fresh masks — the CLI's
    `ntkc predict --dropout fresh` bit for bit (plain flow and momentum), the ensemble mean bit for bit; its
    refusals are the C library's, by name."""
    net = ntkc.Net(SRC)

    def cli_mean(self, extra: list) -> np.ndarray:
        with Scratch() as s:
            path = s.file("net.ntk")
            with open(path, "w", encoding="utf-8") as f:
                f.write(SRC)
            r = run_cli(["predict", path, "--train", s.save("x.npy", X), "--targets", s.save("y.npy", Y), "--test",
                         s.save("xt.npy", XT), "--dropout", "fresh", "--mean", s.file("m.npy"), "--quiet", *extra])
            self.assertEqual(r.returncode, 0, r.stderr)
            return np.load(s.file("m.npy"))

    def test_as_the_cli_bit_for_bit(self) -> None:
        ts = np.array([0.5, 3.0])
        train, got = predict.gradient_descent(self.net, X, Y, dropout="fresh")(ts, x_test=XT)
        self.assertIsNone(train)  # outputs on the training inputs under masks: not defined
        self.assertTrue(np.array_equal(got, self.cli_mean(["--time", "0.5,3"])))
        ens = predict.gradient_descent_mse_ensemble(self.net, X, Y, dropout="fresh")(t=ts, x_test=XT, get="ntk")
        self.assertTrue(np.array_equal(got, ens))
        fixed = predict.gradient_descent(self.net, X, Y)(ts, x_test=XT)[1]
        self.assertGreater(np.abs(fixed - got).max(), 1e-3 * np.abs(got).max())  # not the default's prediction

    def test_momentum_as_the_cli_bit_for_bit(self) -> None:
        fn = predict.gradient_descent(self.net, X, Y, momentum=0.5, learning_rate=0.5, dropout="fresh")
        got = fn(np.array([1.0, 4.0]), x_test=XT)[1]
        want = self.cli_mean(["--time", "1,4", "--momentum", "0.5", "--learning-rate", "0.5"])
        self.assertTrue(np.array_equal(got, want))

    def test_refusals_name_the_option(self) -> None:
        for name, fn, args in (
                ("cross-entropy", predict.gradient_descent(self.net, X, Y, loss="xent", dropout="fresh"), {}),
                ("initial outputs fx0", predict.gradient_descent(self.net, X, Y, dropout="fresh"),
                 {"fx_train_0": np.ones((6, 2))}),
                ("initial outputs fx0", predict.gradient_descent(self.net, X, Y, dropout="fresh"),
                 {"fx_test_0": 0.5})):
            with self.subTest(refused=name, args=sorted(args)):
                with self.assertRaisesRegex(ntkc.Error, r"dropout_fresh \(--dropout fresh\) does not go with " + name):
                    fn(1.0, x_test=XT, **args)
        with self.assertRaisesRegex(ValueError, "dropout must be 'fixed' or 'fresh'"):
            predict.gradient_descent(self.net, X, Y, dropout="train")


if __name__ == "__main__":
    unittest.main()
