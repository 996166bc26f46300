"""Inference with infinitely wide networks, as neural-tangents' ``predict`` module.

``gradient_descent_mse_ensemble`` runs ``ntkc_predict`` (the kernels, one
eigendecomposition for all finite times, a Cholesky factorisation for t = ∞);
``gp_inference`` works on kernels you computed.
"""
from __future__ import annotations

import math
from collections import namedtuple
from ctypes import byref
from typing import Any, Callable, Sequence, Union

import numpy as np

from ._lib import CError, PredictOptions, lib
from ._net import KERNEL_NAMES, Error, Graphs, Net, _as_double_p, _kernel_names, _raise, eval_options, result_tuple

Gaussian = namedtuple("Gaussian", ["mean", "covariance"])
Get = Union[str, Sequence[str], None]
_KERNEL_CODES = {"ntk": 0, "nngp": 1}


def _resolve_net(kernel_fn: Any, x: Any) -> Net:
    if isinstance(kernel_fn, Net):
        return kernel_fn
    net_for = getattr(kernel_fn, "net_for", None)
    if net_for is not None:
        return net_for(x)  # an ntkc.stax kernel_fn: the net for this input shape
    raise TypeError(f"kernel_fn must be an ntkc.Net or an ntkc.stax kernel_fn, not {type(kernel_fn).__name__}")


def _targets(y: Any, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise Error(f"error: y_train: dtype {y.dtype} is not a number type")
    y2 = np.ascontiguousarray(y.reshape(y.shape[0], -1) if y.ndim else y, dtype=np.float64)
    if y2.ndim != 2 or y2.shape[0] != n:
        raise Error(f"error: y_train: shape {y.shape} does not give one row of targets per training input ({n})")
    return y2


def gradient_descent_mse_ensemble(kernel_fn: Any, x_train: Any, y_train: Any, learning_rate: float = 1.0,
                                  diag_reg: float = 0.0, diag_reg_absolute_scale: bool = False,
                                  trace_axes: Sequence[int] = (-1,), threads: int = 0,
                                  progress: bool = False) -> Callable[..., Any]:
    """The outputs of an infinite ensemble of infinitely wide nets trained by gradient
    flow on the MSE loss ``0.5 * mean((f(x_train) - y_train)**2)``, as neural-tangents defines it.

    Args:
        kernel_fn: an :class:`ntkc.Net` or an ``ntkc.stax`` kernel_fn.
        x_train: training inputs (as ``Net.kernel`` takes them; :class:`ntkc.Graphs` for graph nets).
        y_train: (n, k) targets (or (n,)).
        learning_rate: times are in units of it: absolute time = learning_rate · t.
        diag_reg: added to the training kernel's diagonal, times its mean diagonal
            unless ``diag_reg_absolute_scale``.
        trace_axes: only (-1,) — the kernel is that of one output unit, shared by the k outputs.
        threads, progress: as for ``Net.kernel``.

    Returns:
        ``predict_fn(t=None, x_test=None, get=None, compute_cov=False)``: ``t`` a time or an
        array of times (None = ∞), ``x_test`` None for the training inputs, ``get`` "nngp",
        "ntk" or a tuple (None = both); the mean of shape ``t.shape + (m, k)``, or
        ``Gaussian(mean, covariance)`` with covariance ``t.shape + (m, m)``.
    """
    if tuple(trace_axes) not in ((-1,), (1,)):
        raise NotImplementedError("trace_axes: ntkc computes the kernel of one output unit (trace_axes=(-1,))")
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be > 0, not {learning_rate}")
    net = _resolve_net(kernel_fn, x_train)
    graphs = net.takes_graphs
    f = lib.ntkc_net_input_dim(net._ptr)
    if graphs:
        if not isinstance(x_train, Graphs):
            raise Error(f"error: x_train: net '{net.name}' takes graphs: pass ntkc.Graphs")
        xtr: Any = x_train.with_features(f)
    else:
        xtr = net._matrix_input(x_train, "x_train")
    n = len(xtr) if graphs else xtr.shape[0]
    y_shape = np.shape(y_train)
    ytr = _targets(y_train, n)
    regs: dict[str, float] = {}

    def reg_for(g: str) -> float:
        if not diag_reg_absolute_scale or diag_reg == 0:
            return diag_reg
        if g not in regs:  # relative to the mean diagonal, which ntkc_predict takes
            diag = _kernel_diagonal(net, x_train, g)
            regs[g] = diag_reg / float(np.mean(diag))
        return regs[g]

    def predict_fn(t: Any = None, x_test: Any = None, get: Get = None, compute_cov: bool = False) -> Any:
        names = _kernel_names(get)
        ts = np.asarray(math.inf if t is None else t, dtype=np.float64)
        times = np.ascontiguousarray(ts.reshape(-1) * learning_rate)
        if graphs:
            xte = xtr if x_test is None else x_test.with_features(f)
            m = len(xte)
        else:
            xte = xtr if x_test is None else net._matrix_input(x_test, "x_test")
            if xte.shape[1] != xtr.shape[1]:
                raise Error(f"error: x_test has {xte.shape[1]} features per row but x_train has {xtr.shape[1]}")
            m = xte.shape[0]
        k = ytr.shape[1]
        out = {}
        for g in names:
            mean = np.empty((times.size, m, k))
            cov = np.empty((times.size, m, m)) if compute_cov else None
            opts = PredictOptions(kernel=_KERNEL_CODES[g], reg=reg_for(g),
                                  eval=eval_options(threads, progress, "kernels"))
            err = CError()
            if graphs:
                rc = lib.ntkc_predict_graphs(net._ptr, xtr._ptr, _as_double_p(ytr), k, xte._ptr,
                                             _as_double_p(times), times.size, byref(opts), _as_double_p(mean),
                                             _as_double_p(cov), None, byref(err))
            else:
                rc = lib.ntkc_predict(net._ptr, n, _as_double_p(xtr), _as_double_p(ytr), k, m, _as_double_p(xte),
                                      xtr.shape[1], _as_double_p(times), times.size, byref(opts),
                                      _as_double_p(mean), _as_double_p(cov), None, byref(err))
            if rc != 0:
                _raise(err)
            mean = mean.reshape(ts.shape + (m,) + tuple(y_shape[1:]))
            out[g] = Gaussian(mean, cov.reshape(ts.shape + (m, m))) if compute_cov else mean
        if isinstance(get, str):
            return out[get]
        return result_tuple("Gaussians" if compute_cov else "Predictions", names)(*(out[g] for g in names))

    return predict_fn


def _kernel_diagonal(net: Net, x: Any, g: str) -> np.ndarray:
    """The kernel's diagonal: each input against itself."""
    if net.takes_graphs:
        return np.diag(net.kernel(x, get=g))
    a = net._matrix_input(x, "x_train")
    return np.array([net.kernel(a[i:i + 1], get=g)[0, 0] for i in range(a.shape[0])])


def _get_kernel(k: Any, g: str) -> np.ndarray:
    if isinstance(k, np.ndarray):
        return k
    value = getattr(k, g, None)
    if value is None:
        raise ValueError(f"the kernels given have no '{g}' kernel")
    return np.asarray(value, dtype=np.float64)


def _regularised(a: np.ndarray, diag_reg: float, absolute: bool) -> np.ndarray:
    n = a.shape[0]
    scale = diag_reg if absolute else diag_reg * np.trace(a) / n
    return a + scale * np.eye(n)


def gp_inference(k_train_train: Any, y_train: Any, diag_reg: float = 0.0, diag_reg_absolute_scale: bool = False,
                 trace_axes: Sequence[int] = (-1,)) -> Callable[..., Any]:
    """Exact Gaussian-process inference on precomputed kernels, as neural-tangents' ``gp_inference``.

    NNGP: the Bayesian posterior of an infinitely wide net; NTK: the infinite ensemble
    trained to convergence (t = ∞). Kernels are arrays or namedtuples with ``nngp``/``ntk``.

    Returns:
        ``predict_fn(get=None, k_test_train=None, k_test_test=None)``: the mean, or
        ``Gaussian(mean, covariance)`` when ``k_test_test`` is given.
    """
    if tuple(trace_axes) not in ((-1,), (1,)):
        raise NotImplementedError("trace_axes: only the kernel of one output unit (trace_axes=(-1,))")
    y = np.asarray(y_train, dtype=np.float64)
    y2 = y.reshape(y.shape[0], -1)
    factors: dict[str, np.ndarray] = {}

    def chol(g: str) -> np.ndarray:
        if g not in factors:
            a = _regularised(_get_kernel(k_train_train, g), diag_reg, diag_reg_absolute_scale)
            try:
                factors[g] = np.linalg.cholesky(a)
            except np.linalg.LinAlgError:
                raise Error(f"error: the {g} training kernel is singular (not positive definite); "
                            "add a diag_reg") from None
        return factors[g]

    def solve(g: str, b: np.ndarray) -> np.ndarray:
        low = chol(g)
        return np.linalg.solve(low.T, np.linalg.solve(low, b))

    def predict_fn(get: Get = None, k_test_train: Any = None, k_test_test: Any = None) -> Any:
        names = _kernel_names(get)
        out = {}
        for g in names:
            if k_test_train is None:
                mean = y.copy()
                out[g] = Gaussian(mean, np.zeros_like(_get_kernel(k_train_train, g))) if k_test_test is not None \
                    else mean
                continue
            k_td = _get_kernel(k_test_train, g)
            mean = (k_td @ solve(g, y2)).reshape((k_td.shape[0],) + y.shape[1:])
            if k_test_test is None:
                out[g] = mean
                continue
            nngp_td = _get_kernel(k_test_train, "nngp")
            k_tt = _get_kernel(k_test_test, "nngp")
            if g == "nngp":
                cov = k_tt - k_td @ solve("nngp", k_td.T)
            else:  # the NTK-GP covariance (Lee et al. 2019)
                term1 = solve("ntk", k_td.T)
                cov = term1.T @ _get_kernel(k_train_train, "nngp") @ term1
                term2 = k_td @ solve("ntk", nngp_td.T)
                cov = cov - term2 - term2.T + k_tt
            out[g] = Gaussian(mean, cov)
        if isinstance(get, str):
            return out[get]
        return result_tuple("Gaussians" if k_test_test is not None else "Predictions", names)(
            *(out[g] for g in names))

    return predict_fn


__all__ = ["Gaussian", "gradient_descent_mse_ensemble", "gp_inference", "KERNEL_NAMES"]
