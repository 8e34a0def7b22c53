#!/usr/bin/env bash
# arm64.sh: builds goptim's CPU backend for arm64 (Linux) on an x86-64 Debian machine
# and runs its tests under qemu-user, so the NEON build of the kernels is compiled and
# checked without an arm64 machine. Usage: scripts/arm64.sh [go packages...]
#   (default packages: ./binding ./optim ./optim/schedule)
# Installs, as root, what is missing: the aarch64 cross compiler, qemu-user and
# OpenBLAS for arm64 (multiarch); exits 3 if it cannot. On an arm64 machine use
# `make test` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
pkgs=("$@")
((${#pkgs[@]})) || pkgs=(./binding ./optim ./optim/schedule)

if [[ $(uname -m) != x86_64 ]]; then
  echo "arm64.sh: cross-testing from $(uname -m) is not supported; on arm64 run make test" >&2
  exit 1
fi

need=()
for p in gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user cmake; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
dpkg -s libopenblas-dev:arm64 >/dev/null 2>&1 || need+=(libopenblas-dev:arm64)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "arm64.sh: missing ${need[*]}; as root: dpkg --add-architecture arm64 && apt-get install ${need[*]}" >&2
    exit 3
  fi
  echo "arm64.sh: installing ${need[*]}"
  dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
  export DEBIAN_FRONTEND=noninteractive
  # Exit 3 (not 1) when the packages cannot be had, so CI can tell "not run" from "failed".
  apt-get update -q >/dev/null || { echo "arm64.sh: apt-get update failed" >&2; exit 3; }
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null ||
    { echo "arm64.sh: could not install ${need[*]}" >&2; exit 3; }
fi

# The arm64 programs run on the multiarch libc6:arm64 (pulled in by libopenblas-dev:arm64,
# loader /lib/ld-linux-aarch64.so.1), not on the cross toolchain's copy under
# /usr/aarch64-linux-gnu: the two differ in version, and a loader from one with the
# libc of the other hangs in the first pthread_create. So qemu-aarch64 runs without -L.

echo "== C library and tests (CMake cross build, ctest under qemu)"
cmake -S . -B "$BUILD/arm64" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake >/dev/null
cmake --build "$BUILD/arm64" -j "$(nproc)"
ctest --test-dir "$BUILD/arm64" --output-on-failure

echo "== Go tests (cross-compiled test binaries under qemu)"
export CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc
export CGO_CFLAGS="-I/usr/include/aarch64-linux-gnu/openblas-pthread"
export CGO_LDFLAGS="-L/usr/lib/aarch64-linux-gnu"
bin="$BUILD/arm64/go"
mkdir -p "$bin"
bin=$(cd "$bin" && pwd)
for pkg in "${pkgs[@]}"; do
  name=$(echo "${pkg#./}" | tr / _)
  go test -c -o "$bin/$name.test" "$pkg"
  [[ -f $bin/$name.test ]] || { echo "== $pkg: no tests"; continue; }
  echo "== $pkg"
  # Test binaries run in their package's folder (testdata is relative to it).
  (cd "$pkg" && GOPTIM_TEST_EXEC=qemu-aarch64 qemu-aarch64 "$bin/$name.test" -test.count=1 -test.timeout=20m)
done
echo "arm64: all tests passed"
