package optim

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// trainer runs a deterministic little training loop: the gradient of step s is a
// fixed function of the seed and s, so two runs can be compared bit for bit.
type trainer struct {
	arena  *Arena
	params []*Param
	grads  []*Tensor // each param's gradient, kept while a param's Grad is nil
	opt    Optimizer
}

func newTrainer(t *testing.T, kind string) *trainer {
	t.Helper()
	a, err := NewArena([]string{"w", "b", "emb"}, []int{301, 7, 1000})
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range a.Params() {
		require.NoError(t, p.Data.CopyFrom(randVec(rng, p.Data.Len(), 1)))
	}
	tr := &trainer{arena: a, params: a.Params()}
	for _, p := range tr.params {
		tr.grads = append(tr.grads, p.Grad)
	}
	// Two groups, so group configs and per-group state round trip too.
	g1, g2 := tr.params[:2], tr.params[2:]
	switch kind {
	case "sgd":
		o, err := NewSGD(g1, SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true})
		require.NoError(t, err)
		require.NoError(t, o.AddParamGroup(g2, SGDConfig{LR: 0.01, Momentum: 0.5, Dampening: 0.1}))
		tr.opt = o
	case "adam", "adamw":
		mk := NewAdam
		if kind == "adamw" {
			mk = NewAdamW
		}
		c := AdamDefaults()
		c.AMSGrad = true
		o, err := mk(g1, c)
		require.NoError(t, err)
		c.LR, c.WeightDecay = 0.01, 0.1
		require.NoError(t, o.AddParamGroup(g2, c))
		tr.opt = o
	case "adagrad":
		o, err := NewAdagrad(g1, AdagradConfig{LR: 0.1, LRDecay: 0.01, InitialAccumulatorValue: 0.1, Eps: 1e-10})
		require.NoError(t, err)
		require.NoError(t, o.AddParamGroup(g2, AdagradDefaults()))
		tr.opt = o
	case "rmsprop":
		o, err := NewRMSprop(g1, RMSpropConfig{LR: 0.01, Alpha: 0.9, Eps: 1e-8, Momentum: 0.9, Centered: true})
		require.NoError(t, err)
		require.NoError(t, o.AddParamGroup(g2, RMSpropDefaults()))
		tr.opt = o
	case "adamax":
		o, err := NewAdamax(g1, AdamaxConfig{LR: 0.01, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.01})
		require.NoError(t, err)
		require.NoError(t, o.AddParamGroup(g2, AdamaxDefaults()))
		tr.opt = o
	case "radam":
		o, err := NewRAdam(g1, RAdamConfig{LR: 0.01, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.01,
			DecoupledWeightDecay: true})
		require.NoError(t, err)
		require.NoError(t, o.AddParamGroup(g2, RAdamDefaults()))
		tr.opt = o
	case "adadelta":
		o, err := NewAdadelta(g1, AdadeltaConfig{LR: 0.5, Rho: 0.8, Eps: 1e-5, WeightDecay: 0.01})
		require.NoError(t, err)
		require.NoError(t, o.AddParamGroup(g2, AdadeltaDefaults()))
		tr.opt = o
	case "rprop":
		o, err := NewRprop(g1, RpropConfig{LR: 0.05, EtaMinus: 0.4, EtaPlus: 1.3, StepSizeMin: 1e-4, StepSizeMax: 1})
		require.NoError(t, err)
		require.NoError(t, o.AddParamGroup(g2, RpropDefaults()))
		tr.opt = o
	case "nadam":
		o, err := NewNAdam(g1, NAdamConfig{LR: 0.01, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.01,
			MomentumDecay: 0.01, DecoupledWeightDecay: true})
		require.NoError(t, err)
		require.NoError(t, o.AddParamGroup(g2, NAdamDefaults()))
		tr.opt = o
	case "muon":
		for _, p := range append(g1[:len(g1):len(g1)], g2...) {
			if p.Shape == nil && p.Data.Len() >= 4 && p.Data.Len()%2 == 0 {
				p.Shape = []int{2, p.Data.Len() / 2}
			}
		}
		cfg := MuonDefaults()
		cfg.LR, cfg.Nesterov, cfg.Aux.LR = 0.02, false, 0.01
		o, err := NewMuon(g1, cfg)
		require.NoError(t, err)
		require.NoError(t, o.AddParamGroup(g2, MuonDefaults()))
		tr.opt = o
	case "lion":
		o, err := NewLion(g1, LionConfig{LR: 1e-3, Beta1: 0.8, Beta2: 0.95, WeightDecay: 0.1})
		require.NoError(t, err)
		require.NoError(t, o.AddParamGroup(g2, LionDefaults()))
		tr.opt = o
	case "lamb":
		// The first group clips by the norm over both groups; the second reads none.
		o, err := NewLAMB(g1, LAMBConfig{LR: 0.01, BiasCorrection: true, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6,
			WeightDecay: 0.01, AdamWMode: true, GradAveraging: true, MaxGradNorm: 2, TrustClip: true})
		require.NoError(t, err)
		c := LAMBDefaults()
		c.MaxGradNorm, c.WeightDecay, c.UseNVLAMB = 0, 0, true
		require.NoError(t, o.AddParamGroup(g2, c))
		tr.opt = o
	case "lars":
		o, err := NewLARS(g1, LARSConfig{LR: 0.1, Momentum: 0.9, WeightDecay: 0.01, Nesterov: true,
			TrustCoefficient: 0.02, Clip: true, Eps: 1e-8})
		require.NoError(t, err)
		c := LARSDefaults(0.05)
		c.Momentum, c.Dampening = 0.5, 0.1
		require.NoError(t, o.AddParamGroup(g2, c))
		tr.opt = o
	case "schedulefree_adamw":
		// A warmup, weight decay and the average weighted by t^r in the first group; the
		// defaults in the second. Train before the steps (it starts in eval mode); the
		// mode is in the checkpoint, so the optimizer it loads into may be in either.
		o, err := NewScheduleFreeAdamW(g1, ScheduleFreeAdamWConfig{LR: 0.01, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6,
			WeightDecay: 0.01, WarmupSteps: 4, R: 0.5, WeightLRPower: 1})
		require.NoError(t, err)
		require.NoError(t, o.AddParamGroup(g2, ScheduleFreeAdamWDefaults()))
		require.NoError(t, o.Train())
		tr.opt = o
	case "ademamix":
		o, err := NewAdEMAMix(g1, AdEMAMixConfig{LR: 5e-3, Beta1: 0.8, Beta2: 0.99, Beta3: 0.999, Alpha: 5,
			Beta3Warmup: 4, AlphaWarmup: 3, Eps: 1e-6, WeightDecay: 0.05})
		require.NoError(t, err)
		require.NoError(t, o.AddParamGroup(g2, AdEMAMixDefaults()))
		tr.opt = o
	case "adafactor":
		o, err := NewAdafactor(g1, AdafactorConfig{LR: 0.05, Beta2Decay: -0.6, Eps1: 1e-6, Eps2: 1e-4, D: 2,
			WeightDecay: 0.01})
		require.NoError(t, err)
		require.NoError(t, o.AddParamGroup(g2, AdafactorDefaults()))
		tr.opt = o
	case "asgd":
		// Averaging from the third step, so the checkpoint carries mu != 1.
		o, err := NewASGD(g1, ASGDConfig{LR: 0.05, Lambd: 0.01, Alpha: 0.6, T0: 1, WeightDecay: 0.01})
		require.NoError(t, err)
		require.NoError(t, o.AddParamGroup(g2, ASGDDefaults()))
		tr.opt = o
	default:
		t.Fatalf("unknown optimizer %s", kind)
	}
	t.Cleanup(func() { tr.opt.Close() })
	return tr
}

func (tr *trainer) run(t *testing.T, from, to int) {
	t.Helper()
	for s := from; s < to; s++ {
		rng := rand.New(rand.NewPCG(uint64(s), 99))
		for i, p := range tr.params {
			// Param "b" has no gradient every third step: its step count falls behind,
			// which the checkpoint must carry.
			if i == 1 && s%3 == 0 {
				p.Grad = nil
				continue
			}
			p.Grad = tr.grads[i]
			require.NoError(t, p.Grad.CopyFrom(randVec(rng, p.Data.Len(), 0.5)))
		}
		require.NoError(t, tr.opt.Step())
	}
}

func (tr *trainer) values(t *testing.T) [][]float32 {
	var out [][]float32
	for _, p := range tr.params {
		v, err := p.Data.Values()
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}

// Save, load into a fresh optimizer, continue: bit-identical to never stopping.
func TestCheckpointRoundTripIsBitIdentical(t *testing.T) {
	for _, kind := range allKinds {
		t.Run(kind, func(t *testing.T) {
			straight := newTrainer(t, kind)
			straight.run(t, 0, 20)

			first := newTrainer(t, kind)
			first.run(t, 0, 10)
			var buf bytes.Buffer
			require.NoError(t, first.opt.Save(&buf))

			second := newTrainer(t, kind)
			// The params continue from where the first run left them.
			for i, v := range first.values(t) {
				require.NoError(t, second.params[i].Data.CopyFrom(v))
			}
			require.NoError(t, second.opt.Load(bytes.NewReader(buf.Bytes())))
			require.Equal(t, first.opt.StepCount(0, 1), second.opt.StepCount(0, 1))
			second.run(t, 10, 20)
			require.Equal(t, straight.values(t), second.values(t))
		})
	}
}

func TestCheckpointFileIsAtomicAndLoads(t *testing.T) {
	tr := newTrainer(t, "adam")
	tr.run(t, 0, 3)
	dir := t.TempDir()
	path := filepath.Join(dir, "opt.ckpt")
	require.NoError(t, SaveFile(tr.opt, path))
	require.NoError(t, SaveFile(tr.opt, path)) // overwrite in place
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary files left behind")
	other := newTrainer(t, "adam")
	require.NoError(t, LoadFile(other.opt, path))
	require.Equal(t, tr.opt.StepCount(0, 0), other.opt.StepCount(0, 0))
}

// Every truncation and every flipped byte is refused, and the optimizer is left as
// it was.
func TestCheckpointCorruptionIsRefused(t *testing.T) {
	tr := newTrainer(t, "adam")
	tr.run(t, 0, 4)
	var buf bytes.Buffer
	require.NoError(t, tr.opt.Save(&buf))
	good := buf.Bytes()

	victim := newTrainer(t, "adam")
	victim.run(t, 0, 1)
	var before bytes.Buffer
	require.NoError(t, victim.opt.Save(&before))

	check := func(data []byte, what string) {
		err := victim.opt.Load(bytes.NewReader(data))
		require.ErrorIs(t, err, ErrCheckpoint, what)
		var after bytes.Buffer
		require.NoError(t, victim.opt.Save(&after))
		require.Equal(t, before.Bytes(), after.Bytes(), "%s changed the optimizer", what)
	}
	for _, n := range []int{0, 5, 8, 15, 16, 40, len(good) / 2, len(good) - 13, len(good) - 1} {
		check(good[:n], "truncated")
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < 200; i++ {
		bad := bytes.Clone(good)
		bad[rng.IntN(len(bad))] ^= byte(1 + rng.IntN(255))
		check(bad, "flipped byte")
	}
	wrongVersion := bytes.Clone(good)
	wrongVersion[8] = 2
	err := victim.opt.Load(bytes.NewReader(wrongVersion))
	require.ErrorContains(t, err, "version 2")
}

func TestCheckpointMismatchIsRefused(t *testing.T) {
	tr := newTrainer(t, "adam")
	tr.run(t, 0, 2)
	var buf bytes.Buffer
	require.NoError(t, tr.opt.Save(&buf))

	adamw := newTrainer(t, "adamw")
	require.ErrorIs(t, adamw.opt.Load(bytes.NewReader(buf.Bytes())), ErrCheckpoint)

	// Same kind, other shapes.
	p, err := NewParam("w", 301)
	require.NoError(t, err)
	defer p.Close()
	one, err := NewAdam([]*Param{p}, AdamDefaults())
	require.NoError(t, err)
	defer one.Close()
	err = one.Load(bytes.NewReader(buf.Bytes()))
	require.ErrorIs(t, err, ErrCheckpoint)
	require.ErrorContains(t, err, "param groups")

	// Same shapes, amsgrad off: other state tensors.
	a, err := NewArena([]string{"w", "b", "emb"}, []int{301, 7, 1000})
	require.NoError(t, err)
	defer a.Close()
	ps := a.Params()
	plain, err := NewAdam(ps[:2], AdamDefaults())
	require.NoError(t, err)
	defer plain.Close()
	require.NoError(t, plain.AddParamGroup(ps[2:], AdamDefaults()))
	err = plain.Load(bytes.NewReader(buf.Bytes()))
	require.ErrorIs(t, err, ErrCheckpoint)
	require.ErrorContains(t, err, "state")
}

// SaveFile's atomicity when a save fails part way, and what Load restores.
// FuzzCheckpointLoad feeds arbitrary bytes.

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

func TestSaveFileFailureKeepsTheOldCheckpoint(t *testing.T) {
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
func TestLoadRestoresEverythingButParams(t *testing.T) {
	for _, kind := range allKinds {
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
