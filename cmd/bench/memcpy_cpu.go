//go:build !cuda

package main

/*
#include <string.h>
*/
import "C"

import (
	"sync"
	"unsafe"
)

// haveLibcCopy: the second copy baseline exists (host memory).
const haveLibcCopy = true

// libcCopy copies n floats from src to dst with the C library's memcpy, in th
// contiguous pieces on th goroutines. It is a second, independent copy baseline:
// the backend's copy hands memmove pieces of at most a few MB to its threads, which
// glibc copies with ordinary stores, while memcpy of one big piece per thread takes
// glibc's non-temporal path, which on some machines is much faster on one thread.
func libcCopy(dst, src unsafe.Pointer, n, th int) {
	if th <= 1 {
		C.memcpy(dst, src, C.size_t(4*n))
		return
	}
	per := (n/th + 15) &^ 15
	var wg sync.WaitGroup
	for k := range th {
		lo, hi := min(k*per, n), min((k+1)*per, n)
		if k == th-1 {
			hi = n
		}
		if hi <= lo {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			C.memcpy(unsafe.Add(dst, 4*lo), unsafe.Add(src, 4*lo), C.size_t(4*(hi-lo)))
		}()
	}
	wg.Wait()
}
