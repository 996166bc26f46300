"""Shared helpers of the Python tests: the checkout, the ntkc binary, scratch files."""
from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
NTKC_BIN = os.environ.get("NTKC_BIN", str(ROOT / "build" / "ntkc"))


def example(name: str) -> str:
    return str(ROOT / "examples" / name)


def run_cli(args: Sequence[str]) -> subprocess.CompletedProcess:
    """ntkc ARGS from the checkout's root; stdout and stderr as text."""
    return subprocess.run([NTKC_BIN, *args], cwd=ROOT, capture_output=True, text=True)


class Scratch:
    """A temporary directory for .npy files (context manager)."""

    def __enter__(self) -> "Scratch":
        self._dir = tempfile.TemporaryDirectory(prefix="ntkc-py-")
        self.path = Path(self._dir.name)
        return self

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()

    def save(self, name: str, a: np.ndarray) -> str:
        p = str(self.path / name)
        np.save(p, a)
        return p

    def file(self, name: str) -> str:
        return str(self.path / name)


def cli_kernel(net: str, x1: np.ndarray, x2: np.ndarray | None = None, extra: Sequence[str] = ()) -> tuple:
    """(nngp, ntk) from `ntkc kernel` on the same arrays."""
    with Scratch() as s:
        args = ["kernel", net, s.save("x1.npy", x1)]
        if x2 is not None:
            args.append(s.save("x2.npy", x2))
        r = run_cli(args + ["--nngp", s.file("s.npy"), "--ntk", s.file("k.npy"), "--quiet", *extra])
        if r.returncode != 0:
            raise AssertionError(f"ntkc kernel failed: {r.stderr}")
        return np.load(s.file("s.npy")), np.load(s.file("k.npy"))
