"""neural-tangents' kernel recursions written out in numpy, independently of
ntkc: what each stax layer must compute (its papers' and code's formulas)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

erf = np.vectorize(math.erf, otypes=[np.float64])


@dataclass
class K:
    """Covariances of a pair of inputs a, b (any shape: scalars per pair or pixel-pair arrays)."""

    aa: np.ndarray  # Σ(a, a)
    bb: np.ndarray  # Σ(b, b)
    ab: np.ndarray  # Σ(a, b): the NNGP entry
    ntk: np.ndarray  # Θ(a, b)
    ntk_aa: np.ndarray
    ntk_bb: np.ndarray

    def map(self, f: Callable[[np.ndarray], np.ndarray]) -> "K":
        return K(*(f(v) for v in (self.aa, self.bb, self.ab, self.ntk, self.ntk_aa, self.ntk_bb)))


def vectors(a: np.ndarray, b: np.ndarray) -> K:
    """The input kernel x·x'/d, Θ = 0."""
    d = a.shape[-1]
    z = np.zeros(())
    return K(a @ a / d, b @ b / d, a @ b / d, z, z, z)


def dense(k: K, w: float, b: float) -> K:
    """NTK parameterization: Σ ← w²Σ + b², Θ ← Σ' + w²Θ (neural-tangents' Dense)."""
    s = lambda v: w * w * v + b * b
    return K(s(k.aa), s(k.bb), s(k.ab), s(k.ab) + w * w * k.ntk, s(k.aa) + w * w * k.ntk_aa,
             s(k.bb) + w * w * k.ntk_bb)


def dense_standard(k: K, w: float, b: float | None, fan_in: float) -> K:
    """Standard parameterization: Θ ← fan_in·Σ + w²Θ (+1 with a bias); Σ as NTK's."""
    bb = 0.0 if b is None else b
    one = 0.0 if b is None else 1.0
    s = lambda v: w * w * v + bb * bb
    t = lambda sig, th: fan_in * sig + w * w * th + one
    return K(s(k.aa), s(k.bb), s(k.ab), t(k.ab, k.ntk), t(k.aa, k.ntk_aa), t(k.bb, k.ntk_bb))


def activation(k: K, dual: Callable[[np.ndarray, np.ndarray, np.ndarray], tuple]) -> K:
    """Σ ← T(Σ), Θ ← Θ·Ṫ(Σ) with the pair's and each input's own variances.
    For pixel-pair arrays (H, W, H, W), the variances are the diagonals."""
    if k.ab.ndim == 4:
        h, w = k.ab.shape[:2]
        va = np.einsum("ijij->ij", k.aa)[:, :, None, None] * np.ones_like(k.ab)
        vb = np.einsum("ijij->ij", k.bb)[None, None] * np.ones_like(k.ab)
    else:
        va, vb = k.aa, k.bb
    t_ab, td_ab = dual(va, vb, k.ab)
    t_aa, td_aa = dual(k.aa, k.aa, k.aa) if k.ab.ndim != 4 else _self_dual(k.aa, dual)
    t_bb, td_bb = dual(k.bb, k.bb, k.bb) if k.ab.ndim != 4 else _self_dual(k.bb, dual)
    return K(t_aa, t_bb, t_ab, k.ntk * td_ab, k.ntk_aa * td_aa, k.ntk_bb * td_bb)


def _self_dual(c: np.ndarray, dual: Callable) -> tuple:
    d = np.einsum("ijij->ij", c)
    return dual(d[:, :, None, None] * np.ones_like(c), d[None, None] * np.ones_like(c), c)


def _angle(s11: np.ndarray, s22: np.ndarray, s12: np.ndarray) -> tuple:
    norm = np.sqrt(s11 * s22)
    theta = np.arccos(np.clip(s12 / norm, -1.0, 1.0))
    return norm, theta


def relu_dual(s11, s22, s12):
    """Arc-cosine kernel of order 1 (Cho & Saul 2009)."""
    norm, th = _angle(s11, s22, s12)
    return norm / (2 * np.pi) * (np.sin(th) + (np.pi - th) * np.cos(th)), (np.pi - th) / (2 * np.pi)


def abrelu_dual(a: float, b: float):
    """φ = a·min(x, 0) + b·max(x, 0) = b·relu(x) − a·relu(−x)."""
    def dual(s11, s22, s12):
        t, td = relu_dual(s11, s22, s12)
        t_neg, td_neg = relu_dual(s11, s22, -s12)  # E[relu(u) relu(−v)]
        return (a * a + b * b) * t - 2 * a * b * t_neg, (a * a + b * b) * td + 2 * a * b * td_neg
    return dual


def sign_dual(s11, s22, s12):
    norm, th = _angle(s11, s22, s12)
    return 1 - 2 * th / np.pi, np.zeros_like(s12)


def step_dual(s11, s22, s12):
    norm, th = _angle(s11, s22, s12)
    return (np.pi - th) / (2 * np.pi), np.zeros_like(s12)


def rectified_square_dual(s11, s22, s12):
    """Arc-cosine kernel of order 2; Ṫ = 4·(order 1)."""
    norm, th = _angle(s11, s22, s12)
    t = norm ** 2 / (2 * np.pi) * (3 * np.sin(th) * np.cos(th) + (np.pi - th) * (1 + 2 * np.cos(th) ** 2))
    return t, 4 * relu_dual(s11, s22, s12)[0]


def erf_dual(a: float, b: float, c: float):
    """φ = a·erf(b·x) + c (Williams 1997)."""
    def dual(s11, s22, s12):
        p = (1 + 2 * b * b * s11) * (1 + 2 * b * b * s22)
        t = a * a * 2 / np.pi * np.arcsin(2 * b * b * s12 / np.sqrt(p)) + c * c
        td = a * a * 4 * b * b / np.pi / np.sqrt(p - 4 * b ** 4 * s12 ** 2)
        return t, td
    return dual


def quadrature_dual(phi: Callable[[np.ndarray], np.ndarray], points: int = 120):
    """E[φ(u)φ(v)] and E[φ'(u)φ'(v)] by 2-D Gauss-Hermite quadrature, φ' by central differences:
    any smooth φ, taken from the finite network's own apply_fn."""
    z, wt = np.polynomial.hermite_e.hermegauss(points)
    wt = wt / wt.sum()
    h = 1e-5
    dphi = lambda x: (phi(x + h) - phi(x - h)) / (2 * h)

    def one(s11: float, s22: float, s12: float) -> tuple:
        rho = np.clip(s12 / math.sqrt(s11 * s22), -1, 1)
        u = math.sqrt(s11) * z[:, None] * np.ones_like(z)[None]
        v = math.sqrt(s22) * (rho * z[:, None] + math.sqrt(1 - rho * rho) * z[None])
        w2 = wt[:, None] * wt[None]
        return float(np.sum(w2 * phi(u) * phi(v))), float(np.sum(w2 * dphi(u) * dphi(v)))

    def dual(s11, s22, s12):
        s11, s22, s12 = np.broadcast_arrays(s11, s22, s12)
        out = [one(*args) for args in zip(s11.ravel(), s22.ravel(), s12.ravel())]
        return (np.array([o[0] for o in out]).reshape(s12.shape), np.array([o[1] for o in out]).reshape(s12.shape))
    return dual


def layer_norm(k: K, eps: float) -> K:
    """Over infinitely many channels of a mean-zero Gaussian: divide by √((Σaa + ε)(Σbb + ε))."""
    na, nb = k.aa + eps, k.bb + eps
    return K(k.aa / na, k.bb / nb, k.ab / np.sqrt(na * nb), k.ntk / np.sqrt(na * nb), k.ntk_aa / na,
             k.ntk_bb / nb)


# ---- images: pixel-pair covariances (H, W, H, W) ----------------------------------

def layer_norm_axes(k: K, eps: float, spatial: tuple) -> K:
    """LayerNorm over the channels and the spatial axes `spatial` (0 rows' axis, 1 columns'): each pixel
    divides by the mean of the same-pixel variances over the pixels normalised with it."""
    H, W = k.ab.shape[:2]
    d1 = np.einsum("ijij->ij", k.aa) + eps
    d2 = np.einsum("ijij->ij", k.bb) + eps
    m1 = np.broadcast_to(d1.mean(axis=spatial, keepdims=True), (H, W))
    m2 = np.broadcast_to(d2.mean(axis=spatial, keepdims=True), (H, W))
    r12 = 1 / np.sqrt(np.einsum("ij,kl->ijkl", m1, m2))
    r11 = 1 / np.sqrt(np.einsum("ij,kl->ijkl", m1, m1))
    r22 = 1 / np.sqrt(np.einsum("ij,kl->ijkl", m2, m2))
    return K(k.aa * r11, k.bb * r22, k.ab * r12, k.ntk * r12, k.ntk_aa * r11, k.ntk_bb * r22)


def images(a: np.ndarray, b: np.ndarray) -> K:
    """Σ(p, q) = a[p]·b[q]/C for (H, W, C) images."""
    c = a.shape[-1]
    cov = lambda x, y: np.einsum("ijc,klc->ijkl", x, y) / c
    z = np.zeros(a.shape[:2] * 2)
    return K(cov(a, a), cov(b, b), cov(a, b), z, z.copy(), z.copy())


def _pads(n: int, k: int, s: int, padding: str) -> tuple[int, int, int]:
    """(low, high, output size) of XLA's padding."""
    if padding == "VALID":
        return 0, 0, (n - k) // s + 1
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2, out


def _pad4(c: np.ndarray, pads: list, padding: str) -> np.ndarray:
    return np.pad(c, pads * 2, mode="wrap" if padding == "CIRCULAR" else "constant")


def conv(k: K, window: tuple, strides: tuple, padding: str, w: float, b: float) -> K:
    """Σ'(p, q) = w²/|F|·Σ_δ Σ(s·p + δ, s·q + δ) + b² (the same offset on both), Θ' = w²/|F|·Σ_δ Θ + Σ'."""
    (kh, kw), (sh, sw) = window, strides
    H, W = k.ab.shape[:2]
    lh, hh, oh = _pads(H, kh, sh, padding)
    lw, hw, ow = _pads(W, kw, sw, padding)

    def one(c: np.ndarray) -> np.ndarray:
        cp = _pad4(c, [(lh, hh), (lw, hw)], padding)
        acc = np.zeros((oh, ow, oh, ow))
        for u in range(kh):
            for v in range(kw):
                acc += cp[u:u + sh * oh:sh, v:v + sw * ow:sw, u:u + sh * oh:sh, v:v + sw * ow:sw]
        return w * w / (kh * kw) * acc

    s = lambda c: one(c) + b * b
    return K(s(k.aa), s(k.bb), s(k.ab), s(k.ab) + one(k.ntk), s(k.aa) + one(k.ntk_aa), s(k.bb) + one(k.ntk_bb))


def avg_pool(k: K, window: tuple, strides: tuple, padding: str) -> K:
    """Σ'(p, q) = 1/|F|²·Σ_{δ, δ'} Σ(s·p + δ, s·q + δ'): each copy pooled over its own window."""
    (kh, kw), (sh, sw) = window, strides
    H, W = k.ab.shape[:2]
    lh, hh, oh = _pads(H, kh, sh, padding)
    lw, hw, ow = _pads(W, kw, sw, padding)

    def one(c: np.ndarray) -> np.ndarray:
        cp = _pad4(c, [(lh, hh), (lw, hw)], padding)
        first = sum(cp[u:u + sh * oh:sh, v:v + sw * ow:sw] for u in range(kh) for v in range(kw))
        both = sum(first[:, :, u:u + sh * oh:sh, v:v + sw * ow:sw] for u in range(kh) for v in range(kw))
        return both / (kh * kw) ** 2
    return k.map(one)


def conv_standard(k: K, window: tuple, strides: tuple, padding: str, w: float, b: float | None, chans: int) -> K:
    """neural-tangents' Conv(parameterization='standard'): Σ as conv's; Θ' = fan_in·mean_δ Σ + w²·mean_δ Θ
    (+1 with a bias), fan_in = chans·|F|."""
    unscaled = conv(k, window, strides, padding, 1.0, 0.0)  # Σ' = mean_δ Σ, Θ' = mean_δ Θ + mean_δ Σ
    fan_in, one, bb = chans * window[0] * window[1], 0.0 if b is None else 1.0, 0.0 if b is None else b * b
    s = lambda m: w * w * m + bb
    t = lambda m, th: fan_in * m + w * w * (th - m) + one
    u = unscaled
    return K(s(u.aa), s(u.bb), s(u.ab), t(u.ab, u.ntk), t(u.aa, u.ntk_aa), t(u.bb, u.ntk_bb))


def avg_pool_normalized(k: K, window: tuple, strides: tuple) -> K:
    """AvgPool(normalize_edges=True), padding SAME: each output divides by its window's in-bounds pixels."""
    summed = avg_pool(k, window, strides, "SAME").map(lambda c: c * (window[0] * window[1]) ** 2)
    H, W = k.ab.shape[:2]
    ones = np.ones((H, W, H, W))
    counts = avg_pool(K(ones, ones, ones, ones, ones, ones), window, strides, "SAME").ab * (window[0] * window[1]) ** 2
    return summed.map(lambda c: c / counts)


def global_avg_pool(k: K) -> K:
    return k.map(lambda c: c.mean(axis=(0, 1, 2, 3)))


def flatten(k: K) -> K:
    """The mean of the same-pixel covariances."""
    return k.map(lambda c: np.einsum("ijij->", c) / (c.shape[0] * c.shape[1]))
