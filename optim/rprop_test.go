package optim

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Rprop's step sizes start at the lr of each param's first step, as torch creates its
// state then: an lr set between construction and the first step counts (a schedule's
// constructor does that), one set later does not.
func TestRpropStepSizeStartsAtFirstStepLR(t *testing.T) {
	p, err := NewParam("w", 3)
	require.NoError(t, err)
	defer p.Close()
	opt, err := NewRprop([]*Param{p}, RpropDefaults())
	require.NoError(t, err)
	defer opt.Close()
	require.NoError(t, opt.SetGroupLR(0, 0.25))
	require.NoError(t, p.Grad.CopyFrom([]float32{1, -2, 0}))
	require.NoError(t, opt.Step())
	ss, err := opt.State(0, 0, "step_size")
	require.NoError(t, err)
	require.Equal(t, []float32{0.25, 0.25, 0.25}, ss, "prev = 0 at step 1: factor 1, the lr of the first step")
	data, err := p.Data.Values()
	require.NoError(t, err)
	require.Equal(t, []float32{-0.25, 0.25, 0}, data)

	// Later lrs are not read; same-sign gradients grow the step by etaplus.
	require.NoError(t, opt.SetGroupLR(0, 7))
	require.NoError(t, p.Grad.CopyFrom([]float32{3, 5, 1}))
	require.NoError(t, opt.Step())
	ss, err = opt.State(0, 0, "step_size")
	require.NoError(t, err)
	require.Equal(t, []float32{float32(0.25) * float32(1.2), float32(0.25) * float32(0.5), 0.25}, ss)
}
