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

  layer_norm (over the channels): both kernels / √((Σ(p,p)+ε)(Σ'(q,q)+ε)); over
    spatial axes too (neural-tangents' LayerNorm(axis=...) with the channel axis):
    Σ(p,p) replaced by its mean over the positions sharing p's other coordinates
  attention (linear scaling; neural-tangents' GlobalSelfAttention): per input
    A = mech(qk·(Σ_xx + pw·I)) (softmax along the keys), Σ' = ov²·A₁ΣA₂ᵀ + b²,
    Θ' = ov²·(A₁ΘA₂ᵀ + 2·A₁ΣA₂ᵀ) + b²
  fanout: sum Σ scale²·K_b, concat the mean, prod Σ' = ΠΣ_b, Θ' = Σ_b Θ_b Π_{c≠b} Σ_c;
    concat along depth/height/width: each branch's kernel placed by a 0/1 map E_b
    on both positions, cross blocks 0 but between identity branches (spatial_concat)
  a frozen conv/dense (trainable=false) leaves its own Σ' out of Θ'.
  conv_transpose (neural-tangents' ConvTranspose): the conv's recursion with the
    maps of lax.conv_transpose (the input dilated by the stride; see transpose_taps)
  avg_pool(normalize_edges): each output divided by its window's in-bounds taps
  conv_local (neural-tangents' ConvLocal, weights per output position): the conv's
    kernels on pairs of equal positions, 0 on the others (independent weights).
  resize (jax.image.resize, half-pixel centres, one axis at a time): M' = R M Rᵀ,
    R = Rd ⊗ Rh ⊗ Rw (Rd = I without a new depth); linear: output j weighs input i by max(0, 1 − |s_j − i|/k),
    s_j = (j + ½)·n/m − ½, k = n/m when shrinking with antialias (else 1), each
    row divided by its sum; nearest: input ⌊(j + ½)·n/m⌋; an unchanged axis is I.
Under param standard (neural-tangents' parameterization='standard'; C the
layer's input channels, tracked from the input through every width):
  dense: Θ' = C·Σ + w²Θ (+1 with a bias);  conv: Θ' = C·Σ_f A_f Σ A_fᵀ + w²/|F| Σ_f A_f Θ A_fᵀ (+1)
the NNGP as under ntk; attention keeps its ntk kernel (its sub-layers are
always in the NTK parameterization) and declares its output channels.

Layers are tuples:
  ("conv", (kd, kh, kw), (sd, sh, sw), padding, (dd, dh, dw), w_std, b_std[, opts])
  ("conv_local", ...) as "conv"
  ("conv_transpose", (kd, kh, kw), (sd, sh, sw), padding, w_std, b_std[, opts])
  ("avg_pool" | "sum_pool", (kd, kh, kw), (sd, sh, sw), padding[, normalize_edges])
  ("dropout", keep): the same input at the same position divided by keep
  ("index", p): position p (row-major over the grid) of every input
  ("dense", w_std, b_std[, opts]), ("relu",), ("erf",), ("global_avg_pool",), ("flatten",)
  ("layer_norm", eps[, axes]) (axes: spatial axes of the grid, 0 depth, 1 height, 2 width),
  ("attention", mechanism, qk, ov, b_std[, pw[, opts]])
  ("fanout", mode, [(scale, [layers...]), ...][, axis]) with mode "sum" | "prod" | "concat";
    axis "depth" | "height" | "width" (concat only): spatial_concat
  ("resize", (h, w) | (d, h, w), method, antialias) with method "linear" | "nearest"
opts: a dict with "frozen" (trainable=false), and under param standard "width"
(the output channels) and "bias" (b_std written: +1 in Θ').
Masks (`input volume(..., masked=true)`; neural-tangents' mask_constant): mask
(n, D, H, W), True at padded positions. The input reads them as zeros; after
every layer on positions the kernels are 0 on every pair with a padded side
(neural-tangents' remask_kernel; masked nets keep the grid, so a position stays
padded); attention gives padded keys weight 0 (softmax over the valid keys, the
positional embedding only on valid positions); global_avg_pool averages over
the pairs of valid positions, flatten over all positions (padding counts as 0).
`kernels(layers, x, param="ntk", mask=None)` returns the n×n NNGP and NTK of the rows of x.
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


def transpose_taps(n, k, s, padding):
    """conv_transpose along one axis (lax.conv_transpose, kernel not flipped):
    output size and the k selection matrices (out × n). The input is dilated
    by s and padded by pad_a before; same: pad_len = k + s − 2, pad_a = k − 1
    if s > k − 1 else ⌈pad_len/2⌉; valid (and circular, before its fold):
    pad_len = k + s − 2 + max(k − s, 0), pad_a = k − 1. Circular folds the valid
    output (length L) onto n·s: position i adds to (i − ⌊(L − n·s)/2⌋) mod n·s."""
    if padding == "same":
        pad_len = k + s - 2
        pad_a = k - 1 if s > k - 1 else -(-pad_len // 2)
    else:
        pad_len = k + s - 2 + max(k - s, 0)
        pad_a = k - 1
    length = (n - 1) * s + 1 + pad_len - k + 1
    sel = np.zeros((k, length, n))
    for u in range(k):
        for o in range(length):
            j = o + u - pad_a
            if j >= 0 and j % s == 0 and j // s < n:
                sel[u, o, j // s] = 1.0
    if padding != "circular":
        return length, sel
    out = n * s
    fold = np.zeros((out, length))
    for i in range(length):
        fold[(i - (length - out) // 2) % out, i] = 1.0
    return out, np.einsum("ol,uln->uon", fold, sel)


def edge_counts(n, k, s, padding):
    """avg_pool(normalize_edges=true) along one axis: each output's in-bounds taps."""
    out, sel = axis_taps(n, k, s, padding, 1)
    return sel.sum(axis=(0, 2)) if padding != "circular" else np.full(out, float(k))


def window_maps(grid, window, strides, padding, dil=(1, 1, 1)):
    """The output grid and the maps A_f (P_out × P_in), taps in (d, h, w) order."""
    if padding.startswith("transpose_"):
        outs, sels = zip(*(transpose_taps(n, k, s, padding[10:]) for n, k, s in zip(grid, window, strides)))
    else:
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


MECHANISMS = {"softmax": None, "identity": lambda g: g, "abs": np.abs, "relu": lambda g: np.maximum(g, 0.0)}


def attention_weights(S, n, P, mech, qk, pw, valid=None):
    """Block-diagonal weights A (nP × nP): input i's A from its own self-kernel;
    valid (nP, 0 at padding) or None: padded keys get weight 0."""
    A = np.zeros_like(S)
    v = np.ones(n * P) if valid is None else valid
    for i in range(n):
        blk = slice(i * P, (i + 1) * P)
        keys = v[blk][None, :] > 0
        g = qk * (S[blk, blk] + pw * np.diag(v[blk]))
        if mech == "softmax":
            top = np.where(keys, g, -np.inf).max(axis=1, keepdims=True)
            e = np.where(keys, np.exp(np.where(keys, g - top, 0.0)), 0.0)
            a = e / e.sum(axis=1, keepdims=True)
        else:
            a = np.where(keys, MECHANISMS[mech](g), 0.0)
        A[blk, blk] = a
    return A


def resize_axis(n, m, method, antialias):
    """jax.image.resize's weights along one axis (m × n)."""
    if n == m:
        return np.eye(n)
    R = np.zeros((m, n))
    for j in range(m):
        if method == "nearest":
            R[j, min(int(np.floor((j + 0.5) * n / m)), n - 1)] = 1.0
            continue
        k = max(n / m, 1.0) if antialias else 1.0
        sj = (j + 0.5) * n / m - 0.5
        row = np.maximum(0.0, 1.0 - np.abs(sj - np.arange(n)) / k)
        R[j] = row / row.sum()
    return R


class State:
    """The kernels over all (input, position) pairs and what the layers track."""

    def __init__(self, S, T, n, grid, chans, param, valid=None):
        self.S, self.T, self.n, self.grid, self.chans, self.param = S, T, n, grid, chans, param
        self.valid = valid  # (nP,) 1 at valid positions, 0 at padding; None: no masks

    def remask(self):
        """Pairs with a padded side are 0 (by assignment: a layer may leave ∞·0 there)."""
        if self.valid is not None:
            keep = np.outer(self.valid, self.valid) > 0
            self.S, self.T = np.where(keep, self.S, 0.0), np.where(keep, self.T, 0.0)

    @property
    def P(self):
        return int(np.prod(self.grid))


def affine(st, s_avg, t_avg, w, b, opts, fan_taps):
    """A dense or conv's new kernels from its window averages of Σ and Θ."""
    frozen, standard = opts.get("frozen", False), st.param == "standard"
    S = w * w * s_avg + b * b
    if frozen:
        T = w * w * t_avg
    elif standard:
        T = st.chans * fan_taps * s_avg + w * w * t_avg + (1.0 if opts.get("bias", False) else 0.0)
    else:
        T = S + w * w * t_avg
    st.S, st.T = S, T
    if standard and opts.get("width"):
        st.chans = opts["width"]


def concat_map(grids, axis, b):
    """The 0/1 map (P_out × P_b) placing branch b's grid into the concat along
    axis (0 depth, 1 height, 2 width) of all the branches' grids."""
    out = list(grids[0])
    out[axis] = sum(g[axis] for g in grids)
    off = sum(g[axis] for g in grids[:b])
    sels = []
    for a in range(3):
        sel = np.zeros((out[a], grids[b][a]))
        for i in range(grids[b][a]):
            sel[i + (off if a == axis else 0), i] = 1.0
        sels.append(sel)
    return tuple(out), np.kron(np.kron(sels[0], sels[1]), sels[2])


def spatial_concat(st, axis_name, branches, outs):
    """FanInConcat along a spatial axis: with E_b the map placing branch b,
    M' = Σ_b E_b M_b E_bᵀ + Σ_{b≠c identities} E_b M_in E_cᵀ (two identity
    branches copy the same field; a branch with fresh weights is independent
    of every other, so the other cross blocks are 0, as neural-tangents')."""
    axis = {"depth": 0, "height": 1, "width": 2}[axis_name]
    grids = [b.grid for _, b in outs]
    n = st.n
    maps = [np.kron(np.eye(n), concat_map(grids, axis, b)[1]) for b in range(len(outs))]
    S = sum(E @ b.S @ E.T for E, (_, b) in zip(maps, outs))
    T = sum(E @ b.T @ E.T for E, (_, b) in zip(maps, outs))
    ident = [k for k, (_, body) in enumerate(branches) if not body]
    for i in ident:
        for j in ident:
            if i != j:
                S = S + maps[i] @ st.S @ maps[j].T
                T = T + maps[i] @ st.T @ maps[j].T
    st.grid = concat_map(grids, axis, 0)[0]
    st.S, st.T, st.chans = S, T, outs[0][1].chans


def layer(st, spec):
    kind, n = spec[0], st.n
    if kind == "conv_transpose":
        _, window, strides, padding, w, b = spec[:6]
        layer(st, ("conv", window, strides, "transpose_" + padding, (1, 1, 1), w, b) + tuple(spec[6:]))
    elif kind in ("conv", "conv_local"):
        _, window, strides, padding, dil, w, b = spec[:7]
        opts = spec[7] if len(spec) > 7 else {}
        st.grid, maps = window_maps(st.grid, window, strides, padding, dil)
        big = [np.kron(np.eye(n), a) for a in maps]  # the same map on every input
        s = sum(a @ st.S @ a.T for a in big) / len(maps)
        t = sum(a @ st.T @ a.T for a in big) / len(maps)
        affine(st, s, t, w, b, opts, len(maps))
        if kind == "conv_local":
            same = np.kron(np.ones((n, n)), np.eye(st.P))  # (i, p) with (j, q) for p = q only
            st.S, st.T = st.S * same, st.T * same
    elif kind in ("avg_pool", "sum_pool"):
        _, window, strides, padding = spec[:4]
        edges = len(spec) > 4 and spec[4]
        grid = st.grid
        st.grid, maps = window_maps(grid, window, strides, padding)
        scale = np.full(st.P, float(len(maps)) if kind == "avg_pool" else 1.0)
        if edges:  # each output divides by its window's in-bounds taps
            counts = [edge_counts(*a, padding) for a in zip(grid, window, strides)]
            scale = np.kron(np.kron(counts[0], counts[1]), counts[2])
        a = np.kron(np.eye(n), np.diag(np.where(scale > 0, 1.0 / np.where(scale > 0, scale, 1.0), 0.0)) @ sum(maps))
        st.S, st.T = a @ st.S @ a.T, a @ st.T @ a.T
    elif kind == "dense":
        _, w, b = spec[:3]
        affine(st, st.S, st.T, w, b, spec[3] if len(spec) > 3 else {}, 1)
    elif kind in DUALS:
        v = np.diag(st.S)
        t, td = DUALS[kind](v[:, None], v[None, :], st.S)
        st.S, st.T = t, st.T * td
    elif kind == "resize":
        _, size, method, antialias = spec
        D, H, W = st.grid
        d, h, w = size if len(size) == 3 else (D,) + tuple(size)
        R = np.kron(resize_axis(D, d, method, antialias),
                    np.kron(resize_axis(H, h, method, antialias), resize_axis(W, w, method, antialias)))
        big = np.kron(np.eye(n), R)
        st.S, st.T, st.grid = big @ st.S @ big.T, big @ st.T @ big.T, (d, h, w)
    elif kind == "layer_norm":
        v = np.diag(st.S).reshape((n,) + tuple(st.grid))
        if len(spec) > 2 and spec[2]:  # the mean over the normalised spatial axes, per input (valid positions)
            axes = tuple(1 + a for a in spec[2])
            ok = np.ones(v.shape) if st.valid is None else st.valid.reshape(v.shape)
            count = ok.sum(axis=axes, keepdims=True)
            mean = (v * ok).sum(axis=axes, keepdims=True) / np.where(count > 0, count, 1.0)
            v = np.broadcast_to(mean, v.shape)
        v = v.reshape(-1) + spec[1]
        with np.errstate(divide="ignore", invalid="ignore"):  # padded positions (v = 0), remasked below
            r = 1.0 / np.sqrt(v[:, None] * v[None, :])
            st.S, st.T = st.S * r, st.T * r
    elif kind == "attention":
        _, mech, qk, ov, b = spec[:5]
        pw = spec[5] if len(spec) > 5 else 0.0
        opts = spec[6] if len(spec) > 6 else {}
        A = attention_weights(st.S, n, st.P, mech, qk, pw, st.valid)
        s, t = A @ st.S @ A.T, A @ st.T @ A.T
        st.S, st.T = ov * ov * s + b * b, ov * ov * (t + 2 * s) + b * b
        if st.param == "standard" and opts.get("width"):
            st.chans = opts["width"]
    elif kind == "fanout":
        _, mode, branches = spec[:3]
        outs = []
        for scale, body in branches:
            b = State(st.S, st.T, n, st.grid, st.chans, st.param, st.valid)
            for sub in body:
                layer(b, sub)
            outs.append((scale, b))
        if len(spec) > 3 and spec[3] != "channels":
            spatial_concat(st, spec[3], branches, outs)
            return
        if mode == "prod":
            S, T = outs[0][1].S, outs[0][1].T
            for _, b in outs[1:]:
                S, T = S * b.S, T * b.S + S * b.T
        else:
            c = [1.0 / len(outs) if mode == "concat" else scale * scale for scale, _ in outs]
            S = sum(ci * b.S for ci, (_, b) in zip(c, outs))
            T = sum(ci * b.T for ci, (_, b) in zip(c, outs))
        st.S, st.T, st.grid = S, T, outs[0][1].grid
        st.chans = sum(b.chans for _, b in outs) if mode == "concat" else outs[0][1].chans
    elif kind == "dropout":
        same = np.kron(np.eye(n), np.eye(st.P)) * (1.0 / spec[1] - 1.0) + 1.0
        st.S, st.T = st.S * same, st.T * same
    elif kind == "index":
        P = st.P
        st.S, st.T = st.S[spec[1]::P, spec[1]::P], st.T[spec[1]::P, spec[1]::P]
        st.grid = (1, 1, 1)
    elif kind in ("global_avg_pool", "flatten"):
        P = st.P
        S4, T4 = st.S.reshape(n, P, n, P), st.T.reshape(n, P, n, P)
        if kind == "global_avg_pool":  # over the pairs of valid positions
            count = np.full(n, float(P)) if st.valid is None else st.valid.reshape(n, P).sum(axis=1)
            pairs = np.outer(count, count)
            st.S, st.T = S4.sum(axis=(1, 3)) / pairs, T4.sum(axis=(1, 3)) / pairs
        else:
            st.S, st.T = np.einsum("ipjp->ij", S4) / P, np.einsum("ipjp->ij", T4) / P
            st.chans *= P
        st.grid = (1, 1, 1)
    else:
        raise ValueError(f"unknown layer {kind!r}")
    if kind in ("index", "global_avg_pool", "flatten"):
        st.valid = None  # one entry per input pair: nothing padded
    elif st.valid is not None:
        if st.valid.size != n * st.P:
            raise ValueError(f"layer {kind!r} changes the grid of a masked input")
        st.remask()


def kernels(layers, x, param="ntk", mask=None):
    """NNGP and NTK (n × n) of the rows of x, shape (n, D, H, W, C); mask
    (n, D, H, W) True at padded positions, or None."""
    x = np.asarray(x, dtype=np.float64)
    n, grid, chans = x.shape[0], x.shape[1:4], x.shape[4]
    rows = x.reshape(n * int(np.prod(grid)), chans)
    valid = None
    if mask is not None:
        valid = 1.0 - np.asarray(mask, dtype=bool).reshape(n * int(np.prod(grid))).astype(np.float64)
        rows = rows * valid[:, None]  # padding reads as zeros
    # S[(i, p), (j, q)]: input i at position p with input j at position q
    S = rows @ rows.T / chans
    st = State(S, np.zeros_like(S), n, tuple(grid), chans, param, valid)
    for spec in layers:
        layer(st, spec)
    if st.P != 1:
        raise ValueError("the net must end on a vector (global_avg_pool or flatten)")
    return st.S, st.T


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
