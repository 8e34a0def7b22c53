#!/usr/bin/env bash
# fuzz.sh: runs every Go fuzz target of the module for a bounded budget each. The
# committed seed corpora under testdata/fuzz run in plain `go test` too.
#
# The default budget is a number of executions per target, not a duration: with a
# duration, Go's fuzz coordinator can fail a target with "context deadline exceeded"
# and no crasher when the deadline lands while a worker is busy (golang/go#75804, seen
# here while FuzzCheckpointLoad was minimizing a new input). A count has no deadline to
# race. A budget given as the first argument (a duration like 10m, or a count like
# 100000x) applies to every target.
set -euo pipefail
given=${1:-}

# Executions per target: a few seconds to ~20 s each on the 2-core development machine.
budget() {
  case "$1" in
    FuzzCheckpointLoad) echo 1000x ;; # 50-450 execs/s: 5 optimizer kinds per input
    FuzzAPISequence) echo 400x ;;     # 10-100 ms an input: up to 200 calls from 3 goroutines
    *) echo 50000x ;;                 # FuzzKernelsVsReference: ~10,000 execs/s
  esac
}

for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    t=${given:-$(budget "$f")}
    echo "fuzz: $pkg $f for $t"
    # Minimising re-runs an input per try: a few tries for the slow stateful target.
    m=200x
    [[ $f == FuzzAPISequence ]] && m=5x
    go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" -fuzzminimizetime "$m" "$pkg"
  done
done
