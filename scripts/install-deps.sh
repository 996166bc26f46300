#!/bin/sh
# Installs the Debian packages ntkc builds against. Called by the Makefile when a
# header is missing, and by .ci/run; safe to run again (apt skips what is there).
#   install-deps.sh        what `make`, `make test` (with ntkc-mpi) and `make check-asan` need
#   install-deps.sh fuzz   also clang with libFuzzer and valgrind (make fuzz, check-valgrind)
#   install-deps.sh afl    also AFL++ (make fuzz-afl)
set -eu
PKGS="libtcc-dev tcc libpcre2-dev libcriterion-dev libopenblas-dev liblapacke-dev libarpack2-dev gnuplot-nox pkg-config python3-numpy python3-setuptools python3-pip"
# ntkc-mpi (make mpi, make test-mpi): Open MPI and ScaLAPACK built on it.
PKGS="$PKGS libopenmpi-dev openmpi-bin libscalapack-openmpi-dev"
FUZZ_PKGS="clang libclang-rt-14-dev libomp-dev valgrind"
case "${1:-}" in
"") ;;
fuzz) PKGS="$PKGS $FUZZ_PKGS" ;;
afl) PKGS="$PKGS $FUZZ_PKGS afl++" ;;
*) echo "usage: $0 [fuzz|afl]" >&2; exit 2 ;;
esac
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends $PKGS
