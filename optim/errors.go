package optim

import (
	"errors"
	"fmt"

	"github.com/goptim/goptim/binding"
)

// Sentinel errors. Every error this package returns matches one of them with
// errors.Is, and most carry details in a typed error (ConfigError, ShapeError,
// CheckpointError) that errors.As can extract.
var (
	// ErrInvalidConfig: a hyperparameter outside its valid range.
	ErrInvalidConfig = errors.New("optim: invalid hyperparameter")
	// ErrShape: lengths that do not fit together (param vs grad vs state).
	ErrShape = errors.New("optim: length mismatch")
	// ErrClosed: a tensor, arena or optimizer used after Close.
	ErrClosed = errors.New("optim: used after Close")
	// ErrNilParam: a nil *Param or a param without Data.
	ErrNilParam = errors.New("optim: nil parameter")
	// ErrNotHost: host access to a tensor that lives on the GPU.
	ErrNotHost = errors.New("optim: tensor is not in host memory")
	// ErrNonFinite: a NaN or Inf where the caller asked to be told.
	ErrNonFinite = binding.ErrNonFinite
	// ErrCheckpoint: a checkpoint that is truncated, corrupted, of another version, or
	// of another optimizer.
	ErrCheckpoint = errors.New("optim: bad checkpoint")
	// ErrOutOfMemory: the backend could not allocate.
	ErrOutOfMemory = binding.ErrOutOfMemory
	// ErrBackend: the C or CUDA library failed.
	ErrBackend = binding.ErrBackend
	// ErrUnsupported: not available in this build or on this machine (an instruction
	// set the CPU lacks, a matrix dimension past what the BLAS indexes).
	ErrUnsupported = binding.ErrUnsupported
	// ErrInvalidArgument: an index out of range, an unknown state name, or a call on
	// the wrong kind of object (closing an arena view, a GradScaler given a foreign
	// Optimizer). It is the C library's invalid-argument sentinel too, so every error
	// of this package matches a sentinel.
	ErrInvalidArgument = binding.ErrInvalidArgument
)

// ConfigError reports an invalid hyperparameter.
type ConfigError struct {
	Optimizer string // "adam", "sgd", ... or a schedule's name
	Field     string // torch's name of the option, e.g. "betas[0]"
	Value     float64
	Reason    string // what is required, e.g. "must be in [0, 1)"
	// Text is the value of an option that is not a number (LBFGS's line_search_fn),
	// shown quoted instead of Value, which is then NaN.
	Text string
}

func (e *ConfigError) Error() string {
	if e.Text != "" {
		return fmt.Sprintf("optim: %s: invalid %s %q: %s", e.Optimizer, e.Field, e.Text, e.Reason)
	}
	return fmt.Sprintf("optim: %s: invalid %s %v: %s", e.Optimizer, e.Field, e.Value, e.Reason)
}

// Is makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// ShapeError reports lengths that do not fit together.
type ShapeError struct {
	Param string // the param's Name, or "#i" when it has none
	What  string // e.g. "grad", "state exp_avg", "slice"
	Got   int
	Want  int
}

func (e *ShapeError) Error() string {
	return fmt.Sprintf("optim: param %s: %s has %d elements, want %d", e.Param, e.What, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrShape) true.
func (e *ShapeError) Is(target error) bool { return target == ErrShape }
