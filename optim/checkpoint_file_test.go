package optim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// SaveFile and LoadFile: arguments checked before anything is created, temporary
// files that do not outlive a crash by more than one save, the target's mode kept,
// and a checkpoint file that holds exactly one checkpoint.

// fileTestOpt is an SGD with momentum over one param, stepped once, so that its
// checkpoint has state; lr tells two of them apart.
func fileTestOpt(t *testing.T, lr float64) *SGD {
	t.Helper()
	p, err := NewParam("w", 5)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	require.NoError(t, p.Data.CopyFrom([]float32{1, 2, 3, 4, 5}))
	require.NoError(t, p.Grad.CopyFrom([]float32{0.1, 0.2, 0.3, 0.4, float32(lr)}))
	o, err := NewSGD([]*Param{p}, SGDConfig{LR: lr, Momentum: 0.9})
	require.NoError(t, err)
	t.Cleanup(func() { o.Close() })
	require.NoError(t, o.Step())
	return o
}

func savedBytes(t *testing.T, opt Optimizer) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, opt.Save(&buf))
	return buf.Bytes()
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// openFDs counts the process's open file descriptors, or returns -1 where
// /proc/self/fd does not list them.
func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

// noPanic runs f and fails the test, instead of crashing the test binary, if f
// panics.
func noPanic(t *testing.T, what string, f func() error) (err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%s panicked: %v", what, r)
		}
	}()
	return f()
}

func TestSaveFileRemovesAbandonedTempsOfItsTarget(t *testing.T) {
	opt := fileTestOpt(t, 0.1)
	dir := t.TempDir()
	path := filepath.Join(dir, "opt.ckpt")
	write := func(name string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("partial"), 0o644))
	}
	// What a SaveFile killed part way leaves: removed by the next save of opt.ckpt.
	write("opt.ckpt.tmp-0123456789abcdef")
	write("opt.ckpt.tmp-fedcba9876543210")
	// Not SaveFile's temporary files of opt.ckpt: kept.
	keep := []string{
		"opt.ckpt.tmp-0123456789ABCDEF",      // upper case
		"opt.ckpt.tmp-0123456789abcde",       // 15 digits
		"opt.ckpt.tmp-0123456789abcdef0",     // 17 digits
		"opt.ckpt.tmp-0123456789abcdeg",      // not hex
		"opt.ckpt.tmp-0123456789abcdef.bak",  // a suffix
		"xopt.ckpt.tmp-0123456789abcdef",     // another target's
		"other.ckpt.tmp-0123456789abcdef",    // another target's
		"opt.ckpt.tmp-0123456789abcdef.tmp-", // another target's prefix
		"opt.ckpt",                           // the target
		"opt.ckpt.tmp",
	}
	for _, name := range keep {
		write(name)
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "opt.ckpt.tmp-aaaaaaaaaaaaaaaa"), 0o755)) // not a file
	keep = append(keep, "opt.ckpt.tmp-aaaaaaaaaaaaaaaa")
	sort.Strings(keep)

	require.NoError(t, SaveFile(opt, path))
	require.Equal(t, keep, dirNames(t, dir))
	twin := fileTestOpt(t, 0.5)
	require.NoError(t, LoadFile(twin, path))
	require.Equal(t, savedBytes(t, opt), savedBytes(t, twin))
}

func TestSaveFileKeepsTheTargetsMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permission bits")
	}
	opt := fileTestOpt(t, 0.1)
	dir := t.TempDir()

	// A new file: 0644 less the umask, as a probe file created with 0644 shows.
	probe := filepath.Join(dir, "probe")
	f, err := os.OpenFile(probe, os.O_CREATE|os.O_WRONLY, 0o644)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	want, err := os.Stat(probe)
	require.NoError(t, err)
	path := filepath.Join(dir, "new.ckpt")
	require.NoError(t, SaveFile(opt, path))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, want.Mode().Perm(), fi.Mode().Perm(), "a new checkpoint gets 0644 less the umask")

	// An existing file keeps its bits, whatever the umask, read-only ones included.
	for _, mode := range []os.FileMode{0o644, 0o640, 0o600, 0o444, 0o664, 0o755} {
		path := filepath.Join(dir, fmt.Sprintf("old-%o.ckpt", mode))
		require.NoError(t, os.WriteFile(path, nil, 0o600))
		require.NoError(t, os.Chmod(path, mode))
		require.NoError(t, SaveFile(opt, path))
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, mode, fi.Mode().Perm(), "SaveFile over a %o file", mode)
		require.Equal(t, savedBytes(t, opt), mustRead(t, path))
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// nilOptimizers are optimizers whose Save and Load could only panic: nil, typed
// nil pointers, and optimizers of this package made without their constructor.
func nilOptimizers() map[string]Optimizer {
	return map[string]Optimizer{
		"nil":             nil,
		"(*SGD)(nil)":     (*SGD)(nil),
		"(*Adam)(nil)":    (*Adam)(nil),
		"(*Adagrad)(nil)": (*Adagrad)(nil),
		"(*RMSprop)(nil)": (*RMSprop)(nil),
		"&SGD{}":          &SGD{},
		"SGD{}":           SGD{},
		"&Adam{}":         &Adam{},
	}
}

func TestSaveFileAndLoadFileRefuseNilOptimizers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "opt.ckpt")
	good := fileTestOpt(t, 0.1)
	require.NoError(t, SaveFile(good, path))
	before := mustRead(t, path)
	fds := openFDs()
	for name, opt := range nilOptimizers() {
		err := noPanic(t, "SaveFile("+name+")", func() error { return SaveFile(opt, path) })
		require.ErrorIs(t, err, ErrInvalidArgument, name)
		require.True(t, strings.HasPrefix(err.Error(), "optim: SaveFile: "), err.Error())
		err = noPanic(t, "LoadFile("+name+")", func() error { return LoadFile(opt, path) })
		require.ErrorIs(t, err, ErrInvalidArgument, name)
		require.True(t, strings.HasPrefix(err.Error(), "optim: LoadFile: "), err.Error())
		require.Equal(t, []string{"opt.ckpt"}, dirNames(t, dir), "%s: nothing created", name)
		require.Equal(t, before, mustRead(t, path))
		if fds >= 0 {
			require.Equal(t, fds, openFDs(), "%s: no file descriptor left open", name)
		}
	}
	require.EqualError(t, SaveFile(nil, path), "optim: SaveFile: nil Optimizer: goptim: invalid argument")
	require.EqualError(t, SaveFile((*SGD)(nil), path), "optim: SaveFile: nil Optimizer (*optim.SGD): goptim: invalid argument")
	require.EqualError(t, SaveFile(&SGD{}, path), "optim: SaveFile: *optim.SGD was not made by its constructor: goptim: invalid argument")
	require.EqualError(t, LoadFile(nil, path), "optim: LoadFile: nil Optimizer: goptim: invalid argument")
}

// panickySaver's Save writes part of a checkpoint and panics: a bug in a caller's
// Optimizer. The panic is the caller's to see; SaveFile's temporary file is not
// left behind.
type panickySaver struct{ Optimizer }

func (p panickySaver) Save(w io.Writer) error {
	var buf bytes.Buffer
	if err := p.Optimizer.Save(&buf); err != nil {
		return err
	}
	w.Write(buf.Bytes()[:buf.Len()/2])
	panic("panickySaver")
}

func TestSaveFileCleansUpAfterAPanickingSave(t *testing.T) {
	opt := fileTestOpt(t, 0.1)
	dir := t.TempDir()
	path := filepath.Join(dir, "opt.ckpt")
	require.NoError(t, SaveFile(opt, path))
	before := mustRead(t, path)
	fds := openFDs()
	func() {
		defer func() { require.Equal(t, "panickySaver", recover()) }()
		SaveFile(panickySaver{opt}, path)
	}()
	require.Equal(t, []string{"opt.ckpt"}, dirNames(t, dir), "the temporary file is removed")
	require.Equal(t, before, mustRead(t, path), "the old checkpoint is whole")
	if fds >= 0 {
		require.Equal(t, fds, openFDs(), "the temporary file is closed")
	}
}

func TestSaveFileAndLoadFileRefuseADirectory(t *testing.T) {
	opt := fileTestOpt(t, 0.1)
	dir := t.TempDir()
	path := filepath.Join(dir, "opt.ckpt")
	require.NoError(t, os.Mkdir(path, 0o755))
	for _, p := range []string{path, path + string(filepath.Separator)} {
		err := SaveFile(opt, p)
		require.ErrorIs(t, err, ErrInvalidArgument, p)
		require.EqualError(t, err, "optim: SaveFile: "+p+" is a directory, not a checkpoint file: goptim: invalid argument")
		require.Equal(t, []string{"opt.ckpt"}, dirNames(t, dir), "nothing created")
		require.Empty(t, dirNames(t, path), "nothing created inside")
	}
	before := savedBytes(t, opt)
	err := LoadFile(opt, path)
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.EqualError(t, err, "optim: LoadFile: "+path+" is a directory, not a checkpoint file: goptim: invalid argument")
	require.Equal(t, before, savedBytes(t, opt))

	require.EqualError(t, SaveFile(opt, ""), "optim: SaveFile: empty path: goptim: invalid argument")
	require.EqualError(t, LoadFile(opt, ""), "optim: LoadFile: empty path: goptim: invalid argument")
	require.Equal(t, []string{"opt.ckpt"}, dirNames(t, dir))
}

func TestLoadFileRefusesTrailingBytes(t *testing.T) {
	a, b := fileTestOpt(t, 0.1), fileTestOpt(t, 0.2)
	ca, cb := savedBytes(t, a), savedBytes(t, b)
	dir := t.TempDir()
	target := fileTestOpt(t, 0.3)
	before := savedBytes(t, target)
	for _, tc := range []struct {
		name  string
		bytes []byte
		extra int
	}{
		{"two checkpoints", append(append([]byte(nil), ca...), cb...), len(cb)},
		{"one byte", append(append([]byte(nil), ca...), 0), 1},
		{"a newline", append(append([]byte(nil), ca...), '\n'), 1},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
		require.NoError(t, os.WriteFile(path, tc.bytes, 0o644))
		err := LoadFile(target, path)
		require.ErrorIs(t, err, ErrCheckpoint, tc.name)
		var ce *CheckpointError
		require.True(t, errors.As(err, &ce), tc.name)
		require.EqualError(t, err, fmt.Sprintf(
			"optim: bad checkpoint: %s has %d bytes after the checkpoint's trailer at byte %d; a checkpoint file holds one checkpoint",
			path, tc.extra, len(ca)))
		require.Equal(t, before, savedBytes(t, target), "%s: a refused file changes nothing", tc.name)
	}
	// Exactly one checkpoint loads.
	path := filepath.Join(dir, "one")
	require.NoError(t, os.WriteFile(path, ca, 0o644))
	require.NoError(t, LoadFile(target, path))
	require.Equal(t, ca, savedBytes(t, target))
}

// Load reads one checkpoint and no further, so a stream can carry several, or a
// checkpoint followed by other data, and the caller reads on from where Load
// stopped.
func TestLoadReadsExactlyOneCheckpointFromAStream(t *testing.T) {
	a, b := fileTestOpt(t, 0.1), fileTestOpt(t, 0.2)
	ca, cb := savedBytes(t, a), savedBytes(t, b)
	stream := bytes.NewReader(append(append(append([]byte(nil), ca...), cb...), "weights"...))
	x, y := fileTestOpt(t, 0.3), fileTestOpt(t, 0.4)
	require.NoError(t, x.Load(stream))
	require.Equal(t, len(cb)+len("weights"), stream.Len(), "Load stops at the trailer")
	require.NoError(t, y.Load(stream))
	rest, err := io.ReadAll(stream)
	require.NoError(t, err)
	require.Equal(t, "weights", string(rest))
	require.Equal(t, ca, savedBytes(t, x))
	require.Equal(t, cb, savedBytes(t, y))
}
