"""ntkc.stax.Aggregate (neural-tangents' graph layer) as ntkc's graph nets, against neural-tangents'
formulas written out in numpy: the input kernel x_a·x_bᵀ/C over node pairs, Aggregate K ← P_aᵀ K P_b on
both kernels, Dense w²K + b² (Θ ← K' + w²Θ), ReLU the arc-cosine kernel with each node's own variance,
GlobalSumPool the sum over node pairs and GlobalAvgPool their mean; apply_fn against out[j] = Σ_i P[i, j]·x[i]
and its Monte Carlo NNGP; patterns ntkc's graphs cannot express refused by name."""
from __future__ import annotations

import unittest

import numpy as np

from ntkc import stax

from .reference import relu_dual

RNG = np.random.default_rng(77)


def random_patterns(n: int, V: int, loops: bool) -> np.ndarray:
    p = (RNG.random((n, V, V)) < 0.4).astype(np.float64)
    p[:, np.arange(V - 1), np.arange(1, V)] = 1.0  # a path through every node: none is isolated
    p = np.triu(p, 1)
    p = p + np.swapaxes(p, 1, 2)
    return p + np.eye(V) if loops else p


def nt_kernels(x1, p1, x2, p2, layers, same=False):
    """NNGP and NTK by neural-tangents' layer formulas, one pair of graphs at a time; same: x2 is x1 (Dropout's
    1/rate on an input with itself at the same node, neural-tangents' _diag_mul)."""
    n1, n2 = len(x1), len(x2)
    S, T = np.empty((n1, n2)), np.empty((n1, n2))
    for a in range(n1):
        for b in range(n2):
            C = x1.shape[-1]
            k = {"ab": x1[a] @ x2[b].T / C, "aa": x1[a] @ x1[a].T / C, "bb": x2[b] @ x2[b].T / C}
            t = {key: np.zeros_like(v) for key, v in k.items()}
            P = {"a": p1[a], "b": p2[b]}
            for layer in layers:
                kind = layer[0]
                if kind == "aggregate":
                    for key in k:
                        L, R = P[key[0]], P[key[1]]
                        k[key], t[key] = L.T @ k[key] @ R, L.T @ t[key] @ R
                elif kind == "dense":
                    w, bias = layer[1], layer[2]
                    for key in k:
                        k[key] = w * w * k[key] + bias * bias
                        t[key] = k[key] + w * w * t[key]
                elif kind == "relu":
                    va, vb = np.diag(k["aa"]), np.diag(k["bb"])
                    var = {"a": va, "b": vb}
                    new = {}
                    for key in k:
                        s, d = relu_dual(var[key[0]][:, None], var[key[1]][None, :], k[key])
                        new[key] = s
                        t[key] = t[key] * d
                    k = new
                elif kind == "dropout":
                    for key in k:
                        if key != "ab" or (same and a == b):
                            d = np.eye(len(k[key]), dtype=bool)
                            k[key] = np.where(d, k[key] / layer[1], k[key])
                            t[key] = np.where(d, t[key] / layer[1], t[key])
                elif kind in ("sum", "mean"):
                    red = np.sum if kind == "sum" else np.mean
                    k = {key: np.array([[red(v)]]) for key, v in k.items()}
                    t = {key: np.array([[red(v)]]) for key, v in t.items()}
            S[a, b], T[a, b] = k["ab"][0, 0], t["ab"][0, 0]
    return S, T


def close(test, got, want) -> None:
    for g, w, name in zip(got, want, ("NNGP", "NTK")):
        err = np.abs(g - w).max() / np.abs(w).max()
        test.assertLess(err, 1e-12, f"{name}: relative error {err:.2e}")


class AggregateKernels(unittest.TestCase):
    def net(self, pool):
        return stax.serial(stax.Dense(16, 1.3, 0.1), stax.Aggregate(), stax.Relu(), stax.Dense(16, 1.4, 0.2),
                           stax.Aggregate(), stax.Relu(), pool, stax.Dense(1, 1.1, 0.3))

    def layers(self, pool):
        return [("dense", 1.3, 0.1), ("aggregate",), ("relu",), ("dense", 1.4, 0.2), ("aggregate",), ("relu",),
                (pool,), ("dense", 1.1, 0.3)]

    def test_with_and_without_self_loops_sum_and_mean_readout(self) -> None:
        x1, x2 = RNG.standard_normal((4, 5, 3)), RNG.standard_normal((3, 6, 3))
        for loops in (False, True):
            p1, p2 = random_patterns(4, 5, loops), random_patterns(3, 6, loops)
            for pool, kind in ((stax.GlobalSumPool(), "sum"), (stax.GlobalAvgPool(), "mean")):
                with self.subTest(self_loops=loops, readout=kind):
                    _, _, kfn = self.net(pool)
                    k = kfn(x1, x2, ("nngp", "ntk"), pattern=(p1, p2))
                    close(self, k, nt_kernels(x1, p1, x2, p2, self.layers(kind)))
                    self.assertIn(f"aggregate(scale=uniform, self_loops={'true' if loops else 'false'})", kfn.source)
                    self.assertIn("input graph(3)", kfn.source)
                    ks = kfn(x1, None, ("nngp", "ntk"), pattern=p1)
                    close(self, ks, nt_kernels(x1, p1, x1, p1, self.layers(kind)))

    def test_mean_over_neighbours_is_scale_degree(self) -> None:
        """Patterns whose columns are divided by their counts (out[j] = the mean over j's neighbours, self
        included with self-loops) are ntkc's aggregate(scale=degree)."""
        x1, x2 = RNG.standard_normal((3, 5, 2)), RNG.standard_normal((2, 4, 2))
        for loops in (False, True):
            with self.subTest(self_loops=loops):
                p1, p2 = random_patterns(3, 5, loops), random_patterns(2, 4, loops)
                p1, p2 = p1 / p1.sum(axis=1, keepdims=True), p2 / p2.sum(axis=1, keepdims=True)
                _, _, kfn = self.net(stax.GlobalAvgPool())
                k = kfn(x1, x2, ("nngp", "ntk"), pattern=(p1, p2))
                close(self, k, nt_kernels(x1, p1, x2, p2, self.layers("mean")))
                self.assertIn(f"aggregate(scale=degree, self_loops={'true' if loops else 'false'})", kfn.source)

    def test_dropout_on_nodes_and_after_the_readout(self) -> None:
        x = RNG.standard_normal((3, 4, 2))
        p = random_patterns(3, 4, True)
        _, _, kfn = stax.serial(stax.Dense(16, 1.3, 0.1), stax.Aggregate(), stax.Relu(), stax.Dropout(0.8),
                                stax.Dense(16, 1.2), stax.Aggregate(), stax.Relu(), stax.GlobalSumPool(),
                                stax.Dense(8, 1.1, 0.2), stax.Dropout(0.6), stax.Dense(1))
        layers = [("dense", 1.3, 0.1), ("aggregate",), ("relu",), ("dropout", 0.8), ("dense", 1.2, 0.0),
                  ("aggregate",), ("relu",), ("sum",), ("dense", 1.1, 0.2), ("dropout", 0.6), ("dense", 1.0, 0.0)]
        close(self, kfn(x, None, ("nngp", "ntk"), pattern=p), nt_kernels(x, p, x, p, layers, same=True))

    def test_sparse_pattern_is_the_dense_one(self) -> None:
        x = RNG.standard_normal((3, 4, 2))
        p = random_patterns(3, 4, False)
        m = max(int(q.sum()) for q in p)
        edges = -np.ones((3, m, 2), dtype=np.int64)  # padded with -1, as neural-tangents allows
        for g, q in enumerate(p):
            e = np.argwhere(q > 0)
            edges[g, :len(e)] = e
        _, _, dense = self.net(stax.GlobalSumPool())
        _, _, sparse = stax.serial(stax.Dense(16, 1.3, 0.1), stax.Aggregate(implementation="SPARSE"), stax.Relu(),
                                   stax.Dense(16, 1.4, 0.2), stax.Aggregate(implementation="SPARSE"), stax.Relu(),
                                   stax.GlobalSumPool(), stax.Dense(1, 1.1, 0.3))
        np.testing.assert_array_equal(sparse(x, None, "ntk", pattern=edges), dense(x, None, "ntk", pattern=p))


class AggregateFinite(unittest.TestCase):
    def test_apply_fn_sums_predecessors(self) -> None:
        x = RNG.standard_normal((2, 4, 3))
        p = RNG.random((2, 4, 4))  # apply_fn takes any weights, as neural-tangents'
        _, apply_fn, _ = stax.Aggregate()
        want = np.stack([np.stack([sum(p[n, i, j] * x[n, i] for i in range(4)) for j in range(4)]) for n in range(2)])
        self.assertLess(np.abs(apply_fn((), x, pattern=p) - want).max(), 1e-14)

    def test_finite_networks_average_to_kernel_fn(self) -> None:
        """Dense → Aggregate → ReLU → sum readout → Dense(256): E[f f'ᵀ]/256 is the NNGP at any hidden width, so the
        Monte Carlo mean must lie within 5 of its standard errors (and a 20 % error must not)."""
        init_fn, apply_fn, kfn = stax.serial(stax.Dense(128, 1.3, 0.1), stax.Aggregate(), stax.Relu(),
                                             stax.GlobalSumPool(), stax.Dense(256, 1.2, 0.2))
        x = RNG.standard_normal((3, 4, 2))
        p = random_patterns(3, 4, True)
        exact = kfn(x, None, "nngp", pattern=p)
        samples = []
        for seed in range(64):
            _, params = init_fn(seed, x.shape)
            f = apply_fn(params, x, pattern=p)
            samples.append(f @ f.T / f.shape[1])
        samples = np.array(samples)
        mean, se = samples.mean(axis=0), samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
        self.assertLess((np.abs(mean - exact) / se).max(), 5.0)
        self.assertGreater((np.abs(mean * 1.2 - exact) / se).max(), 5.0)


class AggregateRefusals(unittest.TestCase):
    def test_patterns_ntkc_graphs_cannot_express(self) -> None:
        _, _, kfn = stax.serial(stax.Dense(8), stax.Aggregate(), stax.Relu(), stax.GlobalSumPool(), stax.Dense(1))
        x = RNG.standard_normal((2, 3, 2))
        p = random_patterns(2, 3, False)
        cases = [(p * 0.3, "a weighted pattern"), (np.triu(np.ones((2, 3, 3)), 1), "a directed pattern"),
                 (p + np.diag([1.0, 0.0, 0.0]), "self-loops on some nodes only")]
        for bad, message in cases:
            with self.subTest(message=message), self.assertRaisesRegex(NotImplementedError, f"Aggregate: {message}"):
                kfn(x, None, "ntk", pattern=bad)
        with self.assertRaisesRegex(ValueError, "Aggregate: kernel_fn needs pattern"):
            kfn(x, None, "ntk")
        with self.assertRaisesRegex(NotImplementedError, r"Aggregate\(aggregate_axis=\(1, 2\)\)"):
            stax.Aggregate(aggregate_axis=(1, 2))
        _, _, conv = stax.serial(stax.Conv(4, (2, 2)), stax.Aggregate(), stax.GlobalSumPool(), stax.Dense(1))
        with self.assertRaisesRegex(NotImplementedError, r"Aggregate: ntkc.stax takes graphs as node features"):
            conv(RNG.standard_normal((2, 3, 3, 2)), None, "ntk", pattern=np.zeros((2, 9, 9)))
        _, _, seq = stax.serial(stax.Conv(4, (2,)), stax.Aggregate(), stax.GlobalSumPool(), stax.Dense(1))
        with self.assertRaisesRegex(NotImplementedError, "Conv in a net with Aggregate"):
            seq(x, None, "ntk", pattern=p)
        _, _, branch = stax.serial(stax.Dense(4), stax.FanOut(2), stax.parallel(stax.Aggregate(), stax.Identity()),
                                   stax.FanInSum(), stax.GlobalSumPool(), stax.Dense(1))
        with self.assertRaisesRegex(NotImplementedError, "Aggregate: ntkc.stax translates graphs given as node"):
            branch(x, None, "ntk", pattern=p)


if __name__ == "__main__":
    unittest.main()
