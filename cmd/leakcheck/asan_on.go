//go:build asan

package main

// asanBuild: built with -asan. ASan's quarantine holds freed memory back (RSS grows
// by design) and replaces malloc (mallinfo2 reads 0), so the bounds are not
// applied; LeakSanitizer checks the C heap at exit instead, and reports any block
// no longer referenced from anywhere.
const asanBuild = true
