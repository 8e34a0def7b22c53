#!/usr/bin/env bash
# device_visit.sh - everything one GPU visit runs, in one script (under 9 minutes).
#
#   on the GPU machine:  bash .device/remote.sh bash bench/device_visit.sh
#   (device tool: carry [".device"] after ../shared/device/pack; timeout_s 580)
#   here, without a GPU: DRY_RUN=1 bash bench/device_visit.sh   (make visit-dry-run)
#
# Steps, most valuable first, each with a time cap; the caps add up to BUDGET (520 s),
# under the device's 9-minute limit per visit, so no step is cut by the tool itself:
#   1. configure + build the CUDA library alone (cmake -S cuda: no OpenBLAS needed),
#      then `go vet -tags cuda` (after the build: cgo links against the library) 40 + 135 + 45 s
#   2. the CUDA C tests (cuda/tests/test_cuda.cu) and the host emulation test  45 + 20 s
#   3. go test -tags cuda on the GPU (the packages that need OpenBLAS only when
#      its headers are here)                                                 110 s
#   4. the benchmark (cuda/bench.cu): every optimizer and layout vs a same-run copy 50 s
#   5. bench/torch_baseline.py if torch with CUDA imports                      40 s
#   6. compute-sanitizer memcheck on the C tests (--quick)                     35 s
# DRY_RUN=1 runs the same script on a machine without a GPU: a fake nvidia-smi, the
# emulated backend (cuda/emu) in place of the CUDA build, and the GPU-only binaries
# reported as not built; it checks the script's own plumbing (paths, caps, logs,
# summary), so that a visit cannot fail for reasons unrelated to the GPU.
# Files under $OUT (default out/device): summary.md build.log go.log test_cuda.log
# sanitizer.log bench_cuda.md torch_baseline.md. Exit status: 0 when every step that ran
# passed; the end of each failed step's log is printed after the summary.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-out/device}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
DRY_RUN=${DRY_RUN:-0}
BUDGET=${BUDGET:-520}   # seconds for the whole visit: the sum of the caps below
START=$(date +%s)
JOBS=$(nproc)
SUMMARY=$OUT/summary.md
rm -f "$OUT"/{failures,build,go,test_cuda,sanitizer}.log "$OUT"/{bench_cuda,torch_baseline}.md  # this visit's logs only
FAILED=0

# nvcc: on PATH, else the newest /usr/local/cuda*/bin; CUDA's libraries with it.
if ! command -v nvcc >/dev/null; then
  for d in /usr/local/cuda/bin $(ls -d /usr/local/cuda-*/bin 2>/dev/null | sort -V -r); do
    if [[ -x $d/nvcc ]]; then export PATH=$d:$PATH; break; fi
  done
fi
if command -v nvcc >/dev/null; then
  CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")}
  export CUDA_HOME
  export LIBRARY_PATH=$CUDA_HOME/lib64:${LIBRARY_PATH:-} LD_LIBRARY_PATH=$CUDA_HOME/lib64:${LD_LIBRARY_PATH:-}
  export CPATH=$CUDA_HOME/include:${CPATH:-}
fi

if [[ $DRY_RUN == 1 ]]; then
  # A stand-in nvidia-smi, so that the summary's GPU line and anything else that asks
  # have an answer; the Go tests run against the emulated backend.
  mkdir -p "$OUT/fakebin"
  printf '#!/bin/sh\necho "Emulated GPU (dry run), 0.0, 0 MiB"\n' > "$OUT/fakebin/nvidia-smi"
  chmod +x "$OUT/fakebin/nvidia-smi"
  export PATH=$OUT/fakebin:$PATH
  GOTAGS=cuda,cudaemu
else
  GOTAGS=cuda
fi

left() { echo $(( BUDGET - ($(date +%s) - START) )); }
# step NAME CAP LOG CMD...: runs CMD with timeout min(CAP, time left), appends to LOG,
# records the outcome in the summary.
step() {
  local name=$1 cap=$2 log=$3; shift 3
  local t; t=$(left)
  if (( t < 10 )); then
    echo "| $name | skipped (no time left) | |" >> "$SUMMARY"; return 0
  fi
  (( cap < t )) && t=$cap
  echo "===== $name (cap ${t}s): $*" >> "$log"
  local s e rc
  s=$(date +%s)
  timeout --kill-after=5 "$t" "$@" >> "$log" 2>&1
  rc=$?
  e=$(date +%s)
  local verdict=ok
  if (( rc == 124 || rc == 137 )); then verdict="TIMEOUT after ${t}s"; FAILED=1
  elif (( rc != 0 )); then verdict="FAILED (rc $rc)"; FAILED=1; fi
  if (( rc != 0 )); then
    { echo "===== $name: $verdict; the end of $log:"; tail -40 "$log"; } >> "$OUT/failures.log"
  fi
  echo "===== $name: $verdict in $((e - s))s" >> "$log"
  echo "| $name | $verdict | $((e - s))s |" >> "$SUMMARY"
  return $rc
}
# skip NAME WHY: a step that cannot run here, said in the summary.
skip() { echo "| $1 | not run: $2 | |" >> "$SUMMARY"; }

{
  echo "# goptim device visit$([[ $DRY_RUN == 1 ]] && echo ' (DRY RUN: emulated backend, no GPU)')"
  echo
  echo "- date: $(date -u +%FT%TZ)"
  echo "- git: $(git rev-parse --short HEAD 2>/dev/null) $(git status --porcelain 2>/dev/null | wc -l) changed files"
  echo "- GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null)"
  echo "- nvcc: $(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p'); cmake: $(cmake --version 2>/dev/null | head -1); go: $(go version 2>/dev/null)"
  echo "- compute-sanitizer: $(command -v compute-sanitizer || echo none)"
  echo
  echo "| step | result | time |"
  echo "| --- | --- | --- |"
} > "$SUMMARY"

# Go packages to test: those that link OpenBLAS (examples, cblas) only when its headers
# are here; the GPU backend itself needs no BLAS from the host.
if echo '#include <cblas.h>' | ${CC:-cc} -E - >/dev/null 2>&1; then
  GOPKGS=(./...)
else
  GOPKGS=(./binding ./optim ./internal/...)
  echo "- OpenBLAS headers missing: Go tests of ${GOPKGS[*]} only (not cblas, examples)" >> "$SUMMARY"
fi

# ---- 1. build, then go vet (cgo links each package against the library just built)
BUILD=${BUILD:-build}   # the Go link (-tags cuda) reads build/cuda/libgoptim_cuda.a
if [[ $DRY_RUN == 1 ]]; then
  CFG=(cmake -S cuda/emu -B "$BUILD/cudaemu" -DCMAKE_BUILD_TYPE=Release)
  BUILD_DIR=$BUILD/cudaemu
else
  CFG=(cmake -S cuda -B "$BUILD/cuda" -DCMAKE_BUILD_TYPE=Release -DGOPTIM_CUDA_ARCHITECTURES=90)
  BUILD_DIR=$BUILD/cuda
fi
step "cmake configure" 40 "$OUT/build.log" "${CFG[@]}"
step "build" 135 "$OUT/build.log" cmake --build "$BUILD_DIR" -j "$JOBS"
BIN=$BUILD_DIR
step "go vet -tags $GOTAGS" 45 "$OUT/go.log" go vet -tags "$GOTAGS" "${GOPKGS[@]}"

if [[ $DRY_RUN != 1 && ! -x $BIN/goptim_test_cuda ]]; then
  echo "| (later steps) | skipped: the build failed | |" >> "$SUMMARY"
  tail -40 "$OUT/build.log"
  cat "$SUMMARY"
  exit 1
fi

# ---- 2. C tests
if [[ $DRY_RUN == 1 ]]; then
  skip "test_cuda" "dry run (needs a GPU)"
  step "C tests of the emulated backend" 45 "$OUT/test_cuda.log" ctest --test-dir "$BIN" --output-on-failure
else
  step "test_cuda" 45 "$OUT/test_cuda.log" "$BIN/goptim_test_cuda"
  step "test_cuda_emulated" 20 "$OUT/test_cuda.log" "$BIN/goptim_test_cuda_emulated"
fi
grep -E "^test_cuda|^test_emulated" "$OUT/test_cuda.log" | sed 's/^/    /' >> "$SUMMARY"

# ---- 3. Go tests on the GPU backend (the emulated one in a dry run)
step "go test -tags $GOTAGS" 110 "$OUT/go.log" go test -tags "$GOTAGS" -count=1 "${GOPKGS[@]}"
grep -E "^(ok|FAIL|---|SKIP)" "$OUT/go.log" | sed 's/^/    /' >> "$SUMMARY"

# ---- 4. benchmark
if [[ -x $BIN/goptim_bench_cuda ]]; then
  step "bench (goptim_bench_cuda)" 50 "$OUT/bench_cuda.md" "$BIN/goptim_bench_cuda"
else
  skip "bench (goptim_bench_cuda)" "$([[ $DRY_RUN == 1 ]] && echo 'dry run (needs a GPU)' || echo 'no device binary')"
fi

# ---- 5. torch baseline
PY=${PYTHON:-python3}
if [[ $DRY_RUN != 1 ]] && $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  step "torch baseline" 40 "$OUT/torch_baseline.md" $PY bench/torch_baseline.py
else
  skip "torch baseline" "$([[ $DRY_RUN == 1 ]] && echo 'dry run (needs a GPU)' || echo 'torch with CUDA not importable')"
fi

# ---- 6. sanitizer
if [[ $DRY_RUN != 1 ]] && command -v compute-sanitizer >/dev/null; then
  step "memcheck" 35 "$OUT/sanitizer.log" compute-sanitizer --tool memcheck --leak-check full --error-exitcode 3 "$BIN/goptim_test_cuda" --quick
  grep -E "ERROR SUMMARY|LEAK SUMMARY" "$OUT/sanitizer.log" | sed 's/^/    /' >> "$SUMMARY"
else
  skip "memcheck" "$([[ $DRY_RUN == 1 ]] && echo 'dry run (needs a GPU)' || echo 'no compute-sanitizer')"
fi

{
  echo
  echo "total: $(( $(date +%s) - START ))s of a ${BUDGET}s budget"
  if [[ -s $OUT/bench_cuda.md ]]; then
    echo
    echo "## Targets (from bench_cuda.md)"
    sed -n '/^## Targets/,$p' "$OUT/bench_cuda.md" 2>/dev/null | tail -n +2
  fi
} >> "$SUMMARY"
cat "$SUMMARY"
if [[ -s $OUT/failures.log ]]; then echo; cat "$OUT/failures.log"; fi
exit $FAILED
