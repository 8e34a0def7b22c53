package schedule_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/optim"
	"github.com/goptim/goptim/optim/schedule"
)

// docs/errors.md lists what each bad input produces, with the exact error text. Its
// last part, under scheduleSection, is this package's: TestErrorsTableMatchesDocs
// runs every row there (the exact text, the sentinels and typed errors the row
// names), every row must have a case here and every case a row. optim's
// errors_table_test.go does the same for the rows above the heading, so a row in the
// wrong part fails both tests.

// scheduleSection is the heading of this package's part of docs/errors.md.
const scheduleSection = "# Schedules (package optim/schedule)"

// errorCase produces the error of one row.
type errorCase func(t *testing.T) error

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

// docRow is one row of a table in docs/errors.md.
type docRow struct {
	id, text, matches string
	line              int
}

var rowRE = regexp.MustCompile("^\\| `([a-z0-9-]+)` \\|")

// readErrorsDoc parses every table row after scheduleSection that starts with a
// backquoted ID:
// | `id` | input | `exact error text` | sentinels |
func readErrorsDoc(t *testing.T) (path string, rows []docRow) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	path = filepath.Join(root, "docs", "errors.md")
	b, err := os.ReadFile(path)
	require.NoError(t, err, "docs/errors.md is part of the contract")
	lines := strings.Split(string(b), "\n")
	start := -1
	for i, line := range lines {
		if strings.TrimSpace(line) == scheduleSection {
			require.Equal(t, -1, start, "%s:%d: %q appears twice", path, i+1, scheduleSection)
			start = i
		}
	}
	require.NotEqual(t, -1, start, "%s has no heading %q for this package's rows", path, scheduleSection)
	for i := start + 1; i < len(lines); i++ {
		line := lines[i]
		if !rowRE.MatchString(line) {
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), " | ")
		require.Len(t, cells, 4, "%s:%d: a row has 4 cells (id | input | error | matches)", path, i+1)
		for k := range cells {
			cells[k] = strings.TrimSpace(cells[k])
		}
		require.True(t, strings.HasPrefix(cells[2], "`") && strings.HasSuffix(cells[2], "`") && len(cells[2]) > 2,
			"%s:%d: the error cell must be `text`, not %q", path, i+1, cells[2])
		rows = append(rows, docRow{id: strings.Trim(cells[0], "`"), text: strings.Trim(cells[2], "`"),
			matches: cells[3], line: i + 1})
	}
	return path, rows
}

func TestErrorsTableMatchesDocs(t *testing.T) {
	path, rows := readErrorsDoc(t)
	require.NotEmpty(t, rows)
	seen := map[string]bool{}
	for _, r := range rows {
		require.False(t, seen[r.id], "%s:%d: row %s appears twice", path, r.line, r.id)
		seen[r.id] = true
		c, ok := errorCases[r.id]
		require.True(t, ok, "%s:%d: row %s has no case in optim/schedule/errors_table_test.go", path, r.line, r.id)
		t.Run(r.id, func(t *testing.T) {
			err := c(t)
			require.Error(t, err, "%s:%d", path, r.line)
			require.Equal(t, r.text, err.Error(), "%s:%d: the documented text differs from the error", path, r.line)
			for _, name := range strings.Split(r.matches, ",") {
				name = strings.Trim(strings.TrimSpace(name), "`")
				if name == "" || name == "—" {
					continue
				}
				if strings.HasPrefix(name, "*") {
					checkTypedError(t, err, name)
					continue
				}
				s, ok := sentinels[name]
				require.True(t, ok, "%s:%d: unknown sentinel %q", path, r.line, name)
				require.True(t, errors.Is(err, s), "%s:%d: the error does not match %s", path, r.line, name)
			}
		})
	}
	var missing []string
	for id := range errorCases {
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "cases without a row in the part %q of %s", scheduleSection, path)
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
