// Package errdoc reads docs/errors.md, where every error a bad input produces is written
// down with its exact text, and runs a package's error cases against its rows. The
// tests of optim (the rows above SchedulePart) and optim/schedule (the rows below) share
// it, so the contract is read and enforced one way.
package errdoc

import (
	"errors"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// SchedulePart is the heading of docs/errors.md's last part: the rows of package
// optim/schedule. The rows above it are package optim's.
const SchedulePart = "# Schedules (package optim/schedule)"

// Row is one table row: | `id` | input | `exact error text` or (no error) | matches |.
type Row struct {
	ID      string
	Text    string // "" for (no error)
	Matches string // the sentinels and typed errors, comma-separated
	Line    int
}

var rowRE = regexp.MustCompile("^\\| `([a-z0-9-]+)` \\|")

// Read parses every row of path that starts with a backquoted ID and returns the rows
// above SchedulePart and those below it. The heading must appear exactly once.
func Read(t testing.TB, path string) (optimRows, scheduleRows []Row) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err, "docs/errors.md is part of the contract")
	lines := strings.Split(string(b), "\n")
	part := -1
	for i, line := range lines {
		if strings.TrimSpace(line) == SchedulePart {
			require.Equal(t, -1, part, "%s:%d: %q appears twice", path, i+1, SchedulePart)
			part = i
		}
	}
	require.NotEqual(t, -1, part, "%s has no heading %q: the schedules' rows must stay apart from optim's", path,
		SchedulePart)
	for i, line := range lines {
		if !rowRE.MatchString(line) {
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), " | ")
		require.Len(t, cells, 4, "%s:%d: a row has 4 cells (id | input | error | matches)", path, i+1)
		for k := range cells {
			cells[k] = strings.TrimSpace(cells[k])
		}
		r := Row{ID: strings.Trim(cells[0], "`"), Matches: cells[3], Line: i + 1}
		switch {
		case cells[2] == "(no error)":
		case strings.HasPrefix(cells[2], "`") && strings.HasSuffix(cells[2], "`"):
			r.Text = strings.TrimSuffix(strings.TrimPrefix(cells[2], "`"), "`")
			require.NotEmpty(t, r.Text, "%s:%d", path, i+1)
		default:
			t.Fatalf("%s:%d: the error cell must be `text` or (no error), not %q", path, i+1, cells[2])
		}
		if i < part {
			optimRows = append(optimRows, r)
		} else {
			scheduleRows = append(scheduleRows, r)
		}
	}
	return optimRows, scheduleRows
}

// Suite is a package's side of the contract.
type Suite struct {
	Path      string                                     // docs/errors.md, for messages
	Cases     map[string]func(t *testing.T) error        // by row ID: the call that gives the error
	Sentinels map[string]error                           // by the name the Matches cell uses
	Typed     func(t *testing.T, err error, name string) // checks a "*Type" of the Matches cell
	// Adjust, when not nil, may change a row before it is checked (a backend whose
	// text differs).
	Adjust func(r *Row)
}

// Check requires every row to have a case and every case a row; each case's error to
// carry the row's exact text (or no error) and to match every sentinel and type the row
// names.
func (s Suite) Check(t *testing.T, rows []Row) {
	require.NotEmpty(t, rows)
	seen := map[string]bool{}
	for _, r := range rows {
		require.False(t, seen[r.ID], "%s:%d: row %s appears twice", s.Path, r.Line, r.ID)
		seen[r.ID] = true
		c, ok := s.Cases[r.ID]
		require.True(t, ok, "%s:%d: row %s has no case in the package's errors_table_test.go", s.Path, r.Line, r.ID)
		if s.Adjust != nil {
			s.Adjust(&r)
		}
		t.Run(r.ID, func(t *testing.T) {
			err := c(t)
			if r.Text == "" {
				require.NoError(t, err, "%s:%d says (no error)", s.Path, r.Line)
				return
			}
			require.Error(t, err, "%s:%d", s.Path, r.Line)
			require.Equal(t, r.Text, err.Error(), "%s:%d: the documented text differs from the error", s.Path, r.Line)
			for _, name := range strings.Split(r.Matches, ",") {
				name = strings.Trim(strings.TrimSpace(name), "`")
				if name == "" || name == "—" {
					continue
				}
				if strings.HasPrefix(name, "*") {
					s.Typed(t, err, name)
					continue
				}
				sentinel, ok := s.Sentinels[name]
				require.True(t, ok, "%s:%d: unknown sentinel %q", s.Path, r.Line, name)
				require.True(t, errors.Is(err, sentinel), "%s:%d: the error does not match %s", s.Path, r.Line, name)
			}
		})
	}
	var missing []string
	for id := range s.Cases {
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "cases without a row in %s", s.Path)
}
