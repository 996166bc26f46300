"""Nets, kernels, graphs and the text tools: the Python face of include/ntkc.h."""
from __future__ import annotations

import ctypes
import functools
import math
import os
import re
import sys
import threading
import time
from collections import namedtuple
from ctypes import POINTER, byref, c_char_p, c_double, c_size_t
from typing import Any, Iterable, Optional, Sequence, Union

import numpy as np

from ._lib import PROGRESS_FN, CError, CompileOptions, EvalOptions, lib

PathLike = Union[str, "os.PathLike[str]"]
KERNEL_NAMES = ("nngp", "ntk")
_BACKENDS = {"tcc": 0, "cc": 1}
_POSITION = re.compile(r"^(?P<file>[^\n]*?):(?:(?P<line>\d+):(?P<col>\d+): )?(?:internal )?error: ")


class Error(Exception):
    """An error reported by ntkc, with the message the ``ntkc`` command prints.

    Attributes:
        message: the full message (``file:line:col: error: ...`` and, for
            source errors, the line with a caret under the column).
        file, line, column: the position the message names, or None.
        code: 1 for a user error (bad source or data), 2 for an internal one.
    """

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        m = _POSITION.match(message)
        self.file: Optional[str] = m.group("file") if m and m.group("file") else None
        self.line: Optional[int] = int(m.group("line")) if m and m.group("line") else None
        self.column: Optional[int] = int(m.group("col")) if m and m.group("col") else None

    def __str__(self) -> str:
        return self.message


def _raise(err: CError) -> None:
    raise Error(err.message.decode("utf-8", "replace"), err.code or 2)


def _take_string(ptr: Optional[int], err: CError) -> str:
    """A malloc'd C string handed over by the library, as Python text."""
    if not ptr:
        _raise(err)
    try:
        return ctypes.string_at(ptr).decode("utf-8")
    finally:
        lib.ntkc_free(ptr)


def _is_path(source_or_path: Any) -> bool:
    if isinstance(source_or_path, os.PathLike):
        return True
    return isinstance(source_or_path, str) and "\n" not in source_or_path and "{" not in source_or_path


def _read_text(path: PathLike) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise Error(f"error: cannot open {os.fspath(path)}: {e.strerror}") from None
    if b"\0" in data:
        raise Error(f"error: {os.fspath(path)}: contains a NUL byte; is it a text file?")
    return data.decode("utf-8", "replace")


class _Progress:
    """The CLI's progress line on stderr, shown once a computation takes over a second."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.start = time.monotonic()
        self.callback = PROGRESS_FN(self._show)

    def _show(self, _ctx: Any, done: int, total: int) -> int:
        if time.monotonic() - self.start >= 1.0:
            sys.stderr.write(f"\r  {self.label}: {100.0 * done / total:3.0f}% of {total} entries")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()
        return 0


def eval_options(threads: int = 0, progress: bool = False, label: str = "kernel") -> EvalOptions:
    """``ntkc_eval_options`` for ``threads`` (0 = all cores) and, when asked, a progress line."""
    if threads < 0:
        raise ValueError(f"threads must be >= 0, not {threads}")
    opts = EvalOptions(threads=threads)
    if progress:
        shown = _Progress(label)
        opts.progress = shown.callback
        opts._keep = shown  # the callback must outlive the call
    return opts


def _as_double_p(a: Optional[np.ndarray]) -> Any:
    return None if a is None else a.ctypes.data_as(POINTER(c_double))


class Graphs:
    """A set of graphs (GIN/GNTK text format, README "Graphs") for nets of ``input graph(F)``."""

    def __init__(self, text: str, name: str, features: int = 0) -> None:
        err = CError()
        self._text, self._name = text, name
        self._ptr = lib.ntkc_graphs_parse(text.encode(), name.encode(), features, byref(err))
        if not self._ptr:
            _raise(err)

    def __del__(self) -> None:
        if getattr(self, "_ptr", None):
            lib.ntkc_graphs_free(self._ptr)
            self._ptr = None

    def __len__(self) -> int:
        return lib.ntkc_graphs_count(self._ptr)

    @property
    def features(self) -> int:
        """F, the features per node."""
        return lib.ntkc_graphs_features(self._ptr)

    @property
    def labels(self) -> np.ndarray:
        """The graphs' labels as read (a copy)."""
        return np.ctypeslib.as_array(lib.ntkc_graphs_labels(self._ptr), (len(self),)).copy()

    @property
    def warnings(self) -> Optional[str]:
        """What the reader repaired (one line each), or None."""
        w = lib.ntkc_graphs_warnings(self._ptr)
        return w.decode() if w else None

    def nodes(self, i: int) -> int:
        """The number of nodes of graph i."""
        if not 0 <= i < len(self):
            raise IndexError(i)
        return lib.ntkc_graphs_nodes(self._ptr, i)

    def with_features(self, features: int) -> "Graphs":
        """These graphs read for a net of F = ``features`` (tags one-hot in F), as the CLI reads them."""
        return self if features == self.features else Graphs(self._text, self._name, features)


def read_graphs(path: PathLike, features: int = 0) -> Graphs:
    """Reads a graph file; ``features`` = the F of the net, or 0 to take it from the data."""
    return Graphs(_read_text(path), os.fspath(path), features)


def make_graphs(adjacency: Sequence[Any], features: Optional[Sequence[Any]] = None,
                tags: Optional[Sequence[Sequence[int]]] = None,
                labels: Optional[Sequence[float]] = None, name: str = "<graphs>") -> Graphs:
    """Graphs from Python data.

    Args:
        adjacency: per graph, its neighbour lists (``[[1, 2], [0], [0]]``) or a
            square 0/1 adjacency matrix.
        features: per graph, an (nodes, F) array of node features; or None.
        tags: per graph, the nodes' integer tags (features one-hot in them when
            ``features`` is None); default 0 for every node.
        labels: one number per graph (default 0).
    """
    lines = [str(len(adjacency))]
    for g, adj in enumerate(adjacency):
        neighbours = _neighbour_lists(adj)
        feats = None if features is None else np.asarray(features[g], dtype=np.float64)
        if feats is not None and (feats.ndim != 2 or feats.shape[0] != len(neighbours)):
            raise ValueError(f"graph {g}: features must be (nodes, F) = ({len(neighbours)}, F), "
                             f"not {feats.shape}")
        label = 0 if labels is None else labels[g]
        lines.append(f"{len(neighbours)} {_number(label)}")
        for v, nb in enumerate(neighbours):
            tag = 0 if tags is None else int(tags[g][v])
            row = [str(tag), str(len(nb))] + [str(u) for u in nb]
            if feats is not None:
                row += [_number(x) for x in feats[v]]
            lines.append(" ".join(row))
    return Graphs("\n".join(lines) + "\n", name)


def _number(x: float) -> str:
    return repr(float(x)) if float(x) != int(float(x)) else str(int(float(x)))


def _neighbour_lists(adj: Any) -> list[list[int]]:
    if isinstance(adj, np.ndarray) or (len(adj) and not isinstance(adj[0], (list, tuple))):
        a = np.asarray(adj)
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise ValueError(f"an adjacency matrix must be square, not {a.shape}")
        return [list(np.flatnonzero(row)) for row in a]
    return [[int(u) for u in nb] for nb in adj]


class Net:
    """A net compiled once (libtcc: milliseconds) and evaluated on data any number of times.

    ``Net("examples/fc.ntk")`` reads a file; ``Net("net n { dense(1.5); relu; dense }")``
    compiles source text. ``net`` picks one net of a file of several. Errors raise
    :class:`Error` with the message, file, line and column ``ntkc`` prints.
    Safe to use from several threads at once.
    """

    def __init__(self, source_or_path: PathLike, net: Optional[str] = None, backend: str = "tcc",
                 filename: Optional[str] = None) -> None:
        if backend not in _BACKENDS:
            raise ValueError(f"backend must be 'tcc' or 'cc', not {backend!r}")
        self._ptr = None
        opts = CompileOptions(net_name=net.encode() if net else None, backend=_BACKENDS[backend])
        err = CError()
        if _is_path(source_or_path):
            self.path: Optional[str] = os.fspath(source_or_path)
            self._text = None
            self._ptr = lib.ntkc_compile_file(self.path.encode(), byref(opts), byref(err))
        else:
            self.path = None
            self._text = str(source_or_path)
            self._filename = filename or "<string>"
            self._ptr = lib.ntkc_compile_string(self._text.encode(), self._filename.encode(), byref(opts),
                                                byref(err))
        if not self._ptr:
            _raise(err)
        self._net_name = net
        self._backend = backend
        self._single_ptr = None  # the float32 compilation, made by the first precision='single' call
        self._single_lock = threading.Lock()

    def __del__(self) -> None:
        if getattr(self, "_ptr", None):
            lib.ntkc_net_free(self._ptr)
            self._ptr = None
        if getattr(self, "_single_ptr", None):
            lib.ntkc_net_free(self._single_ptr)
            self._single_ptr = None

    def _single(self) -> Any:
        """The net compiled again for --precision single (once; every family)."""
        with self._single_lock:
            if self._single_ptr is None:
                opts = CompileOptions(net_name=self._net_name.encode() if self._net_name else None,
                                      backend=_BACKENDS[self._backend], precision=1)
                err = CError()
                if self.path is not None:
                    ptr = lib.ntkc_compile_file(self.path.encode(), byref(opts), byref(err))
                else:
                    ptr = lib.ntkc_compile_string(self._text.encode(), self._filename.encode(), byref(opts),
                                                  byref(err))
                if not ptr:
                    _raise(err)
                self._single_ptr = ptr
            return self._single_ptr

    def __repr__(self) -> str:
        return f"ntkc.Net({self.name!r}, input={self.input_shape})"

    @property
    def name(self) -> str:
        """The net's name."""
        return lib.ntkc_net_name(self._ptr).decode()

    @property
    def takes_graphs(self) -> bool:
        """True for a net of ``input graph(F)``."""
        return bool(lib.ntkc_net_takes_graphs(self._ptr))

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The declared input: (D, H, W, C) for volumes, (H, W, C) for images, (L, C)
        for sequences, (d,) for vectors of fixed dimension (F for graphs), () when
        any width is accepted."""
        shape = (c_size_t * 4)()
        nd = lib.ntkc_net_input_shape(self._ptr, shape)
        if nd == 0 and self.takes_graphs:
            return (lib.ntkc_net_input_dim(self._ptr),)
        return tuple(shape[:nd])

    def source(self) -> str:
        """The ntkc source text the net was compiled from."""
        return self._text if self._text is not None else _read_text(self.path)

    def c_source(self) -> str:
        """The generated C the net was compiled from (what :meth:`emit` returns)."""
        return lib.ntkc_net_source(self._ptr).decode()

    def emit(self) -> str:
        """The standalone C of the net, as ``ntkc emit`` writes it."""
        err = CError()
        name = self.path if self.path is not None else self._filename
        ptr = lib.ntkc_emit(self.source().encode(), name.encode(),
                            self._net_name.encode() if self._net_name else None, byref(err))
        return _take_string(ptr, err)

    def ir(self) -> str:
        """The recursion IR the net lowers to, as ``ntkc ir`` prints it (ops, shapes, Gaussianity)."""
        err = CError()
        name = self.path if self.path is not None else self._filename
        ptr = lib.ntkc_ir(self.source().encode(), name.encode(),
                          self._net_name.encode() if self._net_name else None, byref(err))
        return _take_string(ptr, err)

    def kernel(self, x1: Any, x2: Any = None, get: Union[str, Sequence[str], None] = ("nngp", "ntk"),
               threads: int = 0, progress: bool = False,
               out: Union[np.ndarray, Sequence[np.ndarray], None] = None, mask: Any = None,
               mask2: Any = None, precision: str = "double",
               dropout_mixed: bool = False) -> Union[np.ndarray, tuple]:
        """The NNGP and/or NTK between the inputs of ``x1`` and ``x2`` (default ``x1``).

        Args:
            x1, x2: arrays of inputs, first axis the batch, of any numeric dtype and
                order: (n, d) for vector nets; (n, H, W, C) NHWC, (n, H, W) when C = 1,
                or rows of H·W·C for image nets. C-contiguous float64 is used in place.
                For graph nets, :class:`Graphs` or graph file paths.
            get: ``"nngp"``, ``"ntk"``, or a tuple of them (a namedtuple is returned).
            threads: 0 = all cores.
            progress: show the ``ntkc kernel`` progress line on stderr.
            out: arrays to write into instead of new ones, one per name of ``get``
                (C-contiguous float64, n1 × n2): repeated calls then skip the
                first-touch page faults of fresh outputs.
            mask, mask2: variable-length inputs of nets with attention: the padding of
                x1 / x2, (n, L) for sequences, (n, H, W) for images or (n, D, H, W) for
                volumes (``masked=true``), True (1) at padded
                positions, as neural-tangents' masks. Padded values are ignored.
            precision: ``"double"`` (float64, the default) or ``"single"``: float32
                arithmetic and float32 outputs, as ``ntkc kernel --precision single``
                (every family; docs/precision.md). ``out`` is then float32.
            dropout_mixed: for a net with train-mode dropout, ``x1``'s inputs in eval mode
                (every dropout the identity) against ``x2``'s under their own masks
                (``x2`` None: each input of ``x1`` against itself under its mask), no
                input of one side sharing a mask with the other — the test–train kernel
                of nets trained with fresh masks every step and predicting without
                dropout, as ``ntkc kernel --dropout-mixed`` (README, "Training
                dynamics"). Not symmetric; a net without dropout gives its ordinary
                kernel; float64 only.

        Returns:
            float64 arrays of shape (n1, n2) (float32 with ``precision="single"``): one,
            or a namedtuple in the order of ``get``.
        """
        if precision not in ("double", "single"):
            raise ValueError(f"precision must be 'double' or 'single', not {precision!r}")
        single = precision == "single"
        if single and dropout_mixed:
            raise Error("error: dropout_mixed is computed in double precision only: use precision='double'")
        names = _kernel_names(get)
        if self.takes_graphs:
            g1, g2 = self._graph_inputs(x1, x2)
            n1 = len(g1)
            n2 = len(g2) if g2 is not None else n1
        else:
            a1 = self._matrix_input(x1, "x1")
            a2 = None if x2 is None else self._matrix_input(x2, "x2")
            if mask is not None:
                a1 = self._padded(a1, mask, "mask")
            if mask2 is not None:
                if a2 is None:
                    raise Error("error: mask2 needs x2")
                a2 = self._padded(a2, mask2, "mask2")
            if a2 is not None and a2.shape[1] != a1.shape[1]:
                raise Error(f"error: x1 has {a1.shape[1]} features per row but x2 has {a2.shape[1]}")
            n1, n2 = a1.shape[0], (a1.shape[0] if a2 is None else a2.shape[0])
        out = _outputs(names, (n1, n2), out, np.float32 if single else np.float64)
        opts = eval_options(threads, progress)
        err = CError()
        if single:
            ptr = self._single()
            f32 = [None if out.get(k) is None else out[k].ctypes.data_as(POINTER(ctypes.c_float))
                   for k in ("nngp", "ntk")]
            if self.takes_graphs:
                rc = lib.ntkc_kernel_graphs_f32(ptr, g1._ptr, g2._ptr if g2 is not None else None, f32[0], f32[1],
                                                byref(opts), byref(err))
            else:
                rc = lib.ntkc_kernel_f32(ptr, n1, _as_double_p(a1), n2, _as_double_p(a2), a1.shape[1], f32[0],
                                         f32[1], byref(opts), byref(err))
            if rc != 0:
                _raise(err)
            return _pack(out, get, names)
        nngp, ntk = _as_double_p(out.get("nngp")), _as_double_p(out.get("ntk"))
        if dropout_mixed and self.takes_graphs:
            rc = lib.ntkc_kernel_graphs_dropout_mixed(self._ptr, g1._ptr, g2._ptr if g2 is not None else None, nngp,
                                                      ntk, byref(opts), byref(err))
        elif dropout_mixed:
            rc = lib.ntkc_kernel_dropout_mixed(self._ptr, n1, _as_double_p(a1), n2, _as_double_p(a2), a1.shape[1],
                                               nngp, ntk, byref(opts), byref(err))
        elif self.takes_graphs:
            rc = lib.ntkc_kernel_graphs(self._ptr, g1._ptr, g2._ptr if g2 is not None else None, nngp, ntk,
                                        byref(opts), byref(err))
        else:
            rc = lib.ntkc_kernel(self._ptr, n1, _as_double_p(a1), n2, _as_double_p(a2), a1.shape[1], nngp, ntk,
                                 byref(opts), byref(err))
        if rc != 0:
            _raise(err)
        return _pack(out, get, names)

    def _padded(self, a: np.ndarray, mask: Any, what: str) -> np.ndarray:
        """A copy of the rows a with the masked positions marked as padding (ntkc_mask_inputs)."""
        m = np.asarray(mask)
        if m.dtype.kind not in "biuf" or m.ndim < 2 or m.shape[0] != a.shape[0]:
            raise Error(f"error: {what}: expected a 0/1 array of shape (n, positions) with n = {a.shape[0]}, "
                        f"got {m.dtype} {_shape_str(m.shape)}")
        m = np.ascontiguousarray(m.reshape(m.shape[0], -1), dtype=np.float64)
        want = self.input_shape
        positions = int(np.prod(want[:-1])) if len(want) >= 2 else 0
        if positions and m.shape[1] != positions:
            raise Error(f"error: {what}: {m.shape[1]} values per input, but net '{self.name}' has {positions} "
                        "positions")
        a = a.copy()
        err = CError()
        if lib.ntkc_mask_inputs(self._ptr, a.shape[0], _as_double_p(a), a.shape[1], _as_double_p(m),
                                byref(err)) != 0:
            _raise(err)
        return a

    def _graph_inputs(self, x1: Any, x2: Any) -> tuple[Graphs, Optional[Graphs]]:
        f = lib.ntkc_net_input_dim(self._ptr)

        def one(x: Any, what: str) -> Graphs:
            if isinstance(x, Graphs):
                return x.with_features(f)
            if isinstance(x, (str, os.PathLike)):
                return read_graphs(x, f)
            raise Error(f"error: {what}: net '{self.name}' takes graphs (input graph): pass ntkc.Graphs or a "
                        f"graph file, not {type(x).__name__}")
        return one(x1, "x1"), (None if x2 is None else one(x2, "x2"))

    def _matrix_input(self, x: Any, what: str) -> np.ndarray:
        """x as a C-contiguous float64 (n, dim) array (a view when it already is one)."""
        if isinstance(x, Graphs):
            raise Error(f"error: {what}: graphs given to net '{self.name}', which takes "
                        f"{_input_words(self.input_shape)}")
        a = np.asarray(x)
        if a.dtype.kind not in "biuf":
            raise Error(f"error: {what}: dtype {a.dtype} is not a number type (float, integer or bool)")
        want = self.input_shape
        if len(want) >= 2:
            if a.ndim < 2 or not _shape_fits(a.shape, want):
                raise Error(f"error: {what}: shape {_shape_str(a.shape)} does not match net '{self.name}', whose "
                            f"input is {_KIND_WORD[len(want)]} {_shape_str(want)}: expected "
                            f"{_shape_str(('n',) + want)} ({_LAYOUT[len(want)]}) or the rows flattened")
            if a.shape[0] == 0:
                raise Error(f"error: {what}: the array has no inputs (shape {_shape_str(a.shape)})")
            a = a.reshape(a.shape[0], -1)
        else:
            if a.ndim != 2:
                raise Error(f"error: {what}: expected a 2-D array (inputs × features), got {a.ndim} dimensions")
            if a.shape[0] == 0 or a.shape[1] == 0:
                raise Error(f"error: {what}: the array is empty (shape {a.shape[0]} × {a.shape[1]})")
            if len(want) == 1 and a.shape[1] != want[0]:
                raise Error(f"error: {what}: rows of {a.shape[1]} features, but net '{self.name}' declares "
                            f"input vector({want[0]})")
        a = np.ascontiguousarray(a, dtype=np.float64)
        if not math.isfinite(np.add.reduce(a, axis=None)):  # one pass, no temporary: finite sum ⇒ finite data
            bad = np.argwhere(~np.isfinite(a))
            if len(bad):
                i, j = bad[0]
                word = "NaN" if np.isnan(a[i, j]) else ("+inf" if a[i, j] > 0 else "-inf")
                raise Error(f"error: {what}: element [{i}, {j}] is {word}")
        return a


def _outputs(names: tuple[str, ...], shape: tuple[int, int],
             given: Union[np.ndarray, Sequence[np.ndarray], None], dtype: Any = np.float64) -> dict[str, np.ndarray]:
    if given is None:
        return {k: np.empty(shape, dtype) for k in names}
    arrays = [given] if isinstance(given, np.ndarray) else list(given)
    if len(arrays) != len(names):
        raise ValueError(f"out: {len(arrays)} arrays for the {len(names)} kernels of get={names}")
    for a in arrays:
        if not isinstance(a, np.ndarray) or a.dtype != dtype or a.shape != shape or \
                not a.flags.c_contiguous or not a.flags.writeable:
            raise ValueError(f"out: arrays must be writeable C-contiguous {np.dtype(dtype).name} of shape {shape}")
    return dict(zip(names, arrays))


def _kernel_names(get: Union[str, Sequence[str], None]) -> tuple[str, ...]:
    names = KERNEL_NAMES if get is None else ((get,) if isinstance(get, str) else tuple(get))
    for k in names:
        if k not in KERNEL_NAMES:
            raise ValueError(f"get must name 'nngp' and/or 'ntk', not {k!r}")
    if not names:
        raise ValueError("get names no kernel")
    return names


@functools.lru_cache(maxsize=None)
def result_tuple(name: str, fields: tuple[str, ...]) -> type:
    """The namedtuple class of a result with these fields (made once: making one costs ~0.2 ms)."""
    return namedtuple(name, fields)


def _pack(out: dict[str, np.ndarray], get: Union[str, Sequence[str], None], names: tuple[str, ...]) -> Any:
    if isinstance(get, str):
        return out[get]
    return result_tuple("Kernels", names)(*(out[k] for k in names))


def _shape_fits(shape: tuple[int, ...], want: tuple[int, ...]) -> bool:
    rest = shape[1:]
    if len(rest) == 1 and rest[0] == int(np.prod(want)):
        return True  # already flattened
    if rest == want:
        return True
    return len(rest) + 1 == len(want) and want[-1] == 1 and rest == want[:-1]


def _shape_str(shape: Iterable[Any]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


_KIND_WORD = {4: "volume", 3: "image", 2: "sequence"}
_LAYOUT = {4: "NDHWC", 3: "NHWC", 2: "NWC"}


def _input_words(shape: tuple[int, ...]) -> str:
    return {4: "volumes", 3: "images", 2: "sequences", 1: "vectors", 0: "vectors"}[len(shape)]


def derive(source_or_path: PathLike, name: Union[str, Sequence[str], None] = None) -> str:
    """The text ``ntkc derive`` prints: formula activations' φ and symbolic φ'.

    ``name`` is one activation name, several, or None for all of the file's.
    """
    names = [] if name is None else ([name] if isinstance(name, str) else list(name))
    if _is_path(source_or_path):
        text, filename = _read_text(source_or_path), os.fspath(source_or_path)
    else:
        text, filename = str(source_or_path), "<string>"
    arr = (c_char_p * max(1, len(names)))(*[n.encode() for n in names])
    err = CError()
    return _take_string(lib.ntkc_derive(text.encode(), filename.encode(), arr, len(names), byref(err)), err)


def emit(source_or_path: PathLike, net: Optional[str] = None) -> str:
    """The standalone C of a net (``ntkc emit``), without compiling it."""
    if _is_path(source_or_path):
        text, filename = _read_text(source_or_path), os.fspath(source_or_path)
    else:
        text, filename = str(source_or_path), "<string>"
    err = CError()
    return _take_string(lib.ntkc_emit(text.encode(), filename.encode(), net.encode() if net else None,
                                      byref(err)), err)


def version() -> str:
    """libntkc's version."""
    return lib.ntkc_version().decode()
