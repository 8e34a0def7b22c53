// Command nocrash runs, for a given time, loops that an outside user writes and that
// stress memory lifetimes across cgo: WrapSlice params made, stepped and closed, and
// temporaries dropped while a call still uses them, with the collector running all
// the time. It reports how many iterations each made.
//
//	go run ./cmd/nocrash -mode wrap -d 10m   # WrapSlice params: make, step, close, with garbage
//	go run ./cmd/nocrash -mode temp -d 10m   # temporaries dropped mid-call, views of dropped tensors
//
// It exits 0 when the time is up, and non-zero on a wrong value or an error; a crash
// is the Go runtime's own exit.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/goptim/goptim/optim"
)

func main() {
	mode := flag.String("mode", "wrap", "wrap or temp")
	d := flag.Duration("d", time.Minute, "how long to run")
	flag.Parse()
	var gcs atomic.Int64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
				gcs.Add(1)
			}
		}
	}()
	start := time.Now()
	var n int
	var err error
	switch *mode {
	case "wrap":
		n, err = wrapLoop(start.Add(*d))
	case "temp":
		n, err = tempLoop(start.Add(*d))
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	close(stop)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nocrash:", err)
		os.Exit(1)
	}
	fmt.Printf("nocrash -mode %s: %d iterations and %d forced collections in %v on GOMAXPROCS=%d, no crash\n",
		*mode, n, gcs.Load(), time.Since(start).Round(time.Second), runtime.GOMAXPROCS(0))
}

var sink []*[16]*int

// garbage makes pointer-holding heap objects, so the collector has work and its
// write barriers are on while the library runs.
func garbage() {
	s := make([]*[16]*int, 128)
	for i := range s {
		s[i] = new([16]*int)
		s[i][3] = new(int)
	}
	sink = s
}

// wrapLoop: wrap four slices as params, make an SGD with momentum, step, close.
func wrapLoop(until time.Time) (int, error) {
	n := 0
	for ; time.Now().Before(until); n++ {
		var params []*optim.Param
		var data [][]float32
		for k := 0; k < 4; k++ {
			d := make([]float32, 100+k)
			g := make([]float32, 100+k)
			for i := range d {
				d[i], g[i] = 1, 0.5
			}
			dt, err := optim.WrapSlice(d)
			if err != nil {
				return n, err
			}
			gt, err := optim.WrapSlice(g)
			if err != nil {
				return n, err
			}
			params = append(params, &optim.Param{Data: dt, Grad: gt})
			data = append(data, d)
			garbage()
		}
		opt, err := optim.NewSGD(params, optim.SGDConfig{LR: 0.1, Momentum: 0.9})
		if err != nil {
			return n, err
		}
		for s := 0; s < 2; s++ {
			if err := opt.Step(); err != nil {
				return n, err
			}
			garbage()
		}
		if err := opt.Close(); err != nil {
			return n, err
		}
		// buf = g, then 0.9*buf + g: p = 1 - 0.1*(0.5 + 0.95).
		for _, d := range data {
			if got, want := d[len(d)-1], float32(1-0.1*(0.5+0.95)); absDiff(got, want) > 1e-6 {
				return n, fmt.Errorf("iteration %d: param %v, want %v", n, got, want)
			}
		}
		// Every other round the wrapped tensors are left to the collector.
		if n%2 == 0 {
			for _, p := range params {
				if err := p.Close(); err != nil {
					return n, err
				}
			}
		}
	}
	return n, nil
}

// tempLoop: copies from, norms of and products with tensors dropped as soon as the
// call has them, and views of dropped tensors written after collections.
func tempLoop(until time.Time) (int, error) {
	const size = 8 << 20
	dst, err := optim.NewTensor(size)
	if err != nil {
		return 0, err
	}
	defer dst.Close()
	ones := make([]float32, size)
	for i := range ones {
		ones[i] = 1
	}
	must := func(t *optim.Tensor, err error) *optim.Tensor {
		if err != nil {
			panic(err)
		}
		return t
	}
	n := 0
	for ; time.Now().Before(until); n++ {
		src := must(optim.NewTensor(size))
		if err := src.Fill(float32(n)); err != nil {
			return n, err
		}
		if err := optim.CopyTensor(dst, src); err != nil {
			return n, err
		}
		src = nil
		norm, err := optim.GradNorm([]*optim.Param{{Data: must(optim.NewTensor(1)), Grad: must(optim.TensorFrom(ones))}}, 2)
		if err != nil {
			return n, err
		}
		if absDiff(float32(norm), 2896.3094) > 1e-2 { // sqrt(8<<20)
			return n, fmt.Errorf("iteration %d: norm %v", n, norm)
		}
		if _, err := optim.ClipGradNorm([]*optim.Param{{Data: must(optim.NewTensor(1)), Grad: must(optim.TensorFrom(ones))}}, 1, 2, true); err != nil {
			return n, err
		}
		if err := optim.ClipGradValue([]*optim.Param{{Data: must(optim.NewTensor(1)), Grad: must(optim.TensorFrom(ones))}}, 0.5); err != nil {
			return n, err
		}
		if err := optim.Gemm(false, false, 256, 256, 256, 1, must(optim.TensorFrom(ones[:1<<16])),
			must(optim.TensorFrom(ones[:1<<16])), 0, must(optim.NewTensor(1<<16))); err != nil {
			return n, err
		}
		v := must(optim.TensorFrom(ones[:1024])).Float32s()
		garbage()
		runtime.GC()
		v[0] = 2
		if v[0]+v[1023] != 3 {
			return n, errors.New("a view of a dropped tensor changed")
		}
		last, err := dst.Values()
		if err != nil {
			return n, err
		}
		if last[size-1] != float32(n) {
			return n, fmt.Errorf("iteration %d: copied %v", n, last[size-1])
		}
	}
	return n, nil
}

func absDiff(a, b float32) float32 {
	if a > b {
		return a - b
	}
	return b - a
}
