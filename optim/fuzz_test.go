package optim

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/internal/reference"
)

// Fuzz targets. `go test` runs their seed corpora (the f.Add calls below and the
// files under testdata/fuzz/<FuzzName>/); scripts/fuzz.sh (make fuzz) fuzzes each
// for a bounded time. GOPTIM_WRITE_FUZZ_SEEDS=1 go test -run WriteFuzzSeeds
// regenerates the committed seed files.

// ---------------------------------------------------------------- checkpoints

// fuzzCheckpointFixture makes a small optimizer of kind in two groups (an arena's
// two params, then a NewParam), with one step taken so that its state is not zero.
func fuzzCheckpointFixture(t testing.TB, kind string) (Optimizer, []*Param) {
	a, err := NewArena([]string{"w", "b"}, []int{3, 2})
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	v, err := NewParam("v", 4)
	require.NoError(t, err)
	t.Cleanup(func() { v.Close() })
	params := append(a.Params(), v)
	for i, p := range params {
		d := make([]float32, p.Data.Len())
		g := make([]float32, p.Data.Len())
		for j := range d {
			d[j] = float32(i+1) * 0.25 * float32(j+1)
			g[j] = 0.5 - float32(j)*0.125
		}
		require.NoError(t, p.Data.CopyFrom(d))
		require.NoError(t, p.Grad.CopyFrom(g))
	}
	opt, err := newKind(kind, params[:2])
	require.NoError(t, err)
	t.Cleanup(func() { opt.Close() })
	require.NoError(t, addKindGroup(kind, opt, params[2:]))
	require.NoError(t, opt.Step())
	return opt, params
}

// checkpointSeeds are valid checkpoints of every kind (loadable into the fixtures)
// and a few damaged ones; fix says whether the target recomputes the checksums.
func checkpointSeeds(t testing.TB) []struct {
	data []byte
	fix  bool
} {
	var out []struct {
		data []byte
		fix  bool
	}
	add := func(b []byte, fix bool) {
		out = append(out, struct {
			data []byte
			fix  bool
		}{b, fix})
	}
	for _, kind := range allKinds {
		opt, _ := fuzzCheckpointFixture(t, kind)
		require.NoError(t, opt.Step())
		var buf bytes.Buffer
		require.NoError(t, opt.Save(&buf))
		good := buf.Bytes()
		add(good, false)
		add(good, true)
		hdr, payload, ok := splitCheckpoint(good)
		require.True(t, ok)
		// Header edits behind valid checksums reach the loader's semantic checks.
		for _, edit := range [][2]string{
			{`"numel":3`, `"numel":4`},
			{`"name":"w"`, `"name":"x"`},
			{`"step":2`, `"step":-1`},
			{`"lr":`, `"lr":-`},
			{`"optimizer":"`, `"optimizer":"x`},
			{`"version":1`, `"version":2`},
			{`"payload_bytes":`, `"payload_bytes":1`},
			{`"groups":[`, `"groups":[{},`},
			{`"config":{`, `"config":{"extra":1,`},
		} {
			if bytes.Contains(hdr, []byte(edit[0])) {
				h := bytes.Replace(hdr, []byte(edit[0]), []byte(edit[1]), 1)
				add(frameCheckpoint(h, payload), true)
			}
		}
		add(frameCheckpoint(hdr, payload[:len(payload)-4]), true)
	}
	add(nil, false)
	add([]byte(checkpointMagic), false)
	add([]byte("GOPTIMCK\x01\x00\x00\x00\xff\xff\xff\x0f"), false) // a 256 MiB header claimed
	add([]byte("GOPTIMCK\x02\x00\x00\x00\x00\x00\x00\x00"), true)
	return out
}

// FuzzCheckpointLoad: arbitrary bytes into Load never panic; they either load or
// fail with an error matching ErrCheckpoint and leave the optimizer exactly as it
// was. With fix set, the checksums are recomputed first so that mutations reach
// the header and shape checks. A checkpoint that loads round-trips: saving it again
// gives bytes that load into a fresh optimizer and save identically.
func FuzzCheckpointLoad(f *testing.F) {
	for _, s := range checkpointSeeds(f) {
		f.Add(s.data, s.fix)
	}
	f.Fuzz(func(t *testing.T, data []byte, fix bool) {
		if fix {
			data = fixChecksums(data)
		}
		for _, kind := range allKinds {
			opt, params := fuzzCheckpointFixture(t, kind)
			before := takeSnapshot(t, opt, params)
			err := opt.Load(bytes.NewReader(data))
			if err != nil {
				require.ErrorIs(t, err, ErrCheckpoint, "%s", kind)
				var ce *CheckpointError
				require.ErrorAs(t, err, &ce)
				require.True(t, strings.HasPrefix(err.Error(), "optim: bad checkpoint: "), err.Error())
				requireUnchanged(t, before, opt, params, kind+": refused checkpoint")
				continue
			}
			after := takeSnapshot(t, opt, params)
			require.Equal(t, before.data, after.data, "Load does not touch the params")
			require.Equal(t, before.grads, after.grads, "Load does not touch the gradients")
			fresh, _ := fuzzCheckpointFixture(t, kind)
			require.NoError(t, fresh.Load(bytes.NewReader(after.ckpt)), "%s: a re-saved checkpoint loads", kind)
			var again bytes.Buffer
			require.NoError(t, fresh.Save(&again))
			require.Equal(t, after.ckpt, again.Bytes(), "%s: save(load(save(x))) == save(x)", kind)
			_ = opt.Step() // whatever was loaded, a step must not crash
		}
	})
}

// ---------------------------------------------------------------- kernels

// fuzzCfg is one optimizer configuration in torch's terms.
type fuzzCfg struct {
	kind                      string
	lr, h1, h2, h3, h4        float64
	maximize, variant, squash bool
}

var fuzzKinds = []string{"sgd", "adam", "adamw", "adagrad", "rmsprop"}

// squash maps any float into [0, 1).
func squash(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0.5
	}
	_, f := math.Modf(math.Abs(x))
	return f
}

func (c fuzzCfg) squashed() fuzzCfg {
	if !c.squash {
		return c
	}
	u := func(x float64) float64 { return math.Min(squash(x), 0.9999) }
	eps := func(x float64) float64 {
		if s := squash(x); s >= 0.05 {
			return math.Pow(10, -12*s)
		}
		return 0
	}
	c.lr = 2 * squash(c.lr)
	switch c.kind {
	case "sgd": // momentum, dampening, weight_decay
		c.h1, c.h2, c.h3 = u(c.h1), squash(c.h2), squash(c.h3)
		if c.variant { // nesterov
			c.h1, c.h2 = math.Max(c.h1, 0.01), 0
		}
	case "adam", "adamw": // beta1, beta2, eps, weight_decay
		c.h1, c.h2, c.h3, c.h4 = u(c.h1), u(c.h2), eps(c.h3), squash(c.h4)
	case "adagrad": // lr_decay, weight_decay, initial_accumulator_value, eps
		c.h1, c.h2, c.h3, c.h4 = squash(c.h1), squash(c.h2), squash(c.h3), eps(c.h4)
	case "rmsprop": // alpha, eps, weight_decay, momentum
		c.h1, c.h2, c.h3, c.h4 = u(c.h1), eps(c.h2), squash(c.h3), u(c.h4)
	}
	return c
}

// torchAccepts is torch.optim's validation of the options, written independently
// of this package's (goptim also refuses NaN and Inf, which torch's comparisons let
// through).
func (c fuzzCfg) torchAccepts() bool {
	nn := func(vs ...float64) bool {
		for _, v := range vs {
			if !(v >= 0) || math.IsInf(v, 0) {
				return false
			}
		}
		return true
	}
	unit := func(v float64) bool { return v >= 0 && v < 1 }
	switch c.kind {
	case "sgd":
		return nn(c.lr, c.h1, c.h2, c.h3) && (!c.variant || (c.h1 > 0 && c.h2 == 0))
	case "adam", "adamw":
		return nn(c.lr, c.h3, c.h4) && unit(c.h1) && unit(c.h2)
	case "adagrad", "rmsprop":
		return nn(c.lr, c.h1, c.h2, c.h3, c.h4)
	}
	return false
}

func (c fuzzCfg) make(params []*Param) (Optimizer, error) {
	switch c.kind {
	case "sgd":
		return NewSGD(params, SGDConfig{LR: c.lr, Momentum: c.h1, Dampening: c.h2, WeightDecay: c.h3,
			Nesterov: c.variant, Maximize: c.maximize})
	case "adam", "adamw":
		cfg := AdamConfig{LR: c.lr, Beta1: c.h1, Beta2: c.h2, Eps: c.h3, WeightDecay: c.h4, AMSGrad: c.variant,
			Maximize: c.maximize}
		if c.kind == "adamw" {
			return NewAdamW(params, cfg)
		}
		return NewAdam(params, cfg)
	case "adagrad":
		return NewAdagrad(params, AdagradConfig{LR: c.lr, LRDecay: c.h1, WeightDecay: c.h2,
			InitialAccumulatorValue: c.h3, Eps: c.h4, Maximize: c.maximize})
	case "rmsprop":
		return NewRMSprop(params, RMSpropConfig{LR: c.lr, Alpha: c.h1, Eps: c.h2, WeightDecay: c.h3, Momentum: c.h4,
			Centered: c.variant, Maximize: c.maximize})
	}
	return nil, fmt.Errorf("kind %q", c.kind)
}

// stateNames are the state tensors the configuration keeps, in goptim.h's order.
func (c fuzzCfg) stateNames() []string {
	switch c.kind {
	case "sgd":
		if c.h1 != 0 {
			return []string{"momentum_buffer"}
		}
		return nil
	case "adam", "adamw":
		if c.variant {
			return []string{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
		}
		return []string{"exp_avg", "exp_avg_sq"}
	case "adagrad":
		return []string{"sum"}
	}
	out := []string{"square_avg"}
	if c.h4 > 0 {
		out = append(out, "momentum_buffer")
	}
	if c.variant {
		out = append(out, "grad_avg")
	}
	return out
}

// refRun runs steps of the float64 reference from p0 with the constant gradient g
// and returns the final param and state tensors (named as stateNames), and which
// elements' L2-decayed gradient g + wd*p cancelled to within 2^-14 of its terms at
// some step of an adaptive optimizer. There the update is about lr*sign(g + wd*p)
// (Adam's m/sqrt(v), Adagrad's and RMSprop's g/sqrt(...) with a small eps), so
// rounding decides the sign and with it the rest of the trajectory: a branch that
// random perturbations may not happen to take, so it is flagged directly.
func refRun(c fuzzCfg, p0, g []float64, steps int) (p []float64, state map[string][]float64, cancel []bool) {
	return refRunRounded(c, p0, g, steps, nil)
}

// refRunRounded is refRun with round applied to the result of every operation of the
// reference (nil: plain float64).
func refRunRounded(c fuzzCfg, p0, g []float64, steps int, round func(float64) float64) (p []float64, state map[string][]float64, cancel []bool) {
	n := len(p0)
	p = append([]float64(nil), p0...)
	mk := func() []float64 { return make([]float64, n) }
	state = map[string][]float64{}
	cancel = make([]bool, n)
	wd := map[string]float64{"adam": c.h4, "adagrad": c.h2, "rmsprop": c.h3}[c.kind]
	watch := func() {
		if wd == 0 {
			return
		}
		for i := range p {
			gi, a := g[i], wd*p[i]
			if c.maximize {
				gi = -gi
			}
			if math.Abs(gi+a) <= 0x1p-14*(math.Abs(gi)+math.Abs(a)) {
				cancel[i] = true
			}
		}
	}
	switch c.kind {
	case "sgd":
		r := reference.SGD{LR: c.lr, Momentum: c.h1, Dampening: c.h2, WeightDecay: c.h3, Nesterov: c.variant, Maximize: c.maximize, Round: round}
		buf := mk()
		for t := 1; t <= steps; t++ {
			r.Step(p, g, buf, int64(t))
		}
		state["momentum_buffer"] = buf
	case "adam", "adamw":
		r := reference.Adam{LR: c.lr, Beta1: c.h1, Beta2: c.h2, Eps: c.h3, WeightDecay: c.h4, AMSGrad: c.variant,
			Maximize: c.maximize, Decoupled: c.kind == "adamw", Round: round}
		m, v, vm := mk(), mk(), mk()
		for t := 1; t <= steps; t++ {
			watch()
			r.Step(p, g, m, v, vm, int64(t))
		}
		state["exp_avg"], state["exp_avg_sq"], state["max_exp_avg_sq"] = m, v, vm
	case "adagrad":
		r := reference.Adagrad{LR: c.lr, LRDecay: c.h1, WeightDecay: c.h2, Eps: c.h4, Maximize: c.maximize, Round: round}
		sum := mk()
		for i := range sum {
			sum[i] = float64(float32(c.h3))
		}
		for t := 1; t <= steps; t++ {
			watch()
			r.Step(p, g, sum, int64(t))
		}
		state["sum"] = sum
	case "rmsprop":
		r := reference.RMSprop{LR: c.lr, Alpha: c.h1, Eps: c.h2, WeightDecay: c.h3, Momentum: c.h4, Centered: c.variant,
			Maximize: c.maximize, Round: round}
		sq, buf, ga := mk(), mk(), mk()
		for t := 1; t <= steps; t++ {
			watch()
			r.Step(p, g, sq, buf, ga)
		}
		state["square_avg"], state["momentum_buffer"], state["grad_avg"] = sq, buf, ga
	}
	return p, state, cancel
}

// mcaRun is the reference in Monte Carlo arithmetic: every intermediate result x
// replaced by x*(1+d*noise()). The spread of a few such runs around the reference
// measures how much rounding in any operation can move each output, including through
// cancellations inside the update (centered RMSprop's sq - ga², weight decay against the
// gradient) that perturbing the inputs alone would not show. It sets the fuzz target's
// tolerances, nothing else.
func mcaRun(c fuzzCfg, p0, g []float64, steps int, noise func() float64, d float64) (p []float64, state map[string][]float64) {
	p, state, _ = refRunRounded(c, p0, g, steps, func(x float64) float64 { return x * (1 + d*noise()) })
	return p, state
}

// floatWeightDecay is c with an L2 weight decay rounded to float32.
func (c fuzzCfg) floatWeightDecay() fuzzCfg {
	switch c.kind {
	case "sgd", "rmsprop":
		c.h3 = float64(float32(c.h3))
	case "adam":
		c.h4 = float64(float32(c.h4))
	case "adagrad":
		c.h2 = float64(float32(c.h2))
	}
	return c
}

// perturbed is c with every real option moved by a relative amount of at most d
// (one-minus forms for betas, alpha, momentum and dampening, whose sensitivity is
// in 1-x); noise gives the factors in [-1, 1].
func (c fuzzCfg) perturbed(noise func() float64, d float64) fuzzCfg {
	r := func(x float64) float64 { return x * (1 + d*noise()) }
	// Kept in [0, 1): a negative alpha, say, would make a variance negative. An
	// option of exactly 0 stays 0 (fp32 holds it exactly, and a momentum moved off 0
	// would switch the update to another branch, which consumes the noise in another
	// order and spoils the antithetic pairs below).
	om := func(x float64) float64 {
		n := noise()
		if x == 0 {
			return 0
		}
		return math.Min(math.Max(1-(1-x)*(1+d*n), 0), math.Nextafter(1, 0))
	}
	c.lr = r(c.lr)
	switch c.kind {
	case "sgd":
		c.h1, c.h2, c.h3 = r(c.h1), om(c.h2), r(c.h3)
		if c.variant {
			c.h2 = 0
		}
	case "adam", "adamw":
		c.h1, c.h2, c.h3, c.h4 = om(c.h1), om(c.h2), r(c.h3), r(c.h4)
	case "adagrad":
		c.h1, c.h2, c.h3, c.h4 = r(c.h1), r(c.h2), r(c.h3), r(c.h4)
	case "rmsprop":
		c.h1, c.h2, c.h3, c.h4 = om(c.h1), r(c.h2), r(c.h3), om(c.h4)
	}
	return c
}

// wellConditioned reports whether the comparison with the float64 reference is
// meaningful: options in moderate ranges and every input finite with a magnitude of
// 0 or in [2^-30, 2^30], so fp32 neither overflows nor underflows on the way.
func (c fuzzCfg) wellConditioned(vals ...[]float32) bool {
	in := func(x, lo, hi float64) bool { return x >= lo && x <= hi }
	epsOK := func(e float64) bool { return e == 0 || in(e, 1e-12, 10) }
	ok := in(c.lr, 0, 100)
	switch c.kind {
	case "sgd":
		ok = ok && in(c.h1, 0, 0.9999) && in(c.h2, 0, 1) && in(c.h3, 0, 100)
	case "adam", "adamw":
		ok = ok && in(c.h1, 0, 0.9999) && in(c.h2, 0, 0.9999) && epsOK(c.h3) && in(c.h4, 0, 100)
	case "adagrad":
		ok = ok && in(c.h1, 0, 100) && in(c.h2, 0, 100) && in(c.h3, 0, 100) && epsOK(c.h4)
	case "rmsprop":
		ok = ok && in(c.h1, 0, 0.9999) && epsOK(c.h2) && in(c.h3, 0, 100) && in(c.h4, 0, 0.9999)
	}
	if !ok {
		return false
	}
	for _, v := range vals {
		for _, x := range v {
			a := math.Abs(float64(x))
			if a != 0 && !in(a, 0x1p-30, 0x1p30) {
				return false
			}
		}
	}
	return true
}

// fuzzValues expands raw bytes (little-endian float32s, used cyclically) into n
// param and n gradient values.
func fuzzValues(raw []byte, n int) (param, grad []float32) {
	vals := make([]float32, len(raw)/4)
	for i := range vals {
		vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	param, grad = make([]float32, n), make([]float32, n)
	for j := 0; j < n; j++ {
		if len(vals) == 0 {
			param[j], grad[j] = float32(j%7)-3, 0.5*float32(j%5)-1
			continue
		}
		param[j], grad[j] = vals[(2*j)%len(vals)], vals[(2*j+1)%len(vals)]
	}
	return param, grad
}

// kernelRun steps the fp32 kernels over tensors that start dataOff and gradOff
// floats into guarded buffers (guardedTensor: WrapSlice of Go memory on the CPU,
// arena views in backend memory on the device backend), and returns the final param
// and state.
func kernelRun(t *testing.T, c fuzzCfg, param, grad []float32, dataOff, gradOff, steps int) ([]float32, map[string][]float32) {
	const guardVal = float32(-7.25)
	n := len(param)
	d, dataBuf := guardedTensor(t, dataOff, n, 32-dataOff, guardVal)
	g, gradBuf := guardedTensor(t, gradOff, n, 32-gradOff, guardVal)
	require.NoError(t, d.CopyFrom(param))
	require.NoError(t, g.CopyFrom(grad))
	p := &Param{Name: "p", Data: d, Grad: g}
	defer p.Close()
	opt, err := c.make([]*Param{p})
	require.NoError(t, err)
	defer opt.Close()
	for s := 0; s < steps; s++ {
		require.NoError(t, opt.Step())
	}
	st := map[string][]float32{}
	for _, name := range c.stateNames() {
		v, err := stateOf(opt, 0, name)
		require.NoError(t, err)
		st[name] = v
	}
	db, gb := dataBuf(), gradBuf()
	for i := range db {
		if i < dataOff || i >= dataOff+n {
			require.Equal(t, guardVal, db[i], "a float before or after the param was written")
		}
		if i < gradOff || i >= gradOff+n {
			require.Equal(t, guardVal, gb[i], "a float before or after the gradient was written")
		}
	}
	require.Equal(t, bitsOfSlice(grad), bitsOfSlice(gb[gradOff:gradOff+n]), "a plain step changed the gradient")
	return append([]float32(nil), db[dataOff:dataOff+n]...), st
}

func isNonFinite(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }

func isFinite32(x float32) bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }

// FuzzKernelsVsReference: random lengths, start offsets, options and values (NaN,
// Inf, denormals, huge and tiny magnitudes included) through the fp32 kernels.
//
//   - Options are accepted exactly when torch accepts them (refused ones give a
//     ConfigError).
//   - The kernels never crash, never write outside the tensors, never change the
//     gradient in a plain step.
//   - A NaN in an element's inputs gives NaN in that element's param, any other
//     non-finite input a non-finite param; and elements are independent: replacing
//     the non-finite inputs by ordinary numbers leaves every other element's result
//     bit-identical.
//   - When the options and inputs are finite and well-conditioned (see
//     wellConditioned), the params and state match internal/reference's float64
//     update within a tolerance set by the problem's own sensitivity, measured by
//     rerunning the reference on inputs and options perturbed by 2^-18.
func FuzzKernelsVsReference(f *testing.F) {
	for _, s := range kernelSeeds() {
		f.Add(s.sel, s.flags, s.lr, s.h1, s.h2, s.h3, s.h4, s.n, s.off, s.steps, s.raw)
	}
	f.Fuzz(func(t *testing.T, sel, flags uint8, lr, h1, h2, h3, h4 float64, nlen uint16, off, steps uint8, raw []byte) {
		c := fuzzCfg{kind: fuzzKinds[int(sel)%len(fuzzKinds)], lr: lr, h1: h1, h2: h2, h3: h3, h4: h4,
			maximize: flags&1 != 0, variant: flags&2 != 0, squash: flags&0x80 != 0}.squashed()
		n := int(nlen) % 3000
		nsteps := 1 + int(steps)%4
		dataOff, gradOff := int(off)%16, int(off/16)%16
		param, grad := fuzzValues(raw, n)

		opt, err := c.make(nil)
		// goptim also refuses configs whose kernel scalars leave float32's range
		// (scalarsFit, float32range_test.go), which torch's checks let through.
		if !c.torchAccepts() || !scalarsFit(c) {
			require.ErrorIs(t, err, ErrInvalidConfig, "%+v", c)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			return
		}
		require.NoError(t, err, "%+v", c)
		opt.Close()

		gotP, gotS := kernelRun(t, c, param, grad, dataOff, gradOff, nsteps)

		// NaN and Inf stay in their element.
		clean := false
		cp, cg := append([]float32(nil), param...), append([]float32(nil), grad...)
		for j := range param {
			pj, gj := param[j], grad[j]
			if math.IsNaN(float64(pj)) || math.IsNaN(float64(gj)) {
				require.True(t, math.IsNaN(float64(gotP[j])), "element %d: NaN in (param %v, grad %v) gave %v", j, pj, gj, gotP[j])
			}
			if !isFinite32(pj) || !isFinite32(gj) {
				require.False(t, isFinite32(gotP[j]), "element %d: non-finite input (param %v, grad %v) gave %v", j, pj, gj, gotP[j])
				cp[j], cg[j], clean = 1, 0.5, true
			}
		}
		if clean {
			cleanP, cleanS := kernelRun(t, c, cp, cg, dataOff, gradOff, nsteps)
			for j := range param {
				if isFinite32(param[j]) && isFinite32(grad[j]) {
					require.Equal(t, math.Float32bits(cleanP[j]), math.Float32bits(gotP[j]),
						"element %d depends on other elements' NaN/Inf", j)
					for name, v := range cleanS {
						require.Equal(t, math.Float32bits(v[j]), math.Float32bits(gotS[name][j]), "state %s element %d", name, j)
					}
				}
			}
		}

		if !c.wellConditioned(param, grad) {
			return
		}
		p64, g64 := make([]float64, n), make([]float64, n)
		for j := range param {
			p64[j], g64[j] = float64(param[j]), float64(grad[j])
		}
		// The kernels add weight_decay*p to the gradient in fp32 with weight_decay
		// rounded to float, so g + wd*p can cancel to exactly 0 where float64's does
		// not (wd = 0.99999999 is 1.0f) and g/|g|-style updates then go another way.
		// The reference takes the float weight decay (AdamW's decay factor 1-lr*wd is
		// computed in double on both sides and is left alone).
		c = c.floatWeightDecay()
		wantP, wantS, cancel := refRun(c, p64, g64, nsteps)
		// Sensitivity: the largest change of each output under random relative
		// perturbations of every input and option by up to 2^-18.
		const delta = 0x1p-18
		sensP := make([]float64, n)
		sensS := map[string][]float64{}
		for name := range wantS {
			sensS[name] = make([]float64, n)
		}
		// Two random perturbations, each applied with both signs, so that a result
		// that saturates (Adam's or Adagrad's g/|g| when g cancels) is seen to flip.
		for trial := 0; trial < 4; trial++ {
			sign := float64(1 - 2*(trial%2))
			rng := rand.New(rand.NewPCG(uint64(n), uint64(trial/2)))
			next := func() float64 { return sign * (2*rng.Float64() - 1) }
			pp, pg := make([]float64, n), make([]float64, n)
			for j := range pp {
				pp[j] = p64[j] * (1 + delta*next())
				pg[j] = g64[j] * (1 + delta*next())
			}
			qP, qS := mcaRun(c.perturbed(next, delta), pp, pg, nsteps, next, delta)
			for j := range qP {
				sensP[j] = math.Max(sensP[j], math.Abs(qP[j]-wantP[j]))
				for name, v := range qS {
					sensS[name][j] = math.Max(sensS[name][j], math.Abs(v[j]-wantS[name][j]))
				}
			}
		}
		// An element is ill-conditioned when inputs within 2^-18 of its own change any
		// of its outputs by more than 2^-14 of itself (16 times the perturbation): e.g. a gradient that cancels to
		// 0 against weight decay in fp32 (not in float64) with eps = 0, where fp32's
		// 0/0 is NaN. Its NaN-ness is then not checked, only its finite values.
		ill := append([]bool(nil), cancel...)
		for j := range ill {
			// (NaN-safe: a NaN or Inf sensitivity counts as ill-conditioned.)
			ill[j] = ill[j] || !(sensP[j] <= 0x1p-14*(math.Abs(wantP[j])+math.Abs(p64[j]))) || isNonFinite(sensP[j])
			for name, v := range sensS {
				ill[j] = ill[j] || !(v[j] <= 0x1p-14*math.Abs(wantS[name][j])) || isNonFinite(v[j])
			}
		}
		check := func(what string, j int, got float32, want, sens, scale float64) {
			if isNonFinite(sens) || cancel[j] {
				return // too ill-conditioned to compare: a tiny perturbation changes everything
			}
			if isNonFinite(want) || !isFinite32(got) {
				if float64(got) == want || (math.IsNaN(want) && math.IsNaN(float64(got))) || ill[j] {
					return
				}
				t.Fatalf("%s element %d: got %v, float64 reference %v (%+v, %d steps, param %v, grad %v)",
					what, j, got, want, c, nsteps, param[j], grad[j])
			}
			if sens > 0x1p-4*(math.Abs(want)+scale) {
				// Chaotic: a 2^-18 nudge moves the result by 1/16 of itself, e.g. centered
				// RMSprop's sqrt(sq - ga²) after sq - ga² has cancelled below fp32's
				// resolution, where fp32 gives eps and float64 a small root. Nothing to
				// compare.
				return
			}
			tol := 4*sens + 0x1p-18*float64(nsteps)*(math.Abs(want)+scale) + 1e-30
			require.LessOrEqual(t, math.Abs(float64(got)-want), tol,
				"%s element %d: got %.9g, float64 reference %.9g (%+v, %d steps, param %v, grad %v)",
				what, j, got, want, c, nsteps, param[j], grad[j])
		}
		for j := range gotP {
			check("param", j, gotP[j], wantP[j], sensP[j], math.Abs(p64[j]))
			for name, v := range gotS {
				check("state "+name, j, v[j], wantS[name][j], sensS[name][j], 0)
			}
		}
	})
}

type kernelSeed struct {
	sel, flags         uint8
	lr, h1, h2, h3, h4 float64
	n                  uint16
	off, steps         uint8
	raw                []byte
}

func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// kernelSeeds cover every kind with torch's defaults and with every option on,
// lengths around the vector widths, offsets, special values and invalid options.
func kernelSeeds() []kernelSeed {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	ordinary := f32bytes(0.5, -1.25, 3, 0.01, -0.7, 2.5, 1e-3, -4, 0.25, 0.125, -0.0625, 7)
	special := f32bytes(1, nan, -2, inf, 0.5, -inf, 1e-40, 3e38, -1e-45, 0.3, 1e30, -1e-30, 0, -0.0, 1.5, 2)
	var out []kernelSeed
	defaults := [][5]float64{
		{0.01, 0.9, 0, 0.001, 0},       // sgd: momentum, dampening, weight_decay
		{1e-3, 0.9, 0.999, 1e-8, 0},    // adam
		{1e-3, 0.9, 0.999, 1e-8, 1e-2}, // adamw
		{1e-2, 0, 0, 0, 1e-10},         // adagrad: lr_decay, wd, init_acc, eps
		{1e-2, 0.99, 1e-8, 0, 0},       // rmsprop: alpha, eps, wd, momentum
	}
	busy := [][5]float64{
		{0.05, 0.9, 0, 0.01, 0},
		{0.01, 0.8, 0.99, 1e-6, 0.1},
		{0.01, 0.5, 0.9, 1e-3, 0.3},
		{0.05, 0.01, 0.1, 0.5, 1e-6},
		{0.01, 0.9, 1e-6, 0.1, 0.5},
	}
	for k := 0; k < 5; k++ {
		d, b := defaults[k], busy[k]
		out = append(out,
			kernelSeed{uint8(k), 0, d[0], d[1], d[2], d[3], d[4], 17, 0, 2, ordinary},
			kernelSeed{uint8(k), 3, b[0], b[1], b[2], b[3], b[4], 1025, 0x31, 3, ordinary},
			kernelSeed{uint8(k), 2, b[0], b[1], b[2], b[3], b[4], 67, 0x15, 1, special},
			kernelSeed{uint8(k), 0x81, 0.37, 0.41, 0.93, 0.2, 0.05, 300, 0xf7, 3, nil},
			kernelSeed{uint8(k), 0, -1, d[1], d[2], d[3], d[4], 5, 0, 0, ordinary},        // negative lr
			kernelSeed{uint8(k), 0, d[0], 1, d[2], d[3], d[4], 5, 0, 0, ordinary},         // beta1 / momentum etc. at 1
			kernelSeed{uint8(k), 0, d[0], d[1], -0.5, d[3], d[4], 0, 0, 0, ordinary},      // a negative option
			kernelSeed{uint8(k), 0, d[0], d[1], d[2], math.NaN(), d[4], 3, 0, 0, special}, // NaN option
		)
	}
	out = append(out, kernelSeed{0, 2, 0.1, 0.9, 0.1, 0, 0, 9, 0, 1, ordinary}) // nesterov with dampening
	return out
}

// ---------------------------------------------------------------- seed files

// TestWriteFuzzSeeds writes the seed corpora to testdata/fuzz/<FuzzName>/ in the
// go fuzzing file format, when GOPTIM_WRITE_FUZZ_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("GOPTIM_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("skipped: set GOPTIM_WRITE_FUZZ_SEEDS=1 to regenerate testdata/fuzz")
	}
	write := func(target string, lines ...string) {
		body := "go test fuzz v1\n" + strings.Join(lines, "\n") + "\n"
		dir := filepath.Join("testdata", "fuzz", target)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		name := fmt.Sprintf("seed-%x", sha256.Sum256([]byte(body)))[:21]
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	f64 := func(x float64) string {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprintf("math.Float64frombits(0x%x)", math.Float64bits(x))
		}
		return "float64(" + strconv.FormatFloat(x, 'g', -1, 64) + ")"
	}
	for _, s := range checkpointSeeds(t) {
		write("FuzzCheckpointLoad", fmt.Sprintf("[]byte(%q)", s.data), fmt.Sprintf("bool(%v)", s.fix))
	}
	for _, s := range kernelSeeds() {
		write("FuzzKernelsVsReference", fmt.Sprintf("byte(%q)", s.sel), fmt.Sprintf("byte(%q)", s.flags),
			f64(s.lr), f64(s.h1), f64(s.h2), f64(s.h3), f64(s.h4), fmt.Sprintf("uint16(%d)", s.n),
			fmt.Sprintf("byte(%q)", s.off), fmt.Sprintf("byte(%q)", s.steps), fmt.Sprintf("[]byte(%q)", s.raw))
	}
}
