#!/bin/sh
# make test-install: `make install` into a scratch prefix, then use it as a
# user would — pkg-config builds the README's C example ("The C library")
# against the installed libntkc.so, the installed Python package imports and
# computes the same kernel outside the checkout, `pip install ./python`
# works offline, a DESTDIR install stages under DESTDIR — and `make
# uninstall` leaves no file behind.
set -eu
build=${1:-build}
cd "$(dirname "$0")/.."
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
py=/usr/bin/python3
fail() { echo "test-install: FAIL: $*" >&2; exit 1; }

exported=$(nm -D --defined-only "$build/libntkc.so" | awk '$3 !~ /^ntkc_/ && $3 != "NTKC_0" { print $3 }')
[ -z "$exported" ] || fail "libntkc.so exports more than the API: $exported"
[ "$(readelf -d "$build/libntkc.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')" = libntkc.so.0 ] ||
    fail "libntkc.so has no SONAME libntkc.so.0"

make -s --no-print-directory BUILD="$build" install PREFIX="$prefix" >/dev/null
for f in bin/ntkc lib/libntkc.a lib/libntkc.so lib/libntkc.so.0 include/ntkc.h lib/pkgconfig/ntkc.pc \
         share/man/man1/ntkc.1 lib/python3/dist-packages/ntkc/__init__.py; do
    [ -e "$prefix/$f" ] || fail "make install did not install $f"
done

# The README's C example, wrapped in a main that gives it data.
sed -n '/^## The C library/,/^## /p' README.md | sed -n '/^```c$/,/^```$/p' | sed '1d;$d' >"$tmp/snippet.c"
[ -s "$tmp/snippet.c" ] || fail "no C example under '## The C library' in README.md"
cat >"$tmp/example.c" <<'C'
#include <stdio.h>
#include <ntkc.h>
int main(void)
{
    enum { n = 3, d = 2 };
    double x[n * d] = {1, 0, 0.5, 0.5, -1, 2}, nngp[n * n], ntk[n * n];
#include "snippet.c"
    printf("%.17g %.17g\n", ntk[0], ntk[n * n - 1]);
    return 0;
}
C
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc -std=c11 -Wall -Werror $(pkg-config --cflags ntkc) -I"$tmp" "$tmp/example.c" $(pkg-config --libs ntkc) \
    -o "$tmp/example" || fail "the README's C example does not build with pkg-config --cflags --libs ntkc"
c_out=$(LD_LIBRARY_PATH="$prefix/lib" "$tmp/example") || fail "the README's C example failed"
ldd "$tmp/example" | grep -q "$prefix/lib/libntkc.so.0" 2>/dev/null || \
    LD_LIBRARY_PATH="$prefix/lib" ldd "$tmp/example" | grep -q "$prefix/lib/libntkc.so.0" || \
    fail "the example is not linked to the installed libntkc.so.0"

# The installed package, outside the checkout, finds the installed library.
check_py='import sys, numpy as np, ntkc
net = ntkc.Net(sys.argv[1])
x = np.array([[1, 0], [0.5, 0.5], [-1, 2]])
k = net.kernel(x, get="ntk")
print(f"{k[0, 0]:.17g} {k[-1, -1]:.17g}")
print(ntkc._lib.lib._name, file=sys.stderr)'
py_out=$(cd "$tmp" && env -u NTKC_LIB PYTHONPATH="$prefix/lib/python3/dist-packages" \
    $py -c "$check_py" "$root/examples/fc.ntk" 2>"$tmp/lib.txt") || fail "the installed package does not work"
grep -q "^$prefix/lib/" "$tmp/lib.txt" || fail "the installed package loaded $(cat "$tmp/lib.txt")"
[ "$c_out" = "$py_out" ] || fail "C example '$c_out' and Python '$py_out' differ"

# pip, offline, with Debian's setuptools; the library through NTKC_LIB.
if $py -m pip --version >/dev/null 2>&1; then
    $py -m pip install -q --no-build-isolation --no-index --no-deps --target "$tmp/pip" ./python >/dev/null 2>&1 ||
        fail "pip install ./python --no-build-isolation --no-index failed"
    pip_out=$(cd "$tmp" && NTKC_LIB="$prefix/lib/libntkc.so.0" PYTHONPATH="$tmp/pip" \
        $py -c "$check_py" "$root/examples/fc.ntk" 2>/dev/null) || fail "the pip-installed package does not work"
    [ "$pip_out" = "$py_out" ] || fail "pip-installed package gives '$pip_out', not '$py_out'"
    rm -rf python/build python/*.egg-info
else
    echo "test-install: note: no pip (python3-pip), pip install ./python not checked" >&2
fi

# DESTDIR stages the same tree; the pkg-config file names the final prefix.
make -s --no-print-directory BUILD="$build" install PREFIX=/opt/ntkc DESTDIR="$tmp/stage" >/dev/null
[ -e "$tmp/stage/opt/ntkc/lib/libntkc.so.0" ] || fail "DESTDIR install did not stage under DESTDIR"
grep -q '^prefix=/opt/ntkc$' "$tmp/stage/opt/ntkc/lib/pkgconfig/ntkc.pc" || fail "ntkc.pc under DESTDIR names the wrong prefix"

make -s --no-print-directory BUILD="$build" uninstall PREFIX="$prefix" >/dev/null
left=$(find "$prefix" -type f -o -type l)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "test-install: ok (exports and SONAME, pkg-config C example, installed and pip-installed Python package, DESTDIR, uninstall)"
