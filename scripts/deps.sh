#!/usr/bin/env bash
# deps.sh: installs what goptim needs on a fresh Debian/Ubuntu machine, and nothing
# when it is already there. Usage: scripts/deps.sh [cuda]
#   (no argument)  OpenBLAS headers, a C compiler, CMake (the CPU build and its C tests)
#   cuda           also Debian's CUDA toolkit (nvcc, cuBLAS), from the non-free component
set -euo pipefail
need=()
for p in libopenblas-dev cmake gcc g++ make pkg-config; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [[ "${1:-}" == cuda ]] && ! command -v nvcc >/dev/null 2>&1; then
  src=/etc/apt/sources.list.d/debian.sources
  if [[ -f $src ]] && ! grep -q '^Components:.*non-free' "$src"; then
    echo "deps: enabling Debian's contrib and non-free components for the CUDA toolkit"
    sed -i 's/^Components: main$/Components: main contrib non-free/' "$src"
  fi
  need+=(nvidia-cuda-toolkit)
fi
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "deps: missing ${need[*]}; run as root or: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
  echo "deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "deps: Go is required (https://go.dev/dl)" >&2; exit 1; }
