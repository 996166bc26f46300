# Regenerates the .npy fixtures with real numpy: cd tests/data/npy && /usr/bin/python3 make_fixtures.py
# The tests hard-code the same values, so edit both together.
import numpy as np
from numpy.lib import format as fmt

base = (np.arange(12, dtype=np.float64).reshape(3, 4) * 0.5 - 1.0)   # [i, j] = (4i + j)/2 - 1
np.save("f8.npy", base)
np.save("f4.npy", np.array([[1.5, -2.25, 1e-3], [3.0e38, -0.0, 7.0]], dtype="<f4"))
np.save("f2.npy", np.array([1.0, -2.5, 65504.0, 2.0**-24, np.inf], dtype="<f2"))
np.save("i1.npy", np.array([-128, -1, 0, 127], dtype="i1"))
np.save("i2.npy", np.array([-32768, -2, 32767], dtype="<i2"))
np.save("i4.npy", np.array([[-2147483648, -1], [0, 2147483647]], dtype="<i4"))
np.save("i8.npy", np.array([-(2**53), -3, 2**53], dtype="<i8"))
np.save("u1.npy", np.array([0, 1, 128, 255], dtype="u1"))
np.save("u2.npy", np.array([0, 65535], dtype="<u2"))
np.save("u4.npy", np.array([0, 4294967295], dtype="<u4"))
np.save("u8.npy", np.array([0, 2**64 - 1], dtype="<u8"))
np.save("bool.npy", np.array([[True, False, True], [False, False, True]]))
np.save("be_f8.npy", base.astype(">f8"))
np.save("be_i4.npy", np.array([[-2147483648, -1], [0, 2147483647]], dtype=">i4"))
np.save("be_f2.npy", np.array([1.0, -2.5], dtype=">f2"))
np.save("fortran.npy", np.asfortranarray(base))
np.save("fortran_3d_i2.npy", np.asfortranarray(np.arange(24, dtype="<i2").reshape(2, 3, 4)))
np.save("1d.npy", np.array([0.25, -4.0, 1e300, 5e-324]))
np.save("0row.npy", np.zeros((0, 5)))
np.save("3d.npy", np.arange(24, dtype=np.float64).reshape(2, 3, 4))
np.save("scalar.npy", np.float64(3.5))
nan = base.copy(); nan[2, 1] = np.nan; nan[2, 3] = np.inf
np.save("nan.npy", nan)
with open("v2.npy", "wb") as f:
    fmt.write_array(f, base, version=(2, 0))
with open("v3.npy", "wb") as f:
    fmt.write_array(f, base, version=(3, 0))
# unsupported dtypes
np.save("c16.npy", np.array([1 + 2j]))
np.save("str.npy", np.array(["ab", "c"]))
np.save("object.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
np.save("structured.npy", np.zeros(2, dtype=[("a", "<f8"), ("b", "<i4")]))
# reference outputs of np.save for the writer's byte-for-byte comparison
np.save("write_1d.npy", np.array([0.25, -4.0, 1e300, 5e-324]))
np.save("write_scalar.npy", np.float64(3.5))
np.save("write_8d.npy", np.arange(24, dtype=np.float64).reshape(1, 2, 1, 2, 1, 2, 1, 3))
np.save("write_big_dim.npy", np.zeros((123456789012, 0)))
