"""The finite-width networks of ``ConvTranspose`` and ``ConvLocal`` with 3-D filters on NDHWC volumes, in numpy
(NTK parameterization, as their kernels, and 'standard': the deviations drawn into the parameters, as
neural-tangents' standard_init_fn, fan-in C·kd·kh·kw): the 2-D layers' constructions (_stax_conv.py) along three
axes."""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from . import _stax_volume


def _check(layer: Any, shape: Sequence[int]) -> None:
    if len(layer.filter_shape) != 3 or len(layer.strides) != 3:
        raise ValueError(f"{layer.name} on volumes needs a 3-D filter_shape and strides (kd, kh, kw)")
    if len(shape) != 5:
        raise ValueError(f"{layer.name} with a 3-D filter needs volumes: (n, D, H, W, C)")


def local_init(layer: Any, rng: np.random.Generator, shape: Sequence[int]) -> tuple[tuple[int, ...], Any]:
    """Weights and biases of their own at every output position."""
    _check(layer, shape)
    out = _stax_volume.out_shape(shape[1:], layer.filter_shape, layer.strides, layer.padding)
    Wt = rng.standard_normal(out + tuple(layer.filter_shape) + (shape[-1], layer.out_chan))
    b = None if layer.b_std is None else rng.standard_normal(out + (layer.out_chan,))
    return (shape[0],) + out + (layer.out_chan,), layer._standard_init(Wt, b, np.prod(layer.filter_shape) * shape[-1])


def local_apply(layer: Any, params: Any, x: np.ndarray) -> np.ndarray:
    Wt, b = params
    k = Wt.shape[3:6]
    win = _stax_volume.windows(x, k, layer.strides, layer.padding)  # n, D', H', W', C, kd, kh, kw
    return layer._scaled(np.einsum("nabcxijk,abcijkxo->nabco", win, Wt), b, np.prod(k) * x.shape[-1])


def transpose_init(layer: Any, rng: np.random.Generator, shape: Sequence[int]) -> tuple[tuple[int, ...], Any]:
    _check(layer, shape)
    out = tuple(layer._out(n, k, s) for n, k, s in zip(shape[1:4], layer.filter_shape, layer.strides))
    Wt = rng.standard_normal(tuple(layer.filter_shape) + (shape[-1], layer.out_chan))
    b = None if layer.b_std is None else rng.standard_normal(layer.out_chan)
    if layer.parameterization == "standard":  # fan-in C·kd·kh·kw, as the conv's
        Wt = Wt * (layer.W_std / math.sqrt(np.prod(Wt.shape[:4])))
        b = None if b is None else b * layer.b_std
    return (shape[0],) + out + (layer.out_chan,), (Wt, b)


def _fold(y: np.ndarray, axis: int, m: int) -> np.ndarray:
    """A circular transpose along axis: the VALID output (length L) folded onto m = n·s positions, position i
    adding to (i − ⌊(L − m)/2⌋) mod m."""
    L = y.shape[axis]
    shape = list(y.shape)
    shape[axis] = m
    folded = np.zeros(shape)
    np.add.at(folded, (slice(None),) * axis + ((np.arange(L) - (L - m) // 2) % m,), y)
    return folded


def transpose_apply(layer: Any, params: Any, x: np.ndarray) -> np.ndarray:
    """lax.conv_transpose: the input dilated by the strides, padded as lax pads, a stride-1 conv (kernel not
    flipped); CIRCULAR folds the VALID output."""
    from ._stax_conv import _transpose_pad_before, _transpose_size
    Wt, b = params
    k, s = Wt.shape[:3], tuple(layer.strides)
    pad = "VALID" if layer.padding == "CIRCULAR" else layer.padding
    n, grid, C = x.shape[0], x.shape[1:4], x.shape[4]
    xd = np.zeros((n,) + tuple((g - 1) * si + 1 for g, si in zip(grid, s)) + (C,))
    xd[:, ::s[0], ::s[1], ::s[2]] = x
    pads = [(0, 0)]
    for g, kk, si, dil in zip(grid, k, s, xd.shape[1:4]):
        lo = _transpose_pad_before(kk, si, pad)
        pads.append((lo, _transpose_size(g, kk, si, pad) + kk - 1 - dil - lo))
    xp = np.pad(xd, pads + [(0, 0)])
    win = _stax_volume.windows(xp, k, (1, 1, 1), "VALID")  # n, D', H', W', C, kd, kh, kw
    out = np.tensordot(win, Wt, axes=([4, 5, 6, 7], [3, 0, 1, 2]))
    standard = layer.parameterization == "standard"  # W and b were drawn with their deviations
    out = out if standard else out * (layer.W_std / math.sqrt(np.prod(k) * C))
    if layer.padding == "CIRCULAR":
        for axis, (g, si) in enumerate(zip(grid, s), start=1):
            out = _fold(out, axis, g * si)
    return out if b is None else out + (1.0 if standard else layer.b_std) * b
