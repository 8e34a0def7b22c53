//go:build !unix

package main

import "time"

// peakRSS is unknown here.
func peakRSS() int64 { return 0 }

// ownCPU is unknown here.
func ownCPU() (time.Duration, bool) { return 0, false }
