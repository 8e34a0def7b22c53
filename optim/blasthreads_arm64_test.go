//go:build arm64

package optim

// See blasthreads_test.go: without package cblas the tests leave OpenBLAS's thread
// count as it is.
const haveOpenBLASThreads = false

func openBLASThreads() int { return 0 }

func setOpenBLASThreads(int) {}
