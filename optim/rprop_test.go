package optim

import (
	"math"
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

// A first step that is skipped (non-finite gradients) changes nothing, its state
// included; the lr set before it still counts at the step that is taken.
func TestRpropSkippedFirstStepChangesNothing(t *testing.T) {
	p, err := NewParam("w", 2)
	require.NoError(t, err)
	defer p.Close()
	opt, err := NewRprop([]*Param{p}, RpropDefaults())
	require.NoError(t, err)
	defer opt.Close()
	opt.SetCheckFinite(true)
	require.NoError(t, opt.SetGroupLR(0, 0.25))
	require.NoError(t, p.Grad.CopyFrom([]float32{float32(math.NaN()), 1}))
	before := takeSnapshot(t, opt, []*Param{p})
	require.ErrorIs(t, opt.Step(), ErrNonFinite)
	requireUnchanged(t, before, opt, []*Param{p}, "skipped first step")
	require.NoError(t, p.Grad.CopyFrom([]float32{-1, 1}))
	require.NoError(t, opt.Step())
	data, err := p.Data.Values()
	require.NoError(t, err)
	require.Equal(t, []float32{0.25, -0.25}, data)
}

// torch's clamp with a NaN bound gives NaN everywhere; such bounds are refused here, as
// every NaN option is.
func TestRpropRefusesNaNStepSizes(t *testing.T) {
	p, err := NewParam("w", 2)
	require.NoError(t, err)
	defer p.Close()
	for _, c := range []RpropConfig{
		{LR: 0.01, EtaMinus: 0.5, EtaPlus: 1.2, StepSizeMin: math.NaN(), StepSizeMax: 50},
		{LR: 0.01, EtaMinus: 0.5, EtaPlus: 1.2, StepSizeMin: 1e-6, StepSizeMax: math.NaN()},
		{LR: 0.01, EtaMinus: math.NaN(), EtaPlus: 1.2, StepSizeMin: 1e-6, StepSizeMax: 50},
		{LR: 0.01, EtaMinus: 0.5, EtaPlus: math.NaN(), StepSizeMin: 1e-6, StepSizeMax: 50},
		{LR: 0.01, EtaMinus: 0.5, EtaPlus: 1.2, StepSizeMin: 1e-6, StepSizeMax: math.Inf(1)},
	} {
		_, err := NewRprop([]*Param{p}, c)
		require.ErrorIs(t, err, ErrInvalidConfig, "%+v", c)
	}
}
