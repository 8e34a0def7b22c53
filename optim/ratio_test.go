package optim

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUpdateRatios: SGD moves each param by lr*g, so the ratio is ‖lr*g‖/‖p - lr*g‖,
// checked against float64; a param that does not move has ratio 0, an all-zero param
// that moves +Inf; a failing step returns its error.
func TestUpdateRatios(t *testing.T) {
	vals := [][]float32{{3, 4}, {1, 1, 1, 1}, {0, 0}}
	grads := [][]float32{{1, 0}, {0, 0, 0, 0}, {2, 0}}
	var params []*Param
	for i := range vals {
		p, err := NewParam("p", len(vals[i]))
		require.NoError(t, err)
		defer p.Close()
		require.NoError(t, p.Data.CopyFrom(vals[i]))
		require.NoError(t, p.Grad.CopyFrom(grads[i]))
		params = append(params, p)
	}
	opt, err := NewSGD(params, SGDDefaults(0.5))
	require.NoError(t, err)
	defer opt.Close()
	got, err := UpdateRatios(params, opt.Step)
	require.NoError(t, err)
	require.InDelta(t, 0.5/math.Hypot(2.5, 4), got[0], 1e-7)
	require.Equal(t, 0.0, got[1])
	require.InDelta(t, 1.0, got[2], 1e-7) // p becomes (-1, 0): ‖Δ‖ = ‖p‖
	// an all-zero param after a step that moved it
	z, err := NewParam("z", 1)
	require.NoError(t, err)
	defer z.Close()
	require.NoError(t, z.Data.CopyFrom([]float32{1}))
	got, err = UpdateRatios([]*Param{z}, func() error { return z.Data.CopyFrom([]float32{0}) })
	require.NoError(t, err)
	require.True(t, math.IsInf(got[0], 1))
	boom := errors.New("boom")
	_, err = UpdateRatios(params, func() error { return boom })
	require.ErrorIs(t, err, boom)
	_, err = UpdateRatios([]*Param{nil}, opt.Step)
	require.ErrorIs(t, err, ErrNilParam)
}
