// Package include holds goptim.h, the one C ABI of goptim. It is a Go package only so
// that `go mod vendor` copies the header.
package include
