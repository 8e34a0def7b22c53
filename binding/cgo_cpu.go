//go:build !cuda

package binding

// The CPU backend: package csrc compiles the C kernels (csrc/*.c) through cgo and
// links OpenBLAS; importing it links them into the program.

import (
	_ "github.com/goptim/goptim/csrc"
	// A Go package only so that `go mod vendor` and the module cache carry goptim.h.
	_ "github.com/goptim/goptim/csrc/include"
)
