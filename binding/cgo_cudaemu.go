//go:build cuda && cudaemu

package binding

// The emulated GPU backend: the CUDA backend's semantics and kernels run on the host
// (cuda/emu/), linked from build/cudaemu (`make test-cuda-emu` builds it). Backend
// memory is "device" memory that Go code never addresses (OnDevice is true), so
// `go test -tags cuda,cudaemu ./...` runs every test of the GPU build on a machine
// without a GPU.

/*
#cgo LDFLAGS: -L${SRCDIR}/../build/cudaemu -lgoptim_cudaemu -lopenblas -lstdc++ -lm
*/
import "C"

// A Go package only so that `go mod vendor` and the module cache carry goptim.h.
import _ "github.com/goptim/goptim/csrc/include"
