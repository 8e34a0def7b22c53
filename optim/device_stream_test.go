package optim

import (
	"math"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

const freshEngineEnv = "GOPTIM_TEST_FRESH_ENGINE"

func TestDeviceCount(t *testing.T) {
	n, err := DeviceCount()
	require.NoError(t, err)
	if OnDevice() {
		require.GreaterOrEqual(t, n, 1)
	} else {
		require.Equal(t, 1, n, "the CPU backend's one device is the host")
	}
}

// After first use the device is fixed: asking for it again is fine, anything else is
// refused and changes nothing.
func TestUseDeviceAfterFirstUse(t *testing.T) {
	require.Equal(t, 0, Device())
	require.NoError(t, UseDevice(0))
	n, err := DeviceCount()
	require.NoError(t, err)
	for _, d := range []int{-1, n, n + 1, math.MaxInt32 + 1, math.MinInt64} {
		err := UseDevice(d)
		require.ErrorIs(t, err, ErrInvalidArgument, "UseDevice(%d)", d)
	}
	require.Equal(t, 0, Device())
	x, err := TensorFrom([]float32{1, 2, 3})
	require.NoError(t, err)
	defer x.Close()
	got := make([]float32, 3)
	require.NoError(t, x.CopyTo(got))
	require.Equal(t, []float32{1, 2, 3}, got)
}

// A process whose first call is UseDevice: a bad ordinal is refused without starting
// the backend, then a good one starts it there.
func TestUseDeviceBeforeFirstUse(t *testing.T) {
	if os.Getenv(freshEngineEnv) != "" {
		require.Nil(t, engineNow.Load(), "the engine started before the test")
		n, err := DeviceCount()
		require.NoError(t, err)
		require.ErrorIs(t, UseDevice(n), ErrInvalidArgument)
		require.Nil(t, engineNow.Load(), "a refused UseDevice started the engine")
		require.ErrorIs(t, UseDevice(-3), ErrInvalidArgument)
		require.NoError(t, UseDevice(n-1))
		require.Equal(t, n-1, Device())
		require.NoError(t, UseDevice(n-1))
		if n > 1 {
			require.ErrorIs(t, UseDevice(0), ErrInvalidArgument)
		}
		x, err := TensorFrom([]float32{4, 5})
		require.NoError(t, err)
		got := make([]float32, 2)
		require.NoError(t, x.CopyTo(got))
		require.Equal(t, []float32{4, 5}, got)
		require.NoError(t, x.Close())
		return
	}
	args := []string{os.Args[0], "-test.run=^TestUseDeviceBeforeFirstUse$", "-test.count=1"}
	// Under an emulator (scripts/arm64.sh runs the arm64 tests in qemu-user) the
	// binary cannot be executed directly; GOPTIM_TEST_EXEC names the emulator.
	if w := os.Getenv("GOPTIM_TEST_EXEC"); w != "" {
		args = append([]string{w}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), freshEngineEnv+"=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child: %s", out)
	require.Contains(t, string(out), "PASS")
}

// The stream the backend queues on, and handing it the caller's: on the CPU there is
// none (0, and only 0 is accepted); on a device backend the own stream is non-zero and
// a round trip through SetStream keeps results in order.
func TestStream(t *testing.T) {
	own, err := Stream()
	require.NoError(t, err)
	require.NoError(t, SetStream(0))
	if !OnDevice() {
		require.Zero(t, own)
		err := SetStream(0x1000)
		require.ErrorIs(t, err, ErrUnsupported)
		require.Contains(t, err.Error(), "SetStream")
		now, err := Stream()
		require.NoError(t, err)
		require.Zero(t, now)
		return
	}
	require.NotZero(t, own)
	now, err := Stream()
	require.NoError(t, err)
	require.Equal(t, own, now)
	require.NoError(t, SetStream(own))
	now, err = Stream()
	require.NoError(t, err)
	require.Equal(t, own, now)

	// A step queued before a switch and one after it run in that order.
	p, err := NewParam("p", 1000)
	require.NoError(t, err)
	defer p.Close()
	g := make([]float32, 1000)
	for i := range g {
		g[i] = 1
	}
	require.NoError(t, p.Grad.CopyFrom(g))
	opt, err := NewSGD([]*Param{p}, SGDConfig{LR: 1})
	require.NoError(t, err)
	defer opt.Close()
	require.NoError(t, opt.Step())
	require.NoError(t, SetStream(0))
	require.NoError(t, opt.Step())
	require.NoError(t, Synchronize())
	got := make([]float32, 1000)
	require.NoError(t, p.Data.CopyTo(got))
	for i, v := range got {
		if v != -2 {
			t.Fatalf("element %d is %v after two steps of lr 1 on grad 1, want -2", i, v)
		}
	}
}
