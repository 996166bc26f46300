"""neural-tangents' ``Aggregate`` for ``ntkc.stax``: node features (n, V, C) with a ``pattern`` per input
become ntkc's graph nets (``input graph(C)``, ``aggregate``, ``readout``; README, "Graphs").

neural-tangents' Aggregate replaces each node by the weighted sum of its predecessors,
out[j] = Σ_i pattern[i, j]·x[i], so its kernel is P₁ᵀ Σ P₂ over node pairs; ntkc's
``aggregate(scale=uniform, self_loops)`` is Â₁ Σ Â₂ᵀ with Â = A (+ I) for an undirected 0/1 adjacency A
without self-loops, and ``scale=degree`` divides entry (u, v) by deg₁(u)·deg₂(v), Â's degrees: P = Â D⁻¹
(each column of Â divided by its count, the mean over a node's neighbours). The two agree when every
pattern is Â or Â D⁻¹ (the same kind for all) with a diagonal that is all 0 (``self_loops=false``) or all
nonzero (``self_loops=true``) in every graph of x1 and x2; other patterns (other weights, directed, mixed
diagonals) raise NotImplementedError naming Aggregate. After an
Aggregate, GlobalSumPool / GlobalAvgPool over the nodes are ``readout(sum|mean)`` (every graph has the V
nodes of the array, padding nodes included, as in neural-tangents without masks)."""
from __future__ import annotations

import contextvars
from dataclasses import replace
from typing import Any, Callable, Optional

import numpy as np

from .stax import Layer, Params, _Attention, _Branch, _Conv, _Ctx, _Flatten, _one, _Pool

# the pattern apply_fn was called with, for the Aggregate layers inside it (neural-tangents passes the same
# `pattern` keyword to every layer)
_PATTERN: contextvars.ContextVar[Any] = contextvars.ContextVar("ntkc_stax_pattern", default=None)


class _Aggregate(Layer):
    name = "Aggregate"

    def __init__(self, aggregate_axis: Any, batch_axis: int, channel_axis: int, to_dense: Callable[[Any], Any],
                 implementation: str) -> None:
        if batch_axis != 0 or channel_axis != -1:
            raise NotImplementedError("Aggregate: ntkc takes the batch axis first and the channel axis last "
                                      "(batch_axis=0, channel_axis=-1)")
        axes = () if aggregate_axis is None else (
            (aggregate_axis,) if isinstance(aggregate_axis, int) else tuple(aggregate_axis))
        if any(int(a) not in (1, -2) for a in axes) or len(axes) > 1:
            raise NotImplementedError(f"Aggregate(aggregate_axis={aggregate_axis!r}): ntkc's graphs are node "
                                      f"features (n, V, C) aggregated over their one node axis (1)")
        self.implementation = str(getattr(implementation, "value", implementation)).upper()
        if self.implementation not in ("DENSE", "SPARSE"):
            raise ValueError(f"Aggregate: implementation must be 'DENSE' or 'SPARSE', not {implementation!r}")
        self.to_dense = to_dense

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        b = _one(branches, self.name)
        if ctx.ndim != 3 or len(b.shape) != 3 or b.parent is not None:
            raise NotImplementedError("Aggregate: ntkc.stax translates graphs given as node features (n, V, C) "
                                      "through Dense layers, activations and Aggregate (outside FanOut branches), "
                                      "then GlobalSumPool or GlobalAvgPool over the nodes")
        ctx.graph = True
        return [replace(b, lines=b.lines + [f"aggregate({ctx.aggregate_args or 'scale=uniform, self_loops=false'})"])]

    def dense_pattern(self, pattern: Any, n: int, V: int, what: str) -> np.ndarray:
        """(n, V, V) adjacency weights from neural-tangents' DENSE or SPARSE pattern."""
        if self.implementation == "DENSE":
            p = np.asarray(self.to_dense(pattern), dtype=np.float64)
            if p.shape != (n, V, V):
                raise ValueError(f"Aggregate: {what} must be (n, V, V) = {(n, V, V)}, not {p.shape}")
            return p
        e = np.asarray(pattern)
        e = e[:, :, 0, :] if e.ndim == 4 and e.shape[2] == 1 else e
        if e.ndim != 3 or e.shape[0] != n or e.shape[-1] != 2 or e.dtype.kind not in "iu":
            raise ValueError(f"Aggregate(implementation='SPARSE'): {what} must be integer edges (n, n_edges, 2) "
                             f"or (n, n_edges, 1, 2), not {e.dtype} {e.shape}")
        p = np.zeros((n, V, V))
        for g in range(n):
            for s, r in e[g]:
                if s >= 0 and r >= 0:  # negative indices are padding (neural-tangents)
                    p[g, s, r] += 1.0  # repeated edges add their weights
        return p

    def apply(self, params: Params, x: np.ndarray) -> np.ndarray:
        pattern = _PATTERN.get()
        if pattern is None:
            raise ValueError("Aggregate: apply_fn needs pattern=... (neural-tangents' adjacency of each input)")
        p = self.dense_pattern(pattern, x.shape[0], x.shape[1], "pattern")
        return np.einsum("nic,nij->njc", x, p)


def check_layer(layer: Layer) -> None:
    """Layers of positions have no place in a graph net (its nodes are a set, not a grid)."""
    if isinstance(layer, (_Conv, _Pool, _Flatten, _Attention)) or layer.name in ("Index", "ImageResize"):
        raise NotImplementedError(f"{layer.name} in a net with Aggregate: ntkc's graph nets take Dense, "
                                  f"activations, Dropout and Aggregate on the nodes, then GlobalSumPool or "
                                  f"GlobalAvgPool (the readout) and vector layers")


def aggregates(layer: Layer) -> list[_Aggregate]:
    """The Aggregate layers in a net (serial, parallel, repeat)."""
    found = [layer] if isinstance(layer, _Aggregate) else []
    for sub in getattr(layer, "layers", ()):
        found += [a for a in aggregates(sub) if all(a is not f for f in found)]
    return found


def _scales(p: np.ndarray) -> set[str]:
    """The aggregate scales that reproduce the patterns p (n, V, V): uniform (0/1) and/or degree (each column
    of a 0/1 matrix divided by its count, to rounding: 1e-14 relative)."""
    a = (p != 0).astype(np.float64)
    deg = a.sum(axis=1, keepdims=True)  # column j's count, per graph
    found = {"uniform"} if np.array_equal(p, a) else set()
    if (deg > 0).all() and np.allclose(p, a / deg, rtol=1e-14, atol=0.0):
        found.add("degree")
    return found


def aggregate_args(patterns: list[np.ndarray]) -> str:
    """ntkc's aggregate(...) for the graphs' patterns: its scale and whether they carry self-loops (both
    net-wide in ntkc, so patterns that need them per graph or per node are refused by name, as are weights that
    neither scale gives and directed patterns)."""
    scales = {"uniform", "degree"}
    for p in patterns:
        a = p != 0
        if not np.array_equal(a, np.swapaxes(a, 1, 2)):
            raise NotImplementedError("Aggregate: a directed pattern (an edge i → j without j → i) has no ntkc "
                                      "translation: ntkc's graphs are undirected")
        scales &= _scales(p)
        if not scales:
            raise NotImplementedError("Aggregate: a weighted pattern has no ntkc translation: ntkc's aggregate "
                                      "takes 0/1 adjacencies (scale=uniform), or the same with every column divided "
                                      "by its count (scale=degree: the mean over a node's neighbours), the same kind "
                                      "for every graph; a repeated SPARSE edge weighs 2")
    diags = np.concatenate([np.diagonal(p != 0, axis1=1, axis2=2).ravel() for p in patterns])
    if diags.size and diags.min() != diags.max():
        raise NotImplementedError("Aggregate: self-loops on some nodes only: ntkc's aggregate(self_loops=...) "
                                  "adds them to every node or none (give every node pattern[v, v] != 0, or none)")
    scale = "uniform" if "uniform" in scales else "degree"
    return f"scale={scale}, self_loops={'true' if diags.size and diags[0] else 'false'}"


def graphs(x: np.ndarray, p: np.ndarray, name: str) -> Any:
    """ntkc Graphs of the node features x (n, V, C) and the edges of patterns p (n, V, V), self-loops dropped."""
    from ._net import make_graphs
    adjacency = [(q != 0) & ~np.eye(len(q), dtype=bool) for q in p]
    return make_graphs(adjacency, features=list(np.asarray(x, dtype=np.float64)), name=name)


def kernel_inputs(layer: Layer, x1: Any, x2: Any, pattern: Any) -> tuple[Any, Any, str]:
    """(Graphs of x1, of x2 or None, ntkc's aggregate arguments) for a net with Aggregate layers, from
    neural-tangents' ``pattern``: one array for x1 (x2 None), or a pair (pattern1, pattern2)."""
    agg = aggregates(layer)[0]
    if pattern is None:
        raise ValueError("Aggregate: kernel_fn needs pattern=... (neural-tangents' adjacency of each input, or "
                         "(pattern1, pattern2) with x2)")
    p1, p2 = pattern if isinstance(pattern, tuple) else (pattern, None)
    a1 = np.asarray(x1, dtype=np.float64)
    if a1.ndim != 3:
        raise NotImplementedError("Aggregate: ntkc.stax takes graphs as node features (n, V, C)")
    q1 = agg.dense_pattern(p1, a1.shape[0], a1.shape[1], "pattern1")
    if x2 is None:
        return graphs(a1, q1, "<x1>"), None, aggregate_args([q1])
    a2 = np.asarray(x2, dtype=np.float64)
    if p2 is None:
        raise ValueError("Aggregate: with x2, kernel_fn needs pattern=(pattern1, pattern2)")
    q2 = agg.dense_pattern(p2, a2.shape[0], a2.shape[1], "pattern2")
    return graphs(a1, q1, "<x1>"), graphs(a2, q2, "<x2>"), aggregate_args([q1, q2])


def readout(ctx: _Ctx, kind: str) -> Optional[str]:
    """GlobalSumPool/GlobalAvgPool after an Aggregate: ntkc's readout over the nodes."""
    return f"readout({'sum' if kind == 'sum' else 'mean'})" if ctx.graph else None
