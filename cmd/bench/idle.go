package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// cpuTimes reads the aggregate busy and total jiffies of /proc/stat.
func cpuTimes() (busy, total uint64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, false
	}
	var idle uint64
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return total - idle, total, true
}

// othersBusy is how many cores the rest of the machine keeps busy over d, measured
// while this process sleeps.
func othersBusy(d time.Duration) (float64, bool) {
	b0, t0, ok := cpuTimes()
	if !ok {
		return 0, false
	}
	time.Sleep(d)
	b1, t1, ok := cpuTimes()
	if !ok || t1 <= t0 {
		return 0, false
	}
	return float64(b1-b0) / float64(t1-t0) * float64(runtime.NumCPU()), true
}

// idleWaiter holds measurements back while other processes keep more than maxBusy
// cores busy (the machine is shared), for at most limit each time.
type idleWaiter struct {
	maxBusy float64
	limit   time.Duration
	waited  time.Duration
	gaveUp  int
	// busyRun: the last wait gave up; under sustained load the next ones only
	// look briefly instead of stalling the whole run.
	busyRun bool
}

// wait returns a note for the progress line: how busy the rest of the machine was
// when the measurement started ("" when not waiting).
func (w *idleWaiter) wait(what string) string {
	if w == nil || w.maxBusy <= 0 {
		return ""
	}
	start := time.Now()
	said := false
	var busy float64
	for {
		var ok bool
		busy, ok = othersBusy(time.Second)
		if !ok {
			return ""
		}
		if busy <= w.maxBusy {
			break
		}
		limit := w.limit
		if w.busyRun {
			limit = min(limit, 5*time.Second)
		}
		if time.Since(start) >= limit {
			w.gaveUp++
			w.busyRun = true
			fmt.Fprintf(os.Stderr, "bench: %s: other processes still use %.1f cores after %v; measuring anyway\n",
				what, busy, limit)
			w.waited += time.Since(start)
			return fmt.Sprintf(" [others busy: %.1f cores]", busy)
		}
		if !said {
			fmt.Fprintf(os.Stderr, "bench: %s: waiting while other processes use %.1f cores (> %.1f)\n", what, busy, w.maxBusy)
			said = true
		}
	}
	w.waited += time.Since(start)
	w.busyRun = false
	return fmt.Sprintf(" [others busy: %.1f cores]", busy)
}

// loadMeter measures how many cores other processes keep busy while this one works:
// the machine's busy time from /proc/stat less this process's own CPU time (its C
// threads included), over the wall time between start and othersBusy.
type loadMeter struct {
	busy, total uint64
	own         time.Duration
	wall        time.Time
	ok          bool
}

func startLoad() loadMeter {
	b, t, ok := cpuTimes()
	own, ownOK := ownCPU()
	return loadMeter{busy: b, total: t, own: own, wall: time.Now(), ok: ok && ownOK}
}

// othersBusy is the mean number of cores others kept busy since startLoad (false
// where /proc/stat or the process's CPU time cannot be read).
func (m loadMeter) othersBusy() (float64, bool) {
	b, t, ok := cpuTimes()
	own, ownOK := ownCPU()
	wall := time.Since(m.wall)
	if !m.ok || !ok || !ownOK || t <= m.total || wall <= 0 {
		return 0, false
	}
	all := float64(b-m.busy) / float64(t-m.total) * float64(runtime.NumCPU())
	return max(0, all-float64(own-m.own)/float64(wall)), true
}
