package optim

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// Helpers shared by the package's tests: optimizers of every kind, snapshots of
// everything a call may change, params of every origin, forged checkpoints.

// allKinds is every optimizer kind, by the names newKind takes.
var allKinds = []string{"sgd", "adam", "adamw", "adagrad", "rmsprop", "adamax", "radam", "adadelta", "rprop", "nadam", "asgd", "adafactor", "lion",
	"ademamix", "muon", "lamb", "lars", "schedulefree_adamw"}

// newKind makes an optimizer of kind over params with a config that uses every state
// tensor the kind has (SGD with momentum, Adam with AMSGrad, centered RMSprop with
// momentum, Adagrad with an initial accumulator).
func newKind(kind string, params []*Param) (Optimizer, error) {
	switch kind {
	case "sgd":
		return NewSGD(params, SGDConfig{LR: 0.1, Momentum: 0.9, WeightDecay: 0.01})
	case "adam", "adamw":
		c := AdamDefaults()
		c.AMSGrad, c.LR, c.WeightDecay = true, 0.01, 0.05
		if kind == "adamw" {
			return NewAdamW(params, c)
		}
		return NewAdam(params, c)
	case "adagrad":
		c := AdagradDefaults()
		c.InitialAccumulatorValue, c.LRDecay = 0.1, 0.01
		return NewAdagrad(params, c)
	case "rmsprop":
		c := RMSpropDefaults()
		c.Momentum, c.Centered = 0.5, true
		return NewRMSprop(params, c)
	case "adamax":
		c := AdamaxDefaults()
		c.WeightDecay = 0.01
		return NewAdamax(params, c)
	case "radam":
		c := RAdamDefaults()
		c.WeightDecay, c.DecoupledWeightDecay = 0.01, true
		return NewRAdam(params, c)
	case "adadelta":
		c := AdadeltaDefaults()
		c.WeightDecay = 0.01
		return NewAdadelta(params, c)
	case "rprop":
		return NewRprop(params, RpropDefaults())
	case "nadam":
		c := NAdamDefaults()
		c.WeightDecay, c.MomentumDecay = 0.01, 0.01
		return NewNAdam(params, c)
	case "muon":
		// Params of even length >= 4 become 2 x n/2 matrices (Muon), the rest stay
		// vectors (its AdamW), so both halves run through every generic suite.
		for _, p := range params {
			if p != nil && p.Data != nil && p.Shape == nil && p.Data.Len() >= 4 && p.Data.Len()%2 == 0 {
				p.Shape = []int{2, p.Data.Len() / 2}
			}
		}
		c := MuonDefaults()
		c.LR, c.Aux.LR = 0.02, 0.01
		return NewMuon(params, c)
	case "lion":
		c := LionDefaults()
		c.LR, c.WeightDecay = 1e-3, 0.1
		return NewLion(params, c)
	case "ademamix":
		c := AdEMAMixDefaults()
		c.WeightDecay, c.AlphaWarmup, c.Beta3Warmup = 0.01, 3, 5
		return NewAdEMAMix(params, c)
	case "lamb":
		// apex's defaults: decoupled decay (so the trust ratio applies) and clipping by
		// the global norm of every group's gradients (max_grad_norm 1, below the norm of
		// fillRandom's gradients over mixedParams).
		c := LAMBDefaults()
		c.LR = 0.01
		return NewLAMB(params, c)
	case "lars":
		// With momentum (its one state tensor) and the decay LARC applies.
		c := LARSDefaults(0.1)
		c.Momentum, c.WeightDecay = 0.9, 0.01
		return NewLARS(params, c)
	case "schedulefree_adamw":
		// Weight decay and a warmup (so the lr, lr_max and the average's weights change
		// over the first steps), put in train mode: Schedule-Free starts in eval mode,
		// where Step is refused. With no param stepped yet, Train moves nothing.
		c := ScheduleFreeAdamWDefaults()
		c.LR, c.WeightDecay, c.WarmupSteps = 0.01, 0.01, 2
		o, err := NewScheduleFreeAdamW(params, c)
		if err != nil {
			return nil, err
		}
		if err := o.Train(); err != nil {
			o.Close()
			return nil, err
		}
		return o, nil
	case "adafactor":
		// Params without a Shape are vectors; adafactor_test.go covers matrices.
		c := AdafactorDefaults()
		c.WeightDecay = 0.01
		return NewAdafactor(params, c)
	case "asgd":
		// t0 = 2: averaging (and mu != 1) from the fourth step.
		c := ASGDDefaults()
		c.T0, c.Lambd, c.WeightDecay = 2, 0.01, 0.01
		return NewASGD(params, c)
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

// addKindGroup adds a second param group to an optimizer made by newKind, with a
// config of the same state layout but other numbers.
func addKindGroup(kind string, opt Optimizer, params []*Param) error {
	switch o := opt.(type) {
	case *SGD:
		return o.AddParamGroup(params, SGDConfig{LR: 0.05, Momentum: 0.5, Dampening: 0.1})
	case *Adam:
		c := AdamDefaults()
		c.AMSGrad = true
		if kind == "adamw" {
			c.WeightDecay = 0.1
		}
		return o.AddParamGroup(params, c)
	case *Adagrad:
		return o.AddParamGroup(params, AdagradConfig{LR: 0.05, InitialAccumulatorValue: 0.1, Eps: 1e-10})
	case *RMSprop:
		return o.AddParamGroup(params, RMSpropConfig{LR: 0.01, Alpha: 0.9, Eps: 1e-8, Momentum: 0.9, Centered: true})
	case *Adamax:
		return o.AddParamGroup(params, AdamaxConfig{LR: 0.005, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6})
	case *RAdam:
		return o.AddParamGroup(params, RAdamConfig{LR: 0.005, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.1})
	case *Adadelta:
		return o.AddParamGroup(params, AdadeltaConfig{LR: 0.5, Rho: 0.8, Eps: 1e-5})
	case *Rprop:
		return o.AddParamGroup(params, RpropConfig{LR: 0.05, EtaMinus: 0.4, EtaPlus: 1.3, StepSizeMin: 1e-4,
			StepSizeMax: 1})
	case *NAdam:
		return o.AddParamGroup(params, NAdamConfig{LR: 0.005, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.1,
			MomentumDecay: 0.004, DecoupledWeightDecay: true})
	case *ASGD:
		return o.AddParamGroup(params, ASGDConfig{LR: 0.05, Lambd: 1e-3, Alpha: 0.6, T0: 0})
	case *Lion:
		return o.AddParamGroup(params, LionConfig{LR: 3e-4, Beta1: 0.8, Beta2: 0.95})
	case *Muon:
		for _, p := range params {
			if p != nil && p.Data != nil && p.Shape == nil && p.Data.Len() >= 4 && p.Data.Len()%2 == 0 {
				p.Shape = []int{p.Data.Len() / 2, 2}
			}
		}
		c := MuonDefaults()
		c.Nesterov, c.AdjustLRFn, c.Aux.Beta1 = false, "match_rms_adamw", 0.8
		return o.AddParamGroup(params, c)
	case *LAMB:
		// No clipping of its own (the first group's still divides by the norm over both),
		// L2 decay, no bias correction or grad averaging, a trust ratio by use_nvlamb,
		// capped at 1.
		return o.AddParamGroup(params, LAMBConfig{LR: 5e-3, Beta1: 0.8, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.05,
			UseNVLAMB: true, TrustClip: true})
	case *LARS:
		// LARS proper (no clip of the adaptive lr), dampening, maximize.
		return o.AddParamGroup(params, LARSConfig{LR: 0.05, Momentum: 0.5, Dampening: 0.1, WeightDecay: 0.001,
			Maximize: true, TrustCoefficient: 0.001, Eps: 1e-8})
	case *ScheduleFreeAdamW:
		// The average weighted by t^r and lr_max^weight_lr_power otherwise, no decay,
		// another beta1 (so Train and Eval move it by other weights); a group added in
		// train mode is in train mode.
		return o.AddParamGroup(params, ScheduleFreeAdamWConfig{LR: 5e-3, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6,
			R: 0.5, WeightLRPower: 1})
	case *AdEMAMix:
		return o.AddParamGroup(params, AdEMAMixConfig{LR: 5e-3, Beta1: 0.8, Beta2: 0.99, Beta3: 0.999, Alpha: 5, Eps: 1e-6})
	case *Adafactor:
		return o.AddParamGroup(params, AdafactorConfig{LR: 0.05, Beta2Decay: -0.6, Eps1: 1e-6, Eps2: 1e-4, D: 2})
	}
	return fmt.Errorf("unknown optimizer %T", opt)
}

// snapshot is everything an optimizer step may change: the optimizer's checkpoint
// (state tensors, step counts, configs) and every param's data and grad bits.
type snapshot struct {
	ckpt  []byte
	data  [][]uint32
	grads [][]uint32
}

func bitsOf(t *testing.T, x *Tensor) []uint32 {
	t.Helper()
	if x == nil {
		return nil
	}
	v, err := x.Values()
	require.NoError(t, err)
	out := make([]uint32, len(v))
	for i, f := range v {
		out[i] = math.Float32bits(f)
	}
	return out
}

func takeSnapshot(t *testing.T, opt Optimizer, params []*Param) snapshot {
	t.Helper()
	var s snapshot
	if opt != nil {
		var buf bytes.Buffer
		require.NoError(t, opt.Save(&buf))
		s.ckpt = buf.Bytes()
	}
	for _, p := range params {
		s.data = append(s.data, bitsOf(t, p.Data))
		s.grads = append(s.grads, bitsOf(t, p.Grad))
	}
	return s
}

// requireUnchanged checks that nothing in the snapshot moved, bit for bit.
func requireUnchanged(t *testing.T, before snapshot, opt Optimizer, params []*Param, msg string) {
	t.Helper()
	after := takeSnapshot(t, opt, params)
	require.Equal(t, before.ckpt, after.ckpt, "%s: optimizer state (checkpoint bytes) changed", msg)
	require.Equal(t, before.data, after.data, "%s: param data changed", msg)
	require.Equal(t, before.grads, after.grads, "%s: gradients changed", msg)
}

// fillRandom puts reproducible random values into every param's data and grad.
func fillRandom(t *testing.T, params []*Param, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 11))
	for _, p := range params {
		require.NoError(t, p.Data.CopyFrom(randVec(rng, p.Data.Len(), 1)))
		if p.Grad != nil {
			require.NoError(t, p.Grad.CopyFrom(randVec(rng, p.Grad.Len(), 0.3)))
		}
	}
}

// mixedParams makes params of every origin: two arena params (one step call), a
// NewParam, and a param whose data and grad start one float past an aligned address:
// WrapSlice views of a Go slice on the CPU, views one float into backend buffers on
// the device backend, which cannot wrap Go memory (guardedTensor). All are closed at
// the end of the test.
func mixedParams(t *testing.T) []*Param {
	t.Helper()
	a, err := NewArena([]string{"arena.w", "arena.b"}, []int{37, 5})
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	p, err := NewParam("own", 70)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	var w *Param
	if OnDevice() {
		d, _ := guardedTensor(t, 1, 19, 0, 0)
		g, _ := guardedTensor(t, 1, 19, 0, 0)
		w = &Param{Name: "wrapped", Data: d, Grad: g}
	} else {
		buf := make([]float32, 2*19+2)
		d, err := WrapSlice(buf[1:20])
		require.NoError(t, err)
		g, err := WrapSlice(buf[21:40])
		require.NoError(t, err)
		w = &Param{Name: "wrapped", Data: d, Grad: g}
	}
	t.Cleanup(func() { w.Close() })
	return append(a.Params(), p, w)
}

// requireNoWrap checks the device backend's refusal of WrapSlice: Go memory cannot
// be used in place there, and the error says so.
func requireNoWrap(t *testing.T, s []float32) {
	t.Helper()
	x, err := WrapSlice(s)
	require.ErrorIs(t, err, ErrNotHost, "WrapSlice on the %s backend", Backend())
	require.Nil(t, x)
}

// wrapOrCopy is WrapSlice(s) where the backend can use Go memory in place (the
// CPU), and TensorFrom(s) on the device backend, after checking that it refuses
// WrapSlice. Only on the CPU does the tensor alias s; read it back with Values.
func wrapOrCopy(t *testing.T, s []float32) *Tensor {
	t.Helper()
	if OnDevice() {
		requireNoWrap(t, s)
		x, err := TensorFrom(s)
		require.NoError(t, err)
		return x
	}
	x, err := WrapSlice(s)
	require.NoError(t, err)
	return x
}

// guardedTensor makes a tensor of n floats that starts off floats into a buffer of
// off+n+after floats, every one of which starts as guard, and returns it with a
// reader of the whole buffer (to check the floats around the tensor). On the CPU the
// tensor is a WrapSlice of a Go slice, which the reader returns itself; the device
// backend cannot wrap Go memory (its refusal is checked), so there the buffer is an
// arena's data in backend memory, the tensor the view of an arena param at the same
// offset, and the reader copies the buffer out. The arena is closed when the test
// ends; Close the tensor as usual (a no-op for the view).
func guardedTensor(t *testing.T, off, n, after int, guard float32) (*Tensor, func() []float32) {
	t.Helper()
	total := off + n + after
	if !OnDevice() {
		back := make([]float32, total)
		for i := range back {
			back[i] = guard
		}
		x, err := WrapSlice(back[off : off+n])
		require.NoError(t, err)
		if n > 0 {
			require.Equal(t, uintptr(unsafe.Pointer(&back[off])), uintptr(x.Ptr()), "the tensor is the slice")
		}
		return x, func() []float32 { return back }
	}
	requireNoWrap(t, make([]float32, n))
	a, err := NewArena(nil, []int{off, n, after})
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	whole := a.Data()
	require.NoError(t, whole.Fill(guard))
	x := a.Params()[1].Data
	if n > 0 {
		require.Equal(t, uintptr(whole.Ptr())+uintptr(4*off), uintptr(x.Ptr()), "the view starts %d floats in", off)
	}
	return x, func() []float32 {
		v, err := whole.Values()
		require.NoError(t, err)
		return v
	}
}

// Checkpoint framing (see checkpoint.go), for tests that forge checkpoints with
// valid checksums.

// splitCheckpoint splits a checkpoint into header JSON and payload; ok is false when
// the framing does not parse.
func splitCheckpoint(b []byte) (hdr, payload []byte, ok bool) {
	if len(b) < 16 {
		return nil, nil, false
	}
	hlen := int(binary.LittleEndian.Uint32(b[12:16]))
	if len(b) < 16+hlen+4+12 {
		return nil, nil, false
	}
	hdr = b[16 : 16+hlen]
	payload = b[16+hlen+4 : len(b)-12]
	return hdr, payload, true
}

// frameCheckpoint builds a checkpoint of a header and payload with correct
// checksums, version and trailer.
func frameCheckpoint(hdr, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString(checkpointMagic)
	binary.Write(&b, binary.LittleEndian, uint32(checkpointVersion))
	binary.Write(&b, binary.LittleEndian, uint32(len(hdr)))
	b.Write(hdr)
	binary.Write(&b, binary.LittleEndian, crc32.Checksum(hdr, castagnoli))
	b.Write(payload)
	binary.Write(&b, binary.LittleEndian, crc32.Checksum(payload, castagnoli))
	b.WriteString(checkpointTrailer)
	return b.Bytes()
}

// fixChecksums recomputes both checksums of a checkpoint whose framing parses, so
// that the loader's later checks (JSON, shapes, state) are reached.
func fixChecksums(b []byte) []byte {
	hdr, payload, ok := splitCheckpoint(b)
	if !ok {
		return b
	}
	out := bytes.Clone(b)
	hlen := len(hdr)
	binary.LittleEndian.PutUint32(out[16+hlen:], crc32.Checksum(hdr, castagnoli))
	binary.LittleEndian.PutUint32(out[len(out)-12:], crc32.Checksum(payload, castagnoli))
	return out
}
