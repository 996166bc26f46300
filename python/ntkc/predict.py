"""Inference with infinitely wide networks, as neural-tangents' ``predict`` module.

``gradient_descent_mse_ensemble`` runs ``ntkc_predict`` (the kernels, one
eigendecomposition for all finite times, a Cholesky factorisation for t = ∞);
``gradient_descent`` runs it for one network (from given initial outputs, on
MSE or cross-entropy, with or without momentum);
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


class _Data:
    """The training data as ntkc_predict takes it, and test inputs checked against it."""

    def __init__(self, kernel_fn: Any, x_train: Any, y_train: Any) -> None:
        self.net = net = _resolve_net(kernel_fn, x_train)
        self.graphs = net.takes_graphs
        self.f = lib.ntkc_net_input_dim(net._ptr)
        if self.graphs:
            if not isinstance(x_train, Graphs):
                raise Error(f"error: x_train: net '{net.name}' takes graphs: pass ntkc.Graphs")
            self.x: Any = x_train.with_features(self.f)
        else:
            self.x = net._matrix_input(x_train, "x_train")
        self.n = len(self.x) if self.graphs else self.x.shape[0]
        self.y_shape = np.shape(y_train)
        self.y = _targets(y_train, self.n)
        self.k = self.y.shape[1]

    def test_inputs(self, x_test: Any) -> tuple[Any, int]:
        """x_test as ntkc_predict takes it (None: the training inputs) and its count."""
        if self.graphs:
            xte = self.x if x_test is None else x_test.with_features(self.f)
            return xte, len(xte)
        xte = self.x if x_test is None else self.net._matrix_input(x_test, "x_test")
        if xte.shape[1] != self.x.shape[1]:
            raise Error(f"error: x_test has {xte.shape[1]} features per row but x_train has {self.x.shape[1]}")
        return xte, xte.shape[0]

    def predict(self, xte: Any, m: int, times: np.ndarray, opts: PredictOptions, mean: np.ndarray,
                cov: Any) -> None:
        """ntkc_predict (or _graphs) into mean and cov; raises on error."""
        err = CError()
        if self.graphs:
            rc = lib.ntkc_predict_graphs(self.net._ptr, self.x._ptr, _as_double_p(self.y), self.k, xte._ptr,
                                         _as_double_p(times), times.size, byref(opts), _as_double_p(mean),
                                         _as_double_p(cov), None, byref(err))
        else:
            rc = lib.ntkc_predict(self.net._ptr, self.n, _as_double_p(self.x), _as_double_p(self.y), self.k, m,
                                  _as_double_p(xte), self.x.shape[1], _as_double_p(times), times.size,
                                  byref(opts), _as_double_p(mean), _as_double_p(cov), None, byref(err))
        if rc != 0:
            _raise(err)


def gradient_descent_mse_ensemble(kernel_fn: Any, x_train: Any, y_train: Any, learning_rate: float = 1.0,
                                  diag_reg: float = 0.0, diag_reg_absolute_scale: bool = False,
                                  trace_axes: Sequence[int] = (-1,), threads: int = 0,
                                  progress: bool = False, dropout: str = "fixed") -> Callable[..., Any]:
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
        dropout: for a net with train-mode dropout. "fixed" (default, neural-tangents'
            semantics): the net's own kernels, each input under its own masks — nets in
            which every input keeps one mask throughout. "fresh": nets trained with fresh
            masks every step and predicting without dropout, as dropout is used
            (``ntkc predict --dropout fresh``, README "Training dynamics"): the training
            kernel between independent masks, test–train the mixed kernel
            (``Net.kernel(dropout_mixed=True)``), the test covariance without dropout.
            No effect on a net without dropout.

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
    if dropout not in ("fixed", "fresh"):
        raise ValueError(f"dropout must be 'fixed' or 'fresh', not {dropout!r}")
    fresh = dropout == "fresh"
    data = _Data(kernel_fn, x_train, y_train)
    net = data.net
    regs: dict[str, float] = {}

    def reg_for(g: str) -> float:
        if not diag_reg_absolute_scale or diag_reg == 0 or fresh:  # fresh: reg_absolute (its own training kernel)
            return diag_reg
        if g not in regs:  # relative to the mean diagonal, which ntkc_predict takes
            diag = _kernel_diagonal(net, x_train, g)
            regs[g] = diag_reg / float(np.mean(diag))
        return regs[g]

    def predict_fn(t: Any = None, x_test: Any = None, get: Get = None, compute_cov: bool = False) -> Any:
        names = _kernel_names(get)
        ts = np.asarray(math.inf if t is None else t, dtype=np.float64)
        times = np.ascontiguousarray(ts.reshape(-1) * learning_rate)
        xte, m = data.test_inputs(x_test)
        k = data.k
        out = {}
        for g in names:
            mean = np.empty((times.size, m, k))
            cov = np.empty((times.size, m, m)) if compute_cov else None
            opts = PredictOptions(kernel=_KERNEL_CODES[g], reg=reg_for(g),
                                  eval=eval_options(threads, progress, "kernels"), dropout_fresh=fresh,
                                  reg_absolute=fresh and diag_reg_absolute_scale)
            data.predict(xte, m, times, opts, mean, cov)
            mean = mean.reshape(ts.shape + (m,) + tuple(data.y_shape[1:]))
            out[g] = Gaussian(mean, cov.reshape(ts.shape + (m, m))) if compute_cov else mean
        if isinstance(get, str):
            return out[get]
        return result_tuple("Gaussians" if compute_cov else "Predictions", names)(*(out[g] for g in names))

    return predict_fn


_LOSS_CODES = {"mse": 0, "xent": 1}


def _outputs0(f: Any, rows: int, k: int, what: str) -> Any:
    """fx0 as a C-contiguous (rows, k) float64 array, or None for zeros."""
    if f is None or (np.ndim(f) == 0 and float(f) == 0.0):
        return None
    a = np.asarray(f, dtype=np.float64)
    try:
        return np.ascontiguousarray(np.broadcast_to(a, (rows, k)))
    except ValueError:
        raise Error(f"error: {what}: shape {a.shape} does not give ({rows}, {k}) initial outputs") from None


def gradient_descent(kernel_fn: Any, x_train: Any, y_train: Any, loss: str = "mse", learning_rate: float = 1.0,
                     momentum: Any = None, get: str = "ntk", threads: int = 0,
                     progress: bool = False, dropout: str = "fixed") -> Callable[..., Any]:
    """One infinitely wide network trained by full-batch gradient descent, optionally with
    heavy-ball momentum, on MSE or softmax cross-entropy — neural-tangents'
    ``predict.gradient_descent`` (its function-space ODE, here integrated by GSL's adaptive
    Runge–Kutta) and, for MSE without momentum, ``predict.gradient_descent_mse`` (closed form).

    Args:
        kernel_fn: an :class:`ntkc.Net` or an ``ntkc.stax`` kernel_fn; its kernels are computed.
        x_train, y_train: as for :func:`gradient_descent_mse_ensemble`.
        loss: "mse", ``0.5 * mean((f - y)**2)``, or "xent", ``mean(-y * log_softmax(f))``, means
            over the n·k target entries.
        learning_rate: η; t counts steps. Without momentum time is η·t; with it, the ODE
            of v ← μv − η∇L, θ ← θ + v (docs/predict.md).
        momentum: μ in [0, 1), or None for plain gradient descent.
        get: "ntk" (every layer trains) or "nngp" (only the readout).
        dropout: for a net with train-mode dropout, as for
            :func:`gradient_descent_mse_ensemble`: "fixed" (default) or "fresh" (nets
            trained with fresh masks every step, outputs without dropout; ``ntkc predict
            --dropout fresh``). "fresh" predicts from zero initial outputs, on MSE (with or
            without momentum), float64 nets: cross-entropy and nonzero fx_train_0 or
            fx_test_0 are refused by name (ntkc.Error), as the CLI refuses them, and
            fx_train_t is None (outputs on the training inputs under masks are not
            defined: pass x_train as x_test for their outputs without dropout).

    Returns:
        ``predict_fn(t, fx_train_0=0., fx_test_0=0., x_test=None)``: the outputs at time(s) t
        (finite for xent and momentum) of the network that starts at fx_train_0 (n, k) on
        x_train and fx_test_0 (m, k) on x_test: ``(fx_train_t, fx_test_t)``, shapes
        ``t.shape + (n, k)`` and ``t.shape + (m, k)``.
    """
    if loss not in _LOSS_CODES:
        raise ValueError(f"loss must be 'mse' or 'xent', not {loss!r}")
    if get not in _KERNEL_CODES:
        raise ValueError(f"get must be 'ntk' or 'nngp', not {get!r}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, not {learning_rate}")
    if dropout not in ("fixed", "fresh"):
        raise ValueError(f"dropout must be 'fixed' or 'fresh', not {dropout!r}")
    fresh = dropout == "fresh"
    data = _Data(kernel_fn, x_train, y_train)

    def predict_fn(t: Any, fx_train_0: Any = 0.0, fx_test_0: Any = 0.0, x_test: Any = None) -> Any:
        ts = np.asarray(t, dtype=np.float64)
        times = np.ascontiguousarray(ts.reshape(-1) * (1.0 if momentum is not None else learning_rate))
        xte, m = data.test_inputs(x_test)
        n, k = data.n, data.k
        f0, g0 = _outputs0(fx_train_0, n, k, "fx_train_0"), _outputs0(fx_test_0, m, k, "fx_test_0")
        train = np.empty((times.size, n, k))
        mean = np.empty((times.size, m, k))
        opts = PredictOptions(kernel=_KERNEL_CODES[get], eval=eval_options(threads, progress, "kernels"),
                              fx0_train=_as_double_p(f0), fx0_test=_as_double_p(g0), loss=_LOSS_CODES[loss],
                              momentum_on=momentum is not None,
                              momentum=0.0 if momentum is None else float(momentum),
                              learning_rate=0.0 if momentum is None else float(learning_rate),
                              train_mean=None if fresh else _as_double_p(train), dropout_fresh=fresh)
        data.predict(xte, m, times, opts, mean, None)
        return None if fresh else train.reshape(ts.shape + (n, k)), mean.reshape(ts.shape + (m, k))

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


__all__ = ["Gaussian", "gradient_descent", "gradient_descent_mse_ensemble", "gp_inference", "KERNEL_NAMES"]
