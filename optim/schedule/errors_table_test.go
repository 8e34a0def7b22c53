package schedule_test

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/internal/errdoc"
	"github.com/goptim/goptim/optim"
	"github.com/goptim/goptim/optim/schedule"
)

// docs/errors.md lists what each bad input produces, with the exact error text. Its
// last part, under errdoc.SchedulePart, is this package's: TestErrorsTableMatchesDocs
// runs every row there (the exact text, the sentinels and typed errors the row
// names), every row must have a case here and every case a row. optim's
// errors_table_test.go does the same for the rows above the heading, so a row in the
// wrong part fails both tests.

// errorCase produces the error of one row.
type errorCase = func(t *testing.T) error

// sentinels are the names the "Matches" column of this part may use.
var sentinels = map[string]error{
	"optim.ErrInvalidConfig":   optim.ErrInvalidConfig,
	"optim.ErrShape":           optim.ErrShape,
	"optim.ErrClosed":          optim.ErrClosed,
	"optim.ErrNilParam":        optim.ErrNilParam,
	"optim.ErrNotHost":         optim.ErrNotHost,
	"optim.ErrNonFinite":       optim.ErrNonFinite,
	"optim.ErrCheckpoint":      optim.ErrCheckpoint,
	"optim.ErrOutOfMemory":     optim.ErrOutOfMemory,
	"optim.ErrBackend":         optim.ErrBackend,
	"optim.ErrInvalidArgument": optim.ErrInvalidArgument,
	"optim.ErrUnsupported":     optim.ErrUnsupported,
	"schedule.ErrFinished":     schedule.ErrFinished,
}

// tableSGD is an SGD over one param of n elements, closed when the test ends.
func tableSGD(t *testing.T, cfg optim.SGDConfig, n int) *optim.SGD {
	t.Helper()
	p, err := optim.NewParam("w", n)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	o, err := optim.NewSGD([]*optim.Param{p}, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { o.Close() })
	return o
}

// tableSchedule is an ExponentialLR (gamma 0.5) over an SGD with lr 0.1 whose
// last_epoch SetState has moved to epoch.
func tableSchedule(t *testing.T, epoch int) (*schedule.ExponentialLR, error) {
	t.Helper()
	s, err := schedule.NewExponentialLR(tableSGD(t, optim.SGDDefaults(0.1), 2), schedule.ExponentialLRConfig{Gamma: 0.5})
	require.NoError(t, err)
	st := s.State()
	st.LastEpoch = epoch
	return s, s.SetState(st)
}

var errorCases = map[string]errorCase{
	"f32-schedule": func(t *testing.T) error {
		o := tableSGD(t, optim.SGDDefaults(1), 4)
		s, err := schedule.NewExponentialLR(o, schedule.ExponentialLRConfig{Gamma: 10})
		require.NoError(t, err)
		for s.LastEpoch() < 100 {
			lr := o.LR()
			if err := s.Step(); err != nil {
				if s.LastEpoch() != 38 || o.LR() != lr {
					return fmt.Errorf("refused at last_epoch %d with lr %v (was %v); want 38, unchanged", s.LastEpoch(), o.LR(), lr)
				}
				return err
			}
		}
		return nil
	},
	"schedule-max-steps": func(t *testing.T) error {
		s, err := tableSchedule(t, 1<<53)
		require.NoError(t, err)
		return s.Step()
	},
	"schedule-state-epoch": func(t *testing.T) error {
		_, err := tableSchedule(t, math.MaxInt)
		return err
	},
	"onecycle-too-long": func(t *testing.T) error {
		c := schedule.OneCycleLRDefaults(0, 0.1)
		c.Epochs, c.StepsPerEpoch = 1<<32, 1<<32
		_, err := schedule.NewOneCycleLR(tableSGD(t, optim.SGDConfig{LR: 0.1, Momentum: 0.9}, 2), c)
		return err
	},
	"zero-schedule": func(t *testing.T) error { return (&schedule.StepLR{}).Step() },
}

func TestErrorsTableMatchesDocs(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	path := filepath.Join(root, "docs", "errors.md")
	_, rows := errdoc.Read(t, path)
	for _, r := range rows {
		// Every schedule input in this part is refused: a row must give its error text.
		require.NotEmpty(t, r.Text, "%s:%d: the error cell must be `text`", path, r.Line)
	}
	errdoc.Suite{Path: path, Cases: errorCases, Sentinels: sentinels, Typed: checkTypedError}.Check(t, rows)
}

func checkTypedError(t *testing.T, err error, name string) {
	t.Helper()
	switch name {
	case "*optim.ConfigError":
		var e *optim.ConfigError
		require.ErrorAs(t, err, &e)
	case "*optim.CheckpointError":
		var e *optim.CheckpointError
		require.ErrorAs(t, err, &e)
	default:
		t.Fatalf("unknown error type %s", name)
	}
}

// ErrFinished is a sentinel of its own: it matches none of optim's, and none of
// them matches it.
func TestErrFinishedIsDistinct(t *testing.T) {
	for name, s := range sentinels {
		if s == schedule.ErrFinished {
			continue
		}
		require.False(t, errors.Is(schedule.ErrFinished, s), "ErrFinished matches %s", name)
		require.False(t, errors.Is(s, schedule.ErrFinished), "%s matches ErrFinished", name)
	}
}
