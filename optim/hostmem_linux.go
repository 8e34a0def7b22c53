package optim

import (
	"syscall"
	"unsafe"
)

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

// adviseHugePages asks for transparent huge pages over the 2 MiB pages that lie
// wholly inside a large buffer (Linux's default THP mode is "madvise"): a step
// streams 4 to 7 arrays at once, and with 4 KiB pages each crosses a page every
// 1024 floats. Only whole huge pages inside the buffer are advised, so no memory is
// added for alignment; the optimizers' state, from the C allocator, is 2 MiB
// aligned as a whole. Where THP is off the advice is ignored.
func adviseHugePages(data []float32) {
	const huge = 2 << 20
	if len(data)*4 < 2*huge {
		return
	}
	start := uintptr(unsafe.Pointer(&data[0]))
	lo := (start + huge - 1) &^ (huge - 1)
	hi := (start + uintptr(len(data))*4) &^ (huge - 1)
	if hi <= lo {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&data[(lo-start)/4])), hi-lo)
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
}
