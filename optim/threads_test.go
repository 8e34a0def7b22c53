package optim

import (
	"errors"
	"math"
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/binding"
)

// SetThreads refuses a count the C pool cannot run (it caps its pool at MaxThreads,
// and the binding passes an int32) instead of quietly running another one, and
// Threads reports what was set.
func TestSetThreadsRefusesCountsThePoolCannotRun(t *testing.T) {
	t.Cleanup(func() { require.NoError(t, SetThreads(0)) })
	require.NoError(t, SetThreads(3))
	require.Equal(t, 3, Threads())

	bad := []int{MaxThreads + 1, 5000, math.MaxInt32, math.MaxInt}
	if strconv.IntSize == 64 {
		bad = append(bad, 1<<32+1, 1<<32) // 1<<32+1 narrows to 1 in an int32, 1<<32 to 0
	}
	for _, n := range bad {
		err := SetThreads(n)
		require.ErrorIs(t, err, ErrInvalidConfig, "SetThreads(%d)", n)
		var ce *ConfigError
		require.True(t, errors.As(err, &ce), "SetThreads(%d): %v", n, err)
		require.Equal(t, "SetThreads", ce.Optimizer)
		require.Equal(t, "threads", ce.Field)
		require.Equal(t, float64(n), ce.Value)
		require.Contains(t, err.Error(), "1024", "the error names the maximum")
		require.Equal(t, 3, Threads(), "a refused SetThreads(%d) changes nothing", n)
	}
	require.EqualError(t, SetThreads(5000),
		"optim: SetThreads: invalid threads 5000: must be at most 1024 (the CPU thread pool's maximum); n <= 0 means one per GOMAXPROCS")

	// n <= 0: one per GOMAXPROCS, at most MaxThreads.
	for _, n := range []int{0, -1, math.MinInt} {
		require.NoError(t, SetThreads(n))
		require.Equal(t, min(runtime.GOMAXPROCS(0), MaxThreads), Threads(), "SetThreads(%d)", n)
	}
	for _, n := range []int{1, 2, 7} {
		require.NoError(t, SetThreads(n))
		require.Equal(t, n, Threads())
	}
}

// The maximum itself is accepted and reported (1023 workers and the caller).
func TestSetThreadsAcceptsTheMaximum(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 1023 threads")
	}
	t.Cleanup(func() { require.NoError(t, SetThreads(0)) })
	require.NoError(t, SetThreads(MaxThreads))
	require.Equal(t, MaxThreads, Threads())
}

// A GOMAXPROCS above MaxThreads gives MaxThreads for n <= 0, not an error.
func TestSetThreadsDefaultIsCapped(t *testing.T) {
	t.Cleanup(func() { require.NoError(t, SetThreads(0)) })
	old := runtime.GOMAXPROCS(MaxThreads + 5)
	defer runtime.GOMAXPROCS(old)
	require.Equal(t, MaxThreads, defaultThreads())
	runtime.GOMAXPROCS(2)
	require.Equal(t, 2, defaultThreads())
}

// SetISA refuses a value that is none of the ISA constants before the C call, where
// 1<<32+1 would narrow to ISAPortable.
func TestSetISARefusesUnknownValues(t *testing.T) {
	before := CurrentISA()
	bad := []ISA{-1, ISANEON + 1, 99}
	if strconv.IntSize == 64 {
		bad = append(bad, ISA(1<<32+int(ISAPortable)), ISA(1<<32+int(ISAAuto)))
	}
	for _, isa := range bad {
		err := SetISA(isa)
		require.ErrorIs(t, err, ErrInvalidArgument, "SetISA(%d)", int(isa))
		require.Equal(t, before, CurrentISA(), "a refused SetISA(%d) changes nothing", int(isa))
	}
	require.EqualError(t, SetISA(99),
		"optim: instruction set ISA(99): not one of auto, portable, avx2, avx512, neon: goptim: invalid argument")
}

// SetISA's refusals match this package's sentinels, as every error of the package
// does: an instruction set the machine cannot run (NEON on x86-64, AVX2 and AVX-512
// on arm64, every one on the device backend, which has no CPU kernels) matches
// ErrUnsupported and no other sentinel, and changes nothing; ErrUnsupported and
// ErrInvalidArgument are the C library's own sentinels, which its errors match.
func TestSetISAErrorsMatchSentinels(t *testing.T) {
	t.Cleanup(func() { require.NoError(t, SetISA(ISAAuto)) })
	require.ErrorIs(t, ErrUnsupported, binding.ErrUnsupported)
	require.ErrorIs(t, ErrInvalidArgument, binding.ErrInvalidArgument)
	foreign := map[string][]ISA{"amd64": {ISANEON}, "arm64": {ISAAVX2, ISAAVX512}}[runtime.GOARCH]
	if OnDevice() {
		foreign = []ISA{ISAPortable, ISAAVX2, ISAAVX512, ISANEON}
	}
	refused := 0
	for _, isa := range []ISA{ISAPortable, ISAAVX2, ISAAVX512, ISANEON} {
		require.NoError(t, SetISA(ISAAuto))
		before := CurrentISA()
		err := SetISA(isa)
		if err == nil {
			require.NotContains(t, foreign, isa, "SetISA(%v) on %s/%s", isa, Backend(), runtime.GOARCH)
			require.Equal(t, isa, CurrentISA())
			continue
		}
		refused++
		require.ErrorIs(t, err, ErrUnsupported, "SetISA(%v)", isa)
		var be *binding.Error
		require.ErrorAs(t, err, &be, "SetISA(%v): the C library's error is kept", isa)
		for _, s := range allSentinels {
			require.Equal(t, s == ErrUnsupported, errors.Is(err, s), "SetISA(%v): %v against %v", isa, err, s)
		}
		require.Contains(t, err.Error(), "optim: instruction set "+isa.String()+": ")
		require.Equal(t, before, CurrentISA(), "a refused SetISA(%v) changes nothing", isa)
	}
	require.GreaterOrEqual(t, refused, len(foreign), "the instruction sets this machine cannot run are refused")

	err := SetISA(ISA(99))
	for _, s := range allSentinels {
		require.Equal(t, s == ErrInvalidArgument, errors.Is(err, s), "SetISA(99): %v against %v", err, s)
	}
}
