"""Variable-length inputs and positional embeddings of attention nets (issue 20):
`ntkc kernel --lengths/--mask` against scripts/attention_reference.py's masked
kernels (an independent numpy implementation of neural-tangents' masking and
pos_emb), identities, and the named errors for masks that do not fit."""
from __future__ import annotations

import subprocess
import unittest

import numpy as np

from .util import ROOT, Scratch, run_cli

SCRIPT = ROOT / "scripts" / "attention_reference.py"
PY = "/usr/bin/python3"

NETS = {
    "pre-LN transformer, softmax": """net t { input sequence(5, 3)
        dense(1.0, 0.1)
        repeat 2 {
            residual { layer_norm; attention(scaling=linear, mechanism=softmax, w_q=1.5, b_std=0.2) }
            residual { layer_norm; dense(1.4, 0.1); relu; dense(1.0, 0.0) }
        }
        global_avg_pool
        dense(1.0, 0.0) }""",
    "linear relu/abs, pos_emb sum and concat, val_pos_emb": """net t { input sequence(5, 3)
        dense(1.0, 0.0)
        attention(scaling=linear, mechanism=relu, pos_emb=sum, w_pos=0.7, b_std=0.1)
        relu
        dense(1.0, 0.0)
        layer_norm
        attention(scaling=linear, mechanism=abs, pos_emb=concat, pos_channels=1, w_q=0.5, w_pos=1.2,
                  val_pos_emb=1)
        global_avg_pool
        dense(1.0, 0.0) }""",
    "sqrt identity, pos_emb concat": """net t { input sequence(5, 3)
        dense(1.0, 0.0)
        attention(scaling=sqrt, mechanism=identity, pos_emb=concat, pos_channels=0.5, w_pos=0.8, w_k=0.7)
        global_avg_pool
        dense(1.0, 0.0) }""",
    "sqrt identity, pos_emb sum, erf": """net t { input sequence(5, 3)
        dense(1.0, 0.1)
        attention(scaling=sqrt, mechanism=identity, pos_emb=sum, w_pos=0.6, b_std=0.2)
        erf
        dense(1.0, 0.1)
        global_avg_pool
        dense(1.0, 0.0) }""",
    "sqrt identity, pos_emb sum seen by the values": """net t { input sequence(5, 3)
        dense(1.0, 0.1)
        attention(scaling=sqrt, mechanism=identity, pos_emb=sum, w_pos=0.6, val_pos_emb=1)
        global_avg_pool
        dense(1.0, 0.0) }""",
    "conv, sqrt identity, erf": """net t { input sequence(5, 3)
        conv(3, 1.2, 0.1)
        attention(scaling=sqrt, mechanism=identity, w_q=0.8, w_k=1.0, w_v=1.1, w_out=0.9, b_std=0.1)
        erf
        dense(1.0, 0.1)
        global_avg_pool
        dense(1.0, 0.0) }""",
    "even conv, softmax with pos_emb sum, conv MLP": """net t { input sequence(5, 3)
        conv(2, 1.2, 0.1)
        residual { layer_norm; attention(w_q=1.5, b_std=0.2, pos_emb=sum) }
        residual { layer_norm; conv(3, 1.3, 0.1); relu; dense(1.0, 0.0) }
        global_avg_pool
        dense(1.0, 0.0) }""",
    "layer_norm over the positions, softmax": """net t { input sequence(5, 3)
        dense(1.0, 0.1)
        residual { layer_norm(axes=width); attention(scaling=linear, mechanism=softmax, w_q=1.5, b_std=0.2) }
        layer_norm(axes=all)
        residual { layer_norm(axes=height); conv(3, 1.3, 0.1); relu; dense(1.0, 0.0) }
        layer_norm(axes=width, eps=0.01)
        erf
        global_avg_pool
        dense(1.0, 0.0) }""",
    "linear identity, relu": """net t { input sequence(5, 3)
        dense(1.0, 0.0)
        attention(scaling=linear, mechanism=identity, w_q=0.5, b_std=0.3)
        relu
        dense(1.0, 0.1)
        global_avg_pool
        dense(1.0, 0.0) }""",
}

LENGTHS1 = np.array([5, 3, 4, 2])
LENGTHS2 = np.array([2, 5, 4])


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def ntkc(s: Scratch, net: str, xs: list, extra: list) -> tuple:
    r = run_cli(["kernel", net, *xs, "--nngp", s.file("c_s.npy"), "--ntk", s.file("c_k.npy"), "--quiet", *extra])
    if r.returncode != 0:
        raise AssertionError(f"ntkc kernel failed: {r.stderr}")
    return np.load(s.file("c_s.npy")), np.load(s.file("c_k.npy"))


def reference(s: Scratch, net: str, xs: list, extra: list) -> tuple:
    p = subprocess.run([PY, str(SCRIPT), "kernel", net, *xs, "--nngp", s.file("r_s.npy"),
                        "--ntk", s.file("r_k.npy"), *extra], capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError(f"attention_reference.py kernel failed: {p.stderr}")
    return np.load(s.file("r_s.npy")), np.load(s.file("r_k.npy"))


class AgainstReference(unittest.TestCase):
    def test_masked_kernels_with_positional_embeddings(self) -> None:
        rng = np.random.default_rng(7)
        x1, x2 = rng.standard_normal((4, 5, 3)), rng.standard_normal((3, 5, 3))
        worst = 0.0
        for name, text in NETS.items():
            with Scratch() as s:
                net = s.file("net.ntk")
                with open(net, "w") as f:
                    f.write(text)
                a, b = s.save("x1.npy", x1), s.save("x2.npy", x2)
                l1, l2 = s.save("l1.npy", LENGTHS1), s.save("l2.npy", LENGTHS2)
                # the mask form of the same lengths, for X2: 1 = padding
                m2 = s.save("m2.npy", np.arange(5)[None, :] >= LENGTHS2[:, None])
                for xs, ours, theirs in (([a], ["--lengths", l1], ["--lengths1", l1]),
                                         ([a, b], ["--lengths", l1, "--mask2", m2],
                                          ["--lengths1", l1, "--lengths2", l2])):
                    for u, v, what in zip(ntkc(s, net, xs, ours), reference(s, net, xs, theirs), ("NNGP", "NTK")):
                        worst = max(worst, rel(u, v))
                        self.assertLess(rel(u, v), 1e-12, f"{name}, {what}, {len(xs)} inputs")
        print(f"\nmasked attention kernels vs attention_reference.py: max relative difference {worst:.2e}")


class PythonApi(unittest.TestCase):
    def test_net_kernel_with_masks_equals_the_cli(self) -> None:
        import ntkc as ntkc_py
        rng = np.random.default_rng(11)
        x1, x2 = rng.standard_normal((4, 5, 3)), rng.standard_normal((3, 5, 3))
        m1 = np.arange(5)[None, :] >= LENGTHS1[:, None]
        m2 = np.arange(5)[None, :] >= LENGTHS2[:, None]
        text = NETS["linear relu/abs, pos_emb sum and concat, val_pos_emb"]
        net = ntkc_py.Net(text)
        py = net.kernel(x1, x2, mask=m1, mask2=m2)
        with Scratch() as s:
            path = s.file("net.ntk")
            with open(path, "w") as f:
                f.write(text)
            cli = ntkc(s, path, [s.save("a.npy", x1), s.save("b.npy", x2)],
                       ["--mask", s.save("m1.npy", m1), "--mask2", s.save("m2.npy", m2)])
        self.assertTrue(np.array_equal(py.nngp, cli[0]) and np.array_equal(py.ntk, cli[1]))
        self.assertFalse(np.isnan(x1).any())  # the caller's arrays are not marked
        with self.assertRaises(ntkc_py.Error) as e:
            net.kernel(x1, mask=np.ones((4, 5)))
        self.assertIn("every position is masked", str(e.exception))


class Predict(unittest.TestCase):
    def test_predict_with_lengths_is_regression_on_the_masked_kernels(self) -> None:
        rng = np.random.default_rng(10)
        x, xt, y = rng.standard_normal((4, 5, 3)), rng.standard_normal((3, 5, 3)), rng.standard_normal((4, 2))
        with Scratch() as s:
            net = s.file("net.ntk")
            with open(net, "w") as f:
                f.write(NETS["pre-LN transformer, softmax"])
            a, b, l1, l2 = s.save("x.npy", x), s.save("xt.npy", xt), s.save("l1.npy", LENGTHS1), s.save("l2.npy", LENGTHS2)
            r = run_cli(["predict", net, "--train", a, "--targets", s.save("y.npy", y), "--test", b,
                         "--mean", s.file("m.npy"), "--lengths-train", l1, "--lengths-test", l2, "--quiet"])
            self.assertEqual(r.returncode, 0, r.stderr)
            _, ktt = ntkc(s, net, [a], ["--lengths", l1])
            _, kst = ntkc(s, net, [b, a], ["--lengths", l2, "--lengths2", l1])
            mean = np.load(s.file("m.npy"))
        self.assertLess(rel(mean, kst @ np.linalg.solve(ktt, y)), 1e-8)


class Identities(unittest.TestCase):
    def test_padding_values_change_nothing_bit_for_bit(self) -> None:
        rng = np.random.default_rng(8)
        x = rng.standard_normal((4, 5, 3))
        junk = x.copy()
        for i, n in enumerate(LENGTHS1):
            junk[i, n:] = rng.standard_normal((5 - n, 3)) * 1e3
        for name, text in NETS.items():
            with Scratch() as s:
                net = s.file("net.ntk")
                with open(net, "w") as f:
                    f.write(text)
                l1 = s.save("l1.npy", LENGTHS1)
                a = ntkc(s, net, [s.save("x.npy", x)], ["--lengths", l1])
                b = ntkc(s, net, [s.save("j.npy", junk)], ["--lengths", l1])
                for u, v in zip(a, b):
                    self.assertTrue(np.array_equal(u, v), name)

    def test_more_padding_changes_nothing(self) -> None:
        # without positional embeddings, a sequence padded to 5 or to 8 tokens has the same kernel
        rng = np.random.default_rng(9)
        x = rng.standard_normal((4, 5, 3))
        longer = np.concatenate([x, rng.standard_normal((4, 3, 3))], axis=1)
        text = NETS["pre-LN transformer, softmax"]
        with Scratch() as s:
            n5, n8 = s.file("n5.ntk"), s.file("n8.ntk")
            with open(n5, "w") as f:
                f.write(text)
            with open(n8, "w") as f:
                f.write(text.replace("sequence(5, 3)", "sequence(8, 3)"))
            l1 = s.save("l1.npy", LENGTHS1)
            a = ntkc(s, n5, [s.save("x.npy", x)], ["--lengths", l1])
            b = ntkc(s, n8, [s.save("y.npy", longer)], ["--lengths", l1])
            for u, v in zip(a, b):
                self.assertLess(rel(u, v), 1e-13)


class Errors(unittest.TestCase):
    def fails(self, text: str, x: np.ndarray, opt: str, value: np.ndarray, words: str) -> None:
        with Scratch() as s:
            net = s.file("net.ntk")
            with open(net, "w") as f:
                f.write(text)
            r = run_cli(["kernel", net, s.save("x.npy", x), opt, s.save("m.npy", value),
                         "--ntk", s.file("k.npy"), "--quiet"])
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(words, r.stderr)
            self.assertIn("m.npy", r.stderr)
            self.assertFalse((s.path / "k.npy").exists())

    def test_masks_that_do_not_fit(self) -> None:
        net = NETS["linear identity, relu"]
        x = np.ones((4, 5, 3))
        self.fails(net, x, "--mask", np.zeros((4, 4)), "must be (4, L)")
        self.fails(net, x, "--mask", np.full((4, 5), 0.5), "holds 0 (a value) or 1 (padding)")
        m = np.zeros((4, 5))
        m[2] = 1
        self.fails(net, x, "--mask", m, "every position is masked")
        self.fails(net, x, "--lengths", np.array([5, 0, 1, 2]), "lengths[1] = 0")
        self.fails(net, x, "--lengths", np.array([5, 6, 1, 2]), "lengths[1] = 6")
        self.fails(net, x, "--lengths", np.array([5, 5]), "one per input")

    def test_masks_for_nets_without_positions_or_attention(self) -> None:
        vec = "net v { input vector(3); dense(1.0); relu; dense(1.0) }"
        self.fails(vec, np.ones((2, 3)), "--mask", np.zeros((2, 3)), "has no positions")
        seq = "net s { input sequence(5, 3); dense(1.0); relu; global_avg_pool; dense(1.0) }"
        self.fails(seq, np.ones((2, 5, 3)), "--lengths", np.array([5, 3]), "has no attention layer")


if __name__ == "__main__":
    unittest.main()
