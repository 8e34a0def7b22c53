package optim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// gradNormsRef is each gradient's L2 norm (float64 sum, one rounding to float32 at
// the end) and largest |g|.
func gradNormsRef(grads [][]float32) []TensorNorm {
	out := make([]TensorNorm, len(grads))
	for i, g := range grads {
		s, m := 0.0, 0.0
		for _, x := range g {
			s += float64(x) * float64(x)
			m = math.Max(m, math.Abs(float64(x)))
		}
		out[i] = TensorNorm{L2: float64(float32(math.Sqrt(s))), Inf: float64(float32(m))}
	}
	return out
}

// TestGradNormsMatchReference: random lists of up to thousands of tensors of 0..200k
// elements, every ISA and thread count: each L2 norm within one float32 ulp of the
// float64 reference (and almost always equal), each inf norm exact, and every
// configuration the same bits.
func TestGradNormsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 1))
	for _, shape := range []struct{ count, maxLen int }{{1, 200_000}, {40, 200_000}, {3000, 300}, {200, 5000}} {
		params := make([]*Param, shape.count)
		grads := make([][]float32, shape.count)
		for i := range params {
			n := rng.IntN(shape.maxLen + 1)
			if i%17 == 3 {
				n = 0
			}
			p, err := NewParam(fmt.Sprintf("p%d", i), n)
			require.NoError(t, err)
			defer p.Close()
			scale := math.Pow(10, rng.Float64()*8-4)
			g := make([]float32, n)
			for j := range g {
				g[j] = float32(rng.NormFloat64() * scale)
			}
			require.NoError(t, p.Grad.CopyFrom(g))
			params[i], grads[i] = p, g
		}
		want := gradNormsRef(grads)
		var first []TensorNorm
		for _, isa := range availableISAs(t) {
			for _, th := range []int{1, 2, 3} {
				require.NoError(t, SetISA(isa))
				require.NoError(t, SetThreads(th))
				got, err := GradNorms(params)
				require.NoError(t, err)
				require.Len(t, got, len(params))
				exact := 0
				for i := range got {
					require.Equal(t, want[i].Inf, got[i].Inf, "tensor %d inf norm", i)
					ulp := float64(math.Nextafter32(float32(want[i].L2), float32(math.Inf(1)))) - want[i].L2
					require.InDelta(t, want[i].L2, got[i].L2, ulp, "tensor %d L2 norm (%d elements)", i, len(grads[i]))
					if got[i].L2 == want[i].L2 {
						exact++
					}
				}
				require.GreaterOrEqual(t, exact, len(got)*99/100, "L2 norms equal to the float64 reference's rounding")
				if first == nil {
					first = got
				} else {
					require.Equal(t, first, got, "%v threads=%d: other bits than the first configuration", isa, th)
				}
			}
		}
	}
	require.NoError(t, SetISA(ISAAuto))
	require.NoError(t, SetThreads(0))
}

// TestGradNormsEdges: a param without a gradient and an empty list give zeros; NaN
// and Inf propagate per tensor only; a nil param is an error.
func TestGradNormsEdges(t *testing.T) {
	got, err := GradNorms(nil)
	require.NoError(t, err)
	require.Empty(t, got)
	a, err := NewParam("a", 3)
	require.NoError(t, err)
	defer a.Close()
	b, err := NewParam("b", 2)
	require.NoError(t, err)
	defer b.Close()
	c, err := NewParam("c", 2)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, a.Grad.CopyFrom([]float32{3, -4, 0}))
	require.NoError(t, b.Grad.CopyFrom([]float32{float32(math.NaN()), 1}))
	require.NoError(t, c.Grad.CopyFrom([]float32{float32(math.Inf(-1)), 1}))
	got, err = GradNorms([]*Param{a, b, c})
	require.NoError(t, err)
	require.Equal(t, TensorNorm{L2: 5, Inf: 4}, got[0])
	require.True(t, math.IsNaN(got[1].L2) && math.IsNaN(got[1].Inf), "%v", got[1])
	require.Equal(t, TensorNorm{L2: math.Inf(1), Inf: math.Inf(1)}, got[2])
	saved := b.Grad
	b.Grad = nil // no gradient: norms 0, the others unchanged
	got, err = GradNorms([]*Param{a, b, c})
	b.Grad = saved
	require.NoError(t, err)
	require.Equal(t, []TensorNorm{{L2: 5, Inf: 4}, {}, {L2: math.Inf(1), Inf: math.Inf(1)}}, got)
	_, err = GradNorms([]*Param{a, nil})
	require.ErrorIs(t, err, ErrNilParam)
}
