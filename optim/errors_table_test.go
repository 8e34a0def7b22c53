package optim

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/internal/errdoc"
)

// docs/errors.md lists what each bad input produces, with the exact error text.
// TestErrorsTableMatchesDocs parses the tables of this package's part of it (above
// errdoc.SchedulePart) and runs every row (internal/errdoc): the text must be identical, the error must
// match the sentinels the row names, every row must have a case here and every case
// a row. So the document cannot drift from the code. The rows of the schedules' part
// are optim/schedule's (its errors_table_test.go runs them), so that a row in the
// wrong part fails both tests.

const errorsDoc = "../docs/errors.md"

// errorCase produces the error of one row. A nil error is a row whose input is
// accepted on purpose (a nil gradient is skipped, not refused).
type errorCase = func(t *testing.T) error

// sentinels are the names the "Matches" column may use.
var sentinels = map[string]error{
	"ErrInvalidConfig":   ErrInvalidConfig,
	"ErrShape":           ErrShape,
	"ErrClosed":          ErrClosed,
	"ErrNilParam":        ErrNilParam,
	"ErrNotHost":         ErrNotHost,
	"ErrNonFinite":       ErrNonFinite,
	"ErrCheckpoint":      ErrCheckpoint,
	"ErrOutOfMemory":     ErrOutOfMemory,
	"ErrBackend":         ErrBackend,
	"ErrInvalidArgument": ErrInvalidArgument,
	"ErrUnsupported":     ErrUnsupported,
}

func tableParam(t *testing.T, name string, n int) *Param {
	t.Helper()
	p, err := NewParam(name, n)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

func tableSGD(t *testing.T, cfg SGDConfig, params ...*Param) *SGD {
	t.Helper()
	o, err := NewSGD(params, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { o.Close() })
	return o
}

func sgdWith(cfg SGDConfig) errorCase {
	return func(t *testing.T) error { _, err := NewSGD([]*Param{tableParam(t, "w", 4)}, cfg); return err }
}

func adamWith(f func(*AdamConfig)) errorCase {
	return func(t *testing.T) error {
		c := AdamDefaults()
		f(&c)
		_, err := NewAdam([]*Param{tableParam(t, "w", 4)}, c)
		return err
	}
}

// tableSF is Schedule-Free AdamW over one param "w" of 4 elements (zero gradient), in
// eval mode as made; closed when the test ends.
func tableSF(t *testing.T, c ScheduleFreeAdamWConfig) *ScheduleFreeAdamW {
	t.Helper()
	o, err := NewScheduleFreeAdamW([]*Param{tableParam(t, "w", 4)}, c)
	require.NoError(t, err)
	t.Cleanup(func() { o.Close() })
	return o
}

func sfWith(f func(*ScheduleFreeAdamWConfig)) errorCase {
	return func(t *testing.T) error {
		c := ScheduleFreeAdamWDefaults()
		f(&c)
		_, err := NewScheduleFreeAdamW([]*Param{tableParam(t, "w", 4)}, c)
		return err
	}
}

func scalerWith(f func(*GradScalerConfig)) errorCase {
	return func(t *testing.T) error {
		c := GradScalerDefaults()
		f(&c)
		_, err := NewGradScaler(c)
		return err
	}
}

// tableCheckpoint is a checkpoint of SGD with momentum over one param "w" of 3
// elements after one step, and an optimizer to load it into; edit rewrites the
// header JSON (behind valid checksums).
func tableCheckpoint(t *testing.T, edit ...string) (*SGD, []byte) {
	t.Helper()
	w := tableParam(t, "w", 3)
	require.NoError(t, w.Grad.Fill(1))
	src := tableSGD(t, SGDConfig{LR: 0.1, Momentum: 0.9}, w)
	require.NoError(t, src.Step())
	var buf bytes.Buffer
	require.NoError(t, src.Save(&buf))
	hdr, payload, ok := splitCheckpoint(buf.Bytes())
	require.True(t, ok)
	for i := 0; i+1 < len(edit); i += 2 {
		require.Contains(t, string(hdr), edit[i], "the header has no %q to edit", edit[i])
		hdr = bytes.Replace(hdr, []byte(edit[i]), []byte(edit[i+1]), 1)
	}
	dst := tableSGD(t, SGDConfig{LR: 0.1, Momentum: 0.9}, tableParam(t, "w", 3))
	return dst, frameCheckpoint(hdr, payload)
}

func loadEdited(edit ...string) errorCase {
	return func(t *testing.T) error {
		o, b := tableCheckpoint(t, edit...)
		return o.Load(bytes.NewReader(b))
	}
}

func loadBytes(b []byte) errorCase {
	return func(t *testing.T) error {
		o, _ := tableCheckpoint(t)
		return o.Load(bytes.NewReader(b))
	}
}

func closedSGD(t *testing.T) *SGD {
	o := tableSGD(t, SGDConfig{LR: 0.1, Momentum: 0.9}, tableParam(t, "w", 4))
	require.NoError(t, o.Close())
	return o
}

func closedTensor(t *testing.T) *Tensor {
	x, err := NewTensor(2)
	require.NoError(t, err)
	require.NoError(t, x.Close())
	return x
}

// tableWrap is WrapSlice over s, closed when the test ends.
func tableWrap(t *testing.T, s []float32) *Tensor {
	t.Helper()
	x, err := WrapSlice(s)
	require.NoError(t, err)
	t.Cleanup(func() { x.Close() })
	return x
}

// inTempDir makes a fresh temporary directory the working directory for the rest of
// the test, so that the file rows use relative paths and their texts hold no
// temporary path.
func inTempDir(t *testing.T) {
	t.Helper()
	t.Chdir(t.TempDir())
}

// shapedParam is a param of the given shape, for the optimizers that read it.
func shapedParam(t *testing.T, name string, shape ...int) *Param {
	t.Helper()
	n := 1
	for _, d := range shape {
		n *= d
	}
	p := tableParam(t, name, n)
	p.Shape = shape
	return p
}

var errorCases = map[string]errorCase{
	"nadam-momentum-decay": func(t *testing.T) error {
		c := NAdamDefaults()
		c.MomentumDecay = -1
		_, err := NewNAdam([]*Param{tableParam(t, "w", 4)}, c)
		return err
	},
	"asgd-lambd": func(t *testing.T) error {
		c := ASGDDefaults()
		c.Lambd = -1
		_, err := NewASGD([]*Param{tableParam(t, "w", 4)}, c)
		return err
	},
	"adafactor-beta2-decay": func(t *testing.T) error {
		c := AdafactorDefaults()
		c.Beta2Decay = 0.5
		_, err := NewAdafactor([]*Param{tableParam(t, "w", 4)}, c)
		return err
	},
	"adafactor-d": func(t *testing.T) error {
		c := AdafactorDefaults()
		c.D = 0.5
		_, err := NewAdafactor([]*Param{tableParam(t, "w", 4)}, c)
		return err
	},
	"lbfgs-line-search": func(t *testing.T) error {
		c := LBFGSDefaults()
		c.LineSearch = "wolfe"
		_, err := NewLBFGS([]*Param{tableParam(t, "w", 4)}, c)
		return err
	},
	"muon-adjust-lr": func(t *testing.T) error {
		c := MuonDefaults()
		c.AdjustLRFn = "rms"
		_, err := NewMuon([]*Param{shapedParam(t, "w", 2, 3)}, c)
		return err
	},
	"muon-shape": func(t *testing.T) error {
		_, err := NewMuon([]*Param{shapedParam(t, "w", 2, 3, 4)}, MuonDefaults())
		return err
	},
	"muon-blas-bf16": func(t *testing.T) error {
		c := MuonDefaults()
		c.BLAS, c.BF16 = true, true
		_, err := NewMuon([]*Param{tableParam(t, "w", 4)}, c)
		return err
	},
	"lion-weight-decay": func(t *testing.T) error {
		c := LionDefaults()
		c.WeightDecay = -0.1
		_, err := NewLion([]*Param{tableParam(t, "w", 4)}, c)
		return err
	},
	"lamb-max-grad-norm": func(t *testing.T) error {
		c := LAMBDefaults()
		c.MaxGradNorm = -1
		_, err := NewLAMB([]*Param{tableParam(t, "w", 4)}, c)
		return err
	},
	"lars-trust-coefficient": func(t *testing.T) error {
		c := LARSDefaults(0.1)
		c.TrustCoefficient = -0.02
		_, err := NewLARS([]*Param{tableParam(t, "w", 4)}, c)
		return err
	},
	"sf-beta1":  sfWith(func(c *ScheduleFreeAdamWConfig) { c.Beta1 = 0 }),
	"sf-warmup": sfWith(func(c *ScheduleFreeAdamWConfig) { c.WarmupSteps = -1 }),
	"sf-r":      sfWith(func(c *ScheduleFreeAdamWConfig) { c.R = math.Inf(1) }),
	"sf-eval-step": func(t *testing.T) error {
		// A new optimizer is in eval mode, as the reference's: Step needs Train first.
		// ClipStep and GradScaler.Step give the same error, before anything (gradients
		// and the scale included) changes.
		o := tableSF(t, ScheduleFreeAdamWDefaults())
		require.NoError(t, o.Params(0)[0].Grad.Fill(1024))
		before := takeSnapshot(t, o, o.Params(0))
		err := o.Step()
		require.Error(t, err)
		require.EqualError(t, o.ClipStep(1, 2), err.Error())
		s, serr := NewGradScaler(GradScalerDefaults())
		require.NoError(t, serr)
		stepped, serr := s.Step(o)
		require.False(t, stepped)
		require.EqualError(t, serr, err.Error())
		require.Equal(t, GradScalerDefaults().InitScale, s.Scale())
		requireUnchanged(t, before, o, o.Params(0), "steps refused in eval mode")
		return err
	},
	"sf-weight-overflow": func(t *testing.T) error {
		// The average's weight step^r * lr_max^2 at r 700: 2^700 is finite, 3^700 is
		// not. The third step is refused before anything moves.
		c := ScheduleFreeAdamWDefaults()
		c.R = 700
		o := tableSF(t, c)
		require.NoError(t, o.Train())
		require.NoError(t, o.Step())
		require.NoError(t, o.Step())
		before := takeSnapshot(t, o, o.Params(0))
		err := o.Step()
		requireUnchanged(t, before, o, o.Params(0), "a refused Schedule-Free step")
		return err
	},
	"sf-checkpoint-mode": func(t *testing.T) error {
		// A Schedule-Free checkpoint holds its train/eval mode in the header's "extra"
		// part; one without it (a forged or foreign header) is refused.
		src := tableSF(t, ScheduleFreeAdamWDefaults())
		require.NoError(t, src.Train())
		require.NoError(t, src.Step())
		var buf bytes.Buffer
		require.NoError(t, src.Save(&buf))
		hdr, payload, ok := splitCheckpoint(buf.Bytes())
		require.True(t, ok)
		var h map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(hdr, &h))
		require.Contains(t, h, "extra")
		delete(h, "extra")
		hdr, err := json.Marshal(h)
		require.NoError(t, err)
		dst := tableSF(t, ScheduleFreeAdamWDefaults())
		return dst.Load(bytes.NewReader(frameCheckpoint(hdr, payload)))
	},
	"shape-product": func(t *testing.T) error {
		p := tableParam(t, "w", 6)
		p.Shape = []int{4, 2}
		_, err := NewAdafactor([]*Param{p}, AdafactorDefaults())
		return err
	},
	"shape-changed": func(t *testing.T) error {
		p := shapedParam(t, "w", 2, 3)
		o, err := NewAdafactor([]*Param{p}, AdafactorDefaults())
		require.NoError(t, err)
		t.Cleanup(func() { o.Close() })
		p.Shape = []int{3, 2}
		return o.Step()
	},
	"state-not-kept": func(t *testing.T) error {
		o, err := NewAdafactor([]*Param{shapedParam(t, "w", 2, 3)}, AdafactorDefaults())
		require.NoError(t, err)
		t.Cleanup(func() { o.Close() })
		_, err = o.State(0, 0, "variance")
		return err
	},
	// Hyperparameters.
	"sgd-lr-negative":     sgdWith(SGDConfig{LR: -1}),
	"sgd-lr-nan":          sgdWith(SGDConfig{LR: math.NaN()}),
	"sgd-momentum":        sgdWith(SGDConfig{LR: 0.1, Momentum: -0.5}),
	"sgd-dampening":       sgdWith(SGDConfig{LR: 0.1, Momentum: 0.9, Dampening: -1}),
	"sgd-weight-decay":    sgdWith(SGDConfig{LR: 0.1, WeightDecay: math.Inf(1)}),
	"sgd-nesterov-no-mom": sgdWith(SGDConfig{LR: 0.1, Nesterov: true}),
	"sgd-nesterov-damp":   sgdWith(SGDConfig{LR: 0.1, Momentum: 0.9, Dampening: 0.1, Nesterov: true}),
	"adam-lr":             adamWith(func(c *AdamConfig) { c.LR = -1e-3 }),
	"adam-beta1":          adamWith(func(c *AdamConfig) { c.Beta1 = 1 }),
	"adam-beta2":          adamWith(func(c *AdamConfig) { c.Beta2 = -0.1 }),
	"adam-eps":            adamWith(func(c *AdamConfig) { c.Eps = -1e-8 }),
	"adam-weight-decay":   adamWith(func(c *AdamConfig) { c.WeightDecay = -0.01 }),
	"adamw-beta2": func(t *testing.T) error {
		c := AdamWDefaults()
		c.Beta2 = 1.5
		_, err := NewAdamW([]*Param{tableParam(t, "w", 4)}, c)
		return err
	},
	"adagrad-lr-decay": func(t *testing.T) error {
		c := AdagradDefaults()
		c.LRDecay = -1
		_, err := NewAdagrad([]*Param{tableParam(t, "w", 4)}, c)
		return err
	},
	"adagrad-initial-accumulator": func(t *testing.T) error {
		c := AdagradDefaults()
		c.InitialAccumulatorValue = -0.1
		_, err := NewAdagrad([]*Param{tableParam(t, "w", 4)}, c)
		return err
	},
	"rmsprop-alpha": func(t *testing.T) error {
		c := RMSpropDefaults()
		c.Alpha = -0.5
		_, err := NewRMSprop([]*Param{tableParam(t, "w", 4)}, c)
		return err
	},
	"rmsprop-momentum": func(t *testing.T) error {
		c := RMSpropDefaults()
		c.Momentum = math.NaN()
		_, err := NewRMSprop([]*Param{tableParam(t, "w", 4)}, c)
		return err
	},
	"set-lr": func(t *testing.T) error {
		return tableSGD(t, SGDDefaults(0.1), tableParam(t, "w", 4)).SetGroupLR(0, -0.5)
	},
	"set-config-state": func(t *testing.T) error {
		return tableSGD(t, SGDDefaults(0.1), tableParam(t, "w", 4)).SetConfig(0, SGDConfig{LR: 0.1, Momentum: 0.9})
	},
	"no-momentum": func(t *testing.T) error {
		o, err := NewAdagrad([]*Param{tableParam(t, "w", 4)}, AdagradDefaults())
		require.NoError(t, err)
		defer o.Close()
		return o.SetGroupMomentum(0, 0.9)
	},
	"param-twice": func(t *testing.T) error {
		w := tableParam(t, "w", 4)
		return tableSGD(t, SGDDefaults(0.1), w).AddParamGroup([]*Param{w}, SGDDefaults(0.1))
	},
	"scaler-init-scale":       scalerWith(func(c *GradScalerConfig) { c.InitScale = 0 }),
	"scaler-init-scale-big":   scalerWith(func(c *GradScalerConfig) { c.InitScale = 1e39 }),
	"scaler-init-scale-small": scalerWith(func(c *GradScalerConfig) { c.InitScale = 1e-39 }),
	"scaler-growth":           scalerWith(func(c *GradScalerConfig) { c.GrowthFactor = 1 }),
	"scaler-backoff":          scalerWith(func(c *GradScalerConfig) { c.BackoffFactor = 1 }),
	"scaler-interval":         scalerWith(func(c *GradScalerConfig) { c.GrowthInterval = 0 }),
	"clip-max-norm": func(t *testing.T) error {
		_, err := ClipGradNorm([]*Param{tableParam(t, "w", 4)}, -1, 2, false)
		return err
	},
	"clip-norm-type": func(t *testing.T) error {
		_, err := ClipGradNorm([]*Param{tableParam(t, "w", 4)}, 1, 1, false)
		return err
	},
	"clip-value": func(t *testing.T) error { return ClipGradValue([]*Param{tableParam(t, "w", 4)}, -1) },
	"clipstep-max-norm": func(t *testing.T) error {
		return tableSGD(t, SGDDefaults(0.1), tableParam(t, "w", 4)).ClipStep(-1, 2)
	},
	"clipstep-norm-type": func(t *testing.T) error {
		return tableSGD(t, SGDDefaults(0.1), tableParam(t, "w", 4)).ClipStep(1, 1)
	},

	// Numeric range (float32).
	"f32-sgd-lr":         sgdWith(SGDConfig{LR: 1e39}),
	"f32-adam-eps":       adamWith(func(c *AdamConfig) { c.Eps = 1e-46 }),
	"f32-adam-step-size": adamWith(func(c *AdamConfig) { c.LR = 1e38 }),
	"f32-adamw-decay": func(t *testing.T) error {
		c := AdamWDefaults()
		c.LR, c.WeightDecay = 1e20, 1e20
		_, err := NewAdamW([]*Param{tableParam(t, "w", 4)}, c)
		return err
	},

	// Lengths.
	"grad-length": func(t *testing.T) error {
		w := tableParam(t, "w", 4)
		o := tableSGD(t, SGDDefaults(0.1), w)
		w.Grad = tableParam(t, "", 3).Grad
		return o.Step()
	},
	"data-length": func(t *testing.T) error {
		w := tableParam(t, "w", 4)
		o := tableSGD(t, SGDDefaults(0.1), w)
		w.Data = tableParam(t, "", 5).Data
		return o.Step()
	},
	"unnamed-param": func(t *testing.T) error {
		a, b := tableParam(t, "", 4), tableParam(t, "", 4)
		o := tableSGD(t, SGDDefaults(0.1), a, b)
		b.Grad = tableParam(t, "", 2).Grad
		return o.Step()
	},
	"copy-length": func(t *testing.T) error { return tableParam(t, "w", 2).Data.CopyFrom([]float32{1}) },
	"tensor-negative": func(t *testing.T) error {
		_, err := NewTensor(-1)
		return err
	},
	"tensor-too-big": func(t *testing.T) error {
		_, err := NewTensor(1 << 62)
		return err
	},
	"arena-names": func(t *testing.T) error {
		_, err := NewArena([]string{"a"}, []int{1, 2})
		return err
	},
	"arena-overflow": func(t *testing.T) error {
		_, err := NewArena(nil, []int{1 << 62, 1 << 62, 1 << 62, 1 << 62})
		return err
	},
	"arena-negative": func(t *testing.T) error {
		_, err := NewArena(nil, []int{1, -2})
		return err
	},

	// Missing params and gradients.
	"nil-param": func(t *testing.T) error {
		_, err := NewSGD([]*Param{tableParam(t, "w", 4), nil}, SGDDefaults(0.1))
		return err
	},
	"nil-data": func(t *testing.T) error {
		w := tableParam(t, "w", 4)
		o := tableSGD(t, SGDDefaults(0.1), w)
		d := w.Data
		w.Data = nil
		defer func() { w.Data = d }()
		return o.Step()
	},
	"nil-param-clip": func(t *testing.T) error {
		_, err := GradNorm([]*Param{tableParam(t, "w", 4), nil}, 2)
		return err
	},
	"nil-grad": func(t *testing.T) error {
		w := tableParam(t, "w", 4)
		o := tableSGD(t, SGDDefaults(0.1), w)
		w.Grad = nil
		if err := o.Step(); err != nil {
			return err
		}
		if o.StepCount(0, 0) != 0 {
			return fmt.Errorf("the param stepped")
		}
		return nil
	},

	// Use after Close.
	"closed-step":      func(t *testing.T) error { return closedSGD(t).Step() },
	"closed-clipstep":  func(t *testing.T) error { return closedSGD(t).ClipStep(1, 2) },
	"closed-zerograd":  func(t *testing.T) error { return closedSGD(t).ZeroGrad() },
	"closed-save":      func(t *testing.T) error { return closedSGD(t).Save(&bytes.Buffer{}) },
	"closed-load":      func(t *testing.T) error { return closedSGD(t).Load(bytes.NewReader(nil)) },
	"closed-add-group": func(t *testing.T) error { return closedSGD(t).AddParamGroup(nil, SGDDefaults(0.1)) },
	"closed-set-lr":    func(t *testing.T) error { return closedSGD(t).SetGroupLR(0, 0.1) },
	"closed-last-norm": func(t *testing.T) error { _, err := closedSGD(t).LastGradNorm(); return err },
	"closed-scaler": func(t *testing.T) error {
		s, err := NewGradScaler(GradScalerDefaults())
		require.NoError(t, err)
		_, err = s.Step(closedSGD(t))
		return err
	},
	"closed-tensor-copy": func(t *testing.T) error { return closedTensor(t).CopyFrom([]float32{1, 2}) },
	"closed-tensor-read": func(t *testing.T) error { _, err := closedTensor(t).Values(); return err },
	"closed-tensor-fill": func(t *testing.T) error { return closedTensor(t).Fill(1) },
	"closed-copy-tensor": func(t *testing.T) error { return CopyTensor(tableParam(t, "w", 2).Data, closedTensor(t)) },
	"closed-grad": func(t *testing.T) error {
		w := tableParam(t, "w", 2)
		o := tableSGD(t, SGDDefaults(0.1), w)
		w.Grad = closedTensor(t)
		return o.Step()
	},
	"closed-data-new": func(t *testing.T) error {
		w := tableParam(t, "w", 2)
		require.NoError(t, w.Data.Close())
		_, err := NewSGD([]*Param{w}, SGDDefaults(0.1))
		return err
	},
	"closed-arena": func(t *testing.T) error {
		a, err := NewArena([]string{"w"}, []int{2})
		require.NoError(t, err)
		o := tableSGD(t, SGDDefaults(0.1), a.Params()...)
		require.NoError(t, a.Close())
		return o.Step()
	},
	"arena-view-close": func(t *testing.T) error {
		a, err := NewArena([]string{"w"}, []int{2})
		require.NoError(t, err)
		defer a.Close()
		return a.Params()[0].Data.Close()
	},
	"closed-clip": func(t *testing.T) error {
		w := tableParam(t, "w", 2)
		w.Grad = closedTensor(t)
		return ClipGradValue([]*Param{w}, 1)
	},
	"arena-data-close": func(t *testing.T) error {
		a, err := NewArena([]string{"w"}, []int{2})
		require.NoError(t, err)
		defer a.Close()
		return a.Data().Close()
	},

	// Memory and lifetimes.
	"overlap-params": func(t *testing.T) error {
		var a, b *Param
		if OnDevice() {
			// No WrapSlice on the GPU build: the same overlap from an arena's param
			// "a" and a param "b" over the arena's whole Data.
			ar, err := NewArena([]string{"a"}, []int{4})
			require.NoError(t, err)
			t.Cleanup(func() { ar.Close() })
			a = ar.Params()[0]
			b = &Param{Name: "b", Data: ar.Data(), Grad: tableParam(t, "", 4).Grad}
		} else {
			s := make([]float32, 6)
			a = &Param{Name: "a", Data: tableWrap(t, s[:4]), Grad: tableParam(t, "", 4).Grad}
			b = &Param{Name: "b", Data: tableWrap(t, s[2:]), Grad: tableParam(t, "", 4).Grad}
		}
		_, err := NewSGD([]*Param{a, b}, SGDDefaults(0.1))
		return err
	},
	"overlap-grad": func(t *testing.T) error {
		d := tableParam(t, "", 4).Data
		_, err := NewAdam([]*Param{{Name: "w", Data: d, Grad: d}}, AdamDefaults())
		return err
	},
	"zero-tensor":    func(t *testing.T) error { return (&Tensor{}).Fill(1) },
	"zero-optimizer": func(t *testing.T) error { return (&SGD{}).Step() },
	"zero-scaler": func(t *testing.T) error {
		_, err := (&GradScaler{}).Step(tableSGD(t, SGDDefaults(0.1), tableParam(t, "w", 2)))
		return err
	},
	"gemm-too-large": func(t *testing.T) error {
		x := tableParam(t, "x", 1).Data
		return Gemm(false, false, 0, 0, 1<<33, 1, x, x, 0, x)
	},
	"copy-tensor-nil": func(t *testing.T) error { return CopyTensor(tableParam(t, "w", 2).Data, nil) },

	// Other arguments.
	"group-range": func(t *testing.T) error {
		return tableSGD(t, SGDDefaults(0.1), tableParam(t, "w", 2)).SetGroupLR(1, 0.1)
	},
	"state-name": func(t *testing.T) error {
		_, err := tableSGD(t, SGDDefaults(0.1), tableParam(t, "w", 2)).State(0, 0, "exp_avg")
		return err
	},
	"state-param-range": func(t *testing.T) error {
		_, err := tableSGD(t, SGDDefaults(0.1), tableParam(t, "w", 2)).State(0, 3, "exp_avg")
		return err
	},
	"scaler-foreign": func(t *testing.T) error {
		s, err := NewGradScaler(GradScalerDefaults())
		require.NoError(t, err)
		_, err = s.Step(foreignOptimizer{tableSGD(t, SGDDefaults(0.1), tableParam(t, "w", 2))})
		return err
	},

	// Threads, instruction sets, devices and streams.
	"threads-max":     func(t *testing.T) error { return SetThreads(5000) },
	"isa-unknown":     func(t *testing.T) error { return SetISA(ISA(99)) },
	"device-negative": func(t *testing.T) error { return UseDevice(-1) },
	"device-in-use":   func(t *testing.T) error { return UseDevice(1) },

	// Non-finite gradients.
	"check-finite": func(t *testing.T) error {
		w := tableParam(t, "w", 2)
		o := tableSGD(t, SGDDefaults(0.1), w)
		o.SetCheckFinite(true)
		require.NoError(t, w.Grad.CopyFrom([]float32{1, float32(math.NaN())}))
		return o.Step()
	},
	"clip-nonfinite": func(t *testing.T) error {
		w := tableParam(t, "w", 2)
		require.NoError(t, w.Grad.CopyFrom([]float32{1, float32(math.Inf(1))}))
		_, err := ClipGradNorm([]*Param{w}, 1, 2, true)
		return err
	},
	"scaler-inf": func(t *testing.T) error {
		w := tableParam(t, "w", 2)
		o := tableSGD(t, SGDDefaults(0.1), w)
		require.NoError(t, w.Grad.CopyFrom([]float32{1, float32(math.Inf(1))}))
		s, err := NewGradScaler(GradScalerDefaults())
		require.NoError(t, err)
		stepped, err := s.Step(o)
		if err == nil && stepped {
			return fmt.Errorf("GradScaler stepped over an Inf")
		}
		return err
	},
	"scaler-floor": func(t *testing.T) error {
		w := tableParam(t, "w", 2)
		o := tableSGD(t, SGDDefaults(0.1), w)
		require.NoError(t, w.Grad.CopyFrom([]float32{1, float32(math.NaN())}))
		c := GradScalerDefaults()
		c.InitScale = MinLossScale
		s, err := NewGradScaler(c)
		require.NoError(t, err)
		_, err = s.Step(o)
		return err
	},

	// Checkpoints.
	"ckpt-empty":      loadBytes(nil),
	"ckpt-magic":      loadBytes([]byte("GARBAGE!\x01\x00\x00\x00\x00\x00\x00\x00")),
	"ckpt-version":    loadBytes([]byte("GOPTIMCK\x02\x00\x00\x00\x00\x00\x00\x00")),
	"ckpt-header-len": loadBytes([]byte("GOPTIMCK\x01\x00\x00\x00\xff\xff\xff\xff")),
	"ckpt-truncated":  loadBytes([]byte("GOPTIMCK\x01\x00\x00\x00\x0a\x00\x00\x00{\"a")),
	"ckpt-header-crc": func(t *testing.T) error {
		o, b := tableCheckpoint(t)
		b[20] ^= 1
		return o.Load(bytes.NewReader(b))
	},
	"ckpt-payload-crc": func(t *testing.T) error {
		o, b := tableCheckpoint(t)
		b[len(b)-13] ^= 1
		return o.Load(bytes.NewReader(b))
	},
	"ckpt-trailer": func(t *testing.T) error {
		o, b := tableCheckpoint(t)
		b[len(b)-1] = 'X'
		return o.Load(bytes.NewReader(b))
	},
	"ckpt-payload-short": func(t *testing.T) error {
		o, b := tableCheckpoint(t)
		hdr, _, _ := splitCheckpoint(b)
		var buf bytes.Buffer
		buf.WriteString(checkpointMagic)
		binary.Write(&buf, binary.LittleEndian, uint32(1))
		binary.Write(&buf, binary.LittleEndian, uint32(len(hdr)))
		buf.Write(b[16 : 16+len(hdr)+4])
		buf.Write(make([]byte, 10)) // 10 of the 24 payload bytes, then EOF
		return o.Load(bytes.NewReader(buf.Bytes()))
	},
	"ckpt-json":         loadEdited(`"format"`, `"format`),
	"ckpt-kind":         loadEdited(`"optimizer":"sgd"`, `"optimizer":"adam"`),
	"ckpt-groups":       loadEdited(`"groups":[`, `"groups":[{},`),
	"ckpt-params":       loadEdited(`"params":[`, `"params":[{},`),
	"ckpt-numel":        loadEdited(`"numel":3`, `"numel":4`),
	"ckpt-name":         loadEdited(`"name":"w"`, `"name":"v"`),
	"ckpt-step":         loadEdited(`"step":1`, `"step":-1`),
	"ckpt-state":        loadEdited(`"momentum":0.9`, `"momentum":0`),
	"ckpt-config":       loadEdited(`"lr":0.1`, `"lr":-0.1`),
	"ckpt-config-field": loadEdited(`"lr":0.1`, `"lr":0.1,"lr_decay":0`),
	"ckpt-payload-bytes": func(t *testing.T) error {
		o, b := tableCheckpoint(t)
		hdr, payload, _ := splitCheckpoint(b)
		hdr = bytes.Replace(hdr, []byte(`"payload_bytes":12`), []byte(`"payload_bytes":8`), 1)
		return o.Load(bytes.NewReader(frameCheckpoint(hdr, payload[:8])))
	},

	// Files.
	"file-nil-optimizer": func(t *testing.T) error {
		inTempDir(t)
		return SaveFile(nil, "ckpt")
	},
	"file-empty-path": func(t *testing.T) error {
		return SaveFile(tableSGD(t, SGDDefaults(0.1), tableParam(t, "w", 2)), "")
	},
	"file-directory": func(t *testing.T) error {
		inTempDir(t)
		require.NoError(t, os.Mkdir("ckpt", 0o755))
		return SaveFile(tableSGD(t, SGDDefaults(0.1), tableParam(t, "w", 2)), "ckpt")
	},
	"file-zero-optimizer": func(t *testing.T) error {
		inTempDir(t)
		return SaveFile(&SGD{}, "ckpt")
	},
	"file-load-directory": func(t *testing.T) error {
		inTempDir(t)
		require.NoError(t, os.Mkdir("ckpt", 0o755))
		return LoadFile(tableSGD(t, SGDDefaults(0.1), tableParam(t, "w", 2)), "ckpt")
	},
	"file-trailing": func(t *testing.T) error {
		inTempDir(t)
		// Named "cpu" on either backend, so that the sizes in the text are the same
		// on the GPU build.
		o, b := tableCheckpoint(t, `"backend":"`+Backend()+`"`, `"backend":"cpu"`)
		require.NoError(t, os.WriteFile("ckpt", append(append([]byte(nil), b...), b...), 0o644))
		return LoadFile(o, "ckpt")
	},
}

// deviceRows are the rows of docs/errors.md whose input gives another error text on
// the device backend, with the text and sentinels it gives there (what cuda/context.cu
// reports, and the emulated backend with it). NewTensor(1 << 62) is refused by the
// device allocator (2^64 bytes: "too many"), where the CPU build's own host-memory
// check words it; both are ErrOutOfMemory. The page documents the CPU build's text.
var deviceRows = map[string]errdoc.Row{
	"tensor-too-big": {Text: "optim: NewTensor(4611686018427387904): goptim: alloc: out of memory: " +
		"alloc: 4611686018427387904 floats is too many", Matches: "`ErrOutOfMemory`"},
}

func TestErrorsTableMatchesDocs(t *testing.T) {
	rows, _ := errdoc.Read(t, errorsDoc)
	errdoc.Suite{Path: errorsDoc, Cases: errorCases, Sentinels: sentinels, Typed: checkTypedError,
		Adjust: func(r *errdoc.Row) {
			if d, ok := deviceRows[r.ID]; ok && OnDevice() {
				r.Text, r.Matches = d.Text, d.Matches
			}
		}}.Check(t, rows)
}

func checkTypedError(t *testing.T, err error, name string) {
	t.Helper()
	switch name {
	case "*ConfigError":
		var e *ConfigError
		require.ErrorAs(t, err, &e)
	case "*ShapeError":
		var e *ShapeError
		require.ErrorAs(t, err, &e)
	case "*CheckpointError":
		var e *CheckpointError
		require.ErrorAs(t, err, &e)
	default:
		t.Fatalf("unknown error type %s", name)
	}
}

// TestPrintErrorsTable prints a draft row for every case (GOPTIM_PRINT_ERRORS=1),
// for writing docs/errors.md.
func TestPrintErrorsTable(t *testing.T) {
	if os.Getenv("GOPTIM_PRINT_ERRORS") == "" {
		t.Skip("skipped: set GOPTIM_PRINT_ERRORS=1 to print draft rows for docs/errors.md")
	}
	ids := make([]string, 0, len(errorCases))
	for id := range errorCases {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out strings.Builder
	for _, id := range ids {
		err := errorCases[id](t)
		text := "(no error)"
		var m []string
		if err != nil {
			text = "`" + err.Error() + "`"
			names := make([]string, 0, len(sentinels))
			for n := range sentinels {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				if errors.Is(err, sentinels[n]) {
					m = append(m, n)
				}
			}
		}
		fmt.Fprintf(&out, "| `%s` | ? | %s | %s |\n", id, text, strings.Join(m, ", "))
	}
	fmt.Print(out.String())
}
