// Package optim is goptim's idiomatic API: fused optimizer steps (SGD with momentum
// and Nesterov, Adam, AdamW, Adagrad, RMSprop, Adamax, RAdam, Adadelta, Rprop, NAdam,
// ASGD, Adafactor; Lion, AdEMAMix, Muon, LAMB, LARS and Schedule-Free AdamW after
// their references), L-BFGS with a closure, gradient clipping and checkpoints, with
// torch.optim's names, defaults and numbers.
// Learning-rate schedules stand apart, as torch.optim.lr_scheduler does: package
// optim/schedule drives any optimizer through its LRGroups methods.
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
// neighbours that happen to be contiguous are merged, the rest go as one list. The
// params and gradients of one optimizer must not share memory (two WrapSlices over one
// array, a Grad that is its Data, a param over an Arena's Data next to the arena's
// params): construction, AddParamGroup, Step and ZeroGrad refuse them, naming both.
//
// # Memory and lifetimes
//
// On the CPU, NewTensor, TensorFrom, NewParam and NewArena allocate Go memory, so a
// Float32s view is an ordinary Go slice that keeps its memory alive for as long as it
// is held: using it after the tensor was closed or dropped is safe (it is then no
// longer the tensor's memory). This memory counts toward the Go heap that GOGC and
// GOMEMLIMIT govern; a program whose params fill most of the machine's memory should
// set GOMEMLIMIT. The optimizers' own state (moments, momentum buffers) is C memory
// on 2 MiB huge pages where large, never shown as a slice, and freed by Close. On the
// GPU all of it is device memory and Float32s is nil.
//
// Close frees memory at once; a tensor, arena or optimizer that is dropped without
// Close is freed by the collector. Getters given an out-of-range group or param index
// return zero values (0, false, nil, a zero config) and never panic; every other
// method returns an error matching ErrInvalidArgument for them.
//
// # Optimizers
//
// Each optimizer has a config struct named after torch's options and a Defaults
// function with torch's defaults; zero values in a config are taken literally.
// Constructors validate the config and return a *ConfigError naming the option.
// AddParamGroup adds params with a config of their own, as torch's param groups.
// Every optimizer satisfies the Optimizer interface, so code over any of them needs
// no type switch; the methods whose signatures name the config type (AddParamGroup,
// Config, SetConfig) are on OptimizerOf[C], for code generic in the config.
// Step updates every param whose Grad is non-nil (others are skipped and keep their
// step count, as in torch) and checks every param before it changes any. LBFGS is the
// exception to the shape of the others, as in torch: its Step takes a closure that
// evaluates the loss and gradients, as often as its line search needs. Adafactor reads
// a param's optional Shape (two or more dimensions: a matrix, whose second moment it
// factors); the other optimizers ignore it.
//
// # Training diagnostics
//
// GradNorms gives every param's gradient norm (L2 and max) in one read of the
// gradients; UpdateRatios the size of a step relative to each param; LRRangeTest runs
// the learning-rate range test and restores the model and optimizer bit for bit; a
// Monitor records loss, lr and gradient norms per step as CSV or JSON lines and flags
// vanishing and exploding gradients by param. The demo's third part
// (examples/demo/README.md) shows them on a real model.
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
// call after a concurrent Close fails with ErrClosed). The schedules of package
// optim/schedule change an optimizer only through these methods, so stepping a
// schedule while other goroutines use its optimizer is safe (a schedule itself is
// not safe for concurrent use).
//
// Every function and method of this package may run at the same time as any other
// on the same objects, Close included, without corrupting memory: each call holds
// the memory it uses until it returns, Close (of a tensor, a param, an Arena, an
// optimizer) waits for the calls in flight on that memory and later calls fail with
// ErrClosed. On the CPU the C library runs one call at a time per process (each call
// already uses every thread of its pool), so that is safe but not faster.
//
// What is left to the caller is the values: two calls that write the same elements
// at once (CopyFrom or Fill or writes through Float32s on a tensor that a Step,
// ClipStep, ZeroGrad or clipping call is updating) leave some mix of the two, as two
// goroutines writing one slice would. A Param's Data and Grad are plain fields:
// assigning them while another goroutine steps the optimizer is a data race. A
// GradScaler is not safe for concurrent use: give each training loop its own.
// SetThreads and SetISA may be called at any time.
package optim
