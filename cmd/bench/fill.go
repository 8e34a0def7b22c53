package main

import (
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/goptim/goptim/optim"
)

// The benchmark's values: params standard normal, gradients normal scaled by 1e-3,
// as torch_baseline.py makes them (randn, randn * 1e-3). Zeros would let an optimizer
// run on a special case (and hide a slow one: denormals, NaN checks); these are the
// magnitudes of a real model, and stay far from denormals over the steps we time.
const gradScale = 1e-3

// normTable holds 65,536 standard-normal samples; fillNormal indexes it with a
// 64-bit generator, which is deterministic, parallel and a few ns per element (355M
// params and grads fill in about a second on two cores).
var normTable = func() []float32 {
	r := rand.New(rand.NewPCG(2026, 1129))
	t := make([]float32, 1<<16)
	for i := range t {
		t[i] = float32(r.NormFloat64())
	}
	return t
}()

const fillChunk = 1 << 20

// fillNormal writes scale * N(0,1) values into dst, a function of seed and the
// position in dst only.
func fillNormal(dst []float32, seed uint64, scale float32) {
	for c := 0; c < len(dst); c += fillChunk {
		s := seed*0x9E3779B97F4A7C15 ^ uint64(c/fillChunk+1)*0xBF58476D1CE4E5B9
		for i, e := c, min(c+fillChunk, len(dst)); i < e; i++ {
			// splitmix64
			s += 0x9E3779B97F4A7C15
			z := s
			z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
			z = (z ^ z>>27) * 0x94D049BB133111EB
			z ^= z >> 31
			dst[i] = normTable[z>>48] * scale
		}
	}
}

// fillParams fills every param's data and gradient, in parallel. On a backend
// whose memory the host cannot see, the values go through a host buffer.
func fillParams(params []*optim.Param) {
	type job struct {
		t     *optim.Tensor
		seed  uint64
		scale float32
		off   int // piece of the tensor, for parallelism within a big tensor
		n     int
	}
	const piece = 8 * fillChunk
	var jobs []job
	device := optim.OnDevice()
	for i, p := range params {
		for k, t := range []*optim.Tensor{p.Data, p.Grad} {
			scale := float32(1)
			if k == 1 {
				scale = gradScale
			}
			seed := uint64(2*i + k + 1)
			if device {
				jobs = append(jobs, job{t, seed, scale, 0, t.Len()})
				continue
			}
			for off := 0; off < t.Len(); off += piece {
				jobs = append(jobs, job{t, seed, scale, off, min(piece, t.Len()-off)})
			}
		}
	}
	ch := make(chan job)
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				if device {
					buf := make([]float32, j.n)
					fillNormal(buf, j.seed, j.scale)
					if err := j.t.CopyFrom(buf); err != nil {
						fatal(err)
					}
					continue
				}
				// a piece's seed is its tensor's and its index: the values do not
				// depend on which goroutine fills what
				fillNormal(j.t.Float32s()[j.off:j.off+j.n], j.seed+uint64(j.off/fillChunk)<<32, j.scale)
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
}
