package optim

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/goptim/goptim/binding"
)

// The process-wide backend context: the CPU thread pool or the GPU stream. It is
// created on first use with one thread per GOMAXPROCS.
var (
	engineOnce sync.Once
	engineCtx  *binding.Context
	engineErr  error
)

func engine() (*binding.Context, error) {
	engineOnce.Do(func() {
		engineCtx, engineErr = binding.NewContext(runtime.GOMAXPROCS(0))
	})
	return engineCtx, engineErr
}

// Backend names the backend this program was built with: "cpu" (the default build)
// or "cuda" (built with -tags cuda).
func Backend() string { return binding.BackendName() }

// OnDevice reports whether tensors live in GPU memory (so Float32s returns nil and
// data moves through CopyFrom/CopyTo).
func OnDevice() bool { return binding.BackendIsDevice() }

// SetThreads sets how many threads the CPU kernels use; n <= 0 means one per
// GOMAXPROCS. It has no effect on the GPU backend. It is safe to call at any time.
func SetThreads(n int) error {
	ctx, err := engine()
	if err != nil {
		return err
	}
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return ctx.SetThreads(n)
}

// Threads is the number of threads the CPU kernels use.
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
// benchmarks); it fails with an error matching binding.ErrUnsupported when the CPU
// lacks it. ISAAuto restores the default.
func SetISA(isa ISA) error {
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
