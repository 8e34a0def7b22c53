// Package csrc holds the C sources of goptim's CPU backend and the C ABI header
// (include/goptim.h) that both backends implement.
//
// It has no Go API: cgo compiles the C files of this folder into any program that
// imports it, which package binding does in the CPU build, so a plain `go build`
// needs no CMake step, only OpenBLAS. CMakeLists.txt builds the same files for the C
// tests, the sanitizers and the C benchmarks.
//
// No -march flag: the kernels are compiled for several instruction sets and pick one
// at run time.
package csrc

/*
#cgo CFLAGS: -O3 -std=gnu11 -pthread -I${SRCDIR}/include
#cgo LDFLAGS: -lopenblas -lm -lpthread
*/
import "C"
