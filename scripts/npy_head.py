#!/usr/bin/env python3
"""npy_head.py IN.npy OUT.npy ROWS: the first ROWS rows of a C-order .npy
array (any dtype), with the standard library alone (no numpy needed)."""
import ast
import struct
import sys


def main(src, dst, rows):
    with open(src, "rb") as f:
        magic = f.read(8)
        if magic[:6] != b"\x93NUMPY":
            sys.exit(f"{src}: not a .npy file")
        size = struct.unpack("<H" if magic[6] == 1 else "<I", f.read(2 if magic[6] == 1 else 4))[0]
        header = ast.literal_eval(f.read(size).decode("latin1"))
        if header["fortran_order"]:
            sys.exit(f"{src}: Fortran order is not supported")
        shape = header["shape"]
        if rows > shape[0]:
            sys.exit(f"{src}: {shape[0]} rows, {rows} asked for")
        item = int(header["descr"][2:])
        row_bytes = item
        for s in shape[1:]:
            row_bytes *= s
        body = f.read(rows * row_bytes)
    header["shape"] = (rows,) + tuple(shape[1:])
    text = repr(header).encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    text += b" " * (pad % 64) + b"\n"
    with open(dst, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + body)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
