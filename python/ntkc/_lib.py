"""Loading libntkc.so and declaring its C API (include/ntkc.h) for ctypes.

The library is looked up, in order: the file named by ``NTKC_LIB``; the
library an installation recorded beside the package (``_install.py``); the
build directory of the checkout this package sits in (``build/libntkc.so``);
the dynamic linker's search path (``libntkc.so.0``).
"""
from __future__ import annotations

import ctypes
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_float, c_int,
                    c_size_t, c_void_p)
from pathlib import Path

SONAME = "libntkc.so.0"


class CError(Structure):
    """``ntkc_error``: a code (0 ok, 1 user error, 2 internal) and a message."""

    _fields_ = [("code", c_int), ("message", c_char * 2048)]


class CompileOptions(Structure):
    """``ntkc_compile_options``."""

    _fields_ = [("net_name", c_char_p), ("backend", c_int), ("precision", c_int)]


PROGRESS_FN = CFUNCTYPE(c_int, c_void_p, c_size_t, c_size_t)


class EvalOptions(Structure):
    """``ntkc_eval_options``."""

    _fields_ = [("threads", c_int), ("tile", c_size_t), ("progress", PROGRESS_FN),
                ("progress_ctx", c_void_p)]


class PredictOptions(Structure):
    """``ntkc_predict_options``."""

    # Fields after reg_absolute were appended in C (the layout before them is unchanged).
    _fields_ = [("kernel", c_int), ("reg", c_double), ("eval", EvalOptions), ("reg_absolute", c_int),
                ("fx0_train", POINTER(c_double)), ("fx0_test", POINTER(c_double)), ("loss", c_int),
                ("momentum_on", c_int), ("momentum", c_double), ("learning_rate", c_double),
                ("train_mean", POINTER(c_double)), ("dropout_fresh", c_int)]


_DOUBLE_P = POINTER(c_double)
_FLOAT_P = POINTER(c_float)

# name: (restype, argtypes)
_API: dict[str, tuple[object, list[object]]] = {
    "ntkc_version": (c_char_p, []),
    "ntkc_compile_string": (c_void_p, [c_char_p, c_char_p, POINTER(CompileOptions), POINTER(CError)]),
    "ntkc_compile_file": (c_void_p, [c_char_p, POINTER(CompileOptions), POINTER(CError)]),
    "ntkc_net_free": (None, [c_void_p]),
    "ntkc_net_name": (c_char_p, [c_void_p]),
    "ntkc_net_input_dim": (c_size_t, [c_void_p]),
    "ntkc_net_input_shape": (c_int, [c_void_p, c_size_t * 4]),
    "ntkc_net_source": (c_char_p, [c_void_p]),
    "ntkc_net_takes_graphs": (c_int, [c_void_p]),
    "ntkc_emit": (c_void_p, [c_char_p, c_char_p, c_char_p, POINTER(CError)]),
    "ntkc_derive": (c_void_p, [c_char_p, c_char_p, POINTER(c_char_p), c_size_t, POINTER(CError)]),
    "ntkc_ir": (c_void_p, [c_char_p, c_char_p, c_char_p, POINTER(CError)]),
    "ntkc_free": (None, [c_void_p]),
    "ntkc_kernel": (c_int, [c_void_p, c_size_t, _DOUBLE_P, c_size_t, _DOUBLE_P, c_size_t, _DOUBLE_P,
                            _DOUBLE_P, POINTER(EvalOptions), POINTER(CError)]),
    "ntkc_kernel_dropout_mixed": (c_int, [c_void_p, c_size_t, _DOUBLE_P, c_size_t, _DOUBLE_P, c_size_t,
                                          _DOUBLE_P, _DOUBLE_P, POINTER(EvalOptions), POINTER(CError)]),
    "ntkc_mask_inputs": (c_int, [c_void_p, c_size_t, _DOUBLE_P, c_size_t, _DOUBLE_P, POINTER(CError)]),
    "ntkc_kernel_f32": (c_int, [c_void_p, c_size_t, _DOUBLE_P, c_size_t, _DOUBLE_P, c_size_t, _FLOAT_P,
                                _FLOAT_P, POINTER(EvalOptions), POINTER(CError)]),
    "ntkc_predict": (c_int, [c_void_p, c_size_t, _DOUBLE_P, _DOUBLE_P, c_size_t, c_size_t, _DOUBLE_P,
                             c_size_t, _DOUBLE_P, c_size_t, POINTER(PredictOptions), _DOUBLE_P,
                             _DOUBLE_P, c_void_p, POINTER(CError)]),
    "ntkc_graphs_parse": (c_void_p, [c_char_p, c_char_p, c_size_t, POINTER(CError)]),
    "ntkc_graphs_free": (None, [c_void_p]),
    "ntkc_graphs_count": (c_size_t, [c_void_p]),
    "ntkc_graphs_features": (c_size_t, [c_void_p]),
    "ntkc_graphs_nodes": (c_size_t, [c_void_p, c_size_t]),
    "ntkc_graphs_labels": (_DOUBLE_P, [c_void_p]),
    "ntkc_graphs_warnings": (c_char_p, [c_void_p]),
    "ntkc_kernel_graphs": (c_int, [c_void_p, c_void_p, c_void_p, _DOUBLE_P, _DOUBLE_P,
                                   POINTER(EvalOptions), POINTER(CError)]),
    "ntkc_kernel_graphs_dropout_mixed": (c_int, [c_void_p, c_void_p, c_void_p, _DOUBLE_P, _DOUBLE_P,
                                                 POINTER(EvalOptions), POINTER(CError)]),
    "ntkc_kernel_graphs_f32": (c_int, [c_void_p, c_void_p, c_void_p, _FLOAT_P, _FLOAT_P,
                                       POINTER(EvalOptions), POINTER(CError)]),
    "ntkc_predict_graphs": (c_int, [c_void_p, c_void_p, _DOUBLE_P, c_size_t, c_void_p, _DOUBLE_P,
                                    c_size_t, POINTER(PredictOptions), _DOUBLE_P, _DOUBLE_P, c_void_p,
                                    POINTER(CError)]),
}


def _candidates() -> list[str]:
    found = []
    if os.environ.get("NTKC_LIB"):
        found.append(os.environ["NTKC_LIB"])
    here = Path(__file__).resolve().parent
    try:
        from . import _install  # written by `make install`
        found.append(str(Path(_install.LIBDIR) / SONAME))
    except ImportError:
        pass
    checkout = here.parent.parent / "build" / "libntkc.so"
    if checkout.exists():
        found.append(str(checkout))
    found.append(SONAME)
    return found


def _load() -> ctypes.CDLL:
    errors = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
            break
        except OSError as e:
            errors.append(f"{path}: {e}")
    else:
        raise ImportError("ntkc: cannot load libntkc.so (run `make` in the checkout, `make install`, or set "
                          "NTKC_LIB to the library's path); tried:\n  " + "\n  ".join(errors))
    for name, (restype, argtypes) in _API.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


lib = _load()
