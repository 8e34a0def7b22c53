//go:build cuda && !cudaemu

package binding

// The GPU backend: links the CUDA library that CMake builds into build/cuda
// (`make cuda`). CUDA's libraries are found through LIBRARY_PATH / the default
// search path, or CGO_LDFLAGS=-L/usr/local/cuda/lib64.

/*
#cgo LDFLAGS: -L${SRCDIR}/../build/cuda -lgoptim_cuda -lcublas -lcudart -lstdc++ -lm
*/
import "C"

// A Go package only so that `go mod vendor` and the module cache carry goptim.h.
import _ "github.com/goptim/goptim/csrc/include"
