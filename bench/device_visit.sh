#!/usr/bin/env bash
# device_visit.sh - everything one GPU visit runs, in one script (under 8 minutes).
#
#   on the GPU machine:  bash .device/remote.sh bash bench/device_visit.sh
#   (device tool: carry [".device"] after ../shared/device/pack; timeout_s 560)
#
# Steps, most valuable first, each with a time cap inside one overall budget:
#   1. configure + build (CMake, Release, -DGOPTIM_CUDA=ON, sm_90); `go vet -tags cuda`
#      runs alongside (CPU only)
#   2. the CUDA C tests (cuda/tests/test_cuda.cu) and the host emulation test
#   3. the benchmark (cuda/bench.cu): every optimizer and layout vs a same-run copy
#   4. go test -tags cuda ./...
#   5. compute-sanitizer memcheck and racecheck on the C tests (--quick)
#   6. bench/torch_baseline.py if torch imports
# Files under $OUT (default out/device): summary.md build.log go.log test_cuda.log
# sanitizer.log bench_cuda.md torch_baseline.md. Exit status: 0 when every step that ran
# passed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-out/device}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
BUDGET=${BUDGET:-465}   # seconds for the whole visit
START=$(date +%s)
JOBS=$(nproc)
SUMMARY=$OUT/summary.md
FAILED=0

left() { echo $(( BUDGET - ($(date +%s) - START) )); }
# step NAME CAP LOG CMD...: runs CMD with timeout min(CAP, time left), appends to LOG,
# records the outcome in the summary.
step() {
  local name=$1 cap=$2 log=$3; shift 3
  local t; t=$(left)
  if (( t < 15 )); then
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
  echo "===== $name: $verdict in $((e - s))s" >> "$log"
  echo "| $name | $verdict | $((e - s))s |" >> "$SUMMARY"
  return $rc
}

{
  echo "# goptim device visit"
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

# ---- 1. build (+ go vet in the background: it needs headers, not the library)
BUILD=${BUILD:-build}   # the Go link (-tags cuda) reads build/cuda/libgoptim_cuda.a
if [[ -f CMakeLists.txt ]] && grep -q GOPTIM_CUDA CMakeLists.txt; then
  CFG=(cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DGOPTIM_CUDA=ON -DGOPTIM_CUDA_ARCHITECTURES=90)
  BUILD_DIR=$BUILD
else  # no top-level CUDA option yet: the CUDA library on its own, into build/cuda
  CFG=(cmake -S cuda -B "$BUILD/cuda" -DCMAKE_BUILD_TYPE=Release -DGOPTIM_CUDA_ARCHITECTURES=90)
  BUILD_DIR=$BUILD/cuda
fi
( go vet -tags cuda ./... > "$OUT/go.vet.tmp" 2>&1; echo "go vet rc=$?" >> "$OUT/go.vet.tmp" ) &
VET_PID=$!
step "cmake configure" 60 "$OUT/build.log" "${CFG[@]}"
step "build" 200 "$OUT/build.log" cmake --build "$BUILD_DIR" -j "$JOBS"
BIN=$BUILD/cuda
wait "$VET_PID"
{ echo "===== go vet -tags cuda ./..."; cat "$OUT/go.vet.tmp"; } >> "$OUT/go.log"
rm -f "$OUT/go.vet.tmp"
if grep -q "go vet rc=0" "$OUT/go.log"; then echo "| go vet -tags cuda | ok | |" >> "$SUMMARY"
else echo "| go vet -tags cuda | FAILED | |" >> "$SUMMARY"; FAILED=1; fi

if [[ ! -x $BIN/goptim_test_cuda ]]; then
  echo "| (later steps) | skipped: the build failed | |" >> "$SUMMARY"
  tail -40 "$OUT/build.log"
  cat "$SUMMARY"
  exit 1
fi

# ---- 2. C tests
step "test_cuda" 60 "$OUT/test_cuda.log" "$BIN/goptim_test_cuda"
step "test_cuda_emulated" 30 "$OUT/test_cuda.log" "$BIN/goptim_test_cuda_emulated"
grep -E "^test_cuda|^test_emulated" "$OUT/test_cuda.log" | sed 's/^/    /' >> "$SUMMARY"

# ---- 3. benchmark
step "bench (goptim_bench_cuda)" 150 "$OUT/bench_cuda.md" "$BIN/goptim_bench_cuda"

# ---- 4. Go tests on the GPU backend
step "go test -tags cuda" 150 "$OUT/go.log" go test -tags cuda -count=1 ./...

# ---- 5. sanitizers
if command -v compute-sanitizer >/dev/null; then
  step "memcheck" 90 "$OUT/sanitizer.log" compute-sanitizer --tool memcheck --leak-check full --error-exitcode 3 "$BIN/goptim_test_cuda" --quick
  step "racecheck" 90 "$OUT/sanitizer.log" compute-sanitizer --tool racecheck --error-exitcode 3 "$BIN/goptim_test_cuda" --quick
  grep -E "ERROR SUMMARY|RACECHECK SUMMARY|LEAK SUMMARY" "$OUT/sanitizer.log" | sed 's/^/    /' >> "$SUMMARY"
else
  echo "| sanitizers | skipped: no compute-sanitizer | |" >> "$SUMMARY"
fi

# ---- 6. torch baseline
PY=${PYTHON:-python3}
if $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  step "torch baseline" 150 "$OUT/torch_baseline.md" $PY bench/torch_baseline.py
else
  echo "| torch baseline | skipped: torch with CUDA not importable | |" >> "$SUMMARY"
fi

{
  echo
  echo "total: $(( $(date +%s) - START ))s of a ${BUDGET}s budget"
  echo
  echo "## Targets (from bench_cuda.md)"
  sed -n '/^## Targets/,$p' "$OUT/bench_cuda.md" 2>/dev/null | tail -n +2
} >> "$SUMMARY"
cat "$SUMMARY"
exit $FAILED
