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
                          [--symbols 6] [--seed 20] [--kernels] [--reference]
                          [--reg 1e-4] [--plot FILE.png]
Writes OUTDIR/{x_train,y_train,x_test,y_test}.npy (x: (n, L, C) float64; y:
(n, 2) one-hot, column 1 = "match") and OUTDIR/{cntk,attention}.ntk (default
OUTDIR build/long_range). With --kernels, computes both nets' NNGP and NTK with
ntkc (the Python package over build/libntkc.so: ntkc.Net(...).kernel) and
prints the kernel-regression test accuracy — the t = ∞ mean prediction
K_td (K_tt + reg·mean(diag)·I)⁻¹ y by ntkc.predict.gp_inference
(neural-tangents' diag_reg convention) — for the first 25, 50, ..., n-train
training sequences (a learning curve from one kernel matrix); --plot draws it
with gnuplot. --reference computes the kernels with the independent numpy
implementation scripts/attention_reference.py instead (slow: minutes).
`make figure-long-range` runs it for the README (docs/long_range_task.png).
"""
import argparse
import os
import subprocess
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
    """The reference's own solve (numpy), for --reference."""
    a = k_tt + reg * np.mean(np.diag(k_tt)) * np.eye(len(k_tt))
    return k_dt @ np.linalg.solve(a, y_train - 0.5) + 0.5


def ntkc_predict(k_tt, k_dt, y_train, reg):
    """ntkc's t = ∞ mean (Cholesky), the same regularisation as regress()."""
    from ntkc import predict
    fn = predict.gp_inference(k_tt, y_train - 0.5, diag_reg=reg)
    return fn(get="ntk", k_test_train=k_dt) + 0.5  # the kernel's name only labels it here


def kernels_ntkc(text, x):
    import ntkc
    return ntkc.Net(text).kernel(x, get=("nngp", "ntk"))


def kernels_reference(text, x):
    net = ar.parse_net(text)
    ar.check_net(*net)
    return ar.kernels(net, *ar.load_inputs(x, shape=net[0]))


def plot(rows, path, outdir):
    """Test accuracy against the number of training sequences, per net and kernel (gnuplot; the
    numbers in OUTDIR/accuracy.dat)."""
    dat = os.path.join(outdir, "accuracy.dat")
    names = sorted({(r[0], r[1]) for r in rows})
    with open(dat, "w") as f:
        for net, kind in names:
            f.write(f"# {net} {kind}\n")
            for r in rows:
                if (r[0], r[1]) == (net, kind):
                    f.write(f"{r[2]} {r[3]:.4f}\n")
            f.write("\n\n")
    titles = {("attention", "NNGP"): "attention NNGP", ("attention", "NTK"): "attention NTK",
              ("cntk", "NNGP"): "CNTK NNGP", ("cntk", "NTK"): "CNTK NTK"}
    plots = ", ".join(f"'{dat}' index {i} using 1:2 with linespoints lw 2 pt {5 + 2 * i} title "
                      f"'{titles[k]}'" for i, k in enumerate(names))
    script = f"""set terminal pngcairo enhanced background rgb 'white' font 'Helvetica,10' size 560,380
set output '{path}'
set grid
set logscale x
set yrange [0.4:1.05]
set key right center
set xrange [20:600]
set xtics (25, 50, 100, 200, 500)
set xlabel 'training sequences'
set ylabel 'test accuracy (chance 0.5)'
set title 'Matching two marked tokens >= L/2 apart: kernel regression'
plot {plots}, 0.5 with lines dt 2 lc 'gray' notitle
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir", nargs="?", default="build/long_range")
    ap.add_argument("--n-train", type=int, default=500)
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--length", type=int, default=24)
    ap.add_argument("--symbols", type=int, default=6)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--kernels", action="store_true")
    ap.add_argument("--reference", action="store_true")
    ap.add_argument("--reg", type=float, default=1e-4)
    ap.add_argument("--plot")
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
    sizes = [m for m in (25, 50, 100, 200, 400) if m < n] + [n]
    compute, solve = (kernels_reference, regress) if a.reference else (kernels_ntkc, ntkc_predict)
    rows = []
    for name, text in texts.items():
        t0 = time.perf_counter()
        nngp, ntk = compute(text, x_all)
        secs = time.perf_counter() - t0
        print(f"{name}: NNGP and NTK of {len(x_all)} sequences in {secs:.1f} s "
              f"({'scripts/attention_reference.py' if a.reference else 'ntkc'})")
        for kind, k in (("NNGP", nngp), ("NTK", ntk)):
            for m in sizes:
                pred = solve(k[:m, :m], k[n:, :m], y_tr[:m], a.reg)
                rows.append((name, kind, m, float(np.mean(pred.argmax(1) == y_te.argmax(1)))))
            train = np.mean(solve(k[:n, :n], k[:n, :n], y_tr, a.reg).argmax(1) == y_tr.argmax(1))
            curve = ", ".join(f"{r[2]}: {r[3]:.3f}" for r in rows if r[:2] == (name, kind))
            print(f"  {kind:4s} test accuracy by training sequences {curve} (train {train:.3f})")
    if a.plot:
        plot(rows, a.plot, a.outdir)
        print(f"wrote {a.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
