//go:build linux && cgo

package main

/*
#include <malloc.h>

// Bytes the C allocator has handed out and not taken back: small blocks from the
// arenas plus large mmap'd ones (goptim_alloc, lists, the thread pool's buffers).
static long long goptim_leakcheck_heap(void) {
	struct mallinfo2 m = mallinfo2();
	return (long long)(m.uordblks + m.hblkhd);
}
*/
import "C"

// cHeap is the C heap in use, in bytes (glibc's mallinfo2); -1 where unknown.
func cHeap() int64 { return int64(C.goptim_leakcheck_heap()) }
