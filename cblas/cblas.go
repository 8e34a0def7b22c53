package cblas

/*
#cgo LDFLAGS: -lopenblas

// From OpenBLAS's cblas.h; declared here so that only the library is needed at build
// time, whichever cblas.h comes first on the include path.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
*/
import "C"

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
)

// Implementation is BLAS from OpenBLAS: every routine of gonum's blas.Float32,
// blas.Float64, blas.Complex64 and blas.Complex128 interfaces, called through cgo
// (gonum.org/v1/netlib/blas/netlib, which this package links against -lopenblas).
// The zero value is ready to use. Like gonum's pure-Go implementation, its methods
// panic on invalid arguments (negative sizes, short slices, bad leading dimensions),
// and they do so in Go, before any C call.
type Implementation struct {
	netlib.Implementation
}

var (
	_ blas.Float32    = Implementation{}
	_ blas.Float64    = Implementation{}
	_ blas.Complex64  = Implementation{}
	_ blas.Complex128 = Implementation{}
)

// Use registers Implementation with gonum's blas32 and blas64 packages, so that their
// functions (and gonum code built on them) call OpenBLAS. It is not safe to call
// concurrently with those packages' functions; call it once at start-up.
func Use() {
	blas32.Use(Implementation{})
	blas64.Use(Implementation{})
}

// SetThreads sets the number of threads OpenBLAS uses (openblas_set_num_threads);
// n <= 0 leaves the current setting unchanged.
func SetThreads(n int) {
	if n > 0 {
		C.openblas_set_num_threads(C.int(n))
	}
}

// Threads is the number of threads OpenBLAS uses (openblas_get_num_threads).
func Threads() int {
	return int(C.openblas_get_num_threads())
}
