//go:build !(linux && cgo)

package main

// cHeap is unknown without glibc: the check falls back to RSS alone.
func cHeap() int64 { return -1 }
