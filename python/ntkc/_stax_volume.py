"""3-D windows for ntkc.stax (issue 21): ``Conv``, ``ConvTranspose``, ``ConvLocal``, ``AvgPool``
(``normalize_edges`` too) and ``SumPool`` with a 3-D ``filter_shape``/``window_shape`` on NDHWC volumes
become ntkc's ``conv``/``conv_transpose``/``conv_local``/``avg_pool``/``sum_pool`` on
``input volume(D, H, W, C)``, ``Index`` its ``index(p)`` (p row-major over D·H·W); their finite networks are numpy 3-D
convolutions (neural-tangents' conventions: NTK parameterization W_std/√(kd·kh·kw·C), or
'standard' with the deviations in the parameters; XLA's SAME padding with the low side
total // 2, CIRCULAR wrapping). ``refuse`` names the layers volume nets do not take."""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

_PADDINGS = {"VALID": "valid", "SAME": "same", "CIRCULAR": "circular"}


def out_size(n: int, span: int, s: int, padding: str) -> int:
    return (n - span) // s + 1 if padding == "VALID" else -(-n // s)


def spans(window: Sequence[int], dilation: Sequence[int]) -> tuple[int, ...]:
    return tuple((k - 1) * d + 1 for k, d in zip(window, dilation))


def out_shape(shape: Sequence[int], window: Sequence[int], strides: Sequence[int], padding: str,
              dilation: Sequence[int] = (1, 1, 1)) -> tuple[int, int, int]:
    """(D', H', W') of a window over a (D, H, W, ...) volume."""
    return tuple(out_size(n, k, s, padding)  # type: ignore[return-value]
                 for n, k, s in zip(shape[:3], spans(window, dilation), strides))


def args(window: Sequence[int], strides: Sequence[int], padding: str, dilation: Sequence[int] = (1, 1, 1)) -> list[str]:
    """ntkc's window arguments for a volume."""
    a = [f"kd={window[0]}", f"kh={window[1]}", f"kw={window[2]}", f"sd={strides[0]}", f"sh={strides[1]}",
         f"sw={strides[2]}", f"padding={_PADDINGS[padding]}"]
    return a + [f"d{axis}={d}" for axis, d in zip("dhw", dilation) if d != 1]


def windows(x: np.ndarray, window: Sequence[int], strides: Sequence[int], padding: str,
            dilation: Sequence[int] = (1, 1, 1)) -> np.ndarray:
    """(n, D', H', W', C, kd, kh, kw): every window of the padded x (n, D, H, W, C)."""
    span = spans(window, dilation)
    if padding != "VALID":
        pads = [(0, 0)]
        for n, k, s in zip(x.shape[1:4], span, strides):
            total = max((out_size(n, k, s, "SAME") - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        pads.append((0, 0))
        x = np.pad(x, pads, mode="wrap" if padding == "CIRCULAR" else "constant")
    w = np.lib.stride_tricks.sliding_window_view(x, span, axis=(1, 2, 3))
    return w[:, ::strides[0], ::strides[1], ::strides[2], :, ::dilation[0], ::dilation[1], ::dilation[2]]


def check_conv(layer: Any) -> None:
    if len(layer.strides) != 3 or len(layer.dilation) != 3:
        raise ValueError("Conv with a 3-D filter needs 3-D strides and rhs_dilation")


def conv_emit(layer: Any, b: Any) -> Any:
    """The stream b after a Conv with a 3-D filter: ntkc's conv(kd=, ...) on the volume; under
    parameterization='standard' with width= its output channels and b_std only when given (a bias)."""
    from dataclasses import replace

    from .stax import _num
    check_conv(layer)
    a = [f"w_std={_num(layer.W_std)}"]
    if layer.parameterization == "standard":
        a += [f"width={layer.out_chan}"] + ([] if layer.b_std is None else [f"b_std={_num(layer.b_std)}"])
    else:
        a.append(f"b_std={_num(layer.b_std or 0.0)}")
    a += args(layer.filter_shape, layer.strides, layer.padding, layer.dilation)
    a += [] if layer.trainable else ["trainable=false"]
    out = out_shape(b.shape, layer.filter_shape, layer.strides, layer.padding, layer.dilation)
    return replace(b, lines=b.lines + [f"conv({', '.join(a)})"], shape=out + (layer.out_chan,), units=1.0)


def variant_emit(layer: Any, b: Any, out_size: Callable[[int, int, int], int]) -> Any:
    """The stream b after a ConvTranspose or ConvLocal with a 3-D filter: ntkc's conv_transpose/conv_local(kd=,
    kh=, kw=, sd=, sh=, sw=, padding=) on the volume (either parameterization, as on images); out_size(n, k, s) is
    the layer's output along one axis."""
    from dataclasses import replace

    from .stax import _num
    if len(layer.filter_shape) != 3 or len(layer.strides) != 3:
        raise ValueError(f"{layer.name} on volumes needs a 3-D filter_shape and strides (kd, kh, kw), not "
                         f"{layer.filter_shape} and {layer.strides}")
    a = args(layer.filter_shape, layer.strides, layer.padding)
    if layer.parameterization == "standard":  # as conv_emit
        a += [f"w_std={_num(layer.W_std)}", f"width={layer.out_chan}"]
        a += [] if layer.b_std is None else [f"b_std={_num(layer.b_std)}"]
    else:
        a += [f"w_std={_num(layer.W_std)}", f"b_std={_num(layer.b_std or 0.0)}"]
    a += [] if layer.trainable else ["trainable=false"]
    out = tuple(out_size(n, k, s) for n, k, s in zip(b.shape[:3], layer.filter_shape, layer.strides))
    return replace(b, lines=b.lines + [f"{layer.statement}({', '.join(a)})"], shape=out + (layer.out_chan,),
                   units=1.0)


def position(pos: Sequence[int], shape: Sequence[int]) -> int:
    """ntkc's index(p) of position (d, h, w) of a (D, H, W, C) volume: row-major over D·H·W, negatives from
    the end as numpy's."""
    D, H, W = shape[:3]
    if not all(-n <= i < n for i, n in zip(pos, (D, H, W))):
        raise IndexError(f"Index: position {tuple(pos)} outside the volumes' {(D, H, W)} positions")
    d, h, w = (i % n for i, n in zip(pos, (D, H, W)))
    return (d * H + h) * W + w


def refuse(layer: str, what: str = "") -> None:
    """A layer ntkc does not compute on volumes, refused by name."""
    raise NotImplementedError(f"{layer}{what} on volumes (3-D inputs, NDHWC): not computed by ntkc on volumes yet "
                              f"(its volume nets take Dense, Conv, ConvTranspose, ConvLocal, AvgPool (also "
                              f"normalize_edges=True), SumPool, GlobalAvgPool, GlobalSumPool, Flatten, Index, "
                              f"Dropout, LayerNorm (the channels with any spatial axes), "
                              f"GlobalSelfAttention, ImageResize, FanOut/FanIn* branches (windows, "
                              f"ImageResize and spatial FanInConcat inside them too), "
                              f"FanInConcat along any axis, and activations)")


def conv_init(layer: Any, rng: np.random.Generator, shape: Sequence[int]) -> tuple[tuple[int, ...], Any]:
    check_conv(layer)
    if len(shape) != 5:
        raise ValueError("Conv with a 3-D filter needs volumes: (n, D, H, W, C)")
    Wt = rng.standard_normal(tuple(layer.filter_shape) + (shape[-1], layer.out_chan))
    b = None if layer.b_std is None else rng.standard_normal(layer.out_chan)
    if layer.parameterization == "standard":  # the deviations live in the parameters
        Wt = Wt * (layer.W_std / math.sqrt(np.prod(Wt.shape[:4])))
        b = None if b is None else b * layer.b_std
    out = out_shape(shape[1:], layer.filter_shape, layer.strides, layer.padding, layer.dilation)
    return (shape[0],) + out + (layer.out_chan,), (Wt, b)


def conv_apply(layer: Any, params: Any, x: np.ndarray) -> np.ndarray:
    Wt, b = params
    win = windows(x, Wt.shape[:3], layer.strides, layer.padding, layer.dilation)  # n, D', H', W', C, kd, kh, kw
    out = np.tensordot(win, Wt, axes=([4, 5, 6, 7], [3, 0, 1, 2]))
    if layer.parameterization == "standard":  # W and b were drawn with their deviations (conv_init)
        return out if b is None else out + b
    out *= layer.W_std / math.sqrt(np.prod(Wt.shape[:4]))
    return out if b is None else out + layer.b_std * b


def pool_apply(kind: str, window: Sequence[int], strides: Sequence[int], padding: str, x: np.ndarray,
               normalize_edges: bool = False) -> np.ndarray:
    out = windows(x, window, strides, padding).sum(axis=(-3, -2, -1))
    if normalize_edges and padding == "SAME":  # each output divided by its window's in-bounds voxels
        return out / windows(np.ones(x.shape[:4] + (1,)), window, strides, "SAME").sum(axis=(-3, -2, -1))
    return out / (np.prod(window) if kind == "avg" else 1)
