// Package csrc holds the C sources of goptim's CPU backend and the C ABI header
// (include/goptim.h) that both backends implement.
//
// It has no Go API. It is a Go package so that `go get` and `go mod vendor` carry the
// C sources; package binding compiles them through cgo (see binding/cpu_*.c), and
// CMakeLists.txt builds the same files for the C tests, sanitizers and benchmarks.
package csrc
