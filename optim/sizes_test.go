package optim

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// Sizes: empty tensors, slices that start at any float offset, and (opt-in, see
// TestHugeTensor) tensors of more than 2^31 elements.

// Length 0 works everywhere: in an arena, as a NewParam, as a wrapped empty slice
// (TensorFrom of one on the device backend), between other params, through every call.
func TestZeroLength(t *testing.T) {
	for _, kind := range allKinds {
		t.Run(kind, func(t *testing.T) {
			a, err := NewArena([]string{"e0", "x", "e1"}, []int{0, 9, 0})
			require.NoError(t, err)
			defer a.Close()
			p0, err := NewParam("p0", 0)
			require.NoError(t, err)
			defer p0.Close()
			w := &Param{Name: "w", Data: wrapOrCopy(t, nil), Grad: wrapOrCopy(t, []float32{})}
			defer w.Close()
			params := append(a.Params(), p0, w)
			fillRandom(t, params, 1)
			opt, err := newKind(kind, params)
			require.NoError(t, err)
			defer opt.Close()
			for s := 0; s < 3; s++ {
				require.NoError(t, opt.Step())
				require.NoError(t, opt.ClipStep(1, 2))
			}
			require.Equal(t, int64(6), opt.StepCount(0, 4))
			st, err := firstState(opt, kind, 0)
			require.NoError(t, err)
			require.Empty(t, st)
			var buf bytes.Buffer
			require.NoError(t, opt.Save(&buf))
			require.NoError(t, opt.Load(&buf))
			require.NoError(t, opt.ZeroGrad())
			n, err := GradNorm(params, 2)
			require.NoError(t, err)
			require.Equal(t, 0.0, n)
			_, err = ClipGradNorm(params[3:], 1, math.Inf(1), true)
			require.NoError(t, err)
			require.NoError(t, ClipGradValue(params, 1))
			for _, p := range []*Param{params[0], p0, w} {
				v, err := p.Data.Values()
				require.NoError(t, err)
				require.Empty(t, v)
				require.NoError(t, p.Data.CopyFrom(nil))
				require.NoError(t, p.Data.Fill(1))
				require.Nil(t, p.Data.Float32s())
			}
			// An optimizer over nothing but empty params.
			only, err := newKind(kind, []*Param{p0})
			require.NoError(t, err)
			defer only.Close()
			require.NoError(t, only.Step())
			require.NoError(t, only.ClipStep(1, 2))
			norm, err := only.LastGradNorm()
			require.NoError(t, err)
			require.Equal(t, 0.0, norm)
		})
	}
	// No params at all.
	opt, err := NewAdam(nil, AdamDefaults())
	require.NoError(t, err)
	defer opt.Close()
	require.NoError(t, opt.Step())
	require.NoError(t, opt.ClipStep(1, 2))
	require.NoError(t, opt.ZeroGrad())
}

// A WrapSlice tensor may start at any float of a Go slice (s[1:], s[3:], ...), and
// an arena param at any float of the arena's buffer (the only way on the device
// backend): the kernels must not assume alignment. Results equal a run on aligned
// NewParam memory bit for bit, for lengths around every vector width and above the
// size where the kernels go parallel (and the GPU's chunk of 16384).
func TestUnalignedSlices(t *testing.T) {
	lengths := []int{1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 1001, 70001}
	offsets := []int{1, 2, 3, 5, 7, 8, 15}
	if testing.Short() {
		lengths, offsets = []int{1, 17, 65, 70001}, []int{1, 3}
	}
	for _, kind := range allKinds {
		for _, n := range lengths {
			ref := runAligned(t, kind, n)
			for _, off := range offsets {
				got := runUnaligned(t, kind, n, off, (off*5)%16)
				require.Equal(t, ref, got, "%s n=%d data offset %d floats", kind, n, off)
			}
		}
	}
}

func stepsOn(t *testing.T, kind string, p *Param) [][]uint32 {
	t.Helper()
	fillRandom(t, []*Param{p}, uint64(p.Data.Len()))
	opt, err := newKind(kind, []*Param{p})
	require.NoError(t, err)
	defer opt.Close()
	for s := 0; s < 3; s++ {
		require.NoError(t, opt.Step())
	}
	require.NoError(t, opt.ClipStep(0.1, 2))
	require.NoError(t, ClipGradValue([]*Param{p}, 0.05))
	require.NoError(t, opt.Step())
	out := [][]uint32{bitsOf(t, p.Data), bitsOf(t, p.Grad)}
	st, err := firstState(opt, kind, 0)
	require.NoError(t, err)
	return append(out, bitsOfSlice(st))
}

func runAligned(t *testing.T, kind string, n int) [][]uint32 {
	p, err := NewParam("p", n)
	require.NoError(t, err)
	defer p.Close()
	return stepsOn(t, kind, p)
}

// runUnaligned runs the same steps on tensors starting dataOff and gradOff floats
// into their buffers (guardedTensor); it also checks that the floats around the
// tensors are left alone.
func runUnaligned(t *testing.T, kind string, n, dataOff, gradOff int) [][]uint32 {
	const guard = 16
	d, dataBuf := guardedTensor(t, dataOff, n, 2*guard-dataOff, 12345)
	g, gradBuf := guardedTensor(t, gradOff, n, 2*guard-gradOff, -12345)
	p := &Param{Name: "p", Data: d, Grad: g}
	defer p.Close()
	out := stepsOn(t, kind, p)
	back, gback := dataBuf(), gradBuf()
	for i := range back {
		if i < dataOff || i >= dataOff+n {
			require.Equal(t, float32(12345), back[i], "data guard %d written", i)
		}
		if i < gradOff || i >= gradOff+n {
			require.Equal(t, float32(-12345), gback[i], "grad guard %d written", i)
		}
	}
	return out
}

// hugeEnv turns on TestHugeTensor.
const hugeEnv = "GOPTIM_TEST_HUGE"

// TestHugeTensor checks 64-bit indexing with a tensor of 2^31+17
// elements (8 GiB + 68 bytes), opt-in because it needs about 9 GiB of RAM and some
// seconds: GOPTIM_TEST_HUGE=1 go test -run HugeTensor ./optim/.
//
// The param and gradient are WrapSlice views of anonymous MAP_NORESERVE mappings,
// whose pages cost memory only once written: the gradient is written only at a few
// marked elements on both sides of 2^31 (reads of the rest map the shared zero
// page), so only the param (written by SGD's update) becomes resident. Each pass
// reads all 2^31+17 elements; an index truncated to 32 bits would miss or misplace
// the marks past 2^31.
func TestHugeTensor(t *testing.T) {
	if os.Getenv(hugeEnv) == "" {
		t.Skipf("skipped: set %s=1 to run SGD, grad norm, the finite check, clipping and fill over a 2^31+17-element tensor (needs ~9 GiB RAM, ~30 s)", hugeEnv)
	}
	if OnDevice() || unsafe.Sizeof(int(0)) < 8 {
		t.Skip("skipped: needs the CPU build on a 64-bit machine")
	}
	const n = 1<<31 + 17
	start := time.Now()
	mapFloats := func() []float32 {
		b, err := syscall.Mmap(-1, 0, 4*n, syscall.PROT_READ|syscall.PROT_WRITE,
			syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_NORESERVE)
		require.NoError(t, err)
		_ = syscall.Madvise(b, 14) // MADV_HUGEPAGE: fewer page faults where THP is on madvise
		t.Cleanup(func() { syscall.Munmap(b) })
		return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
	}
	pd, gd := mapFloats(), mapFloats()
	data, err := WrapSlice(pd)
	require.NoError(t, err)
	grad, err := WrapSlice(gd)
	require.NoError(t, err)
	p := &Param{Name: "huge", Data: data, Grad: grad}
	defer p.Close()
	require.Equal(t, n, data.Len())

	marks := []int{0, 1, 1<<31 - 1, 1 << 31, 1<<31 + 1, 1<<31 + 5, n - 1}
	sumSq := 0.0
	for k, i := range marks {
		gd[i] = float32(k + 1)
		sumSq += float64((k + 1) * (k + 1))
	}
	logRSS := func(what string) {
		t.Logf("%-44s %6.1fs  RSS %5.2f GiB", what, time.Since(start).Seconds(), float64(rssBytes())/(1<<30))
	}
	logRSS("mapped, marks written")

	norm, err := GradNorm([]*Param{p}, 2)
	require.NoError(t, err)
	require.InDelta(t, math.Sqrt(sumSq), norm, 1e-4*math.Sqrt(sumSq))
	norm, err = GradNorm([]*Param{p}, math.Inf(1))
	require.NoError(t, err)
	require.Equal(t, float64(len(marks)), norm, "the largest mark is the last element")
	logRSS("grad norms (L2, inf)")

	opt, err := NewSGD([]*Param{p}, SGDDefaults(0.5))
	require.NoError(t, err)
	defer opt.Close()
	opt.SetCheckFinite(true)
	gd[n-1] = float32(math.NaN())
	require.ErrorIs(t, opt.Step(), ErrNonFinite, "a NaN in the last element, past 2^31, must be found")
	require.Equal(t, int64(0), opt.StepCount(0, 0))
	gd[n-1] = float32(len(marks))
	logRSS("finite check found a NaN at 2^31+16")

	require.NoError(t, opt.Step())
	for k, i := range marks {
		require.Equal(t, -0.5*float32(k+1), pd[i], "param element %d", i)
	}
	for _, i := range []int{2, 1<<31 - 2, 1<<31 + 2, 1<<31 + 4, 1<<31 + 6, n - 2} {
		require.Equal(t, float32(0), pd[i], "param element %d", i)
	}
	logRSS("SGD step")
	// The param's pages are resident now; drop them before the gradient's are written.
	require.NoError(t, syscall.Madvise(unsafe.Slice((*byte)(unsafe.Pointer(&pd[0])), 4*n), syscall.MADV_DONTNEED))

	require.NoError(t, ClipGradValue([]*Param{p}, 2.5))
	for k, i := range marks {
		require.Equal(t, float32(min(float64(k+1), 2.5)), gd[i], "clipped grad element %d", i)
	}
	logRSS("clip_grad_value")
	_, err = ClipGradNorm([]*Param{p}, 1, math.Inf(1), true)
	require.NoError(t, err)
	coef := 1 / (2.5 + 1e-6)
	require.InDelta(t, 2.5*coef, gd[n-1], 1e-6)
	require.InDelta(t, 2.5*coef, gd[1<<31+1], 1e-6)
	require.InDelta(t, 2*coef, gd[1], 1e-6)
	logRSS("clip_grad_norm (inf)")
	require.NoError(t, opt.ZeroGrad())
	for _, i := range marks {
		require.Equal(t, float32(0), gd[i], "zeroed grad element %d", i)
	}
	require.NoError(t, grad.Fill(7))
	for _, i := range []int{0, 1<<31 - 1, 1 << 31, n - 1} {
		require.Equal(t, float32(7), gd[i], "filled element %d", i)
	}
	logRSS("zero_grad, fill")
	debug.FreeOSMemory()
	runtime.KeepAlive(pd)
}

// rssBytes is this process's resident set size from /proc/self/status (0 where
// there is none).
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	var kb int64
	for _, line := range bytes.Split(b, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("VmRSS:")) {
			fmt.Sscan(string(bytes.TrimPrefix(line, []byte("VmRSS:"))), &kb)
		}
	}
	return kb << 10
}
