#!/usr/bin/python3
"""A synthetic sequence classification task that needs a long-range interaction
(issue 20): does the symbol of two marked tokens, at least L/2 positions
apart, match?

Each sequence has L tokens; a token is a one-hot symbol out of V plus a marker
channel (C = V + 1 channels). Exactly two tokens carry the marker; they are at
least L/2 apart; in half the sequences (the label) they carry the same symbol.
The other tokens are uniform random symbols. No single window of fewer than
L/2 + 1 tokens says anything about the label, so a convolutional kernel whose
receptive field is shorter (then pooled globally) is at chance, while
attention relates the two marked tokens wherever they are.

usage: long_range_task.py [OUTDIR] [--n-train 500] [--n-test 200] [--length 24]
                          [--symbols 6] [--seed 20] [--kernels] [--reg 1e-4]
Writes OUTDIR/{x_train,y_train,x_test,y_test}.npy (x: (n, L, C) float64; y:
(n, 2) one-hot, column 1 = "match") and OUTDIR/{cntk,attention}.ntk (default
OUTDIR build/long_range). With --kernels, computes both nets' NNGP and NTK with
scripts/attention_reference.py and prints the kernel-regression test accuracy
(neural-tangents' t = ∞ mean prediction K_td (K_tt + reg·mean(diag)·I)⁻¹ y;
numpy solve).
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attention_reference as ar  # noqa: E402

# Same depth, same blocks: only the token-mixing layer differs (attention vs a
# 3-wide conv). Pre-LN residual blocks; every relu and layer_norm reads a
# Gaussian field.
NET = """net {name} {{
    input sequence({L}, {C})
    {embed}
    repeat 2 {{
        residual {{ layer_norm; {mix} }}
        residual {{ layer_norm; dense(1.414, 0.05); relu; dense(1.0, 0.0) }}
    }}
    global_avg_pool
    dense(1.0, 0.0)
}}
"""
MIX = {
    "cntk": ("conv(3, 1.0, 0.0)", "conv(3, 1.0, 0.05)"),
    "attention": ("dense(1.0, 0.0)",
                  "attention(heads=4, scaling=linear, mechanism=softmax, w_q=4.0, w_k=1.0, w_v=1.0, "
                  "w_out=1.0, b_std=0.05, pos_emb=none)"),
}


def make(rng, n, L, V):
    x = np.zeros((n, L, V + 1))
    sym = rng.integers(0, V, size=(n, L))
    y = rng.integers(0, 2, size=n)
    for i in range(n):
        while True:
            p, q = sorted(rng.choice(L, size=2, replace=False))
            if q - p >= L // 2:
                break
        if y[i]:
            sym[i, q] = sym[i, p]
        else:
            sym[i, q] = (sym[i, p] + rng.integers(1, V)) % V
        x[i, np.arange(L), sym[i]] = 1.0
        x[i, [p, q], V] = 1.0
    return x, np.eye(2)[y]


def regress(k_tt, k_dt, y_train, reg):
    a = k_tt + reg * np.mean(np.diag(k_tt)) * np.eye(len(k_tt))
    return k_dt @ np.linalg.solve(a, y_train - 0.5) + 0.5


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir", nargs="?", default="build/long_range")
    ap.add_argument("--n-train", type=int, default=500)
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--length", type=int, default=24)
    ap.add_argument("--symbols", type=int, default=6)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--kernels", action="store_true")
    ap.add_argument("--reg", type=float, default=1e-4)
    a = ap.parse_args(argv)
    rng = np.random.default_rng(a.seed)
    L, V = a.length, a.symbols
    x_tr, y_tr = make(rng, a.n_train, L, V)
    x_te, y_te = make(rng, a.n_test, L, V)
    os.makedirs(a.outdir, exist_ok=True)
    for name, arr in (("x_train", x_tr), ("y_train", y_tr), ("x_test", x_te), ("y_test", y_te)):
        np.save(os.path.join(a.outdir, name + ".npy"), arr)
    texts = {}
    for name, (embed, mix) in MIX.items():
        texts[name] = NET.format(name=name, L=L, C=V + 1, embed=embed, mix=mix)
        with open(os.path.join(a.outdir, name + ".ntk"), "w") as f:
            f.write(texts[name])
    print(f"wrote {a.outdir}: {a.n_train} train / {a.n_test} test sequences, L = {L}, C = {V + 1}")
    if not a.kernels:
        return 0
    x_all = np.concatenate([x_tr, x_te])
    n = a.n_train
    for name, text in texts.items():
        net = ar.parse_net(text)
        ar.check_net(*net)
        t0 = time.perf_counter()
        nngp, ntk = ar.kernels(net, *ar.load_inputs(x_all, shape=net[0]))
        secs = time.perf_counter() - t0
        for kind, k in (("NNGP", nngp), ("NTK", ntk)):
            pred = regress(k[:n, :n], k[n:, :n], y_tr, a.reg)
            acc = np.mean(pred.argmax(1) == y_te.argmax(1))
            train = np.mean(regress(k[:n, :n], k[:n, :n], y_tr, a.reg).argmax(1) == y_tr.argmax(1))
            print(f"{name:10s} {kind:4s} test accuracy {acc:.3f} (train {train:.3f}); "
                  f"kernels of {len(x_all)} sequences in {secs:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
