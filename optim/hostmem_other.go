//go:build !linux

package optim

// hostMemoryAvailable cannot ask the system ahead here; Go's allocator decides.
func hostMemoryAvailable(bytes int) bool { return true }

// adviseHugePages has no portable equivalent here.
func adviseHugePages([]float32) {}
