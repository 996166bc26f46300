"""neural-tangents' ``mask_constant`` for ``ntkc.stax``'s ``kernel_fn``: an input entry equal to the
constant (NaN allowed) is padding. The infinite-width kernel needs a position's channels to be all
padding or none (neural-tangents raises NotImplementedError for per-channel masks, and so does this);
sequences, images and volumes (NDHWC: (n, D, H, W) masks) alike;
the masks then go to ntkc as ``Net.kernel(mask=...)`` on a net whose input is declared
``masked=true`` (docs/attention.md, "Masking"), computed by the all-pairs back end."""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np


def position_mask(x: Any, constant: float, what: str) -> Optional[np.ndarray]:
    """(n, positions) booleans, True where every channel of x (n, ..., C) equals constant; None when no entry
    does (the kernel is then the unmasked one, as in neural-tangents)."""
    a = np.asarray(x)
    c = float(constant)
    hit = np.isnan(a) if math.isnan(c) else (a == c)
    if not hit.any():
        return None
    if a.ndim == 2:
        raise NotImplementedError(f"mask_constant: {what} are vectors with masked entries; a masked channel has no "
                                  f"infinite-width kernel (neural-tangents raises too): masks cover positions of "
                                  f"sequences, images or volumes")
    every = hit.all(axis=-1)
    if (hit.any(axis=-1) & ~every).any():
        i = tuple(int(v) for v in np.argwhere(hit.any(axis=-1) & ~every)[0])
        raise NotImplementedError(f"mask_constant: {what}[{i[0]}] at position {i[1:]}: only some channels equal the "
                                  f"mask constant; per-channel masks have no infinite-width kernel (neural-tangents "
                                  f"raises NotImplementedError too)")
    return every.reshape(a.shape[0], -1)


def _zeroed(x: Any, m: np.ndarray) -> np.ndarray:
    """x as float64 with its padded positions 0 (ntkc marks them from the mask; NaN would be refused first)."""
    a = np.array(x, dtype=np.float64)
    a.reshape(a.shape[0], -1, a.shape[-1])[m] = 0.0
    return a


def masks(x1: Any, x2: Any, constant: float) -> Optional[tuple[np.ndarray, Optional[np.ndarray], np.ndarray,
                                                               Optional[np.ndarray]]]:
    """(x1, x2, mask1, mask2) with the padding zeroed (x2 and mask2 None when x2 is None); None when no entry
    equals the constant."""
    m1 = position_mask(x1, constant, "x1")
    m2 = None if x2 is None else position_mask(x2, constant, "x2")
    if m1 is None and m2 is None:
        return None
    if m1 is None:
        m1 = np.zeros((np.shape(x1)[0], int(np.prod(np.shape(x1)[1:-1]))), dtype=bool)
    if m2 is None and x2 is not None:
        m2 = np.zeros((np.shape(x2)[0], int(np.prod(np.shape(x2)[1:-1]))), dtype=bool)
    return _zeroed(x1, m1), None if x2 is None else _zeroed(x2, m2), m1, m2
