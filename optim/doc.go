// Package optim is goptim's idiomatic API: fused optimizer steps (SGD with momentum
// and Nesterov, Adam, AdamW, Adagrad, RMSprop), gradient clipping, learning-rate
// schedules and checkpoints, with torch.optim's names, defaults and numbers.
//
// # Backends
//
// The default build runs the C kernels of csrc/ on the CPU (OpenBLAS, a thread pool,
// AVX-512/AVX2/portable code chosen at run time). Built with -tags cuda, the same
// program runs the CUDA kernels of cuda/ on the GPU; see the README for building the
// CUDA library. Tensors are then GPU memory: move data with CopyFrom and CopyTo.
// A program has one backend, so tensors of different backends never meet: there is
// nothing to mix up and no error for it. Checkpoints are portable between them.
//
// # Tensors and params
//
// A Param is a Data tensor and its Grad. NewParam allocates one; NewArena allocates
// many in two contiguous buffers, so that a step over all of them is one C call (one
// GPU launch) however many there are. WrapSlice (CPU only) uses the caller's []float32
// in place, pinned until Close. Params from anywhere can be mixed in one optimizer:
// neighbours that happen to be contiguous are merged, the rest go as one list.
//
// # Optimizers
//
// Each optimizer has a config struct named after torch's options and a Defaults
// function with torch's defaults; zero values in a config are taken literally.
// Constructors validate the config and return a *ConfigError naming the option.
// AddParamGroup adds params with a config of their own, as torch's param groups.
// Step updates every param whose Grad is non-nil (others are skipped and keep their
// step count, as in torch) and checks every param before it changes any.
//
// # Errors
//
// Errors match the sentinels of this package with errors.Is (ErrInvalidConfig,
// ErrShape, ErrClosed, ErrNonFinite, ErrCheckpoint, ErrInvalidArgument, ...) and
// carry details in typed errors (ConfigError, ShapeError, CheckpointError). Nothing
// panics across cgo. Everything is validated in Go before any C call, and a refused
// call changes nothing. docs/errors.md lists the exact error of every bad input (a
// test keeps it exact).
//
// # Concurrency
//
// An optimizer's methods are safe to call from several goroutines: a mutex serialises
// them, and each Step (ClipStep, GradScaler's step) is atomic, so N goroutines each
// calling Step k times take exactly N*k steps with the same result as N*k steps in a
// row. This covers every method (Step, ClipStep, ZeroGrad, Save, Load,
// AddParamGroup, SetConfig, SetGroupLR and the other setters, the getters, Close: a
// call after a concurrent Close fails with ErrClosed). Schedules drive an optimizer
// through these methods, so they are as safe as it.
//
// Different optimizers, the clipping functions and tensors may be used from
// different goroutines at once. On the CPU the C library runs one call at a time per
// process (each call already uses every thread of its pool), so that is safe but
// not faster.
//
// Tensors are safe for concurrent use by themselves. What is not synchronised, and
// must not overlap a Step, ClipStep, ZeroGrad or clipping call that reads the same
// param: writing its tensors (CopyFrom, Fill, writes through Float32s), closing them
// or their Arena, and assigning a Param's Data or Grad fields, which are plain
// fields. A GradScaler is not safe for concurrent use: give each training loop its
// own. SetThreads and SetISA may be called at any time.
package optim
