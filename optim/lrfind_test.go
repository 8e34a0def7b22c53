package optim

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// quadModel is a noisy least-squares problem: loss = mean over a batch of
// 0.5*(w·x - y)^2 with the gradient written into the param.
type quadModel struct {
	w    *Param
	rng  *rand.Rand
	true []float32
}

func newQuadModel(t *testing.T, n int) *quadModel {
	w, err := NewParam("w", n)
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	m := &quadModel{w: w, rng: rand.New(rand.NewPCG(3, 4)), true: make([]float32, n)}
	for i := range m.true {
		m.true[i] = float32(m.rng.NormFloat64())
	}
	return m
}

func (m *quadModel) step() (float64, error) {
	n := len(m.true)
	w := make([]float32, n)
	if err := m.w.Data.CopyTo(w); err != nil {
		return 0, err
	}
	g := make([]float32, n)
	loss := 0.0
	const batch = 32
	for b := 0; b < batch; b++ {
		x := make([]float64, n)
		r := 0.0
		for i := range x {
			x[i] = m.rng.NormFloat64()
			r += float64(w[i]-m.true[i]) * x[i]
		}
		r += 0.01 * m.rng.NormFloat64()
		loss += 0.5 * r * r / batch
		for i := range g {
			g[i] += float32(r * x[i] / batch)
		}
	}
	return loss, m.w.Grad.CopyFrom(g)
}

// stateBytes is everything LRRangeTest must leave as it was: the optimizer's
// checkpoint, the param and its gradient.
func stateBytes(t *testing.T, opt Optimizer, p *Param) []byte {
	var b bytes.Buffer
	require.NoError(t, opt.Save(&b))
	for _, tn := range []*Tensor{p.Data, p.Grad} {
		v := make([]float32, tn.Len())
		require.NoError(t, tn.CopyTo(v))
		for _, x := range v {
			u := math.Float32bits(x)
			b.Write([]byte{byte(u), byte(u >> 8), byte(u >> 16), byte(u >> 24)})
		}
	}
	return b.Bytes()
}

// TestLRRangeTestRestoresEverything: after a few real steps, the test runs to
// divergence and leaves params, gradients, state, step counts and learning rates
// bit-identical, for an SGD with momentum and an Adam; its suggestions lie inside the
// range and below the divergence.
func TestLRRangeTestRestoresEverything(t *testing.T) {
	for _, kind := range []string{"sgd", "adam"} {
		m := newQuadModel(t, 64)
		var opt Optimizer
		var err error
		if kind == "sgd" {
			opt, err = NewSGD([]*Param{m.w}, SGDConfig{LR: 0.01, Momentum: 0.9})
		} else {
			opt, err = NewAdam([]*Param{m.w}, AdamDefaults())
		}
		require.NoError(t, err)
		defer opt.Close()
		for range 3 {
			_, err := m.step()
			require.NoError(t, err)
			require.NoError(t, opt.Step())
		}
		before := stateBytes(t, opt, m.w)
		cfg := LRRangeDefaults()
		cfg.MaxLR = 1e3 // Adam's normalised steps need lr in the hundreds to blow up here
		res, err := LRRangeTest(opt, []*Param{m.w}, m.step, cfg)
		require.NoError(t, err, kind)
		require.Equal(t, before, stateBytes(t, opt, m.w), "%s: the test changed the model or the optimizer", kind)
		require.True(t, res.Diverged, "%s: the loss never diverged up to lr 1000", kind)
		require.Less(t, len(res.LRs), 100, kind)
		require.Len(t, res.Losses, len(res.LRs))
		last := res.LRs[len(res.LRs)-1]
		for _, s := range []float64{res.Steepest, res.MinOver10} {
			require.Greater(t, s, 0.0, kind)
			require.Less(t, s, last, "%s: a suggestion at or past the divergence", kind)
		}
		require.Equal(t, int64(3), opt.StepCount(0, 0), kind)
	}
}

// TestLRRangeTestGroupsAndSchedule: the rates rise geometrically (or linearly) from
// MinLR, and every group keeps its ratio to group 0.
func TestLRRangeTestGroupsAndSchedule(t *testing.T) {
	m := newQuadModel(t, 16)
	other, err := NewParam("v", 4)
	require.NoError(t, err)
	defer other.Close()
	opt, err := NewSGD([]*Param{m.w}, SGDConfig{LR: 0.1})
	require.NoError(t, err)
	defer opt.Close()
	require.NoError(t, opt.AddParamGroup([]*Param{other}, SGDConfig{LR: 0.3}))
	for _, linear := range []bool{false, true} {
		var ratios []float64
		cfg := LRRangeConfig{MinLR: 1e-4, MaxLR: 1e-2, Steps: 5, Linear: linear, Smoothing: 0.5, Diverge: 1e9}
		res, err := LRRangeTest(opt, []*Param{m.w, other}, func() (float64, error) {
			ratios = append(ratios, opt.GroupLR(1)/opt.GroupLR(0))
			return m.step()
		}, cfg)
		require.NoError(t, err)
		require.Len(t, res.LRs, 5)
		want := []float64{1e-4, 1e-3 / math.Sqrt(10), 1e-3, 1e-2 / math.Sqrt(10), 1e-2}
		if linear {
			want = []float64{1e-4, 2.575e-3, 5.05e-3, 7.525e-3, 1e-2}
		}
		for i := range want {
			require.InEpsilon(t, want[i], res.LRs[i], 1e-12, "lr %d", i)
			require.InEpsilon(t, 3.0, ratios[i], 1e-12, "group ratio at step %d", i)
		}
		require.False(t, res.Diverged)
		require.Equal(t, 0.1, opt.GroupLR(0))
		require.Equal(t, 0.3, opt.GroupLR(1))
	}
}

// TestLRRangeTestErrors: bad configs are refused before anything runs; a failing
// step function ends the test with its error and everything restored.
func TestLRRangeTestErrors(t *testing.T) {
	m := newQuadModel(t, 8)
	opt, err := NewAdam([]*Param{m.w}, AdamDefaults())
	require.NoError(t, err)
	defer opt.Close()
	bad := []func(*LRRangeConfig){
		func(c *LRRangeConfig) { c.MinLR = 0 },
		func(c *LRRangeConfig) { c.MaxLR = c.MinLR },
		func(c *LRRangeConfig) { c.MaxLR = math.Inf(1) },
		func(c *LRRangeConfig) { c.Steps = 2 },
		func(c *LRRangeConfig) { c.Smoothing = 1 },
		func(c *LRRangeConfig) { c.Diverge = 1 },
	}
	for i, f := range bad {
		cfg := LRRangeDefaults()
		f(&cfg)
		_, err := LRRangeTest(opt, []*Param{m.w}, m.step, cfg)
		require.ErrorIs(t, err, ErrInvalidConfig, "case %d", i)
	}
	_, err = LRRangeTest(nil, nil, m.step, LRRangeDefaults())
	require.ErrorIs(t, err, ErrInvalidArgument)
	_, err = m.step()
	require.NoError(t, err)
	before := stateBytes(t, opt, m.w)
	boom := errors.New("boom")
	calls := 0
	_, err = LRRangeTest(opt, []*Param{m.w}, func() (float64, error) {
		if calls++; calls == 4 {
			return 0, boom
		}
		return m.step()
	}, LRRangeDefaults())
	require.ErrorIs(t, err, boom)
	require.Equal(t, before, stateBytes(t, opt, m.w))
}
