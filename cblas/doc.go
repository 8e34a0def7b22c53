// Package cblas gives Go code BLAS from OpenBLAS on the CPU: gonum's blas.Float32 and
// blas.Float64 interfaces backed by OpenBLAS through gonum.org/v1/netlib/blas/netlib.
//
// It is for code that wants gonum's interface: every routine, any leading dimensions,
// ordinary Go slices, gonum's mat on top. goptim's own model code (the MLP of
// examples/mlp and the demo) does not use it for arithmetic: its matrix products are
// optim.Gemm calls on optim tensors, one code path that runs on the backend's BLAS
// (OpenBLAS's cblas_sgemm on the CPU build, the call this package makes for Sgemm;
// cuBLAS on the GPU build). The optimizer kernels (package optim) need no BLAS.
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
// OpenBLAS runs level-3 routines on its own thread pool, one per process; SetThreads
// fixes its size, for this package and for optim.Gemm on the CPU build alike (which is
// why the demo calls it). For a fixed thread count results are reproducible run to
// run; they may differ in the last bits between thread counts and from gonum's pure-Go
// implementation.
package cblas
