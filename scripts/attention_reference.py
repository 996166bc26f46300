#!/usr/bin/python3
"""Independent numpy reference for infinite-width attention nets on sequences
(issue 20), written from neural-tangents' formulas (stax.GlobalSelfAttention,
LayerNorm, GlobalAvgPool, mask_constant) and Hron et al. 2020; see
docs/attention.md for the recursion and its derivation.

usage:
  attention_reference.py kernel NET.ntk X1.npy [X2.npy] --nngp OUT --ntk OUT
                         [--lengths1 L1.npy] [--lengths2 L2.npy] [--mask-constant V]
  attention_reference.py mc NET.ntk X.npy --width W --samples S --nngp OUT --ntk OUT
                         [--lengths L.npy] [--mask-constant V] [--seed N]
  attention_reference.py selftest [--width W] [--samples S] [--z Z]

NET.ntk is a subset of ntkc's language: `input sequence(L, C)`, dense, relu,
erf, layer_norm (axes=channels|height|width|all; `kernel` only for the
positions: width and all), conv (stride 1, padding same), residual, repeat,
global_avg_pool and
  attention(heads=1, scaling=linear|sqrt, mechanism=softmax|identity|abs|relu,
            w_q=1, w_k=1, w_v=1, w_out=1, b_std=0, pos_emb=none|sum|concat,
            w_pos=1, pos_channels=1, val_pos_emb=0)
(pos_channels: channels of a concatenated positional embedding per input
channel; heads do not change the kernel). X is (n, L, C) or (n, L) when C = 1.
Padding: positions at or after lengths[i], or whose channels all equal the
mask constant (neural-tangents' mask_constant; `nan` allowed), are masked.

`kernel` writes the infinite-width NNGP and NTK; `mc` the Monte Carlo mean of
finite-width networks (NTK parameterization, explicit parameter gradients);
`selftest` compares the two on several small nets and checks identities,
printing each error next to the error expected from width and samples.
Needs only numpy (Debian's /usr/bin/python3).
"""
import argparse
import math
import re
import sys
import time

import numpy as np

NEG_INF = -1e20  # neural-tangents' softmax mask value (an all -inf row would be NaN)


class NetError(Exception):
    """A net this reference does not accept; the message names the op and why."""


# ---------------------------------------------------------------- parsing --

TOKEN = re.compile(r"\s*(?:#[^\n]*\n?|([A-Za-z_][A-Za-z0-9_]*)|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(.))", re.S)

ATTN_DEFAULTS = dict(heads=1.0, scaling="linear", mechanism="softmax", w_q=1.0, w_k=1.0,
                     w_v=1.0, w_out=1.0, b_std=0.0, pos_emb="none", w_pos=1.0,
                     pos_channels=1.0, val_pos_emb=0.0)
POSITIONAL = {"dense": ("w_std", "b_std"), "conv": ("size", "w_std", "b_std"),
              "layer_norm": ("eps",), "residual": ("alpha",), "relu": (), "erf": (),
              "global_avg_pool": (), "attention": ()}
DEFAULTS = {"dense": dict(w_std=1.0, b_std=0.0), "conv": dict(w_std=1.0, b_std=0.0),
            "layer_norm": dict(eps=1e-12, axes="channels"), "residual": dict(alpha=1.0), "relu": {}, "erf": {},
            "global_avg_pool": {}, "attention": ATTN_DEFAULTS}


def tokenize(text):
    toks = []
    for m in TOKEN.finditer(text):
        ident, num, sym = m.groups()
        if ident:
            toks.append(("id", ident))
        elif num:
            toks.append(("num", float(num)))
        elif sym and not sym.isspace():
            toks.append(("sym", sym))
    return toks


class Parser:
    def __init__(self, text):
        self.toks, self.i, self.next_id = tokenize(text), 0, 0

    def peek(self, kind=None, val=None):
        if self.i >= len(self.toks):
            return None
        t = self.toks[self.i]
        if (kind and t[0] != kind) or (val is not None and t[1] != val):
            return None
        return t

    def take(self, kind, val=None):
        t = self.peek(kind, val)
        if t is None:
            got = self.toks[self.i] if self.i < len(self.toks) else "end of file"
            raise NetError(f"expected {val or kind}, got {got}")
        self.i += 1
        return t[1]

    def args(self):
        pos, kw = [], {}
        if not self.peek("sym", "("):
            return pos, kw
        self.take("sym", "(")
        while not self.peek("sym", ")"):
            if self.peek("id") and self.i + 1 < len(self.toks) and self.toks[self.i + 1] == ("sym", "="):
                key = self.take("id")
                self.take("sym", "=")
                kw[key] = self.value()
            else:
                pos.append(self.value())
            if not self.peek("sym", ")"):
                self.take("sym", ",")
        self.take("sym", ")")
        return pos, kw

    def value(self):
        if self.peek("num"):
            return self.take("num")
        return self.take("id")

    def net(self):
        self.take("id", "net")
        self.take("id")
        self.take("sym", "{")
        self.take("id", "input")
        self.take("id", "sequence")
        pos, _ = self.args()
        if len(pos) != 2:
            raise NetError("input sequence(L, C) needs two numbers")
        shape = (int(pos[0]), int(pos[1]))
        ops = self.body()
        return shape, ops

    def body(self):
        ops = []
        while not self.peek("sym", "}"):
            if self.peek("sym", ";"):
                self.take("sym", ";")
                continue
            ops.extend(self.stmt())
        self.take("sym", "}")
        return ops

    def stmt(self):
        name = self.take("id")
        if name == "repeat":
            n = int(self.take("num"))
            self.take("sym", "{")
            start = self.i
            out = []
            for _ in range(n):  # unrolled; each copy gets its own op ids
                self.i = start
                out.extend(self.body())
            return out
        if name not in POSITIONAL:
            raise NetError(f"unknown layer '{name}' (this reference knows {', '.join(sorted(POSITIONAL))})")
        pos, kw = self.args()
        if len(pos) > len(POSITIONAL[name]):
            raise NetError(f"{name}: too many positional arguments")
        params = dict(DEFAULTS[name])
        params.update(zip(POSITIONAL[name], pos))
        for k, v in kw.items():
            if k not in params and k not in POSITIONAL[name]:
                raise NetError(f"{name}: unknown argument '{k}'")
            params[k] = v
        op = dict(kind=name, id=self.next_id, **params)
        self.next_id += 1
        if name == "residual":
            self.take("sym", "{")
            op["body"] = self.body()
        check_op(op)
        return [op]


def check_op(op):
    """Refuses, by name and reason, what has no exact kernel here."""
    if op["kind"] == "conv" and int(op["size"]) < 1:
        raise NetError("conv: size must be at least 1")
    if op["kind"] == "layer_norm" and op["axes"] not in ("channels", "height", "width", "all"):
        raise NetError("layer_norm: axes is channels, height, width or all on a sequence")
    if op["kind"] != "attention":
        return
    if op["scaling"] not in ("linear", "sqrt"):
        raise NetError("attention: scaling is linear or sqrt")
    if op["mechanism"] not in ("softmax", "identity", "abs", "relu"):
        raise NetError("attention: mechanism is softmax, identity, abs or relu")
    if op["pos_emb"] not in ("none", "sum", "concat"):
        raise NetError("attention: pos_emb is none, sum or concat")
    if op["scaling"] == "sqrt" and op["mechanism"] != "identity":
        raise NetError(f"attention: scaling=sqrt with mechanism={op['mechanism']} has no exact kernel: "
                       "its logits stay Gaussian in the limit and E[mechanism(G) ⊗ mechanism(G)] of the "
                       "softmax, abs or relu of correlated Gaussians has no closed form "
                       "(neural-tangents raises NotImplementedError too)")


def parse_net(text):
    return Parser(text).net()


# ------------------------------------------------------------ inputs, masks --

def load_inputs(x, lengths=None, mask_constant=None, shape=None):
    """(x with padding zeroed, valid mask (n, L)) from an (n, L[, C]) array."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise NetError(f"inputs must be (n, L, C) or (n, L); got shape {x.shape}")
    if shape is not None and x.shape[1:] != tuple(shape):
        raise NetError(f"inputs have (L, C) = {x.shape[1:]}, the net declares {tuple(shape)}")
    valid = np.ones(x.shape[:2], dtype=bool)
    if mask_constant is not None:
        hit = np.isnan(x) if math.isnan(mask_constant) else (x == mask_constant)
        partial = hit.any(axis=2) & ~hit.all(axis=2)
        if partial.any():
            i, s = np.argwhere(partial)[0]
            raise NetError(f"input {i}, position {s}: only some channels equal the mask constant "
                           "(per-channel masks have no infinite-width kernel in neural-tangents either)")
        valid &= ~hit.all(axis=2)
    if lengths is not None:
        lengths = np.asarray(lengths).reshape(-1)
        if lengths.shape[0] != x.shape[0] or (lengths < 0).any() or (lengths > x.shape[1]).any():
            raise NetError(f"lengths must be {x.shape[0]} integers in [0, {x.shape[1]}]")
        valid &= np.arange(x.shape[1])[None, :] < lengths[:, None]
    if not np.isfinite(x[valid]).all():
        raise NetError("inputs have a non-finite value at an unmasked position")
    return np.where(valid[:, :, None], x, 0.0), valid


# ------------------------------------------------------- infinite width --

def relu_dual(K, v1, v2):
    norm = np.sqrt(v1 * v2)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(norm > 0, K / np.where(norm > 0, norm, 1.0), 0.0)
    c = np.clip(c, -1.0, 1.0)
    th = np.arccos(c)
    return norm * (np.sqrt(1.0 - c * c) + (np.pi - th) * c) / (2 * np.pi), (np.pi - th) / (2 * np.pi)


def erf_dual(K, v1, v2):
    d = (1.0 + 2.0 * v1) * (1.0 + 2.0 * v2)
    r = np.clip(2.0 * K / np.sqrt(d), -1.0, 1.0)
    return (2.0 / np.pi) * np.arcsin(r), (4.0 / np.pi) / np.sqrt(np.maximum(d - 4.0 * K * K, 1e-300))


def pos_weights(op):
    """(input weight, positional weight) of the kernel interpolation (neural-tangents')."""
    if op["pos_emb"] == "none":
        return 1.0, 0.0
    w2 = op["w_pos"] ** 2
    if op["pos_emb"] == "sum":
        return 1.0, w2
    r = op["pos_channels"]  # channels of the embedding per input channel
    return 1.0 / (1.0 + r), w2 * r / (1.0 + r)


def mechanism(name, z):
    if name == "softmax":
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)
    if name == "identity":
        return z
    if name == "abs":
        return np.abs(z)
    return np.maximum(z, 0.0)


def attention_weights(op, S, m, kw, pw, eye):
    """G = mechanism(w_q w_k · (kw·S + pw·R)) from a self kernel S (…, L, L), keys masked."""
    mm = m[..., :, None] & m[..., None, :]
    interp = kw * S + pw * (eye * mm)
    logits = op["w_q"] * op["w_k"] * interp
    keys = m[..., None, :]
    logits = np.where(keys, logits, NEG_INF if op["mechanism"] == "softmax" else 0.0)
    return mechanism(op["mechanism"], logits)


class KernelPass:
    """Runs the recursion on a block of pairs: K, T are (A, B, L, L) with row side
    masks m1 (A, 1, L) and column side m2 (1, B, L). `self1`/`self2` give, per op id,
    each side's self kernel at that op's input (recorded by the self pass)."""

    def __init__(self, self1, self2, m1, m2):
        self.self1, self.self2, self.m1, self.m2 = self1, self2, m1, m2
        self.record = None

    def run(self, ops, K, T):
        for op in ops:
            if self.record is not None and op["kind"] in ("relu", "erf", "layer_norm", "attention"):
                self.record[op["id"]] = K
            K, T = getattr(self, "op_" + op["kind"])(op, K, T)
            mm = self.m1[..., :, None] & self.m2[..., None, :]
            K, T = K * mm, T * mm
        return K, T

    def sides(self, op):
        if self.record is not None:
            return self.record[op["id"]], self.record[op["id"]]
        return self.self1[op["id"]], self.self2[op["id"]]

    def variances(self, op):
        S1, S2 = self.sides(op)
        v1 = np.diagonal(S1, axis1=-2, axis2=-1)[..., :, None]
        v2 = np.diagonal(S2, axis1=-2, axis2=-1)[..., None, :]
        return v1, v2

    def op_dense(self, op, K, T):
        K = op["w_std"] ** 2 * K + op["b_std"] ** 2
        return K, K + op["w_std"] ** 2 * T

    def op_relu(self, op, K, T):
        K2, Kd = relu_dual(K, *self.variances(op))
        return K2, Kd * T

    def op_erf(self, op, K, T):
        K2, Kd = erf_dual(K, *self.variances(op))
        return K2, Kd * T

    def op_layer_norm(self, op, K, T):
        """Over the channels, or with axes=width|all (a sequence's one spatial axis)
        the positions too: each variance replaced by the mean over the input's
        unmasked positions (neural-tangents' mean_and_var with the mask)."""
        S1, S2 = self.sides(op)
        d1, d2 = np.diagonal(S1, axis1=-2, axis2=-1), np.diagonal(S2, axis1=-2, axis2=-1)
        if op["axes"] in ("width", "all"):
            def group_mean(d, m):
                m = np.broadcast_to(m, d.shape).astype(np.float64)
                mean = (d * m).sum(axis=-1, keepdims=True) / np.maximum(m.sum(axis=-1, keepdims=True), 1.0)
                return np.broadcast_to(mean, d.shape)
            d1, d2 = group_mean(d1, self.m1), group_mean(d2, self.m2)
        s = np.sqrt((d1[..., :, None] + op["eps"]) * (d2[..., None, :] + op["eps"]))
        return K / s, T / s

    def op_residual(self, op, K, T):
        Kf, Tf = self.run(op["body"], K, T)
        a2 = op["alpha"] ** 2
        return K + a2 * Kf, T + a2 * Tf

    def op_conv(self, op, K, T):
        k = int(op["size"])
        lo, L1, L2 = (k - 1) // 2, K.shape[-2], K.shape[-1]

        def window(M):
            P = np.zeros(M.shape[:-2] + (L1 + k - 1, L2 + k - 1))
            P[..., lo:lo + L1, lo:lo + L2] = M
            return sum(P[..., j:j + L1, j:j + L2] for j in range(k)) / k

        K2 = op["w_std"] ** 2 * window(K) + op["b_std"] ** 2
        return K2, K2 + op["w_std"] ** 2 * window(T)

    def op_global_avg_pool(self, op, K, T):
        mm = self.m1[..., :, None] & self.m2[..., None, :]
        n = np.maximum(mm.sum(axis=(-2, -1)), 1)[..., None, None]
        K = (K * mm).sum(axis=(-2, -1), keepdims=True) / n
        T = (T * mm).sum(axis=(-2, -1), keepdims=True) / n
        self.m1 = self.m1.any(axis=-1, keepdims=True)
        self.m2 = self.m2.any(axis=-1, keepdims=True)
        return K, T

    def op_attention(self, op, K, T):
        L = K.shape[-1]
        kw, pw = pos_weights(op)
        eye = np.eye(L, dtype=bool)
        mm = self.m1[..., :, None] & self.m2[..., None, :]
        R = (eye * mm).astype(np.float64)
        Ki, Ti = kw * K + pw * R, kw * T + pw * R  # the inputs with embeddings (keys, queries)
        vp = op["val_pos_emb"] != 0
        V, TV = (Ki, Ti) if vp else (K, T)  # what the values see
        ov2, b2 = (op["w_out"] * op["w_v"]) ** 2, op["b_std"] ** 2
        if op["scaling"] == "linear":
            S1, S2 = self.sides(op)
            G1 = attention_weights(op, S1, self.m1, kw, pw, eye)
            G2 = attention_weights(op, S2, self.m2, kw, pw, eye)
            G2t = np.swapaxes(G2, -1, -2)
            GVG = G1 @ V @ G2t
            return ov2 * GVG + b2, ov2 * (G1 @ TV @ G2t) + b2 + 2 * ov2 * GVG
        std2 = (op["w_q"] * op["w_k"] * op["w_out"] * op["w_v"]) ** 2  # sqrt, identity
        d12 = (Ki * V).sum(axis=(-2, -1), keepdims=True)
        if vp or op["pos_emb"] == "none":
            x = 2 * (Ki * Ti).sum(axis=(-2, -1), keepdims=True)
        else:
            x = (Ki * T).sum(axis=(-2, -1), keepdims=True) + (K * Ti).sum(axis=(-2, -1), keepdims=True)
        return std2 * d12 * Ki + b2, std2 * (x * Ki + d12 * (Ti + 4 * Ki)) + b2


def check_net(shape, ops):
    """Gaussianity (relu, erf and layer_norm need a Gaussian input, as in neural-tangents)
    and the readout: the net must end on a vector (global_avg_pool)."""

    def walk(ops, gauss, pooled):
        for op in ops:
            k = op["kind"]
            if k in ("relu", "erf", "layer_norm") and not gauss:
                raise NetError(f"{k} (op {op['id']}) reads a non-Gaussian input: put a dense, conv or "
                               "attention before it (its dual kernel assumes a Gaussian field)")
            if k in ("conv", "attention", "global_avg_pool") and pooled:
                raise NetError(f"{k} (op {op['id']}) after global_avg_pool: the net is a vector there")
            if k in ("dense", "conv", "attention"):
                gauss = True
            elif k in ("relu", "erf"):
                gauss = False
            elif k == "global_avg_pool":
                pooled = True
            elif k == "residual":
                g_body, p_body = walk(op["body"], gauss, pooled)
                if p_body != pooled:
                    raise NetError("residual: a body may not pool")
                gauss = gauss and g_body
        return gauss, pooled

    _, pooled = walk(ops, False, False)
    if not pooled:
        raise NetError("the net must end on a vector: add global_avg_pool before the readout")


def input_kernel(x1, x2):
    return np.einsum("isc,jtc->ijst", x1, x2) / x1.shape[-1]


def self_records(ops, x, m):
    """Each input's self kernel at the input of every op that needs one."""
    K = np.einsum("isc,itc->ist", x, x)[:, None] / x.shape[-1]
    p = KernelPass(None, None, m[:, None, :], m[:, None, :])
    p.record = {}
    p.run(ops, K, np.zeros_like(K))
    return p.record


def kernels(net, x1, m1, x2=None, m2=None, block=None):
    """Infinite-width (NNGP, NTK), each (n1, n2)."""
    (L, _), ops = net
    sym = x2 is None
    if sym:
        x2, m2 = x1, m1
    r1 = self_records(ops, x1, m1)
    r2 = r1 if sym else self_records(ops, x2, m2)
    n1, n2 = len(x1), len(x2)
    bs = block or max(1, int(math.sqrt(2 ** 21 / (L * L))))
    nngp, ntk = np.zeros((n1, n2)), np.zeros((n1, n2))
    for a in range(0, n1, bs):
        for b in range(a if sym else 0, n2, bs):
            ia, ib = slice(a, a + bs), slice(b, b + bs)
            s1 = {k: v[ia] for k, v in r1.items()}
            s2 = {k: np.swapaxes(v[ib], 0, 1) for k, v in r2.items()}
            p = KernelPass(s1, s2, m1[ia, None, :], m2[None, ib, :])
            K = input_kernel(x1[ia], x2[ib]) * (m1[ia, None, :, None] & m2[None, ib, None, :])
            K, T = p.run(ops, K, np.zeros_like(K))
            nngp[ia, ib], ntk[ia, ib] = K[..., 0, 0], T[..., 0, 0]
            if sym and a != b:
                nngp[ib, ia], ntk[ib, ia] = K[..., 0, 0].T, T[..., 0, 0].T
    return nngp, ntk


# ------------------------------------------------------ finite width (MC) --

erf_vec = np.vectorize(math.erf, otypes=[np.float64])


def cache_mask(keys):
    """The (n, L, 1) position mask from the attention key mask (n, 1, 1, L)."""
    return keys[:, 0, 0, :, None]


class Finite:
    """One finite-width network of the net (NTK parameterization, N(0, 1) parameters):
    forward on a batch, then per-input parameter gradients of the scalar readout,
    accumulated into the empirical NTK."""

    def __init__(self, net, width, rng):
        (self.L, self.C), ops = net
        self.ops, (self.w_out, self.b_out) = split_readout(ops)
        self.width, self.rng = width, rng
        self.params = {}
        c = self.init(self.ops, self.C)
        self.readout = (rng.standard_normal((c, 1)), rng.standard_normal(1))

    def init(self, ops, c):
        w, r = self.width, self.rng
        for op in ops:
            k = op["kind"]
            if k == "dense":
                self.params[op["id"]] = [r.standard_normal((c, w)), r.standard_normal(w)]
                c = w
            elif k == "conv":
                self.params[op["id"]] = [r.standard_normal((int(op["size"]), c, w)), r.standard_normal(w)]
                c = w
            elif k == "residual":
                if self.init(op["body"], c) != c:
                    raise NetError("residual: the body must keep the width (start with the net's width)")
            elif k == "attention":
                # linear scaling: the logits concentrate as d_k grows, one head suffices;
                # sqrt scaling: each head's logits stay random, so the output's covariance
                # concentrates only as the number of heads grows: width heads of size 1.
                H, dk = (1, w) if op["scaling"] == "linear" else (w, 1)
                dv = dk
                cp = 0 if op["pos_emb"] != "concat" else max(1, int(round(op["pos_channels"] * c)))
                ck = c + cp
                cv = ck if op["val_pos_emb"] else c
                P = r.standard_normal((self.L, cp if op["pos_emb"] == "concat" else c)) \
                    if op["pos_emb"] != "none" else None
                WQ = r.standard_normal((H, ck, dk)) if op["scaling"] == "sqrt" else None
                self.params[op["id"]] = [r.standard_normal((H, ck, dk)), WQ, r.standard_normal((H, cv, dv)),
                                         r.standard_normal((H * dv, w)), r.standard_normal(w), P]
                c = w
        return c

    # forward: returns output and a cache for backward
    def forward(self, ops, h, m):
        caches = []
        for op in ops:
            out, cache = getattr(self, "f_" + op["kind"])(op, h, m)
            if op["kind"] == "global_avg_pool":
                m = m.any(axis=1, keepdims=True)
            out = out * m[:, :, None]
            caches.append((op, h, m, cache))
            h = out
        return h, caches

    def backward(self, caches, d, grads):
        for op, h, m, cache in reversed(caches):
            d = d * m[:, :, None]
            d = getattr(self, "b_" + op["kind"])(op, h, cache, d, grads)
        return d

    def f_dense(self, op, h, m):
        W, b = self.params[op["id"]]
        return op["w_std"] / math.sqrt(h.shape[-1]) * h @ W + op["b_std"] * b, None

    def b_dense(self, op, h, cache, d, grads):
        W, b = self.params[op["id"]]
        s = op["w_std"] / math.sqrt(h.shape[-1])
        grads.append(s * np.einsum("nlc,nlw->ncw", h, d))
        grads.append(op["b_std"] * d.sum(axis=1))
        return s * d @ W.T

    def f_relu(self, op, h, m):
        return np.maximum(h, 0), None

    def b_relu(self, op, h, cache, d, grads):
        return d * (h > 0)

    def f_erf(self, op, h, m):
        return erf_vec(h), None

    def b_erf(self, op, h, cache, d, grads):
        return d * (2 / math.sqrt(math.pi)) * np.exp(-h * h)

    def f_layer_norm(self, op, h, m):
        if op["axes"] in ("width", "all"):
            raise NetError("mc: layer_norm over positions (axes=width|all) is not in this reference's finite nets")
        mu = h.mean(axis=-1, keepdims=True)
        sd = np.sqrt(h.var(axis=-1, keepdims=True) + op["eps"])
        xh = (h - mu) / sd
        return xh, (xh, sd)

    def b_layer_norm(self, op, h, cache, d, grads):
        xh, sd = cache
        return (d - d.mean(axis=-1, keepdims=True) - xh * (d * xh).mean(axis=-1, keepdims=True)) / sd

    def f_residual(self, op, h, m):
        f, caches = self.forward(op["body"], h, m)
        return h + op["alpha"] * f, caches

    def b_residual(self, op, h, caches, d, grads):
        return d + self.backward(caches, op["alpha"] * d, grads)

    def f_conv(self, op, h, m):
        W, b = self.params[op["id"]]
        k, L = W.shape[0], h.shape[1]
        lo = (k - 1) // 2
        hp = np.zeros((h.shape[0], L + k - 1, h.shape[2]))
        hp[:, lo:lo + L] = h
        s = op["w_std"] / math.sqrt(k * h.shape[-1])
        return s * sum(hp[:, j:j + L] @ W[j] for j in range(k)) + op["b_std"] * b, hp

    def b_conv(self, op, h, hp, d, grads):
        W, b = self.params[op["id"]]
        k, L = W.shape[0], h.shape[1]
        lo = (k - 1) // 2
        s = op["w_std"] / math.sqrt(k * h.shape[-1])
        grads.append(s * np.stack([np.einsum("nlc,nlw->ncw", hp[:, j:j + L], d) for j in range(k)], axis=1))
        grads.append(op["b_std"] * d.sum(axis=1))
        dp = np.zeros_like(hp)
        for j in range(k):
            dp[:, j:j + L] += s * d @ W[j].T
        return dp[:, lo:lo + L]

    def f_global_avg_pool(self, op, h, m):
        n = np.maximum(m.sum(axis=1), 1)[:, None, None]
        return (h * m[:, :, None]).sum(axis=1, keepdims=True) / n, n

    def b_global_avg_pool(self, op, h, n, d, grads):
        return np.broadcast_to(d / n, h.shape).copy()

    def f_attention(self, op, h, m):
        WK, WQ, WV, WO, b, P = self.params[op["id"]]
        H, dk, dv = WK.shape[0], WK.shape[2], WV.shape[2]
        pe = None
        hk = h
        if op["pos_emb"] != "none":
            pe = op["w_pos"] * P[None] * m[:, :, None]
            if op["pos_emb"] == "sum":
                hk = h + pe
            else:
                hk = np.concatenate([h, pe], axis=-1)
        hv = hk if op["val_pos_emb"] else h
        ck, cv = hk.shape[-1], hv.shape[-1]
        k = np.einsum("nlc,hcd->nhld", hk, WK)
        q = k if WQ is None else np.einsum("nlc,hcd->nhld", hk, WQ)
        scale = op["w_q"] * op["w_k"] / (ck * (dk if op["scaling"] == "linear" else math.sqrt(dk)))
        logits = scale * q @ np.swapaxes(k, -1, -2)
        keys = m[:, None, None, :]
        logits = np.where(keys, logits, NEG_INF if op["mechanism"] == "softmax" else 0.0)
        A = mechanism(op["mechanism"], logits)
        v = np.einsum("nlc,hcd->nhld", hv, WV)
        heads = A @ v  # n, H, L, dv
        cat = np.swapaxes(heads, 1, 2).reshape(h.shape[0], h.shape[1], H * dv)
        so = op["w_out"] * op["w_v"] / math.sqrt(dv * H * cv)
        out = so * cat @ WO + op["b_std"] * b
        return out, (hk, hv, k, q, logits, A, v, cat, scale, so, keys)

    def b_attention(self, op, h, cache, d, grads):
        WK, WQ, WV, WO, b, P = self.params[op["id"]]
        hk, hv, k, q, logits, A, v, cat, scale, so, keys = cache
        n, L, c = h.shape
        H, dv = WV.shape[0], WV.shape[2]
        grads.append(so * np.einsum("nlc,nlw->ncw", cat, d))  # W_out
        grads.append(op["b_std"] * d.sum(axis=1))
        dheads = np.swapaxes((so * d @ WO.T).reshape(n, L, H, dv), 1, 2)
        dA = dheads @ np.swapaxes(v, -1, -2)
        dvv = np.swapaxes(A, -1, -2) @ dheads
        grads.append(np.einsum("nlc,nhld->nhcd", hv, dvv))  # W_v
        dhv = np.einsum("nhld,hcd->nlc", dvv, WV)
        mech = op["mechanism"]
        if mech == "softmax":
            dz = A * (dA - (dA * A).sum(axis=-1, keepdims=True))
        elif mech == "identity":
            dz = dA
        elif mech == "abs":
            dz = dA * np.sign(logits)
        else:
            dz = dA * (logits > 0)
        dz = dz * keys
        dq = scale * dz @ k
        dk = scale * np.swapaxes(dz, -1, -2) @ q
        if WQ is None:  # tied keys and queries
            dk = dk + dq
            grads.append(np.einsum("nlc,nhld->nhcd", hk, dk))
            dhk = np.einsum("nhld,hcd->nlc", dk, WK)
        else:
            grads.append(np.einsum("nlc,nhld->nhcd", hk, dk))
            grads.append(np.einsum("nlc,nhld->nhcd", hk, dq))
            dhk = np.einsum("nhld,hcd->nlc", dk, WK) + np.einsum("nhld,hcd->nlc", dq, WQ)
        if op["val_pos_emb"]:
            dhk, dhv = dhk + dhv, 0.0
        if op["pos_emb"] == "none":
            return dhk + dhv
        mk = op["w_pos"] * cache_mask(keys)  # the embedding is a parameter, zero at masked positions
        if op["pos_emb"] == "sum":
            grads.append(mk * dhk)
            return dhk + dhv
        grads.append(mk * dhk[..., c:])
        return dhk[..., :c] + dhv

    def run(self, x, m):
        """(features before the readout (n, C), empirical NTK (n, n))."""
        h, caches = self.forward(self.ops, x, m)
        feats = h[:, 0, :]
        Wr, br = self.readout
        c = feats.shape[-1]
        s = self.w_out / math.sqrt(c)
        f = s * feats @ Wr[:, 0] + self.b_out * br[0]
        grads = [s * feats, np.full((len(x), 1), self.b_out)]
        d = np.broadcast_to(s * Wr[:, 0], h.shape).copy()
        self.backward(caches, d, grads)
        G = np.concatenate([g.reshape(len(x), -1) for g in grads], axis=1)
        return feats, f, G @ G.T


def monte_carlo(net, x, m, width, samples, seed=0):
    """Mean and standard error over `samples` networks of the NNGP of the scalar
    output (averaged over the readout's weights analytically: w²·features·features/C
    + b²) and of the empirical NTK. The readout is the net's last op when it is a
    dense layer after global_avg_pool, else dense(1, 1) (see with_readout)."""
    rng = np.random.default_rng(seed)
    nn, nt = [], []
    for _ in range(samples):
        fin = Finite(net, width, rng)
        feats, _, ntk = fin.run(x, m)
        nn.append(fin.w_out ** 2 * feats @ feats.T / feats.shape[-1] + fin.b_out ** 2)
        nt.append(ntk)
    nn, nt = np.array(nn), np.array(nt)
    se = lambda a: a.std(axis=0, ddof=1) / math.sqrt(len(a))
    return nn.mean(axis=0), se(nn), nt.mean(axis=0), se(nt)


def split_readout(ops):
    """(ops before the readout, (w_std, b_std) of the readout): the last op when it is a
    dense layer after global_avg_pool, else a dense(1, 1) the Monte Carlo adds."""
    if len(ops) >= 2 and ops[-1]["kind"] == "dense" and \
            any(op["kind"] == "global_avg_pool" for op in ops[:-1]):
        return ops[:-1], (ops[-1]["w_std"], ops[-1]["b_std"])
    return ops, (1.0, 1.0)


def with_readout(net):
    """The net whose analytic kernels the Monte Carlo of `net` estimates."""
    body, (w, b) = split_readout(net[1])
    return net[0], body + [dict(kind="dense", id=-1, w_std=w, b_std=b)]


# ---------------------------------------------------------------- self-test --

SELFTEST_NETS = {
    "transformer (pre-LN, linear softmax, relu MLP)": """net t { input sequence(5, 3)
        dense(1.0, 0.0)
        repeat 2 {
          residual { layer_norm; attention(scaling=linear, mechanism=softmax, w_q=1.5, b_std=0.2) }
          residual { layer_norm; dense(1.4, 0.1); relu; dense(1.0, 0.0) }
        }
        global_avg_pool }""",
    "sqrt identity attention, erf, conv": """net t { input sequence(5, 3)
        conv(3, 1.2, 0.1)
        attention(scaling=sqrt, mechanism=identity, w_q=0.8, w_k=1.0, w_v=1.1, w_out=0.9, b_std=0.1)
        erf
        dense(1.0, 0.1)
        global_avg_pool }""",
    "linear relu/abs attention, pos_emb sum/concat": """net t { input sequence(5, 3)
        dense(1.0, 0.0)
        attention(scaling=linear, mechanism=relu, pos_emb=sum, w_pos=0.7, b_std=0.1)
        relu
        dense(1.0, 0.0)
        layer_norm
        attention(scaling=linear, mechanism=abs, pos_emb=concat, pos_channels=1, w_q=0.5, w_pos=1.2,
                  val_pos_emb=1)
        global_avg_pool }""",
    "sqrt identity attention, pos_emb concat": """net t { input sequence(5, 3)
        dense(1.0, 0.0)
        attention(scaling=sqrt, mechanism=identity, pos_emb=concat, pos_channels=0.5, w_pos=0.8, w_k=0.7)
        global_avg_pool }""",
    "linear identity attention, relu": """net t { input sequence(5, 3)
        dense(1.0, 0.0)
        attention(scaling=linear, mechanism=identity, w_q=0.5, b_std=0.3)
        relu
        dense(1.0, 0.1)
        global_avg_pool }""",
}


def selftest_data(rng, L=5, C=3, n=4):
    x = rng.standard_normal((n, L, C))
    lengths = np.array([L, L - 2, L - 1, L - 3])[:n]
    return x, lengths


def identities(x, lengths):
    """Exact identities; returns a list of (name, max relative difference)."""
    out = []
    xm, m = load_inputs(x, lengths=lengths)
    L, C = x.shape[1:]
    gap = parse_net(f"net g {{ input sequence({L}, {C}) dense(1.0, 0.3) global_avg_pool }}")
    uni = parse_net(f"net u {{ input sequence({L}, {C}) dense(1.0, 0.3) "
                    "attention(scaling=linear, mechanism=softmax, w_q=0, w_v=1.3, w_out=0.5) global_avg_pool }")
    a, at = kernels(gap, xm, m)
    b, bt = kernels(uni, xm, m)
    ov2 = (1.3 * 0.5) ** 2
    # uniform softmax weights: every output position is the masked mean over keys,
    # so the kernel is ov2·GAP; the NTK adds the W_v and W_out terms (2·ov2·GAP).
    out.append(("attention(w_q=0, softmax) == w²·global_avg_pool (NNGP)", rel(b, ov2 * a)))
    out.append(("attention(w_q=0, softmax) == w²·global_avg_pool (NTK)", rel(bt, ov2 * at + 2 * ov2 * a)))
    net = parse_net(SELFTEST_NETS["transformer (pre-LN, linear softmax, relu MLP)"])
    k1 = kernels(net, xm, m)
    junk = np.where(m[:, :, None], x, 1e3 * rng_junk(x.shape))
    k2 = kernels(net, *load_inputs(junk, lengths=lengths))
    out.append(("padding content changes nothing", max(rel(k1[0], k2[0]), rel(k1[1], k2[1]))))
    longer = np.concatenate([x, rng_junk((x.shape[0], 3, C))], axis=1)
    net_l = parse_net(SELFTEST_NETS["transformer (pre-LN, linear softmax, relu MLP)"].replace(
        f"sequence({L}, {C})", f"sequence({L + 3}, {C})"))
    k3 = kernels(net_l, *load_inputs(longer, lengths=lengths))
    out.append(("more padding changes nothing", max(rel(k1[0], k3[0]), rel(k1[1], k3[1]))))
    cross = kernels(net, xm[:2], m[:2], xm[1:], m[1:])
    out.append(("cross blocks == symmetric blocks", max(rel(cross[0], k1[0][:2, 1:]), rel(cross[1], k1[1][:2, 1:]))))
    blocked = kernels(net, xm, m, block=1)
    out.append(("block size 1 == one block", max(rel(blocked[0], k1[0]), rel(blocked[1], k1[1]))))
    return out


def rng_junk(shape):
    return np.random.default_rng(12345).standard_normal(shape)


def rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def selftest(width, samples, z, quiet=False):
    """Returns True when every Monte Carlo error is within its tolerance and the identities hold.
    Tolerance per entry: z·SE (SE the standard error over `samples` networks, measured) plus
    a finite-width bias allowance·max|K| (bias_allowance: O(1/width) per nonlinear layer,
    O(1/sqrt(width)) per relu/abs attention)."""
    rng = np.random.default_rng(0)
    x, lengths = selftest_data(rng)
    ok = True
    say = (lambda *a: None) if quiet else print
    say(f"self-test: width {width}, {samples} networks per net, tolerance z·SE + bias allowance·max|K|, z = {z}")
    for name, text in SELFTEST_NETS.items():
        net = parse_net(text)
        check_net(*net)
        xm, m = load_inputs(x, lengths=lengths, shape=net[0])
        t0 = time.perf_counter()
        an_nngp, an_ntk = kernels(with_readout(net), xm, m)
        mc = monte_carlo(net, xm, m, width, samples)
        allow = bias_allowance(net[1], width)
        for kind, an, mean, se in (("NNGP", an_nngp, mc[0], mc[1]), ("NTK", an_ntk, mc[2], mc[3])):
            scale = np.max(np.abs(an))
            bias = allow * scale
            err = np.abs(mean - an)
            tol = z * se + bias
            worst = float(np.max(err / tol))
            ok &= worst <= 1.0
            say(f"  {name:48s} {kind:4s} max rel err {np.max(err) / scale:.4f}  "
                f"expected ≲ {np.max(tol) / scale:.4f} (SE {np.max(se) / scale:.4f}, bias {bias / scale:.4f})  "
                f"err/tol {worst:.2f} {'ok' if worst <= 1 else 'FAIL'}  [{time.perf_counter() - t0:.1f} s]")
    for name, r in identities(x, lengths):
        good = r <= 1e-12
        ok &= good
        say(f"  identity: {name:56s} rel diff {r:.1e} {'ok' if good else 'FAIL'}")
    return ok


def bias_allowance(ops, width):
    """Relative finite-width bias allowed: 1/width per layer nonlinear in its input
    (activations, layer_norm, attention: the usual O(1/n) bias of E[f(x + noise)]), but
    1/sqrt(width) per linear-scaling attention with a relu or abs mechanism: its logits
    fluctuate by O(1/sqrt(d_k)) around a limit that can be near the kink, and
    E|mu + sigma Z| - |mu| is up to sigma·sqrt(2/pi), first order in sigma."""
    b = 0.0
    for op in ops:
        if op["kind"] == "attention" and op["scaling"] == "linear" and op["mechanism"] in ("relu", "abs"):
            b += 1.0 / math.sqrt(width)
        elif op["kind"] in ("relu", "erf", "layer_norm", "attention"):
            b += 1.0 / width
        elif op["kind"] == "residual":
            b += bias_allowance(op["body"], width)
    return b


# --------------------------------------------------------------------- CLI --

def read_net(path):
    with open(path) as f:
        net = parse_net(f.read())
    check_net(*net)
    return net


def mask_args(a):
    return None if a is None else float(a)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("kernel")
    k.add_argument("net")
    k.add_argument("x1")
    k.add_argument("x2", nargs="?")
    k.add_argument("--nngp")
    k.add_argument("--ntk")
    k.add_argument("--lengths1")
    k.add_argument("--lengths2")
    k.add_argument("--mask-constant")
    mc = sub.add_parser("mc")
    mc.add_argument("net")
    mc.add_argument("x")
    mc.add_argument("--width", type=int, default=256)
    mc.add_argument("--samples", type=int, default=50)
    mc.add_argument("--seed", type=int, default=0)
    mc.add_argument("--nngp")
    mc.add_argument("--ntk")
    mc.add_argument("--lengths")
    mc.add_argument("--mask-constant")
    st = sub.add_parser("selftest")
    st.add_argument("--width", type=int, default=256)
    st.add_argument("--samples", type=int, default=100)
    st.add_argument("--z", type=float, default=4.0)
    a = ap.parse_args(argv)
    try:
        if a.cmd == "selftest":
            return 0 if selftest(a.width, a.samples, a.z) else 1
        net = read_net(a.net)
        mconst = mask_args(a.mask_constant)
        if a.cmd == "kernel":
            l1 = np.load(a.lengths1) if a.lengths1 else None
            l2 = np.load(a.lengths2) if a.lengths2 else None
            x1, m1 = load_inputs(np.load(a.x1), l1, mconst, net[0])
            if a.x2:
                x2, m2 = load_inputs(np.load(a.x2), l2, mconst, net[0])
                nngp, ntk = kernels(net, x1, m1, x2, m2)
            else:
                nngp, ntk = kernels(net, x1, m1)
        else:
            ln = np.load(a.lengths) if a.lengths else None
            x, m = load_inputs(np.load(a.x), ln, mconst, net[0])
            if split_readout(net[1])[0] is net[1]:
                raise NetError("mc needs a net ending in global_avg_pool then dense (its scalar readout)")
            nngp, _, ntk, _ = monte_carlo(net, x, m, a.width, a.samples, a.seed)
    except (NetError, OSError, ValueError) as e:
        print(f"attention_reference: {getattr(a, 'net', '')}: {e}", file=sys.stderr)
        return 1
    if not (np.isfinite(nngp).all() and np.isfinite(ntk).all()):
        print("attention_reference: a kernel entry is not finite; nothing written", file=sys.stderr)
        return 1
    if a.nngp:
        np.save(a.nngp, nngp)
    if a.ntk:
        np.save(a.ntk, ntk)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
