package optim

import "syscall"

// hostMemoryAvailable asks the kernel for bytes of private writable memory without
// touching it and gives it back: false when the kernel's overcommit policy refuses
// it, as it would refuse the Go runtime (which then ends the process).
func hostMemoryAvailable(bytes int) bool {
	if bytes < 64<<20 {
		return true
	}
	m, err := syscall.Mmap(-1, 0, bytes, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return false
	}
	_ = syscall.Munmap(m)
	return true
}
