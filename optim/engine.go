package optim

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/goptim/goptim/binding"
)

// The process-wide backend context: the CPU thread pool or the GPU stream. It is
// created on first use with one thread per GOMAXPROCS (at most MaxThreads).
var (
	engineOnce sync.Once
	engineCtx  *binding.Context
	engineErr  error
)

func engine() (*binding.Context, error) {
	engineOnce.Do(func() {
		engineCtx, engineErr = binding.NewContext(defaultThreads())
	})
	return engineCtx, engineErr
}

// MaxThreads is the most threads SetThreads accepts: the size at which the C
// library caps its thread pool (csrc/context.c). The GPU backend, which ignores the
// count, is held to the same bound so that a program behaves the same on both.
const MaxThreads = 1024

// defaultThreads is the count n <= 0 stands for: one per GOMAXPROCS, at most
// MaxThreads. Unlike an explicit count above MaxThreads it is capped, not refused:
// the caller asked for "as many as sensible", which MaxThreads is.
func defaultThreads() int { return min(runtime.GOMAXPROCS(0), MaxThreads) }

// Backend names the backend this program was built with: "cpu" (the default build)
// or "cuda" (built with -tags cuda).
func Backend() string { return binding.BackendName() }

// OnDevice reports whether tensors live in GPU memory (so Float32s returns nil and
// data moves through CopyFrom/CopyTo).
func OnDevice() bool { return binding.BackendIsDevice() }

// SetThreads sets how many threads the CPU kernels use; n <= 0 means one per
// GOMAXPROCS, at most MaxThreads. A count above MaxThreads is refused with a
// *ConfigError (matching ErrInvalidConfig) and changes nothing: the pool cannot run
// that many, and quietly running fewer would misreport benchmarks and
// reproductions. It has no effect on the GPU backend. It is safe to call at any
// time.
func SetThreads(n int) error {
	if n > MaxThreads {
		return &ConfigError{Optimizer: "SetThreads", Field: "threads", Value: float64(n),
			Reason: fmt.Sprintf("must be at most %d (the CPU thread pool's maximum); n <= 0 means one per GOMAXPROCS", MaxThreads)}
	}
	ctx, err := engine()
	if err != nil {
		return err
	}
	if n <= 0 {
		n = defaultThreads()
	}
	return ctx.SetThreads(n)
}

// Threads is the number of threads the CPU kernels use: the count the latest
// SetThreads set (1 after one whose threads failed to start, as the C library then
// falls back to the calling thread alone).
func Threads() int {
	ctx, err := engine()
	if err != nil {
		return 0
	}
	n, _ := ctx.Threads()
	return n
}

// ISA names an instruction set of the CPU kernels.
type ISA = binding.ISA

// The CPU kernels' instruction sets. ISAAuto picks the best the CPU supports.
const (
	ISAAuto     = binding.ISAAuto
	ISAPortable = binding.ISAPortable
	ISAAVX2     = binding.ISAAVX2
	ISAAVX512   = binding.ISAAVX512
	ISANEON     = binding.ISANEON
)

// SetISA forces the CPU kernels onto one instruction set (for tests and
// benchmarks); it fails with an error matching ErrUnsupported when the CPU
// lacks it, and with one matching ErrInvalidArgument for a value that is none of the
// ISA constants. ISAAuto restores the default.
func SetISA(isa ISA) error {
	switch isa {
	case ISAAuto, ISAPortable, ISAAVX2, ISAAVX512, ISANEON:
	default:
		// Refused here, before the C call narrows it to the C enum, where a value
		// such as 1<<32+1 would turn into a valid one.
		return fmt.Errorf("optim: instruction set %s: not one of auto, portable, avx2, avx512, neon: %w",
			isa, ErrInvalidArgument)
	}
	ctx, err := engine()
	if err != nil {
		return err
	}
	if err := ctx.SetISA(isa); err != nil {
		return fmt.Errorf("optim: instruction set %s: %w", isa, err)
	}
	return nil
}

// CurrentISA is the instruction set the CPU kernels use now.
func CurrentISA() ISA {
	ctx, err := engine()
	if err != nil {
		return ISAAuto
	}
	isa, _ := ctx.ISA()
	return isa
}

// Synchronize waits for queued GPU work; a no-op on the CPU.
func Synchronize() error {
	ctx, err := engine()
	if err != nil {
		return err
	}
	return ctx.Synchronize()
}
