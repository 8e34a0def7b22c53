package optim

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// Tests of the values torch keeps per param on the host (NAdam's mu_product, ASGD's
// eta and mu; Schedule-Free AdamW's weight_sum and lr_max, which its reference keeps
// per group and goptim per param, as torch keeps step counts): they follow each
// param's own steps, so params whose histories differ step apart and each matches a
// run of that param alone.

// hostValuesRun steps kind over params a and b for steps steps; b has no gradient at
// the steps in skipB. It returns both params' data and the named host values.
func hostValuesRun(t *testing.T, kind string, steps int, skipB map[int]bool, names []string) (data [2][]float32, vals [2][]float32) {
	t.Helper()
	a := float32Param(t, []float32{1, -2, 3}, []float32{0, 0, 0})
	b := float32Param(t, []float32{0.5, 0.25, -1}, []float32{0, 0, 0})
	opt, err := newKind(kind, []*Param{a, b})
	require.NoError(t, err)
	defer opt.Close()
	gb := b.Grad
	for s := 1; s <= steps; s++ {
		require.NoError(t, a.Grad.CopyFrom([]float32{0.1 * float32(s), -0.3, 0.02}))
		b.Grad = gb
		if skipB[s] {
			b.Grad = nil
		} else {
			require.NoError(t, b.Grad.CopyFrom([]float32{-0.2, 0.05 * float32(s), 0.4}))
		}
		require.NoError(t, opt.Step())
	}
	for i, p := range []*Param{a, b} {
		data[i] = tensorValues(t, p.Data)
		for _, n := range names {
			v, err := opt.State(0, i, n)
			require.NoError(t, err)
			require.Len(t, v, 1)
			vals[i] = append(vals[i], v[0])
		}
	}
	return data, vals
}

func TestHostValuesFollowEachParam(t *testing.T) {
	for _, tc := range []struct {
		kind  string
		names []string
	}{{"nadam", []string{"mu_product"}}, {"asgd", []string{"eta", "mu"}},
		{"schedulefree_adamw", []string{"weight_sum", "lr_max"}}} {
		t.Run(tc.kind, func(t *testing.T) {
			skip := map[int]bool{2: true, 3: true}
			data, vals := hostValuesRun(t, tc.kind, 7, skip, tc.names)
			// Param a stepped 7 times, b 5: their values differ, and each equals a run
			// where the other param's steps match its own.
			require.NotEqual(t, vals[0], vals[1])
			aloneA, valsA := hostValuesRun(t, tc.kind, 7, nil, tc.names)
			require.Equal(t, aloneA[0], data[0])
			require.Equal(t, valsA[0], vals[0])
			// b took 5 steps under an unchanged config: its values are those of any
			// param after 5 steps.
			_, vals5 := hostValuesRun(t, tc.kind, 5, nil, tc.names)
			require.Equal(t, vals5[0], vals[1], "b's values are those of 5 steps")
		})
	}
}

// NAdam's mu_product is the float32 product of mu_t = beta1*(1-0.5*0.96^(t*psi)),
// rounded after each factor as torch's 0-dim tensor is.
func TestNAdamMuProduct(t *testing.T) {
	_, vals := hostValuesRun(t, "nadam", 4, nil, []string{"mu_product"})
	c := NAdamDefaults()
	c.MomentumDecay = 0.01 // newKind's
	mp := float32(1)
	for s := 1; s <= 4; s++ {
		mu := c.Beta1 * (1 - 0.5*math.Pow(0.96, float64(s)*c.MomentumDecay))
		mp *= float32(mu)
	}
	require.Equal(t, mp, vals[0][0])
}

// ASGD: eta = lr/(1+lambd*lr*t)^alpha, mu = 1/max(1, t-t0); with lambd = 0 and
// t0 = 0 the averaged params are the running mean of the params from step 2 on
// (step 1 and 2 copy, mu = 1/(t-1) after).
func TestASGDAveraged(t *testing.T) {
	p := float32Param(t, []float32{1, -1}, []float32{0, 0})
	opt, err := NewASGD([]*Param{p}, ASGDConfig{LR: 0.1, Lambd: 0, Alpha: 0.75, T0: 0})
	require.NoError(t, err)
	defer opt.Close()
	ax, err := opt.Averaged(0, 0)
	require.NoError(t, err)
	require.Equal(t, []float32{0, 0}, ax, "ax is created as zeros")
	var sum [2]float64
	for s := 1; s <= 12; s++ {
		require.NoError(t, p.Grad.CopyFrom([]float32{float32(s) * 0.3, -0.7}))
		require.NoError(t, opt.Step())
		d := tensorValues(t, p.Data)
		if s >= 2 {
			sum[0] += float64(d[0])
			sum[1] += float64(d[1])
		}
		ax, err = opt.Averaged(0, 0)
		require.NoError(t, err)
		if s == 1 {
			require.Equal(t, d, ax)
			continue
		}
		for j := range ax {
			mean := sum[j] / float64(s-1)
			require.InDelta(t, mean, float64(ax[j]), 1e-5*math.Max(1, math.Abs(mean)), "step %d elem %d", s, j)
		}
		eta, err := opt.State(0, 0, "eta")
		require.NoError(t, err)
		require.Equal(t, float32(0.1), eta[0], "lambd = 0 keeps eta at lr")
		mu, err := opt.State(0, 0, "mu")
		require.NoError(t, err)
		require.Equal(t, float32(1/math.Max(1, float64(s))), mu[0])
	}

	// eta follows lr/(1+lambd*lr*t)^alpha; it starts at the lr of the first step.
	q := float32Param(t, []float32{1}, []float32{0.5})
	o2, err := NewASGD([]*Param{q}, ASGDConfig{LR: 0.1, Lambd: 0.5, Alpha: 0.75, T0: 1e6})
	require.NoError(t, err)
	defer o2.Close()
	require.NoError(t, o2.SetGroupLR(0, 0.2))
	eta, err := o2.State(0, 0, "eta")
	require.NoError(t, err)
	require.Equal(t, []float32{0.2}, eta, "a fresh param's eta is the lr its first step will see")
	require.NoError(t, o2.Step())
	// p = 1*(1-lambd*eta) - eta*g, each rounded to float32 (the product eta*g is exact).
	decay := float32(1 - 0.5*float64(float32(0.2)))
	require.Equal(t, []float32{float32(float64(decay) - float64(float32(0.2))*0.5)}, tensorValues(t, q.Data))
	eta, err = o2.State(0, 0, "eta")
	require.NoError(t, err)
	require.Equal(t, []float32{float32(0.2 / math.Pow(1+0.5*0.2*1, 0.75))}, eta)
}
