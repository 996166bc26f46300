"""neural-tangents' ``stax`` vocabulary, computed by ntkc.

Every layer returns ``(init_fn, apply_fn, kernel_fn)`` with neural-tangents'
names, signatures and parameter semantics (NTK parameterization by default,
``Conv`` padding ``"VALID"``, ``AvgPool`` strides 1, NHWC images)::

    from ntkc import stax
    init_fn, apply_fn, kernel_fn = stax.serial(
        stax.Dense(512, W_std=1.5, b_std=0.05), stax.Relu(), stax.Dense(1))
    k = kernel_fn(x1, x2, "ntk")          # exact, by ntkc
    print(kernel_fn.source)               # the ntkc net it became

``kernel_fn`` compiles the ntkc source once per input shape. ``init_fn`` and
``apply_fn`` build and run a finite-width network of the same architecture in
numpy (``init_fn(rng, input_shape)``, ``rng`` an int seed or a
``numpy.random.Generator``). Layers ntkc lacks raise ``NotImplementedError``
naming the layer.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, replace
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from . import _stax_volume
from ._net import KERNEL_NAMES, Net

Shape = tuple[int, ...]
Params = Any

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _num(x: float) -> str:
    """A number as ntkc source reads it back exactly."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"parameter {x} is not finite")
    return repr(int(x)) if x == int(x) and abs(x) < 1e15 else repr(x)


# ---- the source a layer becomes ----------------------------------------------

@dataclass
class _Branch:
    """One stream of a net under construction: its statements and its shape."""

    lines: list[str]
    shape: Shape  # per input: (d,) vectors, (H, W, C) images, () unknown width
    parent: Optional["_Branch"] = None  # the stream a FanOut split
    # ntkc's units per unit of width: 1 after a layer with weights, times the pixels after Flatten, the
    # branches' total after a channel FanInConcat (compiler/ir/lower_branch.c weights concats by them)
    units: float = 1.0


@dataclass
class _Ctx:
    """What a whole net's translation shares: its parameterization, once a layer fixed it."""

    param: Optional[str] = None
    ndim: int = 0  # the activations' axes, batch included: 2 vectors, 3 sequences, 4 images
    graph: bool = False  # an Aggregate made it a graph net (_stax_graph.py)
    aggregate_args: str = ""  # its aggregates' arguments, from the patterns given (_stax_graph.aggregate_args)


def _one(branches: list[_Branch], layer: str) -> _Branch:
    if len(branches) != 1:
        raise ValueError(f"{layer} takes one input, but {len(branches)} streams arrive (a FanOut not joined by a "
                         f"FanIn layer?)")
    return branches[0]


def _image(b: _Branch) -> bool:
    return len(b.shape) == 3


def _volume(b: _Branch) -> bool:
    return len(b.shape) == 4


# ---- layers ------------------------------------------------------------------

class Layer:
    """A layer: how it becomes ntkc source, and its finite-width network."""

    name = "Layer"

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        raise NotImplementedError

    def init(self, rng: np.random.Generator, shape: Shape) -> tuple[Any, Params]:
        return shape, ()

    def apply(self, params: Params, x: Any) -> Any:
        raise NotImplementedError


class _Statement(Layer):
    """A layer that is one ntkc statement and keeps the shape."""

    def __init__(self, name: str, statement: str, fn: Callable[[np.ndarray], np.ndarray]) -> None:
        self.name, self.statement, self.fn = name, statement, fn

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        b = _one(branches, self.name)
        return [replace(b, lines=b.lines + [self.statement])]

    def apply(self, params: Params, x: np.ndarray) -> np.ndarray:
        return self.fn(x)


class _Dense(Layer):
    name = "Dense"

    def __init__(self, out_dim: int, W_std: float, b_std: Optional[float], parameterization: str,
                 s: tuple[int, int], channel_axis: int, trainable: bool = True) -> None:
        self.trainable = bool(trainable)
        self.parameterization = parameterization.lower()
        if self.parameterization not in ("ntk", "standard"):
            raise ValueError(f"Parameterization not supported: {parameterization}")
        if tuple(s) != (1, 1):
            raise NotImplementedError("Dense: ntkc supports s=(1, 1) only")
        if channel_axis != -1:
            raise NotImplementedError("Dense: ntkc takes the channel axis last (channel_axis=-1, NHWC)")
        self.out_dim, self.W_std, self.b_std = int(out_dim), float(W_std), b_std

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        b = _one(branches, "Dense")
        if ctx.param is None:
            ctx.param = self.parameterization
        elif ctx.param != self.parameterization:
            raise NotImplementedError("Dense: ntkc takes one parameterization per net; this one mixes 'ntk' "
                                      "and 'standard'")
        args = [f"w_std={_num(self.W_std)}"]
        if self.b_std is not None:
            args.append(f"b_std={_num(self.b_std)}")
        if self.parameterization == "standard":
            args.insert(0, f"width={self.out_dim}")
        if not self.trainable:
            args.append("trainable=false")
        return [replace(b, lines=b.lines + [f"dense({', '.join(args)})"], shape=b.shape[:-1] + (self.out_dim,),
                        units=1.0)]

    def init(self, rng: np.random.Generator, shape: Shape) -> tuple[Shape, Params]:
        fan_in = shape[-1]
        W = rng.standard_normal((fan_in, self.out_dim))
        b = None if self.b_std is None else rng.standard_normal(self.out_dim)
        if self.parameterization == "standard":
            W = W * (self.W_std / math.sqrt(fan_in))
            b = None if b is None else b * self.b_std
        return shape[:-1] + (self.out_dim,), (W, b)

    def apply(self, params: Params, x: np.ndarray) -> np.ndarray:
        W, b = params
        if self.parameterization == "ntk":
            out = (self.W_std / math.sqrt(x.shape[-1])) * (x @ W)
            return out if b is None else out + self.b_std * b
        out = x @ W
        return out if b is None else out + b


_PADDINGS = {"VALID": "valid", "SAME": "same", "CIRCULAR": "circular"}


def _padding(padding: str, layer: str) -> str:
    p = str(padding).upper()
    if p not in _PADDINGS:
        raise ValueError(f"{layer}: padding must be one of VALID, SAME, CIRCULAR, not {padding!r}")
    return p


def _out_size(n: int, k: int, s: int, padding: str) -> int:
    """Outputs along an axis of n pixels; k is the window's span ((k - 1)·d + 1 when dilated)."""
    return (n - k) // s + 1 if padding == "VALID" else -(-n // s)


def _span(window: Sequence[int], dilation: Sequence[int]) -> tuple[int, int]:
    """The pixels a window of kh × kw taps dh, dw apart covers: what padding and output sizes count."""
    return tuple((k - 1) * d + 1 for k, d in zip(window, dilation))  # type: ignore[return-value]


def _pad(x: np.ndarray, window: Sequence[int], strides: Sequence[int], padding: str) -> np.ndarray:
    """x (n, H, W, C) padded as XLA pads 'SAME' (low = total // 2), zeros or wrapped for CIRCULAR."""
    if padding == "VALID":
        return x
    pads = [(0, 0)]
    for n, k, s in zip(x.shape[1:3], window, strides):
        total = max((_out_size(n, k, s, "SAME") - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    pads.append((0, 0))
    return np.pad(x, pads, mode="wrap" if padding == "CIRCULAR" else "constant")


def _windows(x: np.ndarray, window: Sequence[int], strides: Sequence[int], padding: str,
             dilation: Sequence[int] = (1, 1)) -> np.ndarray:
    """(n, H', W', C, kh, kw): every window of the padded x, at the strides, its taps dilation apart."""
    span = _span(window, dilation)
    xp = _pad(x, span, strides, padding)
    w = np.lib.stride_tricks.sliding_window_view(xp, span, axis=(1, 2))
    return w[:, ::strides[0], ::strides[1], :, ::dilation[0], ::dilation[1]]


def _spatial_args(window: Sequence[int], strides: Sequence[int]) -> list[str]:
    """ntkc's window arguments: one size and stride when square, else kh, kw, sh, sw."""
    if window[0] == window[1] and strides[0] == strides[1]:
        return [str(window[0]), f"stride={strides[0]}"]
    return [f"kh={window[0]}", f"kw={window[1]}", f"sh={strides[0]}", f"sw={strides[1]}"]


def _as_2d(seq: Sequence[int], shape: Shape) -> tuple[int, int]:
    """A 1-D window or stride on a sequence is 1 × k."""
    seq = tuple(int(v) for v in seq)
    if len(seq) == 1:
        return (1, seq[0])
    if len(seq) != 2:
        raise NotImplementedError(f"ntkc has one- and two-dimensional windows, not {len(seq)}-dimensional")
    return seq  # type: ignore[return-value]


def _nhwc(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """A sequence batch (n, L, C) as images (n, 1, L, C)."""
    return (x[:, None], True) if x.ndim == 3 else (x, False)


class _Conv(Layer):
    name = "Conv"

    def __init__(self, out_chan: int, filter_shape: Sequence[int], strides: Optional[Sequence[int]], padding: str,
                 W_std: float, b_std: Optional[float], dimension_numbers: Any, parameterization: str,
                 trainable: bool = True, rhs_dilation: Optional[Sequence[int]] = None) -> None:
        self.trainable = bool(trainable)
        if dimension_numbers not in (None, ("NHWC", "HWIO", "NHWC"), ("NWC", "WIO", "NWC"),
                                     ("NDHWC", "DHWIO", "NDHWC")):
            raise NotImplementedError("Conv: ntkc takes NHWC images (dimension_numbers=None)")
        self.parameterization = parameterization.lower()
        if self.parameterization not in ("ntk", "standard"):
            raise ValueError(f"Parameterization not supported: {parameterization}")
        self.out_chan, self.filter_shape = int(out_chan), tuple(int(v) for v in filter_shape)
        self.strides = tuple(int(v) for v in strides) if strides else (1,) * len(self.filter_shape)
        self.padding = _padding(padding, "Conv")
        self.W_std, self.b_std = float(W_std), b_std
        self.dilation = tuple(int(v) for v in rhs_dilation) if rhs_dilation else (1,) * len(self.filter_shape)
        if len(self.dilation) != len(self.filter_shape) or min(self.dilation) < 1:
            raise ValueError(f"Conv: rhs_dilation needs one positive integer per filter axis, not {rhs_dilation!r}")

    def _geometry(self, shape: Shape) -> tuple[tuple[int, int], tuple[int, int]]:
        return _as_2d(self.filter_shape, shape), _as_2d(self.strides, shape)

    def _conv_out(self, H: int, W: int, shape: Shape) -> tuple[int, int, int]:
        (kh, kw), (sh, sw) = self._geometry(shape)
        ph, pw = _span((kh, kw), _as_2d(self.dilation, shape))
        return _out_size(H, ph, sh, self.padding), _out_size(W, pw, sw, self.padding), self.out_chan

    def _dilation_args(self, shape: Shape) -> list[str]:
        dh, dw = _as_2d(self.dilation, shape)
        if (dh, dw) == (1, 1):
            return []
        if dh == dw:
            return [f"dilation={dh}"]
        return [f"d{axis}={d}" for axis, d in (("h", dh), ("w", dw)) if d != 1]

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        b = _one(branches, "Conv")
        if ctx.param is None:
            ctx.param = self.parameterization
        elif ctx.param != self.parameterization:
            raise NotImplementedError("Conv: ntkc takes one parameterization per net; this one mixes 'ntk' "
                                      "and 'standard'")
        if len(self.filter_shape) == 3 and _volume(b):  # a volume (_stax_volume.py)
            return [_stax_volume.conv_emit(self, b)]
        if not _image(b):
            raise ValueError("Conv needs image or sequence inputs: (n, H, W, C) or (n, L, C)")
        (kh, kw), (sh, sw) = self._geometry(b.shape)
        args = _spatial_args((kh, kw), (sh, sw))
        args += [f"w_std={_num(self.W_std)}", f"padding={_PADDINGS[self.padding]}"] + self._dilation_args(b.shape)
        if self.parameterization == "standard":  # b_std written means a bias (its +1 in the NTK)
            args += [f"width={self.out_chan}"] + ([] if self.b_std is None else [f"b_std={_num(self.b_std)}"])
        else:
            args.insert(1, f"b_std={_num(self.b_std or 0.0)}")
        if not self.trainable:
            args.append("trainable=false")
        H, W, _ = b.shape
        shape = self._conv_out(H, W, b.shape)
        return [replace(b, lines=b.lines + [f"conv({', '.join(args)})"], shape=shape, units=1.0)]

    def init(self, rng: np.random.Generator, shape: Shape) -> tuple[Shape, Params]:
        if len(self.filter_shape) == 3:
            return _stax_volume.conv_init(self, rng, shape)
        seq = len(shape) == 3
        (kh, kw), (sh, sw) = self._geometry(shape)
        H, W = (1, shape[1]) if seq else shape[1:3]
        Wt = rng.standard_normal((kh, kw, shape[-1], self.out_chan))
        b = None if self.b_std is None else rng.standard_normal(self.out_chan)
        if self.parameterization == "standard":
            Wt = Wt * (self.W_std / math.sqrt(kh * kw * shape[-1]))
            b = None if b is None else b * self.b_std
        out = self._conv_out(H, W, shape)
        return ((shape[0],) + (out[1:] if seq else out)), (Wt, b)

    def apply(self, params: Params, x: np.ndarray) -> np.ndarray:
        Wt, b = params
        if Wt.ndim == 5:
            return _stax_volume.conv_apply(self, params, x)
        x4, seq = _nhwc(x)
        kh, kw = Wt.shape[:2]
        win = _windows(x4, (kh, kw), _as_2d(self.strides, x.shape), self.padding,
                       _as_2d(self.dilation, x.shape))  # n, H', W', C, kh, kw
        out = np.tensordot(win, Wt, axes=([3, 4, 5], [2, 0, 1]))
        if self.parameterization == "standard":  # W and b were drawn with their deviations (init)
            out = out if b is None else out + b
        else:
            out *= self.W_std / math.sqrt(kh * kw * x4.shape[-1])
            out = out if b is None else out + self.b_std * b
        return out[:, 0] if seq else out


class _Pool(Layer):
    def __init__(self, kind: str, window_shape: Sequence[int], strides: Optional[Sequence[int]], padding: str,
                 normalize_edges: bool = False) -> None:
        self.kind, self.name = kind, "AvgPool" if kind == "avg" else "SumPool"
        self.window = tuple(int(v) for v in window_shape)
        self.strides = tuple(int(v) for v in strides) if strides else (1,) * len(self.window)
        self.padding = _padding(padding, self.name)
        self.normalize_edges = bool(normalize_edges) and kind == "avg"

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        b = _one(branches, self.name)
        if len(self.window) == 3 and _volume(b):  # a volume (_stax_volume.py)
            args = _stax_volume.args(self.window, self.strides, self.padding)
            args += ["normalize_edges=true"] if self.normalize_edges else []
            out = _stax_volume.out_shape(b.shape, self.window, self.strides, self.padding)
            return [replace(b, lines=b.lines + [f"{self.kind}_pool({', '.join(args)})"], shape=out + b.shape[3:])]
        if not _image(b):
            raise ValueError(f"{self.name} needs image or sequence inputs")
        (kh, kw), (sh, sw) = _as_2d(self.window, b.shape), _as_2d(self.strides, b.shape)
        args = _spatial_args((kh, kw), (sh, sw)) + [f"padding={_PADDINGS[self.padding]}"]
        if self.normalize_edges:
            args.append("normalize_edges=true")
        H, W, C = b.shape
        shape = (_out_size(H, kh, sh, self.padding), _out_size(W, kw, sw, self.padding), C)
        return [replace(b, lines=b.lines + [f"{self.kind}_pool({', '.join(args)})"], shape=shape)]

    def init(self, rng: np.random.Generator, shape: Shape) -> tuple[Shape, Params]:
        if len(self.window) == 3:
            out = _stax_volume.out_shape(shape[1:], self.window, self.strides, self.padding)
            return (shape[0],) + out + (shape[-1],), ()
        seq = len(shape) == 3
        (kh, kw), (sh, sw) = _as_2d(self.window, shape), _as_2d(self.strides, shape)
        H, W = (1, shape[1]) if seq else shape[1:3]
        out = (_out_size(H, kh, sh, self.padding), _out_size(W, kw, sw, self.padding), shape[-1])
        return (shape[0],) + (out[1:] if seq else out), ()

    def apply(self, params: Params, x: np.ndarray) -> np.ndarray:
        if len(self.window) == 3:
            return _stax_volume.pool_apply(self.kind, self.window, self.strides, self.padding, x, self.normalize_edges)
        x4, seq = _nhwc(x)
        window = _as_2d(self.window, x.shape)
        win = _windows(x4, window, _as_2d(self.strides, x.shape), self.padding)
        out = win.sum(axis=(-2, -1)) / (window[0] * window[1] if self.kind == "avg" else 1)
        if self.normalize_edges and self.padding == "SAME":  # divide by the in-bounds pixels instead
            ones = np.ones(x4.shape[:3] + (1,))
            out = win.sum(axis=(-2, -1)) / _windows(ones, window, _as_2d(self.strides, x.shape), "SAME").sum(
                axis=(-2, -1))
        return out[:, 0] if seq else out


class _GlobalPool(Layer):
    def __init__(self, kind: str) -> None:
        self.kind, self.name = kind, "GlobalAvgPool" if kind == "avg" else "GlobalSumPool"

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        b = _one(branches, self.name)
        if not _image(b) and not _volume(b):
            raise ValueError(f"{self.name} needs image or sequence inputs")
        line = f"readout({'sum' if self.kind == 'sum' else 'mean'})" if ctx.graph else f"global_{self.kind}_pool"
        return [replace(b, lines=b.lines + [line], shape=(b.shape[-1],))]

    def init(self, rng: np.random.Generator, shape: Shape) -> tuple[Shape, Params]:
        return (shape[0], shape[-1]), ()

    def apply(self, params: Params, x: np.ndarray) -> np.ndarray:
        axes = tuple(range(1, x.ndim - 1))
        return x.mean(axis=axes) if self.kind == "avg" else x.sum(axis=axes)


class _Flatten(Layer):
    name = "Flatten"

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        b = _one(branches, "Flatten")
        if not _image(b) and not _volume(b):
            return [b]  # vectors stay as they are
        return [replace(b, lines=b.lines + ["flatten"], shape=(int(np.prod(b.shape)),),
                        units=b.units * int(np.prod(b.shape[:-1])))]

    def init(self, rng: np.random.Generator, shape: Shape) -> tuple[Shape, Params]:
        return (shape[0], int(np.prod(shape[1:]))), ()

    def apply(self, params: Params, x: np.ndarray) -> np.ndarray:
        return x.reshape(x.shape[0], -1)


class _LayerNorm(Layer):
    name = "LayerNorm"

    def __init__(self, axis: Any, eps: float) -> None:
        self.axis = (axis,) if isinstance(axis, int) else tuple(int(a) for a in axis)
        self.eps = float(eps)

    def _axes(self, ndim: int) -> str:
        """ntkc's axes= for this axis on inputs of ndim axes (batch first, channels last)."""
        axes = {a % ndim for a in self.axis}
        if 0 in axes:
            raise NotImplementedError("LayerNorm over the batch axis: ntkc normalises each input on its own")
        if ndim - 1 not in axes:
            raise NotImplementedError("LayerNorm without the channel axis has no infinite-width kernel "
                                      "(neural-tangents requires it)")
        spatial = axes - {ndim - 1}
        if not spatial:
            return "channels"
        if ndim == 5:  # NDHWC: one of depth, height, width, or all three
            names = {(1,): "depth", (2,): "height", (3,): "width", (1, 2, 3): "all"}
            name = names.get(tuple(sorted(spatial)))
            if name is None:
                _stax_volume.refuse("LayerNorm", f"(axis={self.axis}) over two of the three spatial axes")
            return name
        if ndim == 3 or spatial == {1, 2}:  # a sequence's one spatial axis, or both of an image's
            return "all"
        return "height" if spatial == {1} else "width"

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        b = _one(branches, "LayerNorm")
        args = [f"eps={_num(self.eps)}"]
        axes = self._axes(len(b.shape) + 1) if b.shape else "channels"
        if axes != "channels":
            args.append(f"axes={axes}")
        return [replace(b, lines=b.lines + [f"layer_norm({', '.join(args)})"])]

    def apply(self, params: Params, x: np.ndarray) -> np.ndarray:
        self._axes(x.ndim)
        axes = tuple(sorted({a % x.ndim for a in self.axis}))
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps)


class _Attention(Layer):
    """neural-tangents' GlobalSelfAttention as ntkc's attention(...) (docs/attention.md)."""

    name = "GlobalSelfAttention"
    _MECHANISMS = ("SOFTMAX", "IDENTITY", "ABS", "RELU")

    def __init__(self, n_chan_out: int, n_chan_key: int, n_chan_val: int, n_heads: int, linear_scaling: bool,
                 stds: tuple[float, float, float, float], b_std: Optional[float], mechanism: str,
                 pos_emb_type: str, pos_emb_decay_fn: Any, val_pos_emb: bool, batch_axis: int,
                 channel_axis: int, n_chan_pos_emb: Optional[int] = None, W_pos_emb_std: float = 1.0) -> None:
        self.mechanism = str(getattr(mechanism, "name", mechanism)).upper()
        if self.mechanism not in self._MECHANISMS:
            raise ValueError(f"GlobalSelfAttention: attention_mechanism must be one of {', '.join(self._MECHANISMS)}, "
                             f"not {mechanism!r}")
        pos = str(getattr(pos_emb_type, "name", pos_emb_type)).upper()
        if pos not in ("NONE", "SUM", "CONCAT"):
            raise ValueError(f"GlobalSelfAttention: pos_emb_type must be NONE, SUM or CONCAT, not {pos_emb_type!r}")
        if pos_emb_decay_fn is not None:
            raise NotImplementedError("GlobalSelfAttention: pos_emb_decay_fn: ntkc's positional embeddings are "
                                      "one-hot (covariance δ_st across positions, neural-tangents' default); a "
                                      "decaying covariance is not implemented")
        if pos == "SUM" and n_chan_pos_emb is not None:
            raise ValueError("GlobalSelfAttention: n_chan_pos_emb applies to pos_emb_type='CONCAT' only (SUM adds "
                             "embeddings of the input's channels, as neural-tangents requires)")
        self.pos, self.val_pos_emb = pos, bool(val_pos_emb) and pos != "NONE"
        self.n_chan_pos_emb = None if n_chan_pos_emb is None else int(n_chan_pos_emb)
        self.W_pos_emb_std = float(W_pos_emb_std)
        if batch_axis != 0 or channel_axis != -1:
            raise NotImplementedError("GlobalSelfAttention: ntkc takes the batch axis first and the channel axis "
                                      "last (batch_axis=0, channel_axis=-1)")
        if not linear_scaling and self.mechanism != "IDENTITY":
            raise NotImplementedError(f"GlobalSelfAttention: linear_scaling=False with attention_mechanism="
                                      f"{self.mechanism!r} has no closed-form kernel (neural-tangents raises too); "
                                      f"use linear_scaling=True or 'IDENTITY'")
        self.n_chan_out, self.n_chan_key, self.n_chan_val = int(n_chan_out), int(n_chan_key), int(n_chan_val)
        self.n_heads, self.linear = int(n_heads), bool(linear_scaling)
        self.W_key_std, self.W_value_std, self.W_query_std, self.W_out_std = (float(v) for v in stds)
        self.b_std = b_std

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        b = _one(branches, self.name)
        if not _image(b) and not _volume(b):
            raise ValueError("GlobalSelfAttention needs image or sequence inputs (or volumes): (n, H, W, C), (n, L, C) "
                             "or (n, D, H, W, C)")
        # no parameterization of its own (its Dense sub-layers are always NTK-parameterized, as in neural-tangents):
        # under 'standard' ntkc's attention keeps that kernel and declares n_chan_out, the next layer's fan-in
        args = [] if ctx.param != "standard" else [f"width={self.n_chan_out}"]
        args += [f"heads={self.n_heads}", f"scaling={'linear' if self.linear else 'sqrt'}",
                f"mechanism={self.mechanism.lower()}", f"w_q={_num(self.W_query_std)}", f"w_k={_num(self.W_key_std)}",
                f"w_v={_num(self.W_value_std)}", f"w_out={_num(self.W_out_std)}", f"b_std={_num(self.b_std or 0.0)}"]
        if self.pos != "NONE":  # neural-tangents' weights: C/(C + C_p) and W_pos²·C_p/(C + C_p) for CONCAT
            args += [f"pos_emb={self.pos.lower()}", f"w_pos={_num(self.W_pos_emb_std)}"]
            if self.pos == "CONCAT":
                args.append(f"pos_channels={_num(self._pos_chans(b.shape[-1]) / b.shape[-1])}")
            if self.val_pos_emb:
                args.append("val_pos_emb=1")
        shape = b.shape[:-1] + (self.n_chan_out,)
        return [replace(b, lines=b.lines + [f"attention({', '.join(args)})"], shape=shape, units=1.0)]

    def _pos_chans(self, c: int) -> int:
        """The embedding's channels: the input's for SUM, n_chan_pos_emb (default the input's) for CONCAT."""
        return c if self.pos == "SUM" or self.n_chan_pos_emb is None else self.n_chan_pos_emb

    def _in_chans(self, c: int) -> tuple[int, int]:
        """Channels the keys/queries and the values read (CONCAT widens them)."""
        cp = self._pos_chans(c) if self.pos == "CONCAT" else 0
        return c + cp, c + (cp if self.val_pos_emb else 0)

    def init(self, rng: np.random.Generator, shape: Shape) -> tuple[Shape, Params]:
        c, H = shape[-1], self.n_heads
        ck, cv = self._in_chans(c)
        Q = None if self.linear else rng.standard_normal((H, ck, self.n_chan_key))
        K = rng.standard_normal((H, ck, self.n_chan_key))
        V = rng.standard_normal((H, cv, self.n_chan_val))
        O = rng.standard_normal((self.n_chan_val * H, self.n_chan_out))
        b = None if self.b_std is None else rng.standard_normal(self.n_chan_out)
        positions = int(np.prod(shape[1:-1]))
        pe = None if self.pos == "NONE" else rng.standard_normal((positions, self._pos_chans(c)))  # N(0, 1)
        return shape[:-1] + (self.n_chan_out,), (Q, K, V, O, b, pe)

    def apply(self, params: Params, x: np.ndarray) -> np.ndarray:
        Q, K, V, O, b, pe = params
        n, c = x.shape[0], x.shape[-1]
        h = x.reshape(n, -1, c)                                    # n, P, C
        hv = h
        if pe is not None:  # neural-tangents: W_pos·P added (SUM) or concatenated (CONCAT) before the keys
            emb = np.broadcast_to(self.W_pos_emb_std * pe, (n,) + pe.shape)
            h = h + emb if self.pos == "SUM" else np.concatenate([h, emb], axis=-1)
            hv = h if self.val_pos_emb else hv
        keys = np.einsum("npc,hcd->hnpd", h, K)
        queries = keys if self.linear else np.einsum("npc,hcd->hnpd", h, Q)
        values = np.einsum("npc,hcd->hnpd", hv, V)
        norm = h.shape[-1] * (self.n_chan_key if self.linear else math.sqrt(self.n_chan_key))
        G = np.einsum("hnpd,hnqd->hnpq", queries, keys) * (self.W_query_std * self.W_key_std / norm)
        if self.mechanism == "SOFTMAX":
            G = np.exp(G - G.max(axis=-1, keepdims=True))
            G /= G.sum(axis=-1, keepdims=True)
        elif self.mechanism == "ABS":
            G = np.abs(G)
        elif self.mechanism == "RELU":
            G = np.maximum(G, 0.0)
        heads = np.einsum("hnpq,hnqd->npdh", G, values).reshape(n, h.shape[1], -1)  # (d, head) order, as nt
        out = heads @ O * (self.W_out_std * self.W_value_std / math.sqrt(self.n_chan_val * self.n_heads *
                                                                         hv.shape[-1]))
        if b is not None:
            out = out + self.b_std * b
        return out.reshape(x.shape[:-1] + (self.n_chan_out,))


class _Identity(Layer):
    name = "Identity"

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        return branches

    def apply(self, params: Params, x: Any) -> Any:
        return x


class _FanOut(Layer):
    name = "FanOut"

    def __init__(self, num: int) -> None:
        self.num = int(num)

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        b = _one(branches, "FanOut")
        return [_Branch([], b.shape, parent=b, units=b.units) for _ in range(self.num)]

    def init(self, rng: np.random.Generator, shape: Shape) -> tuple[Any, Params]:
        return [shape] * self.num, ()

    def apply(self, params: Params, x: Any) -> Any:
        return [x] * self.num


class _FanIn(Layer):
    def __init__(self, kind: str, axis: int = -1) -> None:
        self.kind, self.axis = kind, axis
        self.name = {"sum": "FanInSum", "prod": "FanInProd", "concat": "FanInConcat"}[kind]
        if kind == "concat" and axis == 0:
            raise NotImplementedError("FanInConcat: ntkc does not concatenate along the batch axis (axis=0)")

    def _spatial(self, ndim: int) -> Optional[int]:
        """The activation axis (batch first) a concat joins other than the channels (None: channels):
        an image's height 1 or width 2, a sequence's length 1."""
        if not -ndim <= self.axis < ndim:
            raise ValueError(f"FanInConcat: axis {self.axis} out of range for inputs of {ndim} axes")
        a = self.axis % ndim
        if a == 0:
            raise NotImplementedError("FanInConcat: ntkc does not concatenate along the batch axis (axis=0)")
        return None if a == ndim - 1 else a

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        parents = {id(b.parent) for b in branches}
        if len(branches) < 2 or len(parents) != 1 or branches[0].parent is None:
            raise ValueError(f"{self.name} joins the streams of one FanOut (serial(FanOut(n), parallel(...), "
                             f"{self.name}()))")
        parent = branches[0].parent
        if self.kind != "concat" and len({b.shape for b in branches}) != 1:
            raise ValueError(f"{self.name}: the branches' shapes differ: {[b.shape for b in branches]}")
        spatial = self._spatial(ctx.ndim) if self.kind == "concat" else None
        names = ("height", "width")
        if spatial is not None and _volume(branches[0]):  # (D, H, W, C): depth 0, height 1, width 2
            spatial, names = spatial - 1, ("depth", "height", "width")
        elif spatial is not None:  # neural-tangents' FanInConcat(axis) on height, width or a sequence's length
            # branch shapes are (H, W, C), a sequence's (1, L, C): its length is the width
            spatial = 1 if ctx.ndim == 3 or spatial == 2 else 0
        if spatial is not None:
            others = {b.shape[:spatial] + b.shape[spatial + 1:] for b in branches}
            if len(others) != 1:
                raise ValueError(f"FanInConcat: shapes differ off axis {self.axis}: {[b.shape for b in branches]}")
        elif self.kind == "concat":
            if len({b.shape[:-1] for b in branches}) != 1:
                raise ValueError(f"FanInConcat: non-channel shapes differ: {[b.shape for b in branches]}")
            if len({b.shape[-1] / b.units for b in branches}) != 1:
                raise NotImplementedError("FanInConcat: neural-tangents weights branches by their widths, ntkc by "
                                          "their units (a flattened image counts its pixels); they agree when the "
                                          "layers before it have equal widths")
        axis_arg = "" if spatial is None else f"(axis={names[spatial]})"
        lines = list(parent.lines) + [f"fanout{axis_arg} {{"]
        for b in branches:
            lines += ["    branch {"] + ["        " + ln for ln in b.lines] + ["    }"]
        lines.append(f"}} {self.kind}")
        shape = branches[0].shape
        if self.kind == "concat":
            at = len(shape) - 1 if spatial is None else spatial
            shape = shape[:at] + (sum(b.shape[at] for b in branches),) + shape[at + 1:]
        units = sum(b.units for b in branches) if self.kind == "concat" and spatial is None else branches[0].units
        return [replace(parent, lines=lines, shape=shape, units=units)]

    def init(self, rng: np.random.Generator, shape: Any) -> tuple[Shape, Params]:
        if self.kind == "concat":
            spatial = self._spatial(len(shape[0]))  # init shapes have the batch axis
            at = len(shape[0]) - 1 if spatial is None else spatial
            return shape[0][:at] + (sum(s[at] for s in shape),) + shape[0][at + 1:], ()
        return shape[0], ()

    def apply(self, params: Params, x: Any) -> np.ndarray:
        if self.kind == "sum":
            return sum(x[1:], x[0])
        if self.kind == "prod":
            out = x[0]
            for y in x[1:]:
                out = out * y
            return out
        return np.concatenate(x, axis=self.axis)


class _Serial(Layer):
    name = "serial"

    def __init__(self, layers: Sequence[Layer]) -> None:
        self.layers = list(layers)

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        for layer in self.layers:
            if ctx.graph:
                from ._stax_graph import check_layer
                check_layer(layer)
            branches = layer.emit(ctx, branches)
        return branches

    def init(self, rng: np.random.Generator, shape: Any) -> tuple[Any, Params]:
        params = []
        for layer in self.layers:
            shape, p = layer.init(rng, shape)
            params.append(p)
        return shape, tuple(params)

    def apply(self, params: Params, x: Any) -> Any:
        for layer, p in zip(self.layers, params):
            x = layer.apply(p, x)
        return x


class _Parallel(Layer):
    name = "parallel"

    def __init__(self, layers: Sequence[Layer]) -> None:
        self.layers = list(layers)

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        if len(branches) != len(self.layers):
            raise ValueError(f"parallel of {len(self.layers)} layers gets {len(branches)} streams "
                             f"(put a FanOut({len(self.layers)}) before it)")
        out = []
        for layer, b in zip(self.layers, branches):
            out += layer.emit(ctx, [b])
        return out

    def init(self, rng: np.random.Generator, shape: Any) -> tuple[Any, Params]:
        shapes, params = [], []
        for layer, s in zip(self.layers, shape):
            s, p = layer.init(rng, s)
            shapes.append(s)
            params.append(p)
        return shapes, tuple(params)

    def apply(self, params: Params, x: Any) -> Any:
        return [layer.apply(p, xi) for layer, p, xi in zip(self.layers, params, x)]


# ---- init_fn, apply_fn, kernel_fn ----------------------------------------------

def _rng(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    return np.random.default_rng(np.asarray(rng).astype(np.uint64).tolist())  # e.g. a JAX PRNGKey's two words


class InitFn:
    """``init_fn(rng, input_shape) -> (output_shape, params)``: a finite-width network's parameters."""

    def __init__(self, layer: Layer) -> None:
        self.layer = layer

    def __call__(self, rng: Any, input_shape: Sequence[int]) -> tuple[Any, Params]:
        return self.layer.init(_rng(rng), tuple(input_shape))


class ApplyFn:
    """``apply_fn(params, inputs) -> outputs``: the finite-width network, in numpy (float64)."""

    def __init__(self, layer: Layer) -> None:
        self.layer = layer

    def __call__(self, params: Params, inputs: Any, **kwargs: Any) -> Any:
        if kwargs.get("mask_constant") is not None:
            raise NotImplementedError("apply_fn(mask_constant=...): ntkc.stax's finite networks take no masks (its "
                                      "kernel_fn does)")
        from ._stax_graph import _PATTERN
        token = _PATTERN.set(kwargs.get("pattern"))  # for Aggregate layers (neural-tangents' keyword)
        try:
            return self.layer.apply(params, np.asarray(inputs, dtype=np.float64))
        finally:
            _PATTERN.reset(token)


class KernelFn:
    """``kernel_fn(x1, x2=None, get=None)``: the exact NNGP/NTK, as neural-tangents' kernel_fn.

    ``get`` is "nngp", "ntk" or a tuple (None = both, as a namedtuple). Inputs are
    (n, d) vectors or (n, H, W, C) NHWC images, any numeric dtype. ``source`` is the
    ntkc net the layers became (for image nets, after a call or via ``source_for``).
    ``mask_constant`` (neural-tangents'): entries equal to it (NaN allowed) are padding (_stax_masks.py).
    """

    def __init__(self, layer: Layer) -> None:
        self.layer = layer
        self._nets: dict[tuple[Shape, bool, str], Net] = {}  # per (input shape, masked, aggregate arguments)
        self._last: Optional[tuple[Shape, bool, str]] = None
        self._lock = threading.Lock()

    def source_for(self, input_shape: Sequence[int] = (), masked: bool = False, aggregate_args: str = "") -> str:
        """The ntkc source for inputs of this shape (per input, without the batch axis); ``masked``: padded
        positions (``input ...(masked=true)``); ``aggregate_args``: ntkc's aggregate(...) for the Aggregate
        patterns given (graph nets)."""
        shape = tuple(int(s) for s in input_shape)
        ctx = _Ctx(ndim=max(2, len(shape) + 1), aggregate_args=aggregate_args)
        start = {1: (), 2: (1,) + shape}.get(len(shape), shape)  # vectors of any width; a sequence is 1 × L
        out = self.layer.emit(ctx, [_Branch([], start)])
        if ctx.param == "standard" or ctx.graph:  # again, knowing from the start what the net is: layers before
            # the first Dense/Conv (attention) declare their widths under 'standard', before an Aggregate they
            # act on a graph's nodes
            ctx = _Ctx(param=ctx.param, ndim=ctx.ndim, graph=ctx.graph, aggregate_args=aggregate_args)
            out = self.layer.emit(ctx, [_Branch([], start)])
        b = _one(out, "the net's output")
        if len(b.shape) > 1:
            raise ValueError("the net ends on images: end it with Flatten or GlobalAvgPool and a Dense readout")
        header = []
        if ctx.graph:
            header.append(f"input graph({shape[-1]})")
        elif len(shape) == 4:
            header.append(f"input volume({shape[0]}, {shape[1]}, {shape[2]}, {shape[3]}"
                          f"{', masked=true' if masked else ''})")
        elif len(shape) == 3:
            header.append(f"input image({shape[0]}, {shape[1]}, {shape[2]}{', masked=true' if masked else ''})")
        elif len(shape) == 2:
            header.append(f"input sequence({shape[0]}, {shape[1]}{', masked=true' if masked else ''})")
        if ctx.param == "standard":
            header.append("param standard")
        body = "\n".join("    " + ln for ln in header + b.lines)
        return f"# generated by ntkc.stax\nnet stax {{\n{body}\n}}\n"

    @property
    def source(self) -> str:
        """The ntkc source of the net (for vectors of any width, or the last input shape used)."""
        if self._last is not None:
            return self.source_for(*self._last)
        try:
            return self.source_for(())
        except ValueError as e:
            raise ValueError(f"{e}; call kernel_fn on data first or use kernel_fn.source_for((H, W, C))") from None

    def net_for(self, x: Any, masked: bool = False, aggregate_args: str = "") -> Net:
        """The compiled net for inputs like x (compiled once per input shape, masked or not, and per kind of
        Aggregate pattern)."""
        shape = tuple(np.shape(x)[1:])
        key = (shape if len(shape) >= 2 else (), bool(masked), aggregate_args)
        with self._lock:
            net = self._nets.get(key)
            if net is None:
                net = self._nets[key] = Net(self.source_for(*key), filename="<stax>")
            self._last = key
        return net

    def __call__(self, x1: Any, x2: Any = None, get: Union[str, Sequence[str], None] = None,
                 mask_constant: Optional[float] = None, pattern: Any = None, **kwargs: Any) -> Any:
        get = KERNEL_NAMES if get is None else get
        from . import _stax_graph
        if _stax_graph.aggregates(self.layer):  # node features (n, V, C) of graphs, V may differ from x2's
            if mask_constant is not None:
                raise NotImplementedError("Aggregate with mask_constant: pad graphs with isolated zero nodes instead")
            g1, g2, agg = _stax_graph.kernel_inputs(self.layer, x1, x2, pattern)
            return self.net_for(x1, aggregate_args=agg).kernel(g1, g2, get=get, **kwargs)
        if x2 is not None and np.shape(x2)[1:] != np.shape(x1)[1:]:
            raise ValueError(f"x1 and x2 have different input shapes: {np.shape(x1)[1:]} and {np.shape(x2)[1:]}")
        if mask_constant is not None:
            from ._stax_masks import masks
            padded = masks(x1, x2, mask_constant)
            if padded is not None:
                a1, a2, m1, m2 = padded
                return self.net_for(a1, masked=True).kernel(a1, a2, get=get, mask=m1, mask2=m2, **kwargs)
        return self.net_for(x1).kernel(x1, x2, get=get, **kwargs)


def _triple(layer: Layer) -> tuple[InitFn, ApplyFn, KernelFn]:
    return InitFn(layer), ApplyFn(layer), KernelFn(layer)


def _layer_of(t: Any) -> Layer:
    try:
        return t[2].layer
    except (TypeError, IndexError, AttributeError):
        raise TypeError("stax combinators take (init_fn, apply_fn, kernel_fn) triples of ntkc.stax layers") from None


# ---- the public names (neural-tangents' signatures) -------------------------------

def serial(*layers: Any) -> tuple[InitFn, ApplyFn, KernelFn]:
    """Layers one after the other."""
    return _triple(_Serial([_layer_of(t) for t in layers]))


def parallel(*layers: Any) -> tuple[InitFn, ApplyFn, KernelFn]:
    """One layer per stream of a FanOut."""
    return _triple(_Parallel([_layer_of(t) for t in layers]))


def repeat(layer: Any, n: int) -> tuple[InitFn, ApplyFn, KernelFn]:
    """``layer`` n times (independent parameters for each)."""
    return _triple(_Serial([_layer_of(layer)] * int(n)))


def Dense(out_dim: int, W_std: float = 1.0, b_std: Optional[float] = None, batch_axis: int = 0,
          channel_axis: int = -1, parameterization: str = "ntk", s: tuple[int, int] = (1, 1), *,
          trainable: bool = True) -> tuple:
    """Fully connected: ``W_std/sqrt(fan_in) · W x + b_std · b`` (NTK), or standard parameterization.

    ``trainable=False`` (an ntkc extension, not in neural-tangents): the layer's parameters are frozen,
    its own term leaves the NTK and the NNGP is unchanged."""
    return _triple(_Dense(out_dim, W_std, b_std, parameterization, s, channel_axis, trainable))


def Conv(out_chan: int, filter_shape: Sequence[int], strides: Optional[Sequence[int]] = None,
         padding: str = "VALID", W_std: float = 1.0, b_std: Optional[float] = None,
         dimension_numbers: Any = None, parameterization: str = "ntk", s: tuple[int, int] = (1, 1),
         rhs_dilation: Optional[Sequence[int]] = None, *, trainable: bool = True) -> tuple:
    """Convolution over NHWC images (or NWC sequences); padding VALID, SAME or CIRCULAR; rhs_dilation
    spaces the filter's taps (``jax.lax.conv_general_dilated``'s name; ntkc's ``dilation``).

    ``trainable=False`` (an ntkc extension): frozen filters, as Dense."""
    if tuple(s) != (1, 1):
        raise NotImplementedError("Conv: ntkc supports s=(1, 1) only")
    return _triple(_Conv(out_chan, filter_shape, strides, padding, W_std, b_std, dimension_numbers,
                         parameterization, trainable=trainable, rhs_dilation=rhs_dilation))


def ConvTranspose(out_chan: int, filter_shape: Sequence[int], strides: Optional[Sequence[int]] = None,
                  padding: str = "VALID", W_std: float = 1.0, b_std: Optional[float] = None,
                  dimension_numbers: Any = None, parameterization: str = "ntk", s: tuple[int, int] = (1, 1), *,
                  trainable: bool = True) -> tuple:
    """Transposed convolution (lax.conv_transpose): ntkc's conv_transpose (_stax_conv.py);
    ``trainable=False`` (an ntkc extension): frozen, as Dense."""
    from ._stax_conv import conv_variant
    return _triple(conv_variant("transpose", out_chan, filter_shape, strides, padding, W_std, b_std,
                                dimension_numbers, parameterization, s, trainable))


def ConvLocal(out_chan: int, filter_shape: Sequence[int], strides: Optional[Sequence[int]] = None,
              padding: str = "VALID", W_std: float = 1.0, b_std: Optional[float] = None,
              dimension_numbers: Any = None, parameterization: str = "ntk", s: tuple[int, int] = (1, 1), *,
              trainable: bool = True) -> tuple:
    """Locally connected layer, no weight sharing: ntkc's conv_local (_stax_conv.py);
    ``trainable=False`` (an ntkc extension): frozen, as Dense."""
    from ._stax_conv import conv_variant
    return _triple(conv_variant("local", out_chan, filter_shape, strides, padding, W_std, b_std,
                                dimension_numbers, parameterization, s, trainable))


def AvgPool(window_shape: Sequence[int], strides: Optional[Sequence[int]] = None, padding: str = "VALID",
            normalize_edges: bool = False, batch_axis: int = 0, channel_axis: int = -1) -> tuple:
    """Average pooling (strides default 1, the window's full size divides)."""
    return _triple(_Pool("avg", window_shape, strides, padding, normalize_edges))


def SumPool(window_shape: Sequence[int], strides: Optional[Sequence[int]] = None, padding: str = "VALID",
            batch_axis: int = 0, channel_axis: int = -1) -> tuple:
    """Sum pooling."""
    return _triple(_Pool("sum", window_shape, strides, padding))


def GlobalAvgPool(batch_axis: int = 0, channel_axis: int = -1) -> tuple:
    """Mean over all pixels: images → vectors."""
    return _triple(_GlobalPool("avg"))


def GlobalSumPool(batch_axis: int = 0, channel_axis: int = -1) -> tuple:
    """Sum over all pixels: images → vectors."""
    return _triple(_GlobalPool("sum"))


def Flatten(batch_axis: int = 0, batch_axis_out: int = 0) -> tuple:
    """Images → vectors of H·W·C values."""
    return _triple(_Flatten())


def LayerNorm(axis: Any = -1, eps: float = 1e-12, batch_axis: int = 0, channel_axis: int = -1) -> tuple:
    """Normalisation over the channel axis, and with it any of the spatial axes (axis=(1, 2, 3) for all)."""
    return _triple(_LayerNorm(axis, eps))


def GlobalSelfAttention(n_chan_out: int, n_chan_key: int, n_chan_val: int, n_heads: int,
                        linear_scaling: bool = True, W_key_std: float = 1.0, W_value_std: float = 1.0,
                        W_query_std: float = 1.0, W_out_std: float = 1.0, b_std: Optional[float] = None,
                        attention_mechanism: str = "SOFTMAX", pos_emb_type: str = "NONE",
                        pos_emb_p_norm: float = 2, pos_emb_decay_fn: Optional[Callable[[float], float]] = None,
                        n_chan_pos_emb: Optional[int] = None, W_pos_emb_std: float = 1.0,
                        val_pos_emb: bool = False, batch_axis: int = 0, channel_axis: int = -1) -> tuple:
    """Global self-attention over all positions (ntkc's ``attention``), neural-tangents' arguments.

    The widths (``n_chan_*``, ``n_heads``) shape only the finite network of ``init_fn``/``apply_fn``;
    the kernel is their infinite limit. Positional embeddings ``pos_emb_type`` "SUM" or "CONCAT" map to
    ``attention(pos_emb=sum|concat, w_pos=W_pos_emb_std, pos_channels=n_chan_pos_emb/C, val_pos_emb)``
    (one-hot embeddings: their covariance across positions is δ_st, neural-tangents' default);
    ``pos_emb_decay_fn`` raises NotImplementedError, so ``pos_emb_p_norm`` (used only with it) is ignored.
    """
    del pos_emb_p_norm  # used only with pos_emb_decay_fn (refused)
    return _triple(_Attention(n_chan_out, n_chan_key, n_chan_val, n_heads, linear_scaling,
                              (W_key_std, W_value_std, W_query_std, W_out_std), b_std, attention_mechanism,
                              pos_emb_type, pos_emb_decay_fn, val_pos_emb, batch_axis, channel_axis,
                              n_chan_pos_emb, W_pos_emb_std))


def Identity() -> tuple:
    """The identity layer."""
    return _triple(_Identity())


def FanOut(num: int) -> tuple:
    """``num`` copies of the input, for ``parallel``."""
    return _triple(_FanOut(num))


def FanInSum() -> tuple:
    """The sum of the streams."""
    return _triple(_FanIn("sum"))


def FanInProd() -> tuple:
    """The elementwise product of the streams."""
    return _triple(_FanIn("prod"))


def FanInConcat(axis: int = -1) -> tuple:
    """The streams concatenated along ``axis`` of the activations (batch first): the channels (-1), or an
    image's height (1) or width (2), a sequence's length (1) — ntkc's ``fanout(axis=...) { ... } concat``."""
    return _triple(_FanIn("concat", axis))


def _act(name: str, statement: str, fn: Callable[[np.ndarray], np.ndarray]) -> tuple:
    return _triple(_Statement(name, statement, fn))


def _args(**kw: float) -> str:
    return "(" + ", ".join(f"{k}={_num(v)}" for k, v in kw.items()) + ")"


def Relu(do_stabilize: bool = False) -> tuple:
    """max(x, 0)."""
    return _act("Relu", "relu", lambda x: np.maximum(x, 0.0))


def LeakyRelu(alpha: float, do_stabilize: bool = False) -> tuple:
    """alpha·min(x, 0) + max(x, 0)."""
    return _act("LeakyRelu", f"leaky_relu{_args(alpha=alpha)}", lambda x: np.where(x >= 0, x, alpha * x))


def ABRelu(a: float, b: float, do_stabilize: bool = False) -> tuple:
    """a·min(x, 0) + b·max(x, 0)."""
    return _act("ABRelu", f"abrelu{_args(a=a, b=b)}", lambda x: a * np.minimum(x, 0) + b * np.maximum(x, 0))


def Abs(do_stabilize: bool = False) -> tuple:
    """|x|."""
    return _act("Abs", "abs", np.abs)


def Erf(a: float = 1.0, b: float = 1.0, c: float = 0.0) -> tuple:
    """a·erf(b·x) + c."""
    return _act("Erf", f"erf{_args(a=a, b=b, c=c)}", lambda x: a * _erf(b * x) + c)


def Sigmoid_like() -> tuple:
    """0.5·erf(x/2.4020563531719796) + 0.5."""
    return _act("Sigmoid_like", "sigmoid_like", lambda x: 0.5 * _erf(x / 2.4020563531719796) + 0.5)


def Gelu(approximate: bool = False) -> tuple:
    """x·Φ(x); ``approximate`` (tanh) affects only the finite network, as in neural-tangents."""
    def fn(x: np.ndarray) -> np.ndarray:
        if approximate:
            return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
        return 0.5 * x * (1 + _erf(x / math.sqrt(2)))
    return _act("Gelu", "gelu", fn)


def Sin(a: float = 1.0, b: float = 1.0, c: float = 0.0) -> tuple:
    """a·sin(b·x + c)."""
    return _act("Sin", f"sin{_args(a=a, b=b, c=c)}", lambda x: a * np.sin(b * x + c))


def Cos(a: float = 1.0, b: float = 1.0, c: float = 0.0) -> tuple:
    """a·cos(b·x + c)."""
    return _act("Cos", f"cos{_args(a=a, b=b, c=c)}", lambda x: a * np.cos(b * x + c))


def Rbf(gamma: float = 1.0) -> tuple:
    """√2·sin(√(2γ)·x + π/4): the NNGP is the RBF kernel exp(−γ‖x − x'‖²/d)."""
    return _act("Rbf", f"rbf{_args(gamma=gamma)}",
                lambda x: math.sqrt(2) * np.sin(math.sqrt(2 * gamma) * x + math.pi / 4))


def Sign() -> tuple:
    """sign(x)."""
    return _act("Sign", "sign", np.sign)


def Exp(a: float = 1.0, b: float = 1.0) -> tuple:
    """a·exp(b·x)."""
    return _act("Exp", f"exp{_args(a=a, b=b)}", lambda x: a * np.exp(b * x))


def Gaussian(a: float = 1.0, b: float = -1.0) -> tuple:
    """a·exp(b·x²)."""
    return _act("Gaussian", f"gaussian{_args(a=a, b=b)}", lambda x: a * np.exp(b * x * x))


def Monomial(degree: int) -> tuple:
    """x^degree."""
    return _act("Monomial", f"monomial(n={int(degree)})", lambda x: x ** int(degree))


def RectifiedMonomial(degree: int) -> tuple:
    """max(x, 0)^degree."""
    return _act("RectifiedMonomial", f"rectified_monomial(n={int(degree)})",
                lambda x: np.maximum(x, 0.0) ** int(degree))


def Polynomial(coef: Sequence[float]) -> tuple:
    """coef[0] + coef[1]·x + …, up to degree 7."""
    coef = [float(c) for c in coef]
    if not 1 <= len(coef) <= 8:
        raise NotImplementedError(f"Polynomial: ntkc takes 1 to 8 coefficients (degree <= 7), not {len(coef)}")
    args = ", ".join(f"c{i}={_num(c)}" for i, c in enumerate(coef))
    return _act("Polynomial", f"polynomial({args})", lambda x: np.polynomial.polynomial.polyval(x, coef))


def Hermite(degree: int) -> tuple:
    """He_degree(x)/sqrt(degree!), the probabilists' Hermite polynomial of unit norm under N(0, 1)."""
    n = int(degree)
    if n < 0:
        raise NotImplementedError("Hermite: `degree` must be a non-negative integer")
    coeff = np.polynomial.hermite_e.herme2poly([0] * n + [1])
    norm = math.sqrt(math.factorial(n))
    return _act("Hermite", f"hermite(n={n})", lambda x: np.polynomial.polynomial.polyval(x, coeff) / norm)


def Gabor() -> tuple:
    """exp(-x²)·sin(x)."""
    return _act("Gabor", "gabor", lambda x: np.exp(-x * x) * np.sin(x))


class _KernelMap(_Statement):
    """A statement whose kernel is defined but whose finite network is not (neural-tangents' ExpNormalized)."""

    def apply(self, params: Params, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"stax.{self.name}: a kernel map without a finite-width network (as in "
                                  f"neural-tangents, whose apply_fn raises too)")


def ExpNormalized(gamma: float = 1, shift: float = -1, do_clip: bool = False) -> tuple:
    """sqrt(Σ11·Σ22)·exp(gamma·(ρ + shift)), ρ the correlation (always clipped to [-1, 1] in ntkc, so
    `do_clip` changes nothing but rounding past ±1); kernel only: `apply_fn` raises."""
    return _triple(_KernelMap("ExpNormalized", f"exp_normalized{_args(gamma=gamma, shift=shift)}", lambda x: x))


class _Dropout(Layer):
    name = "Dropout"

    def __init__(self, rate: float, mode: str) -> None:
        if mode not in ("train", "test"):
            raise ValueError('Dropout: the `mode` must be either "train" or "test"')
        if not 0.0 < float(rate) <= 1.0:
            raise ValueError("Dropout: the `rate` (the probability of keeping a unit) must be > 0 and <= 1")
        self.rate, self.mode = float(rate), mode

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        b = _one(branches, "Dropout")
        mode = "" if self.mode == "train" else ", mode=test"
        return [replace(b, lines=b.lines + [f"dropout(rate={_num(self.rate)}{mode})"])]

    def apply(self, params: Params, x: np.ndarray) -> np.ndarray:
        if self.mode == "test":
            return x
        raise NotImplementedError("stax.Dropout: apply_fn in train mode needs random masks per call, which "
                                  "ntkc.stax's apply_fn does not take; use mode='test' or the kernel")


def Dropout(rate: float, mode: str = "train") -> tuple:
    """neural-tangents' Dropout: `rate` is the probability of KEEPING a unit. In train mode the kernel of an
    input with itself (on images and volumes: at the same position) is divided by `rate`;
    mode='test' is the identity."""
    return _triple(_Dropout(rate, mode))


def Step() -> tuple:
    """1 for x >= 0, else 0 (an ntkc activation; not in neural-tangents)."""
    return _act("Step", "step", lambda x: (x >= 0).astype(np.float64))


def _missing(name: str, why: str = "") -> Callable[..., tuple]:
    def layer(*args: Any, **kwargs: Any) -> tuple:
        raise NotImplementedError(f"stax.{name}: ntkc has no such layer{why}")
    layer.__name__ = layer.__qualname__ = name
    layer.__doc__ = f"Not in ntkc: calling it raises NotImplementedError{why}."
    return layer


Elementwise = _missing("Elementwise", " (write the activation as an ntkc formula: act f(x) = ... in a .ntk net)")
ElementwiseNumerical = _missing("ElementwiseNumerical", " (ntkc integrates formula activations: act f(x) = ...)")


def ImageResize(shape: Sequence[int], method: Any, antialias: bool = True, precision: Any = None,
                batch_axis: int = 0, channel_axis: int = -1) -> tuple:
    """neural-tangents' ImageResize: jax.image.resize of every channel; its kernel is R·Σ·Rᵀ on both inputs'
    positions. `method` "nearest" or "linear" (alias "bilinear", "trilinear", "triangle"); -1 in `shape` keeps
    an axis (the batch and channel axes must be -1). `precision` is ignored (ntkc computes in float64)."""
    del precision
    from ._stax_positions import _ImageResize
    return _triple(_ImageResize(shape, method, antialias, batch_axis, channel_axis))


class _SliceMaker:
    """neural-tangents' ``stax.Slice``: ``Slice[:, 0]`` is the index ``(slice(None), 0)``."""

    def __getitem__(self, idx: Any) -> Any:
        return idx


Slice = _SliceMaker()


def Index(idx: Any, batch_axis: int = 0, channel_axis: int = -1) -> tuple:
    """neural-tangents' Index, for the index ntkc computes: one position of a sequence (``Slice[:, k]``), an
    image (``Slice[:, i, j]``) or a volume (``Slice[:, d, i, j]``), read out as a vector (index(k), k = i·W + j,
    on volumes (d·H + i)·W + j). Indexing the channels raises
    NotImplementedError, as in neural-tangents (no infinite-width kernel); so do slices of positions."""
    from ._stax_positions import _Index
    return _triple(_Index(idx, batch_axis, channel_axis))


DotGeneral = _missing("DotGeneral")


def Aggregate(aggregate_axis: Any = None, batch_axis: int = 0, channel_axis: int = -1,
              to_dense: Optional[Callable[[Any], Any]] = lambda p: p, implementation: str = "DENSE") -> tuple:
    """neural-tangents' Aggregate on node features (n, V, C): ntkc's aggregate(scale, self_loops) on
    ``input graph(C)``; ``kernel_fn(x1, x2, get, pattern=(p1, p2))`` and ``apply_fn(params, x, pattern=p)``
    take the adjacencies (DENSE (n, V, V), or SPARSE integer edges): symmetric 0/1 (scale=uniform) or such a
    matrix with each column divided by its count (scale=degree, the mean over neighbours), with an all-0 or
    all-1 diagonal (_stax_graph.py). GlobalSumPool/GlobalAvgPool after it are ntkc's readout."""
    from ._stax_graph import _Aggregate
    return _triple(_Aggregate(aggregate_axis, batch_axis, channel_axis, to_dense or (lambda p: p), implementation))
