package optim

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Checkpoints beyond checkpoint_test.go: SaveFile's atomicity when a save fails part
// way, and what Load restores. FuzzCheckpointLoad feeds arbitrary bytes.

// failingSaver is an optimizer whose Save writes part of a real checkpoint and then
// fails, as a full disk or a dying process would.
type failingSaver struct {
	Optimizer
	after int
}

var errDiskFull = errors.New("disk full")

func (f failingSaver) Save(w io.Writer) error {
	var buf bytes.Buffer
	if err := f.Optimizer.Save(&buf); err != nil {
		return err
	}
	if _, err := w.Write(buf.Bytes()[:f.after]); err != nil {
		return err
	}
	return errDiskFull
}

func TestReliabilitySaveFileFailureKeepsTheOldCheckpoint(t *testing.T) {
	opt, _ := twoGroupSetup(t, "adam", 3)
	dir := t.TempDir()
	path := filepath.Join(dir, "opt.ckpt")
	require.NoError(t, SaveFile(opt, path))
	old, err := os.ReadFile(path)
	require.NoError(t, err)

	require.NoError(t, opt.Step())
	for _, after := range []int{0, 10, len(old) / 2} {
		err := SaveFile(failingSaver{opt, after}, path)
		require.ErrorIs(t, err, errDiskFull)
		now, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, old, now, "a failed save must leave the previous checkpoint whole")
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, entries, 1, "a failed save must not leave its temporary file")
	}
	// A closed optimizer fails before writing anything; same guarantees.
	closedOpt, _ := twoGroupSetup(t, "adam", 3)
	require.NoError(t, closedOpt.Close())
	require.ErrorIs(t, SaveFile(closedOpt, path), ErrClosed)
	now, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, old, now)

	// A folder that does not exist: an error, nothing created.
	require.Error(t, SaveFile(opt, filepath.Join(dir, "missing", "opt.ckpt")))
	require.Error(t, LoadFile(opt, filepath.Join(dir, "missing.ckpt")))

	// The old checkpoint still loads, into a twin at the same point.
	twin, twinParams := twoGroupSetup(t, "adam", 3)
	require.NoError(t, LoadFile(twin, path))
	before := takeSnapshot(t, twin, twinParams)
	require.NoError(t, twin.Load(bytes.NewReader(before.ckpt)))
	requireUnchanged(t, before, twin, twinParams, "loading an optimizer's own checkpoint")
}

// Load restores configs, step counts (each param's own) and state, and never the
// params or gradients; a checkpoint from the other backend (the header names it) is
// the same data and loads.
func TestReliabilityLoadRestoresEverythingButParams(t *testing.T) {
	for _, kind := range relKinds {
		t.Run(kind, func(t *testing.T) {
			src, _ := twoGroupSetup(t, kind, 1)
			var buf bytes.Buffer
			require.NoError(t, src.Save(&buf))

			dst, dstParams := twoGroupSetup(t, kind, 2) // other values
			require.NoError(t, dst.Step())              // other step counts
			paramsBefore := takeSnapshot(t, nil, dstParams)
			require.NoError(t, dst.Load(bytes.NewReader(buf.Bytes())))
			after := takeSnapshot(t, dst, dstParams)
			require.Equal(t, buf.Bytes(), after.ckpt, "state, configs and step counts are the source's")
			require.Equal(t, paramsBefore.data, after.data, "params are not in a checkpoint")
			require.Equal(t, paramsBefore.grads, after.grads)
			require.Equal(t, int64(2), dst.StepCount(0, 1), "each param keeps its own step count")

			hdr, payload, ok := splitCheckpoint(buf.Bytes())
			require.True(t, ok)
			other := "cuda"
			if OnDevice() {
				other = "cpu"
			}
			hdr = bytes.Replace(hdr, []byte(`"backend":"`+Backend()+`"`), []byte(`"backend":"`+other+`"`), 1)
			require.NoError(t, dst.Load(bytes.NewReader(frameCheckpoint(hdr, payload))))
		})
	}
}
