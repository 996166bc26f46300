"""neural-tangents' ``ConvTranspose`` and ``ConvLocal`` for ``ntkc.stax``: the
ntkc source they become (``conv_transpose``, ``conv_local``) and their
finite-width networks in numpy (NHWC; volumes' 3-D filters in _stax_volume.py
and _stax_volume_variants.py). Both parameterizations, as neural-tangents' _Conv
(stax/linear.py) does for Conv, ConvTranspose and ConvLocal alike: 'ntk' scales
the output by W_std/√fan_in and the bias by b_std; 'standard' draws
W ~ N(0, W_std²/fan_in) and b ~ N(0, b_std²) and uses them unscaled, fan_in =
C·kh·kw (input channels times the filter) for the transposed and the
unshared filter too."""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Sequence

import numpy as np

from . import _stax_volume, _stax_volume_variants
from .stax import _Branch, _Conv, _Ctx, _PADDINGS, _as_2d, _image, _nhwc, _num, _one, _out_size, _spatial_args, \
    _volume, _windows


def _transpose_size(n: int, k: int, s: int, padding: str) -> int:
    """lax.conv_transpose's output: n·s (SAME, CIRCULAR), n·s + max(k − s, 0) (VALID)."""
    return n * s + max(k - s, 0) if padding == "VALID" else n * s


def _transpose_pad_before(k: int, s: int, padding: str) -> int:
    if padding == "SAME":
        return k - 1 if s > k - 1 else -(-(k + s - 2) // 2)
    return k - 1


class _ConvVariant(_Conv):
    statement = ""

    def _out(self, n: int, k: int, s: int) -> int:
        return _out_size(n, k, s, self.padding)

    def emit(self, ctx: _Ctx, branches: list[_Branch]) -> list[_Branch]:
        b = _one(branches, self.name)
        if not _image(b) and not _volume(b):
            raise ValueError(f"{self.name} needs image or sequence inputs: (n, H, W, C) or (n, L, C), or volumes")
        own = self.parameterization
        if (ctx.param or own) != own:
            raise NotImplementedError(f"{self.name}: ntkc takes one parameterization per net; this one mixes "
                                      f"'ntk' and 'standard'")
        ctx.param = ctx.param or own
        if _volume(b):  # a 3-D filter (_stax_volume.py)
            return [_stax_volume.variant_emit(self, b, self._out)]
        (kh, kw), (sh, sw) = self._geometry(b.shape)
        args = _spatial_args((kh, kw), (sh, sw))
        if own == "standard":  # as Conv: width= its output channels, b_std written means a bias (+1 in the NTK)
            args += [f"w_std={_num(self.W_std)}", f"width={self.out_chan}"]
            args += [] if self.b_std is None else [f"b_std={_num(self.b_std)}"]
            args += [f"padding={_PADDINGS[self.padding]}"]
        else:
            args += [f"w_std={_num(self.W_std)}", f"b_std={_num(self.b_std or 0.0)}",
                     f"padding={_PADDINGS[self.padding]}"]
        if not self.trainable:
            args.append("trainable=false")
        H, W, _ = b.shape
        shape = (self._out(H, kh, sh), self._out(W, kw, sw), self.out_chan)
        return [replace(b, lines=b.lines + [f"{self.statement}({', '.join(args)})"], shape=shape, units=1.0)]

    def _grid(self, shape) -> tuple[int, int, int, int, int, int]:
        (kh, kw), (sh, sw) = self._geometry(shape)
        H, W = (1, shape[1]) if len(shape) == 3 else shape[1:3]
        return kh, kw, sh, sw, self._out(H, kh, sh), self._out(W, kw, sw)

    def _shape_out(self, shape, oh: int, ow: int) -> tuple:
        return (shape[0],) + ((ow, self.out_chan) if len(shape) == 3 else (oh, ow, self.out_chan))

    def _standard_init(self, Wt: np.ndarray, b, fan_in: int) -> tuple:
        """neural-tangents' standard_init_fn: the deviations drawn into the parameters (W_std/√fan_in, b_std)."""
        if self.parameterization != "standard":
            return Wt, b
        return Wt * (self.W_std / math.sqrt(fan_in)), None if b is None else b * self.b_std

    def _scaled(self, out: np.ndarray, b, fan_in: int) -> np.ndarray:
        """apply_fn's output from the unscaled sum: 'ntk' multiplies by W_std/√fan_in and b by b_std,
        'standard' uses the parameters as drawn."""
        if self.parameterization == "standard":
            return out if b is None else out + b
        out = out * (self.W_std / math.sqrt(fan_in))
        return out if b is None else out + self.b_std * b


class _ConvTranspose(_ConvVariant):
    name, statement = "ConvTranspose", "conv_transpose"

    def _out(self, n: int, k: int, s: int) -> int:
        return _transpose_size(n, k, s, self.padding)

    def init(self, rng: np.random.Generator, shape):
        if len(self.filter_shape) == 3:  # a volume's (_stax_volume_variants.py)
            return _stax_volume_variants.transpose_init(self, rng, shape)
        kh, kw, _, _, oh, ow = self._grid(shape)
        Wt = rng.standard_normal((kh, kw, shape[-1], self.out_chan))
        b = None if self.b_std is None else rng.standard_normal(self.out_chan)
        return self._shape_out(shape, oh, ow), self._standard_init(Wt, b, kh * kw * shape[-1])

    def apply(self, params, x: np.ndarray) -> np.ndarray:
        """The input dilated by the strides, padded as lax pads, a stride-1 conv (kernel not flipped);
        CIRCULAR: the VALID output folded onto n·s pixels (pixel i adds to (i − c) mod n·s)."""
        Wt, b = params
        if Wt.ndim == 5:
            return _stax_volume_variants.transpose_apply(self, params, x)
        x4, seq = _nhwc(x)
        n, H, W, C = x4.shape
        (kh, kw), (sh, sw) = Wt.shape[:2], _as_2d(self.strides, x.shape)
        pad = "VALID" if self.padding == "CIRCULAR" else self.padding
        xd = np.zeros((n, (H - 1) * sh + 1, (W - 1) * sw + 1, C))
        xd[:, ::sh, ::sw] = x4
        sizes = [_transpose_size(H, kh, sh, pad), _transpose_size(W, kw, sw, pad)]
        lo_h = _transpose_pad_before(kh, sh, pad)
        lo_w = _transpose_pad_before(kw, sw, pad)
        pads = [(lo_h, sizes[0] + kh - 1 - xd.shape[1] - lo_h), (lo_w, sizes[1] + kw - 1 - xd.shape[2] - lo_w)]
        xp = np.pad(xd, [(0, 0)] + pads + [(0, 0)])
        win = _windows(xp, (kh, kw), (1, 1), "VALID")
        out = np.tensordot(win, Wt, axes=([3, 4, 5], [2, 0, 1]))
        if self.padding == "CIRCULAR":
            nh, nw = H * sh, W * sw
            ch, cw = (out.shape[1] - nh) // 2, (out.shape[2] - nw) // 2
            folded = np.zeros((n, nh, nw, out.shape[-1]))
            for i in range(out.shape[1]):
                for j in range(out.shape[2]):
                    folded[:, (i - ch) % nh, (j - cw) % nw] += out[:, i, j]
            out = folded
        out = self._scaled(out, b, kh * kw * C)
        return out[:, 0] if seq else out


class _ConvLocal(_ConvVariant):
    name, statement = "ConvLocal", "conv_local"

    def init(self, rng: np.random.Generator, shape):
        if len(self.filter_shape) == 3:  # a volume's (_stax_volume_variants.py)
            return _stax_volume_variants.local_init(self, rng, shape)
        kh, kw, _, _, oh, ow = self._grid(shape)
        Wt = rng.standard_normal((oh, ow, kh, kw, shape[-1], self.out_chan))
        b = None if self.b_std is None else rng.standard_normal((oh, ow, self.out_chan))
        return self._shape_out(shape, oh, ow), self._standard_init(Wt, b, kh * kw * shape[-1])

    def apply(self, params, x: np.ndarray) -> np.ndarray:
        """The conv's windows, each output pixel with weights and bias of its own."""
        Wt, b = params
        if Wt.ndim == 8:
            return _stax_volume_variants.local_apply(self, params, x)
        x4, seq = _nhwc(x)
        kh, kw = Wt.shape[2:4]
        win = _windows(x4, (kh, kw), _as_2d(self.strides, x.shape), self.padding)  # n, H', W', C, kh, kw
        out = self._scaled(np.einsum("nabcij,abijco->nabo", win, Wt), b, kh * kw * x4.shape[-1])
        return out[:, 0] if seq else out


def conv_variant(kind: str, out_chan: int, filter_shape: Sequence[int], strides, padding: str, W_std: float,
                 b_std, dimension_numbers, parameterization: str, s, trainable: bool = True) -> _ConvVariant:
    name = "ConvTranspose" if kind == "transpose" else "ConvLocal"
    if tuple(s) != (1, 1):
        raise NotImplementedError(f"{name}: ntkc supports s=(1, 1) only")
    cls = _ConvTranspose if kind == "transpose" else _ConvLocal
    layer = cls.__new__(cls)
    try:
        _Conv.__init__(layer, out_chan, filter_shape, strides, padding, W_std, b_std, dimension_numbers,
                       parameterization, trainable=trainable)
    except NotImplementedError as e:
        raise NotImplementedError(str(e).replace("Conv:", f"{name}:", 1)) from None
    return layer
