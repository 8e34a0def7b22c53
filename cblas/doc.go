// Package cblas gives Go code BLAS from OpenBLAS on the CPU: gonum's blas.Float32 and
// blas.Float64 interfaces backed by OpenBLAS through gonum.org/v1/netlib/blas/netlib.
//
// Importing the package links -lopenblas (Debian: libopenblas-dev), so a plain
// `go build` works without CGO_LDFLAGS. Use registers the implementation with gonum's
// blas32 and blas64 packages, after which blas32.Gemm, blas64.Dot and the rest (and
// everything in gonum built on them, such as mat) run in OpenBLAS:
//
//	cblas.Use()
//	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, a, b, 0, c) // cblas_sgemm
//
// Implementation can also be used directly, without touching the global registration:
//
//	var impl cblas.Implementation
//	impl.Sgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
//
// OpenBLAS runs level-3 routines on its own thread pool; SetThreads fixes its size.
// For a fixed thread count results are reproducible run to run; they may differ in the
// last bits between thread counts and from gonum's pure-Go implementation.
//
// goptim's examples use this package for model math on the CPU build; the optimizer
// kernels themselves (package optim) do not need it.
package cblas
