//go:build unix

package optim

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// SaveFile's cleanup of abandoned temporary files tells them from those a live
// SaveFile is writing by the flock the writer holds.

func TestSaveFileLeavesTheTempOfALiveSaveAlone(t *testing.T) {
	opt := fileTestOpt(t, 0.1)
	dir := t.TempDir()
	path := filepath.Join(dir, "opt.ckpt")
	live, err := createTemp(dir, "opt.ckpt", 0o644, false) // as a SaveFile in progress holds it
	require.NoError(t, err)
	require.True(t, isTempOf(filepath.Base(live.Name()), "opt.ckpt"), live.Name())
	require.NoError(t, SaveFile(opt, path))
	_, err = os.Stat(live.Name())
	require.NoError(t, err, "a temporary file that a SaveFile holds is not removed")

	require.NoError(t, live.Close()) // its SaveFile dies: the kernel drops the lock
	require.NoError(t, SaveFile(opt, path))
	_, err = os.Stat(live.Name())
	require.ErrorIs(t, err, os.ErrNotExist, "an abandoned temporary file is removed")
	require.Equal(t, []string{"opt.ckpt"}, dirNames(t, dir))
}

// blockingSaver writes half a checkpoint and then hangs, as a process would when it
// is killed part way through a save.
type blockingSaver struct{ Optimizer }

func (b blockingSaver) Save(w io.Writer) error {
	var buf bytes.Buffer
	if err := b.Optimizer.Save(&buf); err != nil {
		return err
	}
	w.Write(buf.Bytes()[:buf.Len()/2])
	time.Sleep(time.Hour)
	return nil
}

const killChildEnv = "GOPTIM_TEST_SAVEFILE_CHILD"

// TestSaveFileKilledChild is the child process of TestSaveFileAfterKill9: it starts
// a SaveFile that never finishes.
func TestSaveFileKilledChild(t *testing.T) {
	path := os.Getenv(killChildEnv)
	if path == "" {
		t.Skip("the child process of TestSaveFileAfterKill9")
	}
	opt := fileTestOpt(t, 0.1)
	SaveFile(blockingSaver{opt}, path)
}

// A process killed with SIGKILL while it saves leaves its temporary file; while it
// runs, another process's SaveFile does not touch that file, and after it is dead
// the next SaveFile removes it.
func TestSaveFileAfterKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "opt.ckpt")
	args := []string{os.Args[0], "-test.run=^TestSaveFileKilledChild$", "-test.count=1"}
	// Under an emulator (scripts/arm64.sh runs the arm64 tests in qemu-user) the
	// binary cannot be executed directly; GOPTIM_TEST_EXEC names the emulator.
	if w := os.Getenv("GOPTIM_TEST_EXEC"); w != "" {
		args = append([]string{w}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), killChildEnv+"="+path)
	require.NoError(t, cmd.Start())
	exited := false
	defer func() {
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	var temp string
	for deadline := time.Now().Add(time.Minute); temp == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, name := range dirNames(t, dir) {
			if strings.HasPrefix(name, "opt.ckpt.tmp-") {
				if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.Size() > 0 {
					temp = name
				}
			}
		}
	}
	require.NotEmpty(t, temp, "the child never started its save")

	opt := fileTestOpt(t, 0.2)
	require.NoError(t, SaveFile(opt, path))
	require.Equal(t, []string{"opt.ckpt", temp}, dirNames(t, dir), "the live child's temporary file is left alone")

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	exited = true
	require.Equal(t, []string{"opt.ckpt", temp}, dirNames(t, dir), "kill -9 leaves the temporary file")

	require.NoError(t, SaveFile(opt, path))
	require.Equal(t, []string{"opt.ckpt"}, dirNames(t, dir), "the next save removes it")
	twin := fileTestOpt(t, 0.5)
	require.NoError(t, LoadFile(twin, path))
	require.Equal(t, savedBytes(t, opt), savedBytes(t, twin))
}

// A named pipe is not a file SaveFile can replace; LoadFile reads one, and without
// a file size to compare, finds trailing bytes by reading past the trailer.
func TestCheckpointFilesAndNamedPipes(t *testing.T) {
	opt := fileTestOpt(t, 0.1)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))

	err := SaveFile(opt, fifo)
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.EqualError(t, err, "optim: SaveFile: "+fifo+" is not a regular file (mode prw-------): goptim: invalid argument")
	fi, err := os.Lstat(fifo)
	require.NoError(t, err)
	require.Equal(t, os.ModeNamedPipe, fi.Mode().Type(), "the pipe is still there")
	require.Equal(t, []string{"pipe"}, dirNames(t, dir))

	ckpt := savedBytes(t, fileTestOpt(t, 0.2))
	// feed writes b into the pipe from another goroutine; the returned channel closes
	// once the writer has closed its end. Until then the pipe keeps whatever a reader
	// left unread, which the next reader would get first.
	feed := func(b []byte) <-chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			w.Write(b)
			w.Close()
		}()
		return done
	}
	before := savedBytes(t, opt)
	fed := feed(append(append([]byte(nil), ckpt...), "more"...))
	err = LoadFile(opt, fifo)
	<-fed
	require.ErrorIs(t, err, ErrCheckpoint)
	require.EqualError(t, err, "optim: bad checkpoint: "+fifo+" has bytes after the checkpoint's trailer; a checkpoint file holds one checkpoint")
	require.Equal(t, before, savedBytes(t, opt))

	fed = feed(ckpt)
	require.NoError(t, LoadFile(opt, fifo))
	<-fed
	require.Equal(t, ckpt, savedBytes(t, opt))
}
