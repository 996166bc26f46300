#!/usr/bin/python3
"""Independent numpy reference for infinite-width nets on volumes (issue 21):
inputs (n, D, H, W, C), 3-D conv and pooling windows, written from
neural-tangents' conventions (NTK parameterization; the input kernel x·x'/C
per position pair; conv averaged over the whole window, padding counted;
lax's SAME/VALID padding, CIRCULAR wrapping around like SAME).

It shares nothing with ntkc: every window is a sum of linear maps A_f, one per
tap f = (u_d, u_h, u_w), each the Kronecker product of three 0/1 selection
matrices (output index o reads input o·s + u·dil − pad along its axis), and the
kernels of all inputs with each other are matrices over position pairs:
  conv:  Σ' = w²/|F| Σ_f A_f Σ A_fᵀ + b²,   Θ' = Σ' + w²/|F| Σ_f A_f Θ A_fᵀ
  pool:  M' = c²·A M Aᵀ, A = Σ_f A_f, c = 1/|F| (avg) or 1 (sum)
  dense: Σ' = w²Σ + b²,  Θ' = Σ' + w²Θ;  activations: Σ' = T(Σ), Θ' = Θ·Ṫ(Σ)
  global_avg_pool: the mean over all position pairs; flatten: over same positions.

Layers are tuples:
  ("conv", (kd, kh, kw), (sd, sh, sw), padding, (dd, dh, dw), w_std, b_std)
  ("avg_pool" | "sum_pool", (kd, kh, kw), (sd, sh, sw), padding)
  ("dense", w_std, b_std), ("relu",), ("erf",), ("global_avg_pool",), ("flatten",)
`kernels(layers, x)` returns the n×n NNGP and NTK of the rows of x.
`python3 scripts/volume_reference.py` prints one example's kernels.
Needs only numpy (Debian's /usr/bin/python3).
"""
import sys

import numpy as np


def axis_taps(n, k, s, padding, dil):
    """Output size and the k selection matrices (out × n) of one window axis."""
    span = (k - 1) * dil + 1
    if padding == "valid":
        out, lo = (n - span) // s + 1, 0
    else:
        out = -(-n // s)
        lo = max((out - 1) * s + span - n, 0) // 2
    sel = np.zeros((k, out, n))
    for u in range(k):
        for o in range(out):
            i = o * s + u * dil - lo
            if padding == "circular":
                i %= n
            if 0 <= i < n:
                sel[u, o, i] = 1.0
    return out, sel


def window_maps(grid, window, strides, padding, dil=(1, 1, 1)):
    """The output grid and the maps A_f (P_out × P_in), taps in (d, h, w) order."""
    outs, sels = zip(*(axis_taps(n, k, s, padding, d) for n, k, s, d in zip(grid, window, strides, dil)))
    maps = [np.kron(np.kron(sels[0][a], sels[1][b]), sels[2][c])
            for a in range(window[0]) for b in range(window[1]) for c in range(window[2])]
    return tuple(outs), maps


def relu_dual(s11, s22, s12):
    norm = np.sqrt(s11 * s22)
    th = np.arccos(np.clip(np.where(norm > 0, s12 / np.where(norm > 0, norm, 1), 0.0), -1.0, 1.0))
    return norm / (2 * np.pi) * (np.sin(th) + (np.pi - th) * np.cos(th)), (np.pi - th) / (2 * np.pi)


def erf_dual(s11, s22, s12):
    p = (1 + 2 * s11) * (1 + 2 * s22)
    return 2 / np.pi * np.arcsin(2 * s12 / np.sqrt(p)), 4 / np.pi / np.sqrt(p - 4 * s12 ** 2)


DUALS = {"relu": relu_dual, "erf": erf_dual}


def kernels(layers, x):
    """NNGP and NTK (n × n) of the rows of x, shape (n, D, H, W, C)."""
    x = np.asarray(x, dtype=np.float64)
    n, grid, chans = x.shape[0], x.shape[1:4], x.shape[4]
    rows = x.reshape(n * int(np.prod(grid)), chans)
    # S[(i, p), (j, q)]: input i at position p with input j at position q
    S = rows @ rows.T / chans
    T = np.zeros_like(S)
    P = int(np.prod(grid))
    for layer in layers:
        kind = layer[0]
        if kind == "conv":
            _, window, strides, padding, dil, w, b = layer
            grid, maps = window_maps(grid, window, strides, padding, dil)
            big = [np.kron(np.eye(n), a) for a in maps]  # the same map on every input
            s = sum(a @ S @ a.T for a in big) / len(maps)
            t = sum(a @ T @ a.T for a in big) / len(maps)
            S = w * w * s + b * b
            T = S + w * w * t
        elif kind in ("avg_pool", "sum_pool"):
            _, window, strides, padding = layer
            grid, maps = window_maps(grid, window, strides, padding)
            a = np.kron(np.eye(n), sum(maps)) / (len(maps) if kind == "avg_pool" else 1.0)
            S, T = a @ S @ a.T, a @ T @ a.T
        elif kind == "dense":
            _, w, b = layer
            S = w * w * S + b * b
            T = S + w * w * T
        elif kind in DUALS:
            v = np.diag(S)
            t, td = DUALS[kind](v[:, None], v[None, :], S)
            S, T = t, T * td
        elif kind in ("global_avg_pool", "flatten"):
            S4 = S.reshape(n, P, n, P)
            T4 = T.reshape(n, P, n, P)
            if kind == "global_avg_pool":
                S, T = S4.mean(axis=(1, 3)), T4.mean(axis=(1, 3))
            else:
                S, T = np.einsum("ipjp->ij", S4) / P, np.einsum("ipjp->ij", T4) / P
            grid, P = (1, 1, 1), 1
        else:
            raise ValueError(f"unknown layer {kind!r}")
        P = int(np.prod(grid))
    if P != 1:
        raise ValueError("the net must end on a vector (global_avg_pool or flatten)")
    return S, T


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 3, 4, 4, 2))
    layers = [("conv", (3, 3, 3), (1, 1, 1), "same", (1, 1, 1), 1.5, 0.1), ("relu",),
              ("conv", (2, 3, 2), (2, 2, 2), "valid", (1, 1, 1), 1.0, 0.0), ("relu",),
              ("global_avg_pool",), ("dense", 1.2, 0.2)]
    s, t = kernels(layers, x)
    np.set_printoptions(precision=17)
    print("NNGP\n", s, "\nNTK\n", t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
