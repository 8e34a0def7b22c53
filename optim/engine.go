package optim

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/goptim/goptim/binding"
)

// The process-wide backend context: the CPU thread pool or the GPU stream. It is
// created on first use with one thread per GOMAXPROCS (at most MaxThreads), on the
// device UseDevice chose (0 by default). Once made it never changes, so the fast path
// is one atomic load.
type engineState struct {
	ctx    *binding.Context
	err    error
	device int
}

var (
	engineMu  sync.Mutex // serialises the creation
	engineNow atomic.Pointer[engineState]
)

func engine() (*binding.Context, error) {
	if e := engineNow.Load(); e != nil {
		return e.ctx, e.err
	}
	e, _ := startEngine(0, true)
	return e.ctx, e.err
}

// startEngine makes the context on device unless one exists, and returns the one that
// exists after the call and whether this call made it. keepFailure: a failure is kept
// as the engine's answer for good (the lazy start: a machine without a usable backend
// stays without one); UseDevice's failure is not kept, so a bad ordinal can be retried
// with a good one.
func startEngine(device int, keepFailure bool) (*engineState, bool) {
	engineMu.Lock()
	defer engineMu.Unlock()
	if e := engineNow.Load(); e != nil {
		return e, false
	}
	ctx, err := binding.NewContextOn(device, defaultThreads())
	e := &engineState{ctx: ctx, err: err, device: device}
	if err == nil || keepFailure {
		engineNow.Store(e)
	}
	return e, true
}

// DeviceCount is the number of devices the backend can run on: the CUDA devices the
// process sees on the GPU backend (an error matching ErrUnsupported when there are
// none), 1 on the CPU backend (the host).
func DeviceCount() (int, error) { return binding.DeviceCount() }

// UseDevice picks the device the backend runs on: a CUDA device ordinal on the GPU
// backend, 0 on the CPU backend. Every tensor, optimizer and call of this package
// then lives on that device. Call it first, before anything else of this package
// (tensors, optimizers, SetThreads, SetStream); afterwards it succeeds only when
// asked for the device already in use, and otherwise returns an error matching
// ErrInvalidArgument without changing anything. An ordinal out of range is refused
// the same way and can be retried with a valid one.
func UseDevice(device int) error {
	if device < 0 || device > math.MaxInt32 {
		return fmt.Errorf("optim: UseDevice(%d): not a device ordinal: %w", device, ErrInvalidArgument)
	}
	e, made := startEngine(device, false)
	switch {
	case made && e.err != nil:
		n, cerr := DeviceCount()
		if cerr == nil {
			return fmt.Errorf("optim: UseDevice(%d): the %s backend has %d device(s): %w", device, Backend(), n, e.err)
		}
		return fmt.Errorf("optim: UseDevice(%d): %w", device, e.err)
	case made:
		return nil
	case e.err != nil:
		return fmt.Errorf("optim: UseDevice(%d): the backend failed to start: %w", device, e.err)
	case e.device != device:
		return fmt.Errorf("optim: UseDevice(%d): the backend already runs on device %d "+
			"(UseDevice must come before the first tensor, optimizer or setting): %w", device, e.device, ErrInvalidArgument)
	}
	return nil
}

// Device is the device the backend runs on (or will run on, before first use).
func Device() int {
	if e := engineNow.Load(); e != nil && e.err == nil {
		return e.device
	}
	return 0
}

// Stream is the CUDA stream (a cudaStream_t, as an integer) on which the GPU backend
// queues all its work: its own stream, or the one given to SetStream. 0 on the CPU
// backend, whose calls finish before they return.
//
// The ordering contract: the backend's calls run in call order on that stream, and
// most return before the GPU has finished them (Step, ClipStep, ZeroGrad, Fill, Gemm,
// copies between tensors; a closed tensor's memory is freed in stream order). Calls
// that move values to or from the host wait for the stream: CopyFrom and CopyTo,
// ClipGradNorm (it returns the norm), and Step when it checks the gradients
// (SetCheckFinite, GradScaler). CUDA work of your own on another stream, such as a
// backward pass writing gradients through Tensor.Ptr, is not ordered with any of it:
// queue it on this stream, order the two streams with events, or hand your stream to
// SetStream. Synchronize waits for everything queued.
func Stream() (uintptr, error) {
	ctx, err := engine()
	if err != nil {
		return 0, err
	}
	return ctx.Stream()
}

// SetStream makes the GPU backend queue all its later work on stream, a cudaStream_t
// of the backend's device (as an integer) that the caller owns and keeps alive until
// it sets another; 0 goes back to the backend's own stream. Work already queued stays
// ordered before everything queued after the switch. A stream cannot be validated, so
// a destroyed or foreign handle is undefined behaviour, as in CUDA itself. On the CPU
// backend 0 is accepted and anything else is an error matching ErrUnsupported.
func SetStream(stream uintptr) error {
	ctx, err := engine()
	if err != nil {
		return err
	}
	if err := ctx.SetStream(stream); err != nil {
		return fmt.Errorf("optim: SetStream: %w", err)
	}
	return nil
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
