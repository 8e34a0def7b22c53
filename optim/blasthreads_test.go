//go:build !arm64

package optim

import "github.com/goptim/goptim/cblas"

// OpenBLAS's own thread count, for the tests and benchmarks of Muon's BLAS mode (its
// products run on OpenBLAS's threads). The arm64 cross build of the tests
// (scripts/arm64.sh) cannot compile package cblas, whose gonum netlib wrapper needs
// the host's OpenBLAS cblas.h, so there these are stubs (blasthreads_arm64_test.go).
const haveOpenBLASThreads = true

func openBLASThreads() int { return cblas.Threads() }

func setOpenBLASThreads(n int) { cblas.SetThreads(n) }
