"""neural-tangents' ``ImageResize`` and ``Index`` for ``ntkc.stax``: the ntkc
source they become (``image_resize``, ``index``) and their finite-width
networks in numpy."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from . import _stax_volume
from .stax import Layer, Params, Shape, _Branch, _Ctx, _image, _nhwc, _one, _volume


def _resize_weights(n_in: int, n_out: int, nearest: bool, antialias: bool) -> np.ndarray:
    """jax.image.resize's weights along one axis (n_out × n_in): half-pixel centres; an unchanged axis is the
    identity; nearest reads floor((j + 1/2)·n_in/n_out); linear a triangle, widened by n_in/n_out when antialiasing
    a downsampling, each output's weights divided by their sum."""
    if n_in == n_out:
        return np.eye(n_in)
    j = np.arange(n_out)
    if nearest:
        R = np.zeros((n_out, n_in))
        R[j, (2 * j + 1) * n_in // (2 * n_out)] = 1.0
        return R
    scale = max(n_in / n_out, 1.0) if antialias else 1.0
    sample = (j + 0.5) * n_in / n_out - 0.5
    R = np.maximum(0.0, 1.0 - np.abs(sample[:, None] - np.arange(n_in)[None, :]) / scale)
    return R / R.sum(axis=1, keepdims=True)


class _ImageResize(Layer):
    """neural-tangents' ImageResize (jax.image.resize) as ntkc's image_resize: nearest and linear methods only,
    as neural-tangents' kernel_fn; the batch and channel axes are not resized (-1)."""

    name = "ImageResize"
    _LINEAR = ("linear", "bilinear", "trilinear", "triangle")

    def __init__(self, shape: Sequence[int], method: Any, antialias: bool, batch_axis: int,
                 channel_axis: int) -> None:
        m = str(getattr(method, "name", method)).lower()
        if m not in ("nearest",) + self._LINEAR:
            raise NotImplementedError(f'ImageResize: only "linear" and "nearest" interpolation have a kernel '
                                      f'(neural-tangents\' kernel_fn refuses the others too), got {method!r}')
        if batch_axis != 0 or channel_axis != -1:
            raise NotImplementedError("ImageResize: ntkc takes the batch axis first and the channel axis last "
                                      "(batch_axis=0, channel_axis=-1)")
        self.shape = tuple(int(v) for v in shape)
        if len(self.shape) not in (3, 4, 5):  # five: a volume's (n, D, H, W, C)
            raise ValueError("ImageResize: shape gives every axis of the inputs, (n, L, C), (n, H, W, C) or "
                             "(n, D, H, W, C)")
        if self.shape[-1] != -1:
            raise ValueError("ImageResize: resizing the channel axis is not well-defined in the infinite-width "
                             "limit (set shape[-1] = -1, as neural-tangents requires)")
        if self.shape[0] != -1:
            raise ValueError("ImageResize: the batch axis is not resized (set shape[0] = -1)")
        self.nearest, self.antialias = m == "nearest", bool(antialias)

    def _out(self, H: int, W: int, seq: bool) -> tuple[int, int]:
        spatial = self.shape[1:-1]
        if len(spatial) != (1 if seq else 2):
            raise ValueError(f"ImageResize: shape {self.shape} does not match inputs with "
                             f"{'one spatial axis' if seq else 'two spatial axes'}")
        h, w = (-1,) + spatial if seq else spatial
        return (H if h == -1 else h), (W if w == -1 else w)

    def _out3(self, grid: Sequence[int]) -> tuple[int, ...]:
        """A volume's new (D, H, W): jax resizes each axis on its own (R = Rd ⊗ Rh ⊗ Rw)."""
        spatial = self.shape[1:-1]
        if len(spatial) != 3:
            raise ValueError(f"ImageResize: shape {self.shape} does not match volumes (n, D, H, W, C)")
        return tuple(n if s == -1 else s for s, n in zip(spatial, grid))

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        b = _one(branches, self.name)
        if _volume(b):  # image_resize(h, w, ..., d=D')
            D, H, W, C = b.shape
            d, h, w = self._out3((D, H, W))
            args = [str(h), str(w), f"method={'nearest' if self.nearest else 'linear'}"]
            if not self.nearest and not self.antialias:
                args.append("antialias=false")
            args.append(f"d={d}")
            return [replace(b, lines=b.lines + [f"image_resize({', '.join(args)})"], shape=(d, h, w, C))]
        if not _image(b):
            raise ValueError("ImageResize needs image or sequence inputs")
        H, W, C = b.shape
        h, w = self._out(H, W, len(self.shape) == 3)
        args = [str(h), str(w), f"method={'nearest' if self.nearest else 'linear'}"]
        if not self.nearest and not self.antialias:
            args.append("antialias=false")
        return [replace(b, lines=b.lines + [f"image_resize({', '.join(args)})"], shape=(h, w, C))]

    def init(self, rng: np.random.Generator, shape: Shape) -> tuple[Shape, Params]:
        if len(shape) == 5:
            return (shape[0],) + self._out3(shape[1:4]) + (shape[-1],), ()
        seq = len(shape) == 3
        H, W = (1, shape[1]) if seq else shape[1:3]
        h, w = self._out(H, W, seq)
        return (shape[0],) + ((w,) if seq else (h, w)) + (shape[-1],), ()

    def apply(self, params: Params, x: np.ndarray) -> np.ndarray:
        if x.ndim == 5:
            R = [_resize_weights(n, m, self.nearest, self.antialias)
                 for n, m in zip(x.shape[1:4], self._out3(x.shape[1:4]))]
            return np.einsum("ak,yi,xj,nkijc->nayxc", *R, x)
        x4, seq = _nhwc(x)
        h, w = self._out(x4.shape[1], x4.shape[2], seq)
        Rh = _resize_weights(x4.shape[1], h, self.nearest, self.antialias)
        Rw = _resize_weights(x4.shape[2], w, self.nearest, self.antialias)
        out = np.einsum("yi,xj,nijc->nyxc", Rh, Rw, x4)
        return out[:, 0] if seq else out


class _Index(Layer):
    """neural-tangents' Index as ntkc's index(k): the readout by one position of a sequence or an image, the
    batch axis and the channels untouched (``Slice[:, k]``, ``Slice[:, i, j]``, ``Slice[:, i, j, :]``)."""

    name = "Index"

    def __init__(self, idx: Any, batch_axis: int, channel_axis: int) -> None:
        if batch_axis != 0 or channel_axis != -1:
            raise NotImplementedError("Index: ntkc takes the batch axis first and the channel axis last "
                                      "(batch_axis=0, channel_axis=-1)")
        self.idx = idx if isinstance(idx, tuple) else (idx,)

    def _position(self, ndim: int) -> tuple[int, ...]:
        """The spatial integers of the index on inputs with ndim axes (batch and channels included)."""
        idx = list(self.idx)
        if idx.count(Ellipsis) > 1:
            raise ValueError("Index: at most one Ellipsis")
        if Ellipsis in idx:
            at = idx.index(Ellipsis)
            idx[at:at + 1] = [slice(None)] * (ndim - len(idx) + 1)
        idx += [slice(None)] * (ndim - len(idx))
        if len(idx) != ndim:
            raise ValueError(f"Index: {len(self.idx)} indices for inputs with {ndim} axes")
        full = lambda i: isinstance(i, slice) and i == slice(None)
        if not full(idx[0]):
            raise NotImplementedError("Index: indexing the batch axis is not supported (neural-tangents' kernel_fn "
                                      "refuses an integer there too)")
        if not full(idx[-1]):
            raise NotImplementedError("Index: indexing the channel axis has no infinite-width kernel: the channels "
                                      "are the axis whose width goes to infinity, and a finite slice of them would "
                                      "feed the next layer a finite fan-in (neural-tangents' kernel_fn refuses it "
                                      "too)")
        spatial = idx[1:-1]
        if not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in spatial):
            raise NotImplementedError("Index: ntkc's index(k) reads one position (an integer on every spatial "
                                      "axis); slices of positions are not supported")
        return tuple(int(i) for i in spatial)

    def _is_seq_index(self) -> bool:
        """A sequence's index has one spatial integer, (:, k) or (:, k, :); an image's two."""
        return sum(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in self.idx) == 1

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        b = _one(branches, self.name)
        if _volume(b):  # index(p), p row-major over D·H·W
            p = _stax_volume.position(self._position(5), b.shape)
            return [replace(b, lines=b.lines + [f"index({p})"], shape=b.shape[-1:])]
        if not _image(b):
            raise ValueError("Index needs image or sequence inputs (it reads one position)")
        H, W, C = b.shape
        seq = H == 1 and self._is_seq_index()  # a sequence is a 1 × L image
        pos = self._position(3 if seq else 4)
        i, j = (0,) + pos if seq else pos
        if not (-H <= i < H and -W <= j < W):
            raise IndexError(f"Index: position {pos} outside the inputs' {W if seq else (H, W)} positions")
        return [replace(b, lines=b.lines + [f"index({(i % H) * W + j % W})"], shape=(C,))]

    def init(self, rng: np.random.Generator, shape: Shape) -> tuple[Shape, Params]:
        self._position(len(shape))
        return (shape[0], shape[-1]), ()

    def apply(self, params: Params, x: np.ndarray) -> np.ndarray:
        return x[(slice(None),) + self._position(x.ndim) + (slice(None),)]
