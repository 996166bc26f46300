"""ntkc from Python: exact NNGP and neural tangent kernels of infinitely wide networks.

A thin ctypes layer over libntkc (no compiler needed)::

    import ntkc
    net = ntkc.Net("examples/fc.ntk")          # or source text
    k = net.kernel(x_train, x_test, get="ntk")

``ntkc.stax`` speaks neural-tangents' vocabulary, ``ntkc.predict`` its
prediction functions.
"""
from ._net import Error, Graphs, Net, derive, emit, make_graphs, read_graphs, version

__all__ = ["Error", "Graphs", "Net", "derive", "emit", "make_graphs", "read_graphs", "version", "predict", "stax"]
__version__ = version()

from . import predict, stax  # noqa: E402  (they use the names above)
