"""ntkc.Net against the ntkc command: the same bits, the same errors."""
from __future__ import annotations

import threading
import unittest

import numpy as np

import ntkc

from .util import Scratch, cli_kernel, example, run_cli

RNG = np.random.default_rng(17)


class KernelsAsTheCli(unittest.TestCase):
    """Python's kernels are bit-identical to `ntkc kernel`'s on the same inputs."""

    def check(self, net_file: str, x1: np.ndarray, x2: np.ndarray | None = None) -> None:
        nngp, ntk = cli_kernel(net_file, x1, x2)
        k = ntkc.Net(net_file).kernel(x1, x2)
        self.assertEqual(k.nngp.dtype, np.float64)
        self.assertTrue(np.array_equal(k.nngp, nngp), "NNGP differs from the CLI's")
        self.assertTrue(np.array_equal(k.ntk, ntk), "NTK differs from the CLI's")

    def test_fc_symmetric_and_cross(self) -> None:
        x1, x2 = RNG.standard_normal((37, 9)), RNG.standard_normal((11, 9))
        self.check(example("fc.ntk"), x1)
        self.check(example("fc.ntk"), x1, x2)

    def test_dtypes_and_orders(self) -> None:
        x = RNG.standard_normal((20, 6))
        for a in (x.astype(np.float32), np.asfortranarray(x), (10 * x).astype(np.int32), x > 0,
                  x.astype(">f8")):
            with self.subTest(dtype=a.dtype, fortran=a.flags.f_contiguous):
                self.check(example("relu5.ntk"), a)

    def test_images_nhwc_and_flattened(self) -> None:
        x = RNG.standard_normal((6, 8, 8, 1))
        self.check(example("digits_cntk.ntk"), x)
        net = ntkc.Net(example("digits_cntk.ntk"))
        k4 = net.kernel(x, get="ntk")
        self.assertTrue(np.array_equal(net.kernel(x[..., 0], get="ntk"), k4))  # (n, H, W) when C = 1
        self.assertTrue(np.array_equal(net.kernel(x.reshape(6, 64), get="ntk"), k4))

    def test_standard_parameterization(self) -> None:
        self.check(example("standard.ntk"), RNG.standard_normal((9, 5)))

    def test_graphs(self) -> None:
        text = "3\n3 1\n0 2 1 2\n1 1 0\n0 1 0\n2 0\n1 1 1\n1 1 0\n4 1\n0 1 1\n0 2 0 2\n1 2 1 3\n2 1 2\n"
        with Scratch() as s:
            path = s.file("g.txt")
            with open(path, "w") as f:
                f.write(text)
            r = run_cli(["kernel", example("gntk.ntk"), path, "--ntk", s.file("k.npy"), "--nngp",
                         s.file("s.npy"), "--quiet"])
            self.assertEqual(r.returncode, 0, r.stderr)
            net = ntkc.Net(example("gntk.ntk"))
            k = net.kernel(path)
            self.assertTrue(np.array_equal(k.ntk, np.load(s.file("k.npy"))))
            self.assertTrue(np.array_equal(k.nngp, np.load(s.file("s.npy"))))
            g = ntkc.read_graphs(path)
            self.assertEqual(len(g), 3)
            self.assertEqual([g.nodes(i) for i in range(3)], [3, 2, 4])
            self.assertTrue(np.array_equal(g.labels, [1, 0, 1]))
            # the same graphs from Python lists: neighbour lists and an adjacency matrix
            adj = [[[1, 2], [0], [0]], np.array([[0, 1], [1, 0]]), [[1], [0, 2], [1, 3], [2]]]
            tags = [[0, 1, 0], [1, 1], [0, 0, 1, 2]]
            made = ntkc.make_graphs(adj, tags=tags, labels=[1, 0, 1])
            self.assertTrue(np.array_equal(net.kernel(made).ntk, k.ntk))
            feats = [np.eye(7)[t] for t in tags]  # explicit one-hot features: the same kernel
            self.assertTrue(np.array_equal(net.kernel(ntkc.make_graphs(adj, features=feats)).ntk, k.ntk))

    def test_zero_copy_for_c_contiguous_float64(self) -> None:
        net = ntkc.Net(example("fc.ntk"))
        x = RNG.standard_normal((4, 3))
        self.assertTrue(np.shares_memory(net._matrix_input(x, "x1"), x))
        self.assertFalse(np.shares_memory(net._matrix_input(np.asfortranarray(x), "x1"), x))

    def test_get(self) -> None:
        net = ntkc.Net(example("fc.ntk"))
        x = RNG.standard_normal((5, 3))
        both = net.kernel(x)
        self.assertTrue(np.array_equal(net.kernel(x, get="ntk"), both.ntk))
        pair = net.kernel(x, get=("ntk", "nngp"))
        self.assertEqual(pair._fields, ("ntk", "nngp"))
        self.assertTrue(np.array_equal(pair.nngp, both.nngp))
        with self.assertRaises(ValueError):
            net.kernel(x, get="cov")

    def test_progress_when_asked(self) -> None:
        net = ntkc.Net(example("fc.ntk"))
        x = RNG.standard_normal((40, 3))
        self.assertTrue(np.array_equal(net.kernel(x, progress=True, threads=1).ntk, net.kernel(x).ntk))


class TextAsTheCli(unittest.TestCase):
    def test_emit(self) -> None:
        with Scratch() as s:
            r = run_cli(["emit", example("fc.ntk"), "-o", s.file("fc.c")])
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(s.file("fc.c")) as f:
                self.assertEqual(ntkc.Net(example("fc.ntk")).emit(), f.read())
            with open(s.file("fc.c")) as f:
                self.assertEqual(ntkc.emit(example("fc.ntk")), f.read())

    def test_derive(self) -> None:
        for names in ([], ["swish"], ["swish", "softplus"]):
            with self.subTest(names=names):
                r = run_cli(["derive", example("activations.ntk"), *names])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(ntkc.derive(example("activations.ntk"), names or None), r.stdout)

    def test_ir(self) -> None:
        for name in ("fc.ntk", "cntk.ntk", "gntk.ntk"):
            with self.subTest(net=name):
                r = run_cli(["ir", example(name)])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(ntkc.Net(example(name)).ir(), r.stdout)


class ErrorsAsTheCli(unittest.TestCase):
    """Messages, files, lines and columns identical to the CLI's."""

    BAD = {
        "unknown_layer.ntk": "net n {\n    dense(1.5)\n    relux\n    dense\n}\n",
        "bad_arg.ntk": "net n { dense(w_std=-1); relu; dense }\n",
        "syntax.ntk": "net n {\n  dense(1.5,, 2)\n}\n",
        "formula.ntk": "act f(x) = x + y\nnet n { dense; f; dense }\n",
    }

    def test_compile_errors(self) -> None:
        with Scratch() as s:
            for name, text in self.BAD.items():
                path = s.file(name)
                with open(path, "w") as f:
                    f.write(text)
                r = run_cli(["emit", path, "-o", s.file("out.c")])
                self.assertEqual(r.returncode, 1)
                with self.subTest(file=name), self.assertRaises(ntkc.Error) as cm:
                    ntkc.Net(path)
                e = cm.exception
                self.assertEqual("ntkc: " + e.message + "\n", r.stderr)
                self.assertEqual(e.file, path)
                line, col = r.stderr.split(":")[2:4]
                self.assertEqual((e.line, e.column), (int(line), int(col)))
                self.assertEqual(e.code, 1)
                with self.assertRaises(ntkc.Error) as cm2:  # the same text, not from a file
                    ntkc.Net(text)
                self.assertEqual((cm2.exception.line, cm2.exception.column), (e.line, e.column))
                self.assertEqual(cm2.exception.file, "<string>")

    def test_missing_file(self) -> None:
        r = run_cli(["emit", "no/such.ntk"])
        with self.assertRaises(ntkc.Error) as cm:
            ntkc.Net("no/such.ntk")
        self.assertEqual("ntkc: " + cm.exception.message + "\n", r.stderr)

    def test_data_errors(self) -> None:
        net = ntkc.Net(example("digits_cntk.ntk"))
        cases = [(np.zeros((3, 7, 8, 1)), "shape \\(3, 7, 8, 1\\) does not match net 'digits_cntk'"),
                 (np.zeros((0, 64)), "has no inputs"),
                 (np.array([[0.0] * 63 + [np.nan]]), r"element \[0, 63\] is NaN"),
                 (np.array([["a"] * 64]), "not a number type")]
        for x, msg in cases:
            with self.subTest(msg=msg), self.assertRaisesRegex(ntkc.Error, msg):
                net.kernel(x)
        with self.assertRaisesRegex(ntkc.Error, "x1 has 3 features per row but x2 has 4"):
            ntkc.Net(example("fc.ntk")).kernel(np.ones((2, 3)), np.ones((2, 4)))
        with self.assertRaisesRegex(ntkc.Error, "takes graphs"):
            ntkc.Net(example("gntk.ntk")).kernel(np.ones((2, 3)))

    def test_same_message_as_cli_for_data(self) -> None:
        x = np.ones((3, 5))
        x[1, 2] = np.inf
        with Scratch() as s:
            r = run_cli(["kernel", example("fc.ntk"), s.save("x1.npy", x), "--ntk", s.file("k.npy")])
        with self.assertRaises(ntkc.Error) as cm:
            ntkc.Net(example("fc.ntk")).kernel(x)
        self.assertEqual(r.stderr.replace(s.file("x1.npy"), "x1"), "ntkc: " + cm.exception.message + "\n")


class Threads(unittest.TestCase):
    """Python threads compiling and evaluating at once get the single-threaded results."""

    def test_threads(self) -> None:
        x = RNG.standard_normal((64, 10))
        sources = [example("fc.ntk"), example("relu5.ntk"), example("digits_fc.ntk")]
        want = [ntkc.Net(src).kernel(x, threads=1) for src in sources]
        shared = [ntkc.Net(src) for src in sources]
        errors: list[str] = []

        def work(i: int) -> None:
            for r in range(6):
                j = (i + r) % len(sources)
                net = shared[j] if r % 2 else ntkc.Net(sources[j])
                k = net.kernel(x, threads=2)
                if not (np.array_equal(k.ntk, want[j].ntk) and np.array_equal(k.nngp, want[j].nngp)):
                    errors.append(f"thread {i} round {r}: {sources[j]} differs")

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main()
