#!/bin/sh
# Installs the Debian packages ntkc builds against. Called by the Makefile when a
# header is missing, and by .ci/run; safe to run again (apt skips what is there).
set -eu
PKGS="libtcc-dev tcc libpcre2-dev libcriterion-dev libopenblas-dev liblapacke-dev pkg-config python3-numpy"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends $PKGS
