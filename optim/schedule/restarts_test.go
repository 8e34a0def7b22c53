package schedule_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/optim"
	"github.com/goptim/goptim/optim/schedule"
)

func TestScheduleRestartsValidation(t *testing.T) {
	g := newFakeGroups([]float64{0.1}, nil)
	for _, c := range []struct {
		field string
		cfg   schedule.CosineAnnealingWarmRestartsConfig
	}{
		{"T_0", schedule.CosineAnnealingWarmRestartsConfig{T0: 0, TMult: 1}},
		{"T_0", schedule.CosineAnnealingWarmRestartsConfig{T0: -3, TMult: 1}},
		{"T_mult", schedule.CosineAnnealingWarmRestartsConfig{T0: 3}},
		{"eta_min", schedule.CosineAnnealingWarmRestartsConfig{T0: 3, TMult: 1, EtaMin: -1e-3}},
		{"eta_min", schedule.CosineAnnealingWarmRestartsConfig{T0: 3, TMult: 1, EtaMin: math.NaN()}},
	} {
		_, err := schedule.NewCosineAnnealingWarmRestarts(g, c.cfg)
		require.ErrorIs(t, err, optim.ErrInvalidConfig)
		var ce *optim.ConfigError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, c.field, ce.Field, "%v", err)
	}
	require.Equal(t, []float64{0.1}, g.lr)
}

// restartsAt is the schedule's closed form at a whole epoch, by walking the cycles.
func restartsAt(t0, mult int, emin, base float64, epoch int) (lr, tCur float64, tI int) {
	start, ti := 0, t0
	for start+ti <= epoch {
		start += ti
		ti *= mult
	}
	tc := float64(epoch - start)
	return emin + (base-emin)*(1+math.Cos(math.Pi*tc/float64(ti)))/2, tc, ti
}

// Property: Step and StepEpoch at whole epochs both follow the closed form; the lr is
// base_lr exactly at every restart and stays within [eta_min, base_lr].
func TestScheduleRestartsClosedForm(t *testing.T) {
	for _, c := range []struct{ t0, mult int }{{1, 1}, {4, 1}, {10, 1}, {1, 2}, {3, 2}, {5, 3}, {2, 7}} {
		const emin = 1e-3
		base := []float64{0.1, 0.5}
		g := newFakeGroups(base, nil)
		s, err := schedule.NewCosineAnnealingWarmRestarts(g, schedule.CosineAnnealingWarmRestartsConfig{T0: c.t0, TMult: c.mult, EtaMin: emin})
		require.NoError(t, err)
		h := newFakeGroups(base, nil)
		e2, err := schedule.NewCosineAnnealingWarmRestarts(h, schedule.CosineAnnealingWarmRestartsConfig{T0: c.t0, TMult: c.mult, EtaMin: emin})
		require.NoError(t, err)
		for e := 0; e <= 300; e++ {
			if e > 0 {
				require.NoError(t, s.Step())
			}
			require.NoError(t, e2.StepEpoch(float64(e)))
			for i, b := range base {
				want, tc, ti := restartsAt(c.t0, c.mult, emin, b, e)
				require.InDelta(t, want, g.lr[i], 1e-12*b, "T_0 %d T_mult %d epoch %d", c.t0, c.mult, e)
				require.Equal(t, g.lr[i], h.lr[i], "Step and StepEpoch, T_0 %d T_mult %d epoch %d", c.t0, c.mult, e)
				require.Equal(t, tc, s.TCur())
				require.Equal(t, ti, s.TI())
				if tc == 0 {
					require.Equal(t, b, g.lr[i], "restart at epoch %d", e)
				}
				require.GreaterOrEqual(t, g.lr[i], emin)
				require.LessOrEqual(t, g.lr[i], b)
			}
			require.Equal(t, e, s.LastEpoch())
			require.Equal(t, e, e2.LastEpoch())
		}
	}
}

// StepEpoch with a fractional epoch anneals inside an epoch; a Step after it goes on
// by whole epochs; an epoch exactly at a restart (where torch's logarithm can land a
// cycle early) gives base_lr.
func TestScheduleRestartsStepEpoch(t *testing.T) {
	g := newFakeGroups([]float64{1}, nil)
	s, err := schedule.NewCosineAnnealingWarmRestarts(g, schedule.CosineAnnealingWarmRestartsConfig{T0: 10, TMult: 10})
	require.NoError(t, err)
	require.NoError(t, s.StepEpoch(2.5))
	require.Equal(t, 2, s.LastEpoch())
	require.Equal(t, 2.5, s.TCur())
	require.InDelta(t, (1+math.Cos(math.Pi*0.25))/2, g.lr[0], 1e-15)
	require.NoError(t, s.Step())
	require.Equal(t, 3, s.LastEpoch())
	require.Equal(t, 3.5, s.TCur())
	for _, e := range []float64{10, 110, 1110, 11110} { // restarts of T_0 10, T_mult 10
		require.NoError(t, s.StepEpoch(e))
		require.Equal(t, 0.0, s.TCur(), "epoch %v", e)
		require.Equal(t, 1.0, g.lr[0], "epoch %v", e)
	}
	require.Equal(t, 100000, s.TI())
	require.NoError(t, s.StepEpoch(1109.75)) // the last quarter epoch of the 1000-epoch cycle
	require.Equal(t, 999.75, s.TCur())
	require.Equal(t, 1000, s.TI())

	for _, bad := range []float64{-0.5, math.NaN(), math.Inf(1), 1 << 53} {
		lr, tc, ep := g.lr[0], s.TCur(), s.LastEpoch()
		require.ErrorIs(t, s.StepEpoch(bad), optim.ErrInvalidConfig, "epoch %v", bad)
		require.Equal(t, lr, g.lr[0])
		require.Equal(t, tc, s.TCur())
		require.Equal(t, ep, s.LastEpoch())
	}
}

// The state carries T_cur (fractional) and T_i; a restored schedule goes on as the
// original; states that do not fit are refused and change nothing.
func TestScheduleRestartsState(t *testing.T) {
	cfg := schedule.CosineAnnealingWarmRestartsConfig{T0: 3, TMult: 2, EtaMin: 1e-4}
	g := newFakeGroups([]float64{0.1}, nil)
	s, err := schedule.NewCosineAnnealingWarmRestarts(g, cfg)
	require.NoError(t, err)
	require.NoError(t, s.StepEpoch(7.3))
	require.NoError(t, s.Step())
	blob, err := json.Marshal(s.State())
	require.NoError(t, err)
	require.Contains(t, string(blob), `"T_i":6`)

	g2 := newFakeGroups([]float64{0.1}, nil)
	s2, err := schedule.NewCosineAnnealingWarmRestarts(g2, cfg)
	require.NoError(t, err)
	var st schedule.State
	require.NoError(t, json.Unmarshal(blob, &st))
	require.NoError(t, s2.SetState(st))
	copy(g2.lr, g.lr)
	require.Equal(t, s.State(), s2.State())
	for k := 0; k < 40; k++ {
		require.NoError(t, s.Step())
		require.NoError(t, s2.Step())
		require.Equal(t, g.lr, g2.lr, "step %d", k)
		require.Equal(t, s.TI(), s2.TI())
	}

	bad := s.State()
	bad.TI = 2 // below T_0
	require.ErrorIs(t, s2.SetState(bad), optim.ErrCheckpoint)
	bad = s.State()
	bad.TI = 9 // not 3*2^k
	require.ErrorIs(t, s2.SetState(bad), optim.ErrCheckpoint)
	bad = s.State()
	bad.TCur = math.NaN()
	require.ErrorIs(t, s2.SetState(bad), optim.ErrCheckpoint)
	bad = s.State()
	bad.TCur = float64(bad.TI) // T_cur < T_i always
	require.ErrorIs(t, s2.SetState(bad), optim.ErrCheckpoint)
	require.Equal(t, s.State(), s2.State())

	// other schedules refuse a state with T_cur/T_i
	one, err := schedule.NewStepLR(newFakeGroups([]float64{1}, nil), schedule.StepLRConfig{StepSize: 1, Gamma: 0.5})
	require.NoError(t, err)
	st1 := one.State()
	st1.TI = 3
	require.ErrorIs(t, one.SetState(st1), optim.ErrCheckpoint)
}
