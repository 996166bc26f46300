#!/usr/bin/python3
"""The UCI digits with ntkc.stax: the fully connected net of `make demo`
(examples/digits_fc.ntk), written as in neural-tangents and trained to
convergence by ntkc.predict — the same accuracy as `make demo` (97.37 %).
`--cntk` also runs the demo's convolutional net (about a minute on 2 cores).

    PYTHONPATH=python examples/python/digits.py [--cntk]
"""
import sys
import time
from pathlib import Path

import numpy as np

import ntkc
from ntkc import predict, stax

DATA = Path(__file__).resolve().parents[2] / "data"


def load() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x_train, x_test = np.load(DATA / "digits_train_x.npy"), np.load(DATA / "digits_test_x.npy")
    y_train, y_test = np.load(DATA / "digits_train_y.npy"), np.load(DATA / "digits_test_y.npy")
    return x_train, np.eye(10)[y_train], x_test, y_test  # one-hot training targets


def accuracy(name: str, kernel_fn, x_train, y_train, x_test, labels) -> None:
    start = time.perf_counter()
    predict_fn = predict.gradient_descent_mse_ensemble(kernel_fn, x_train, y_train, diag_reg=1e-3)
    mean = predict_fn(x_test=x_test, get="ntk")  # t = None: trained to convergence
    right = int(np.sum(np.argmax(mean, axis=1) == labels))
    print(f"{name:5} test accuracy {100 * right / len(labels):.2f}% ({right}/{len(labels)})   "
          f"{time.perf_counter() - start:.2f} s")


def main() -> None:
    x_train, y_train, x_test, labels = load()
    print(f"UCI digits: {len(x_train)} training, {len(x_test)} test images; ntkc {ntkc.__version__}")

    # examples/digits_fc.ntk in neural-tangents' words
    _, _, fc = stax.serial(stax.Dense(512, W_std=2.0, b_std=0.5), stax.Relu(), stax.Dense(1))
    accuracy("FC", fc, x_train, y_train, x_test, labels)

    if "--cntk" in sys.argv:  # examples/digits_cntk.ntk: images (n, 8, 8, 1), NHWC
        block = stax.serial(stax.Conv(64, (3, 3), padding="SAME", W_std=1.414, b_std=0.1), stax.Relu())
        _, _, cntk = stax.serial(block, block, block, stax.GlobalAvgPool(), stax.Dense(1))
        images = lambda x: x.reshape(-1, 8, 8, 1)
        accuracy("CNTK", cntk, images(x_train), y_train, images(x_test), labels)
        print(cntk.source)


if __name__ == "__main__":
    main()
