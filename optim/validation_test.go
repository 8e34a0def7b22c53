package optim

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// Validation happens in Go before any C call: every bad input gives a typed,
// descriptive error that names the param (or option) at fault, and changes nothing.

// Every invalid hyperparameter is refused with a ConfigError naming the option.
func TestInvalidConfigsAreRefused(t *testing.T) {
	p, err := NewParam("w", 3)
	require.NoError(t, err)
	defer p.Close()
	ps := []*Param{p}
	adam := func(f func(*AdamConfig)) func() error {
		return func() error {
			c := AdamDefaults()
			f(&c)
			_, err := NewAdam(ps, c)
			return err
		}
	}
	cases := []struct {
		name  string
		field string
		make  func() error
	}{
		{"sgd negative lr", "lr", func() error { _, err := NewSGD(ps, SGDDefaults(-1)); return err }},
		{"sgd NaN lr", "lr", func() error { _, err := NewSGD(ps, SGDDefaults(math.NaN())); return err }},
		{"sgd negative momentum", "momentum", func() error { _, err := NewSGD(ps, SGDConfig{LR: 1, Momentum: -0.1}); return err }},
		{"sgd nesterov without momentum", "nesterov", func() error { _, err := NewSGD(ps, SGDConfig{LR: 1, Nesterov: true}); return err }},
		{"sgd nesterov with dampening", "nesterov", func() error {
			_, err := NewSGD(ps, SGDConfig{LR: 1, Momentum: 0.9, Dampening: 0.1, Nesterov: true})
			return err
		}},
		{"sgd negative weight decay", "weight_decay", func() error { _, err := NewSGD(ps, SGDConfig{LR: 1, WeightDecay: -1}); return err }},
		{"adam negative lr", "lr", adam(func(c *AdamConfig) { c.LR = -1e-3 })},
		{"adam beta1 = 1", "betas[0]", adam(func(c *AdamConfig) { c.Beta1 = 1 })},
		{"adam beta2 < 0", "betas[1]", adam(func(c *AdamConfig) { c.Beta2 = -0.5 })},
		{"adam negative eps", "eps", adam(func(c *AdamConfig) { c.Eps = -1 })},
		{"adam infinite weight decay", "weight_decay", adam(func(c *AdamConfig) { c.WeightDecay = math.Inf(1) })},
		{"adagrad negative lr_decay", "lr_decay", func() error {
			c := AdagradDefaults()
			c.LRDecay = -1
			_, err := NewAdagrad(ps, c)
			return err
		}},
		{"adagrad negative initial accumulator", "initial_accumulator_value", func() error {
			c := AdagradDefaults()
			c.InitialAccumulatorValue = -1
			_, err := NewAdagrad(ps, c)
			return err
		}},
		{"rmsprop negative alpha", "alpha", func() error {
			c := RMSpropDefaults()
			c.Alpha = -0.1
			_, err := NewRMSprop(ps, c)
			return err
		}},
		{"rmsprop negative momentum", "momentum", func() error {
			c := RMSpropDefaults()
			c.Momentum = -0.1
			_, err := NewRMSprop(ps, c)
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.make()
			require.ErrorIs(t, err, ErrInvalidConfig)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tc.field, ce.Field)
		})
	}
}

// A bad param anywhere fails the whole step before anything changes.
func TestStepChecksEverythingFirst(t *testing.T) {
	a, err := NewParam("a", 4)
	require.NoError(t, err)
	defer a.Close()
	b, err := NewParam("b", 4)
	require.NoError(t, err)
	defer b.Close()
	short, err := NewTensor(3)
	require.NoError(t, err)
	defer short.Close()
	require.NoError(t, a.Grad.Fill(1))
	opt, err := NewSGD([]*Param{a, b}, SGDDefaults(0.5))
	require.NoError(t, err)
	defer opt.Close()

	good := b.Grad
	b.Grad = short
	err = opt.Step()
	var se *ShapeError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "b", se.Param)
	v, _ := a.Data.Values()
	require.Equal(t, []float32{0, 0, 0, 0}, v, "param a must not move when b is bad")
	require.Equal(t, int64(0), opt.StepCount(0, 0))

	// A nil gradient is skipped, as torch skips params whose grad is None.
	b.Grad = nil
	require.NoError(t, opt.Step())
	v, _ = a.Data.Values()
	require.Equal(t, []float32{-0.5, -0.5, -0.5, -0.5}, v)
	require.Equal(t, int64(1), opt.StepCount(0, 0))
	require.Equal(t, int64(0), opt.StepCount(0, 1))
	b.Grad = good

	require.NoError(t, opt.Close())
	require.ErrorIs(t, opt.Step(), ErrClosed)
	require.ErrorIs(t, opt.ZeroGrad(), ErrClosed)
}

func TestParamInTwoGroupsIsRefused(t *testing.T) {
	p, err := NewParam("p", 2)
	require.NoError(t, err)
	defer p.Close()
	opt, err := NewAdam([]*Param{p}, AdamDefaults())
	require.NoError(t, err)
	defer opt.Close()
	require.ErrorIs(t, opt.AddParamGroup([]*Param{p}, AdamDefaults()), ErrInvalidConfig)
	_, err = NewAdam([]*Param{nil}, AdamDefaults())
	require.ErrorIs(t, err, ErrNilParam)
}

func TestSetConfigKeepsStateLayout(t *testing.T) {
	p, err := NewParam("p", 2)
	require.NoError(t, err)
	defer p.Close()
	opt, err := NewSGD([]*Param{p}, SGDDefaults(0.1))
	require.NoError(t, err)
	defer opt.Close()
	require.ErrorIs(t, opt.SetGroupMomentum(0, 0.9), ErrInvalidConfig, "momentum buffer would appear mid-run")
	require.NoError(t, opt.SetGroupLR(0, 0.2))
	require.Equal(t, 0.2, opt.GroupLR(0))
	require.ErrorIs(t, opt.SetGroupLR(0, -1), ErrInvalidConfig)
	require.Error(t, opt.SetGroupLR(3, 0.1))
}

// stepCalls are the optimizer calls that read every param.
var stepCalls = []struct {
	name string
	call func(Optimizer) error
}{
	{"Step", func(o Optimizer) error { return o.Step() }},
	{"ClipStep", func(o Optimizer) error { return o.ClipStep(1, 2) }},
	{"ZeroGrad", func(o Optimizer) error { return o.ZeroGrad() }},
	{"GradScaler.Step", func(o Optimizer) error {
		s, err := NewGradScaler(GradScalerDefaults())
		if err != nil {
			return err
		}
		_, err = s.Step(o)
		return err
	}},
}

func TestLengthMismatchChangesNothing(t *testing.T) {
	for _, kind := range allKinds {
		for _, call := range stepCalls {
			t.Run(kind+"/"+call.name, func(t *testing.T) {
				params := mixedParams(t)
				opt, err := newKind(kind, params[:2])
				require.NoError(t, err)
				defer opt.Close()
				require.NoError(t, addKindGroup(kind, opt, params[2:]))
				fillRandom(t, params, 1)
				require.NoError(t, opt.Step())
				require.NoError(t, opt.Step())

				// A gradient of the wrong length on the last param of the second group.
				short, err := NewTensor(params[3].Data.Len() - 1)
				require.NoError(t, err)
				defer short.Close()
				good := params[3].Grad
				params[3].Grad = short
				before := takeSnapshot(t, opt, params)
				err = call.call(opt)
				var se *ShapeError
				require.ErrorAs(t, err, &se)
				require.ErrorIs(t, err, ErrShape)
				require.Equal(t, "wrapped", se.Param)
				require.Equal(t, "grad", se.What)
				require.Equal(t, params[3].Data.Len()-1, se.Got)
				require.Equal(t, params[3].Data.Len(), se.Want)
				require.Equal(t, fmt.Sprintf("optim: param wrapped: grad has %d elements, want %d", se.Got, se.Want), err.Error())
				requireUnchanged(t, before, opt, params, "grad length mismatch")
				require.Equal(t, int64(2), opt.StepCount(0, 0), "step counts unchanged")
				params[3].Grad = good

				// The data tensor replaced by one of another length: it no longer fits the
				// optimizer's state.
				long, err := NewTensor(params[2].Data.Len() + 3)
				require.NoError(t, err)
				defer long.Close()
				data := params[2].Data
				params[2].Data = long
				before = takeSnapshot(t, opt, params)
				err = call.call(opt)
				require.ErrorAs(t, err, &se)
				require.Equal(t, "own", se.Param)
				require.Equal(t, "data", se.What)
				requireUnchanged(t, before, opt, params, "data length mismatch")
				params[2].Data = data

				require.NoError(t, call.call(opt), "the optimizer works again once the params are fixed")
			})
		}
	}
}

// A param without a name is labelled by its index in its group.
func TestUnnamedParamIsLabelledByIndex(t *testing.T) {
	a, err := NewParam("", 4)
	require.NoError(t, err)
	defer a.Close()
	b, err := NewParam("", 4)
	require.NoError(t, err)
	defer b.Close()
	opt, err := NewSGD([]*Param{a, b}, SGDDefaults(0.1))
	require.NoError(t, err)
	defer opt.Close()
	short, err := NewTensor(2)
	require.NoError(t, err)
	defer short.Close()
	b.Grad = short
	require.EqualError(t, opt.Step(), "optim: param #1: grad has 2 elements, want 4")
}

// Params whose Grad is nil are skipped, as torch skips params whose .grad is None:
// their data, state and step count do not change; the others step normally.
func TestNilGradIsSkipped(t *testing.T) {
	for _, kind := range allKinds {
		t.Run(kind, func(t *testing.T) {
			params := mixedParams(t)
			opt, err := newKind(kind, params)
			require.NoError(t, err)
			defer opt.Close()
			fillRandom(t, params, 2)
			require.NoError(t, opt.Step())

			// A twin with the same params where only the stepping ones exist.
			twinParams := mixedParams(t)
			twin, err := newKind(kind, twinParams)
			require.NoError(t, err)
			defer twin.Close()
			fillRandom(t, twinParams, 2)
			require.NoError(t, twin.Step())

			skip := []int{1, 3}
			saved := map[int]*Tensor{}
			for _, i := range skip {
				saved[i] = params[i].Grad
				params[i].Grad = nil
			}
			skippedBefore := takeSnapshot(t, nil, []*Param{params[1], params[3]})
			stBefore := map[int][]float32{}
			for _, i := range skip {
				st, err := firstState(opt, kind, i)
				require.NoError(t, err)
				stBefore[i] = st
			}
			require.NoError(t, opt.Step())
			require.NoError(t, opt.Step())
			requireUnchanged(t, skippedBefore, nil, []*Param{params[1], params[3]}, "a param with a nil grad")
			for _, i := range skip {
				st, err := firstState(opt, kind, i)
				require.NoError(t, err)
				require.Equal(t, stBefore[i], st, "state of a skipped param")
				require.Equal(t, int64(1), opt.StepCount(0, i), "step count of a skipped param")
			}
			require.Equal(t, int64(3), opt.StepCount(0, 0))
			require.Equal(t, int64(3), opt.StepCount(0, 2))

			// The params that stepped did exactly what a step without the others does.
			twinSub := []*Param{twinParams[0], twinParams[2]}
			for _, i := range []int{1, 3} {
				twinParams[i].Grad = nil
			}
			require.NoError(t, twin.Step())
			require.NoError(t, twin.Step())
			require.Equal(t, takeSnapshot(t, nil, twinSub).data, takeSnapshot(t, nil, []*Param{params[0], params[2]}).data)

			// Back again: the skipped params resume at their own step count.
			for i, g := range saved {
				params[i].Grad = g
			}
			require.NoError(t, opt.Step())
			require.Equal(t, int64(2), opt.StepCount(0, 1))
			require.Equal(t, int64(4), opt.StepCount(0, 0))

			// Every grad nil: a step is a no-op, not an error.
			all := takeSnapshot(t, opt, params)
			grads := make([]*Tensor, len(params))
			for i, p := range params {
				grads[i], p.Grad = p.Grad, nil
			}
			require.NoError(t, opt.Step())
			require.NoError(t, opt.ZeroGrad())
			for i, p := range params {
				p.Grad = grads[i]
			}
			requireUnchanged(t, all, opt, params, "a step with no gradients")
		})
	}
}

// firstState is param i's (of group 0) first state tensor: firstSlot's, or for the
// optimizers whose state depends on the param's shape, the one the param keeps.
func firstState(opt Optimizer, kind string, i int) ([]float32, error) {
	switch kind {
	case "muon":
		if st, err := opt.State(0, i, "momentum_buffer"); err == nil {
			return st, nil
		}
		return opt.State(0, i, "exp_avg")
	case "adafactor":
		if st, err := opt.State(0, i, "variance"); err == nil {
			return st, nil
		}
		return opt.State(0, i, "row_var")
	}
	return opt.State(0, i, firstSlot(kind))
}

func firstSlot(kind string) string {
	switch kind {
	case "sgd", "lars":
		return "momentum_buffer"
	case "adam", "adamw", "adamax", "radam", "nadam", "lion", "lamb":
		return "exp_avg"
	case "ademamix":
		return "exp_avg_slow"
	case "asgd":
		return "ax"
	case "adafactor":
		return "variance"
	case "adadelta":
		return "square_avg"
	case "schedulefree_adamw":
		// z: a copy of the param at its first step, moved by every step after.
		return "z"
	case "rprop":
		return "prev"
	case "adagrad":
		return "sum"
	}
	return "square_avg"
}

// Clipping skips nil grads too, and refuses nil params.
func TestClipNilGrads(t *testing.T) {
	a, err := NewParam("a", 3)
	require.NoError(t, err)
	defer a.Close()
	b, err := NewParam("b", 3)
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, a.Grad.CopyFrom([]float32{3, 4, 0}))
	bg := b.Grad
	b.Grad = nil
	defer func() { b.Grad = bg }()
	n, err := GradNorm([]*Param{a, b}, 2)
	require.NoError(t, err)
	require.InDelta(t, 5, n, 1e-6)
	_, err = ClipGradNorm([]*Param{a, b}, 1, 2, true)
	require.NoError(t, err)
	require.NoError(t, ClipGradValue([]*Param{b}, 1))
	_, err = GradNorm([]*Param{a, nil}, 2)
	require.ErrorIs(t, err, ErrNilParam)
	require.EqualError(t, err, "optim: grad_norm: param 1: optim: nil parameter")
}

// A nil param, or a param whose Data is nil, is refused by constructors and by Step
// (a param's Data set to nil after construction).
func TestNilParams(t *testing.T) {
	p, err := NewParam("p", 2)
	require.NoError(t, err)
	defer p.Close()
	_, err = NewSGD([]*Param{p, nil}, SGDDefaults(0.1))
	require.EqualError(t, err, "optim: sgd: param 1: optim: nil parameter")
	require.ErrorIs(t, err, ErrNilParam)
	_, err = NewAdam([]*Param{{Name: "empty"}}, AdamDefaults())
	require.ErrorIs(t, err, ErrNilParam)

	opt, err := NewSGD([]*Param{p}, SGDDefaults(0.1))
	require.NoError(t, err)
	defer opt.Close()
	require.ErrorIs(t, opt.AddParamGroup([]*Param{nil}, SGDDefaults(0.1)), ErrNilParam)
	require.Equal(t, 1, opt.NumGroups(), "a refused group is not added")
	d := p.Data
	p.Data = nil
	require.EqualError(t, opt.Step(), "optim: sgd: group 0 param 0: optim: nil parameter")
	p.Data = d
	require.NoError(t, opt.Step())
}

// torchValid is torch.optim's own rule for each option (torch 2.x's constructors),
// written independently of this package's validate functions. goptim is stricter in
// one way: it refuses NaN and Inf, which torch's comparisons let through.
func finiteNonNeg(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }

func TestHyperparametersMatchTorchRules(t *testing.T) {
	p, err := NewParam("w", 2)
	require.NoError(t, err)
	defer p.Close()
	ps := []*Param{p}
	values := []float64{-1, -1e-12, math.Copysign(0, -1), 0, 1e-12, 0.5, 0.999, 1, 1.5, 1e9, math.NaN(), math.Inf(1), math.Inf(-1)}
	unit := func(v float64) bool { return v >= 0 && v < 1 }
	type field struct {
		name  string
		ok    func(float64) bool
		build func(v float64) error
	}
	var fields []field
	sgd := func(set func(*SGDConfig, float64)) func(float64) error {
		return func(v float64) error {
			c := SGDConfig{LR: 0.1, Momentum: 0.9}
			set(&c, v)
			_, err := NewSGD(ps, c)
			return err
		}
	}
	fields = append(fields,
		field{"sgd lr", finiteNonNeg, sgd(func(c *SGDConfig, v float64) { c.LR = v })},
		field{"sgd momentum", finiteNonNeg, sgd(func(c *SGDConfig, v float64) { c.Momentum = v })},
		field{"sgd dampening", finiteNonNeg, sgd(func(c *SGDConfig, v float64) { c.Dampening = v })},
		field{"sgd weight_decay", finiteNonNeg, sgd(func(c *SGDConfig, v float64) { c.WeightDecay = v })},
		// nesterov: torch requires momentum > 0 and dampening == 0.
		field{"sgd nesterov momentum", func(v float64) bool { return finiteNonNeg(v) && v > 0 },
			sgd(func(c *SGDConfig, v float64) { c.Nesterov, c.Momentum = true, v })},
		field{"sgd nesterov dampening", func(v float64) bool { return v == 0 },
			sgd(func(c *SGDConfig, v float64) { c.Nesterov, c.Dampening = true, v })},
	)
	for _, kind := range []string{"adam", "adamw"} {
		adam := func(set func(*AdamConfig, float64)) func(float64) error {
			return func(v float64) error {
				c := AdamDefaults()
				set(&c, v)
				var err error
				if kind == "adam" {
					_, err = NewAdam(ps, c)
				} else {
					_, err = NewAdamW(ps, c)
				}
				return err
			}
		}
		fields = append(fields,
			field{kind + " lr", finiteNonNeg, adam(func(c *AdamConfig, v float64) { c.LR = v })},
			field{kind + " betas[0]", unit, adam(func(c *AdamConfig, v float64) { c.Beta1 = v })},
			field{kind + " betas[1]", unit, adam(func(c *AdamConfig, v float64) { c.Beta2 = v })},
			field{kind + " eps", finiteNonNeg, adam(func(c *AdamConfig, v float64) { c.Eps = v })},
			field{kind + " weight_decay", finiteNonNeg, adam(func(c *AdamConfig, v float64) { c.WeightDecay = v })},
		)
	}
	adagrad := func(set func(*AdagradConfig, float64)) func(float64) error {
		return func(v float64) error {
			c := AdagradDefaults()
			set(&c, v)
			_, err := NewAdagrad(ps, c)
			return err
		}
	}
	fields = append(fields,
		field{"adagrad lr", finiteNonNeg, adagrad(func(c *AdagradConfig, v float64) { c.LR = v })},
		field{"adagrad lr_decay", finiteNonNeg, adagrad(func(c *AdagradConfig, v float64) { c.LRDecay = v })},
		field{"adagrad weight_decay", finiteNonNeg, adagrad(func(c *AdagradConfig, v float64) { c.WeightDecay = v })},
		field{"adagrad initial_accumulator_value", finiteNonNeg, adagrad(func(c *AdagradConfig, v float64) { c.InitialAccumulatorValue = v })},
		field{"adagrad eps", finiteNonNeg, adagrad(func(c *AdagradConfig, v float64) { c.Eps = v })},
	)
	rms := func(set func(*RMSpropConfig, float64)) func(float64) error {
		return func(v float64) error {
			c := RMSpropDefaults()
			set(&c, v)
			_, err := NewRMSprop(ps, c)
			return err
		}
	}
	fields = append(fields,
		field{"rmsprop lr", finiteNonNeg, rms(func(c *RMSpropConfig, v float64) { c.LR = v })},
		field{"rmsprop alpha", finiteNonNeg, rms(func(c *RMSpropConfig, v float64) { c.Alpha = v })},
		field{"rmsprop eps", finiteNonNeg, rms(func(c *RMSpropConfig, v float64) { c.Eps = v })},
		field{"rmsprop weight_decay", finiteNonNeg, rms(func(c *RMSpropConfig, v float64) { c.WeightDecay = v })},
		field{"rmsprop momentum", finiteNonNeg, rms(func(c *RMSpropConfig, v float64) { c.Momentum = v })},
	)
	adamax := func(set func(*AdamaxConfig, float64)) func(float64) error {
		return func(v float64) error {
			c := AdamaxDefaults()
			set(&c, v)
			_, err := NewAdamax(ps, c)
			return err
		}
	}
	radam := func(set func(*RAdamConfig, float64)) func(float64) error {
		return func(v float64) error {
			c := RAdamDefaults()
			set(&c, v)
			_, err := NewRAdam(ps, c)
			return err
		}
	}
	adadelta := func(set func(*AdadeltaConfig, float64)) func(float64) error {
		return func(v float64) error {
			c := AdadeltaDefaults()
			set(&c, v)
			_, err := NewAdadelta(ps, c)
			return err
		}
	}
	rprop := func(set func(*RpropConfig, float64)) func(float64) error {
		return func(v float64) error {
			c := RpropDefaults()
			set(&c, v)
			_, err := NewRprop(ps, c)
			return err
		}
	}
	nadam := func(set func(*NAdamConfig, float64)) func(float64) error {
		return func(v float64) error {
			c := NAdamDefaults()
			set(&c, v)
			_, err := NewNAdam(ps, c)
			return err
		}
	}
	asgd := func(set func(*ASGDConfig, float64)) func(float64) error {
		return func(v float64) error {
			c := ASGDDefaults()
			set(&c, v)
			_, err := NewASGD(ps, c)
			return err
		}
	}
	lion := func(set func(*LionConfig, float64)) func(float64) error {
		return func(v float64) error {
			c := LionDefaults()
			set(&c, v)
			_, err := NewLion(ps, c)
			return err
		}
	}
	ademamix := func(set func(*AdEMAMixConfig, float64)) func(float64) error {
		return func(v float64) error {
			c := AdEMAMixDefaults()
			set(&c, v)
			_, err := NewAdEMAMix(ps, c)
			return err
		}
	}
	lamb := func(set func(*LAMBConfig, float64)) func(float64) error {
		return func(v float64) error {
			c := LAMBDefaults()
			set(&c, v)
			_, err := NewLAMB(ps, c)
			return err
		}
	}
	lars := func(set func(*LARSConfig, float64)) func(float64) error {
		return func(v float64) error {
			c := LARSDefaults(0.1)
			c.Momentum = 0.9
			set(&c, v)
			_, err := NewLARS(ps, c)
			return err
		}
	}
	sf := func(set func(*ScheduleFreeAdamWConfig, float64)) func(float64) error {
		return func(v float64) error {
			c := ScheduleFreeAdamWDefaults()
			set(&c, v)
			_, err := NewScheduleFreeAdamW(ps, c)
			return err
		}
	}
	adafactor := func(set func(*AdafactorConfig, float64)) func(float64) error {
		return func(v float64) error {
			c := AdafactorDefaults()
			set(&c, v)
			_, err := NewAdafactor(ps, c)
			return err
		}
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	fields = append(fields,
		field{"nadam lr", finiteNonNeg, nadam(func(c *NAdamConfig, v float64) { c.LR = v })},
		field{"nadam betas[0]", unit, nadam(func(c *NAdamConfig, v float64) { c.Beta1 = v })},
		field{"nadam betas[1]", unit, nadam(func(c *NAdamConfig, v float64) { c.Beta2 = v })},
		field{"nadam eps", finiteNonNeg, nadam(func(c *NAdamConfig, v float64) { c.Eps = v })},
		field{"nadam weight_decay", finiteNonNeg, nadam(func(c *NAdamConfig, v float64) { c.WeightDecay = v })},
		field{"nadam momentum_decay", finiteNonNeg, nadam(func(c *NAdamConfig, v float64) { c.MomentumDecay = v })},
		field{"asgd lr", finiteNonNeg, asgd(func(c *ASGDConfig, v float64) { c.LR = v })},
		field{"asgd weight_decay", finiteNonNeg, asgd(func(c *ASGDConfig, v float64) { c.WeightDecay = v })},
		// torch leaves lambd, alpha and t0 unchecked; goptim refuses negative lambd and
		// alpha (eta would grow without bound) and a NaN t0.
		field{"asgd lambd", finiteNonNeg, asgd(func(c *ASGDConfig, v float64) { c.Lambd = v })},
		field{"asgd alpha", finiteNonNeg, asgd(func(c *ASGDConfig, v float64) { c.Alpha = v })},
		field{"asgd t0", func(v float64) bool { return !math.IsNaN(v) }, asgd(func(c *ASGDConfig, v float64) { c.T0 = v })},
		field{"lion lr", finiteNonNeg, lion(func(c *LionConfig, v float64) { c.LR = v })},
		field{"lion betas[0]", unit, lion(func(c *LionConfig, v float64) { c.Beta1 = v })},
		field{"lion betas[1]", unit, lion(func(c *LionConfig, v float64) { c.Beta2 = v })},
		// The reference leaves weight_decay unchecked; goptim refuses a negative one.
		field{"lion weight_decay", finiteNonNeg, lion(func(c *LionConfig, v float64) { c.WeightDecay = v })},
		field{"ademamix lr", finiteNonNeg, ademamix(func(c *AdEMAMixConfig, v float64) { c.LR = v })},
		field{"ademamix betas[0]", unit, ademamix(func(c *AdEMAMixConfig, v float64) { c.Beta1 = v })},
		field{"ademamix betas[1]", unit, ademamix(func(c *AdEMAMixConfig, v float64) { c.Beta2 = v })},
		field{"ademamix betas[2]", unit, ademamix(func(c *AdEMAMixConfig, v float64) { c.Beta3 = v })},
		field{"ademamix alpha", finiteNonNeg, ademamix(func(c *AdEMAMixConfig, v float64) { c.Alpha = v })},
		field{"ademamix eps", finiteNonNeg, ademamix(func(c *AdEMAMixConfig, v float64) { c.Eps = v })},
		field{"ademamix weight_decay", finiteNonNeg, ademamix(func(c *AdEMAMixConfig, v float64) { c.WeightDecay = v })},
		// apex's FusedLAMB checks nothing; goptim applies torch.optim.Adam's rules to the
		// options they share, and refuses a negative max_grad_norm (0 turns the clipping
		// off, where apex would divide every gradient by +Inf).
		field{"lamb lr", finiteNonNeg, lamb(func(c *LAMBConfig, v float64) { c.LR = v })},
		field{"lamb betas[0]", unit, lamb(func(c *LAMBConfig, v float64) { c.Beta1 = v })},
		field{"lamb betas[1]", unit, lamb(func(c *LAMBConfig, v float64) { c.Beta2 = v })},
		field{"lamb eps", finiteNonNeg, lamb(func(c *LAMBConfig, v float64) { c.Eps = v })},
		field{"lamb weight_decay", finiteNonNeg, lamb(func(c *LAMBConfig, v float64) { c.WeightDecay = v })},
		field{"lamb max_grad_norm", finiteNonNeg, lamb(func(c *LAMBConfig, v float64) { c.MaxGradNorm = v })},
		// torch.optim.SGD's rules for SGD's options (LARC hands SGD weight_decay 0 and
		// applies the decay itself); LARC leaves trust_coefficient and eps unchecked,
		// goptim refuses negative ones (a negative adaptive lr would step uphill).
		field{"lars lr", finiteNonNeg, lars(func(c *LARSConfig, v float64) { c.LR = v })},
		field{"lars momentum", finiteNonNeg, lars(func(c *LARSConfig, v float64) { c.Momentum = v })},
		field{"lars dampening", finiteNonNeg, lars(func(c *LARSConfig, v float64) { c.Dampening = v })},
		field{"lars weight_decay", finiteNonNeg, lars(func(c *LARSConfig, v float64) { c.WeightDecay = v })},
		field{"lars nesterov momentum", func(v float64) bool { return finiteNonNeg(v) && v > 0 },
			lars(func(c *LARSConfig, v float64) { c.Nesterov, c.Momentum = true, v })},
		field{"lars nesterov dampening", func(v float64) bool { return v == 0 },
			lars(func(c *LARSConfig, v float64) { c.Nesterov, c.Dampening = true, v })},
		field{"lars trust_coefficient", finiteNonNeg, lars(func(c *LARSConfig, v float64) { c.TrustCoefficient = v })},
		field{"lars eps", finiteNonNeg, lars(func(c *LARSConfig, v float64) { c.Eps = v })},
		// facebookresearch/schedule_free checks none of its options; goptim applies
		// torch.optim.AdamW's rules to the ones they share, except betas[0], which must
		// be in (0, 1): the reference's eval() lerps by 1-1/beta1 (ZeroDivisionError at
		// 0). r and weight_lr_power may be any finite number (the reference computes
		// with negative ones); warmup_steps, an int, is below.
		field{"schedulefree_adamw lr", finiteNonNeg, sf(func(c *ScheduleFreeAdamWConfig, v float64) { c.LR = v })},
		field{"schedulefree_adamw betas[0]", func(v float64) bool { return v > 0 && v < 1 },
			sf(func(c *ScheduleFreeAdamWConfig, v float64) { c.Beta1 = v })},
		field{"schedulefree_adamw betas[1]", unit, sf(func(c *ScheduleFreeAdamWConfig, v float64) { c.Beta2 = v })},
		field{"schedulefree_adamw eps", finiteNonNeg, sf(func(c *ScheduleFreeAdamWConfig, v float64) { c.Eps = v })},
		field{"schedulefree_adamw weight_decay", finiteNonNeg,
			sf(func(c *ScheduleFreeAdamWConfig, v float64) { c.WeightDecay = v })},
		field{"schedulefree_adamw r", finite, sf(func(c *ScheduleFreeAdamWConfig, v float64) { c.R = v })},
		field{"schedulefree_adamw weight_lr_power", finite,
			sf(func(c *ScheduleFreeAdamWConfig, v float64) { c.WeightLRPower = v })},
		field{"adafactor lr", finiteNonNeg, adafactor(func(c *AdafactorConfig, v float64) { c.LR = v })},
		// torch: beta2_decay <= 0 (and a number); -Inf would make 1-beta2_t 0 from step 2 on.
		field{"adafactor beta2_decay", func(v float64) bool { return v <= 0 && finite(v) },
			adafactor(func(c *AdafactorConfig, v float64) { c.Beta2Decay = v })},
		field{"adafactor eps[0]", finiteNonNeg, adafactor(func(c *AdafactorConfig, v float64) { c.Eps1 = v })},
		field{"adafactor eps[1]", finiteNonNeg, adafactor(func(c *AdafactorConfig, v float64) { c.Eps2 = v })},
		// torch: d >= 1, +Inf included (no clipping).
		field{"adafactor d", func(v float64) bool { return v >= 1 }, adafactor(func(c *AdafactorConfig, v float64) { c.D = v })},
		field{"adafactor weight_decay", finiteNonNeg, adafactor(func(c *AdafactorConfig, v float64) { c.WeightDecay = v })},
	)
	fields = append(fields,
		field{"adamax lr", finiteNonNeg, adamax(func(c *AdamaxConfig, v float64) { c.LR = v })},
		field{"adamax betas[0]", unit, adamax(func(c *AdamaxConfig, v float64) { c.Beta1 = v })},
		field{"adamax betas[1]", unit, adamax(func(c *AdamaxConfig, v float64) { c.Beta2 = v })},
		field{"adamax eps", finiteNonNeg, adamax(func(c *AdamaxConfig, v float64) { c.Eps = v })},
		field{"adamax weight_decay", finiteNonNeg, adamax(func(c *AdamaxConfig, v float64) { c.WeightDecay = v })},
		field{"radam lr", finiteNonNeg, radam(func(c *RAdamConfig, v float64) { c.LR = v })},
		field{"radam betas[0]", unit, radam(func(c *RAdamConfig, v float64) { c.Beta1 = v })},
		field{"radam betas[1]", unit, radam(func(c *RAdamConfig, v float64) { c.Beta2 = v })},
		field{"radam eps", finiteNonNeg, radam(func(c *RAdamConfig, v float64) { c.Eps = v })},
		field{"radam weight_decay", finiteNonNeg, radam(func(c *RAdamConfig, v float64) { c.WeightDecay = v })},
		field{"adadelta lr", finiteNonNeg, adadelta(func(c *AdadeltaConfig, v float64) { c.LR = v })},
		// torch: 0 <= rho <= 1.
		field{"adadelta rho", func(v float64) bool { return v >= 0 && v <= 1 },
			adadelta(func(c *AdadeltaConfig, v float64) { c.Rho = v })},
		field{"adadelta eps", finiteNonNeg, adadelta(func(c *AdadeltaConfig, v float64) { c.Eps = v })},
		field{"adadelta weight_decay", finiteNonNeg, adadelta(func(c *AdadeltaConfig, v float64) { c.WeightDecay = v })},
		field{"rprop lr", finiteNonNeg, rprop(func(c *RpropConfig, v float64) { c.LR = v })},
		// torch: 0 < etaminus < 1 < etaplus; step_sizes unchecked (numbers here).
		field{"rprop etas[0]", func(v float64) bool { return v > 0 && v < 1 },
			rprop(func(c *RpropConfig, v float64) { c.EtaMinus = v })},
		field{"rprop etas[1]", func(v float64) bool { return finite(v) && v > 1 },
			rprop(func(c *RpropConfig, v float64) { c.EtaPlus = v })},
		field{"rprop step_sizes[0]", finite, rprop(func(c *RpropConfig, v float64) { c.StepSizeMin = v })},
		field{"rprop step_sizes[1]", finite, rprop(func(c *RpropConfig, v float64) { c.StepSizeMax = v })},
	)
	// Schedule-Free's warmup_steps: any count >= 0 (the reference divides by it only
	// while k < warmup_steps, so 0 means none).
	for _, n := range []int{math.MinInt, -1, 0, 1, 5, math.MaxInt} {
		c := ScheduleFreeAdamWDefaults()
		c.WarmupSteps = n
		_, err := NewScheduleFreeAdamW(ps, c)
		if n >= 0 {
			require.NoError(t, err, "schedulefree_adamw warmup_steps = %d", n)
			continue
		}
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, "schedulefree_adamw warmup_steps = %d", n)
		require.Equal(t, "warmup_steps", ce.Field)
		require.Equal(t, float64(n), ce.Value)
	}
	for _, f := range fields {
		for _, v := range values {
			err := f.build(v)
			if f.ok(v) {
				require.NoError(t, err, "%s = %v is valid in torch", f.name, v)
				continue
			}
			require.Error(t, err, "%s = %v is invalid in torch", f.name, v)
			require.ErrorIs(t, err, ErrInvalidConfig, "%s = %v", f.name, v)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			msg := err.Error()
			// The message names the optimizer, the option and the value given.
			require.Contains(t, msg, "optim: "+ce.Optimizer+": invalid "+ce.Field+" ", f.name)
			require.Contains(t, f.name, ce.Optimizer)
			if !math.IsNaN(v) && ce.Field != "nesterov" {
				require.Equal(t, v, ce.Value, f.name)
			}
		}
	}
}

// SetConfig, SetGroupLR, SetGroupMomentum and AddParamGroup validate too, and a
// refused change changes nothing.
func TestConfigChangesAreValidated(t *testing.T) {
	params := mixedParams(t)
	opt, err := NewAdam(params[:2], AdamDefaults())
	require.NoError(t, err)
	defer opt.Close()
	fillRandom(t, params, 3)
	require.NoError(t, opt.Step())
	before := takeSnapshot(t, opt, params)

	bad := AdamDefaults()
	bad.Beta2 = 1
	require.EqualError(t, opt.SetConfig(0, bad), "optim: adam: invalid betas[1] 1: must be in [0, 1)")
	require.EqualError(t, opt.SetGroupLR(0, -0.5), "optim: adam: invalid lr -0.5: must be finite and >= 0")
	require.EqualError(t, opt.SetGroupMomentum(0, 1.5), "optim: adam: invalid betas[0] 1.5: must be in [0, 1)")
	require.EqualError(t, opt.SetLR(math.Inf(1)), "optim: adam: invalid lr +Inf: must be finite and >= 0")
	ams := AdamDefaults()
	ams.AMSGrad = true
	err = opt.SetConfig(0, ams)
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.Contains(t, err.Error(), "max_exp_avg_sq")
	require.ErrorIs(t, opt.AddParamGroup(params[2:], bad), ErrInvalidConfig)
	require.Equal(t, 1, opt.NumGroups())
	err = opt.SetGroupLR(1, 0.1)
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.EqualError(t, err, "optim: adam: group 1 out of range [0, 1): goptim: invalid argument")
	require.Equal(t, AdamDefaults(), opt.Config(0))
	requireUnchanged(t, before, opt, params, "a refused config change")

	// A group that fails part-way (its second param is closed) is not added, and the
	// params it had taken are free to join another group.
	closed, err := NewParam("closed", 3)
	require.NoError(t, err)
	require.NoError(t, closed.Close())
	err = opt.AddParamGroup([]*Param{params[2], closed}, AdamDefaults())
	require.EqualError(t, err, "optim: adam: param closed: data tensor: optim: used after Close")
	require.NoError(t, opt.AddParamGroup(params[2:], AdamDefaults()))
}

// Clipping and GradScaler options.
func TestClipAndScalerOptions(t *testing.T) {
	p, err := NewParam("w", 3)
	require.NoError(t, err)
	defer p.Close()
	ps := []*Param{p}
	opt, err := NewSGD(ps, SGDDefaults(0.1))
	require.NoError(t, err)
	defer opt.Close()
	before := takeSnapshot(t, opt, ps)
	for _, bad := range []float64{-1, -math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1)} {
		require.ErrorIs(t, opt.ClipStep(bad, 2), ErrInvalidConfig, "max_norm %v", bad)
	}
	for _, bad := range []float64{1, 0, 3, math.Inf(-1), math.NaN()} {
		require.ErrorIs(t, opt.ClipStep(1, bad), ErrInvalidConfig, "norm_type %v", bad)
		_, err := ClipGradNorm(ps, 1, bad, false)
		require.ErrorIs(t, err, ErrInvalidConfig, "norm_type %v", bad)
		_, err = GradNorm(ps, bad)
		require.ErrorIs(t, err, ErrInvalidConfig, "norm_type %v", bad)
	}
	for _, bad := range []float64{-1, math.NaN(), math.Inf(1)} {
		_, err := ClipGradNorm(ps, bad, 2, false)
		require.ErrorIs(t, err, ErrInvalidConfig, "max_norm %v", bad)
		require.ErrorIs(t, ClipGradValue(ps, bad), ErrInvalidConfig, "clip_value %v", bad)
	}
	requireUnchanged(t, before, opt, ps, "refused clipping options")

	for _, c := range []struct {
		field string
		mod   func(*GradScalerConfig)
	}{
		{"init_scale", func(c *GradScalerConfig) { c.InitScale = 0 }},
		{"init_scale", func(c *GradScalerConfig) { c.InitScale = -1 }},
		{"init_scale", func(c *GradScalerConfig) { c.InitScale = 1e300 }},
		{"init_scale", func(c *GradScalerConfig) { c.InitScale = 1e-300 }},
		{"growth_factor", func(c *GradScalerConfig) { c.GrowthFactor = 1 }},
		{"growth_factor", func(c *GradScalerConfig) { c.GrowthFactor = math.Inf(1) }},
		{"backoff_factor", func(c *GradScalerConfig) { c.BackoffFactor = 1 }},
		{"backoff_factor", func(c *GradScalerConfig) { c.BackoffFactor = 0 }},
		{"growth_interval", func(c *GradScalerConfig) { c.GrowthInterval = 0 }},
	} {
		cfg := GradScalerDefaults()
		c.mod(&cfg)
		_, err := NewGradScaler(cfg)
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, c.field)
		require.Equal(t, c.field, ce.Field)
	}
}

// Every call on a closed optimizer, tensor or arena fails with ErrClosed (or, for
// getters, returns a harmless value) and never touches freed memory.
func TestUseAfterClose(t *testing.T) {
	t.Run("optimizer", func(t *testing.T) {
		for _, kind := range allKinds {
			params := mixedParams(t)
			opt, err := newKind(kind, params)
			require.NoError(t, err)
			fillRandom(t, params, 4)
			require.NoError(t, opt.ClipStep(1, 2))
			var ckpt bytes.Buffer
			require.NoError(t, opt.Save(&ckpt))
			require.NoError(t, opt.Close())
			require.NoError(t, opt.Close(), "Close is idempotent")
			before := takeSnapshot(t, nil, params)
			scaler, err := NewGradScaler(GradScalerDefaults())
			require.NoError(t, err)
			calls := map[string]func() error{
				"Step":             opt.Step,
				"ClipStep":         func() error { return opt.ClipStep(1, 2) },
				"ZeroGrad":         opt.ZeroGrad,
				"Save":             func() error { return opt.Save(&bytes.Buffer{}) },
				"Load":             func() error { return opt.Load(bytes.NewReader(ckpt.Bytes())) },
				"SetGroupLR":       func() error { return opt.SetGroupLR(0, 0.1) },
				"SetGroupMomentum": func() error { return opt.SetGroupMomentum(0, 0.5) },
				"LastGradNorm":     func() error { _, err := opt.LastGradNorm(); return err },
				"GradScaler.Step":  func() error { _, err := scaler.Step(opt); return err },
				"SaveFile":         func() error { return SaveFile(opt, t.TempDir()+"/x") },
			}
			for name, call := range calls {
				err := call()
				require.ErrorIs(t, err, ErrClosed, "%s %s after Close", kind, name)
				require.Contains(t, err.Error(), "used after Close", "%s %s", kind, name)
			}
			require.Equal(t, 65536.0, scaler.Scale(), "a failed GradScaler.Step leaves the scale alone")
			require.Equal(t, int64(1), opt.StepCount(0, 0), "getters still answer")
			requireUnchanged(t, before, nil, params, kind+": calls on a closed optimizer")
		}
	})

	t.Run("tensor", func(t *testing.T) {
		x, err := TensorFrom([]float32{1, 2, 3})
		require.NoError(t, err)
		y, err := NewTensor(3)
		require.NoError(t, err)
		defer y.Close()
		require.NoError(t, x.Close())
		require.NoError(t, x.Close(), "Close is idempotent")
		require.Nil(t, x.Ptr())
		require.Nil(t, x.Float32s())
		require.Equal(t, 3, x.Len())
		for name, err := range map[string]error{
			"CopyFrom":        x.CopyFrom([]float32{1, 2, 3}),
			"CopyTo":          x.CopyTo(make([]float32, 3)),
			"Fill":            x.Fill(1),
			"CopyTensor(dst)": CopyTensor(x, y),
			"CopyTensor(src)": CopyTensor(y, x),
		} {
			require.ErrorIs(t, err, ErrClosed, name)
		}
		_, err = x.Values()
		require.EqualError(t, err, "optim: Tensor.CopyTo: optim: used after Close")

		// A closed tensor in a param: refused by constructors, Step and clipping.
		p, err := NewParam("p", 3)
		require.NoError(t, err)
		defer p.Close()
		opt, err := NewSGD([]*Param{p}, SGDDefaults(0.1))
		require.NoError(t, err)
		defer opt.Close()
		g := p.Grad
		p.Grad = x
		before := takeSnapshot(t, opt, []*Param{{Data: p.Data}})
		require.EqualError(t, opt.Step(), "optim: sgd: param p: grad tensor: optim: used after Close")
		_, err = ClipGradNorm([]*Param{p}, 1, 2, false)
		require.EqualError(t, err, "optim: clip_grad_norm: param p: grad tensor: optim: used after Close")
		require.ErrorIs(t, ClipGradValue([]*Param{p}, 1), ErrClosed)
		p.Grad = g
		d := p.Data
		p.Data = x
		require.EqualError(t, opt.Step(), "optim: sgd: param p: data tensor: optim: used after Close")
		_, err = NewAdam([]*Param{p}, AdamDefaults())
		require.EqualError(t, err, "optim: adam: param p: data tensor: optim: used after Close")
		p.Data = d
		requireUnchanged(t, before, opt, []*Param{{Data: p.Data}}, "steps over closed tensors")
	})

	t.Run("arena", func(t *testing.T) {
		a, err := NewArena([]string{"w", "b"}, []int{4, 2})
		require.NoError(t, err)
		ps := a.Params()
		opt, err := NewRMSprop(ps, RMSpropDefaults())
		require.NoError(t, err)
		defer opt.Close()
		err = ps[0].Data.Close()
		require.ErrorIs(t, err, ErrInvalidArgument)
		require.EqualError(t, err, "optim: Tensor.Close on an arena view: close the Arena instead: goptim: invalid argument")
		require.NoError(t, opt.Step())
		require.NoError(t, a.Close())
		require.NoError(t, a.Close(), "Close is idempotent")
		require.EqualError(t, opt.Step(), "optim: rmsprop: param w: data tensor: optim: used after Close")
		require.ErrorIs(t, opt.ZeroGrad(), ErrClosed)
		require.ErrorIs(t, ps[1].Grad.Fill(1), ErrClosed)
		require.ErrorIs(t, a.Data().Fill(1), ErrClosed)
		require.Nil(t, ps[0].Data.Float32s())
		require.Nil(t, ps[0].Data.Ptr())
		require.NoError(t, ps[0].Close(), "Param.Close leaves arena views to the arena")
		_, err = NewAdam(ps, AdamDefaults())
		require.ErrorIs(t, err, ErrClosed)
	})
}

// Out-of-range indices and unknown state names are refused with ErrInvalidArgument,
// and GradScaler refuses optimizers from elsewhere.
func TestInvalidArguments(t *testing.T) {
	p, err := NewParam("w", 2)
	require.NoError(t, err)
	defer p.Close()
	opt, err := NewAdam([]*Param{p}, AdamDefaults())
	require.NoError(t, err)
	defer opt.Close()
	_, err = opt.State(0, 1, "exp_avg")
	require.EqualError(t, err, "optim: adam: param 1 out of range [0, 1): goptim: invalid argument")
	_, err = opt.State(0, 0, "momentum_buffer")
	require.EqualError(t, err, `optim: adam: no state "momentum_buffer" (it keeps ["exp_avg" "exp_avg_sq"]): goptim: invalid argument`)
	_, err = opt.State(2, 0, "exp_avg")
	require.ErrorIs(t, err, ErrInvalidArgument)
	// Getters given an out-of-range index return zero values, never panic.
	require.Zero(t, opt.GroupLR(5))
	require.Zero(t, opt.GroupLR(-1))
	require.Zero(t, opt.StepCount(0, 7))
	require.Zero(t, opt.StepCount(3, 0))
	require.Equal(t, AdamConfig{}, opt.Config(9))
	require.Nil(t, opt.Params(9))
	m, ok := opt.GroupMomentum(9)
	require.Zero(t, m)
	require.False(t, ok)
	ad, err := NewAdagrad([]*Param{}, AdagradDefaults())
	require.NoError(t, err)
	defer ad.Close()
	require.EqualError(t, ad.SetGroupMomentum(0, 0.1), "optim: adagrad has no momentum: optim: invalid hyperparameter")

	s, err := NewGradScaler(GradScalerDefaults())
	require.NoError(t, err)
	_, err = s.Step(foreignOptimizer{opt})
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.EqualError(t, err, "optim: GradScaler.Step: optim.foreignOptimizer is not an optimizer of this package: goptim: invalid argument")
	_, err = s.Step(nil)
	require.ErrorIs(t, err, ErrInvalidArgument)

	_, err = NewTensor(-1)
	require.EqualError(t, err, "optim: NewTensor: negative length -1: optim: length mismatch")
	_, err = NewArena([]string{"a"}, []int{1, 2})
	require.EqualError(t, err, "optim: NewArena: 1 names for 2 sizes: optim: length mismatch")
	_, err = NewArena(nil, []int{1, -2})
	require.EqualError(t, err, "optim: NewArena: size -2 of param 1 is negative: optim: length mismatch")
	x, err := NewTensor(2)
	require.NoError(t, err)
	defer x.Close()
	require.EqualError(t, x.CopyFrom([]float32{1}), "optim: param tensor: CopyFrom source has 1 elements, want 2")
	require.EqualError(t, x.CopyTo(nil), "optim: param tensor: CopyTo destination has 0 elements, want 2")
	y, err := NewTensor(3)
	require.NoError(t, err)
	defer y.Close()
	require.EqualError(t, CopyTensor(x, y), "optim: param tensor: CopyTensor source has 3 elements, want 2")
}

// foreignOptimizer satisfies Optimizer by embedding one but is not one of this
// package's types.
type foreignOptimizer struct{ Optimizer }

// The CPU build has one backend; tensors of the other cannot exist in this program
// (the build tag links one C library), so mixing backends is impossible by
// construction. The test pins down what the build reports.
func TestOneBackendPerBuild(t *testing.T) {
	if OnDevice() {
		// The GPU, or its host emulation (-tags cuda,cudaemu): the same semantics.
		require.Contains(t, []string{"cuda", "cuda-emu"}, Backend())
		_, err := WrapSlice([]float32{1})
		require.ErrorIs(t, err, ErrNotHost)
		return
	}
	require.Equal(t, "cpu", Backend())
	x, err := WrapSlice([]float32{1, 2})
	require.NoError(t, err)
	defer x.Close()
	require.Equal(t, []float32{1, 2}, x.Float32s())
}

// allSentinels is every sentinel error of this package.
var allSentinels = []error{ErrInvalidConfig, ErrShape, ErrClosed, ErrNilParam, ErrNotHost, ErrNonFinite, ErrCheckpoint,
	ErrOutOfMemory, ErrBackend, ErrInvalidArgument, ErrUnsupported}

// errors.Is works through every wrapper this package adds.
func TestSentinelsAreDistinct(t *testing.T) {
	all := allSentinels
	for i, a := range all {
		for j, b := range all {
			require.Equal(t, i == j, errors.Is(a, b), "%v vs %v", a, b)
		}
	}
}
