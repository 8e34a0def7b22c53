package mlp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The backward pass agrees with central finite differences of the loss, for every
// activation and for a larger initial scale. The params are read and perturbed through
// Values and CopyFrom, which work on every backend.
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	for _, o := range []Options{{}, {Activation: Tanh}, {Activation: Sigmoid}, {Activation: Tanh, InitScale: 3}} {
		t.Run(fmt.Sprintf("%v/scale=%g", o.Activation, o.InitScale), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			net, err := NewWithOptions([]int{5, 7, 6, 3}, 4, rng, o)
			require.NoError(t, err)
			defer net.Close()

			x := make([]float32, 4*5)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			labels := []int{0, 2, 1, 2}
			_, err = net.TrainStep(x, labels)
			require.NoError(t, err)

			nonzero := 0
			for _, p := range net.Params() {
				data, err := p.Data.Values()
				require.NoError(t, err)
				grad, err := p.Grad.Values()
				require.NoError(t, err)
				set := func(i int, v float32) {
					data[i] = v
					require.NoError(t, p.Data.CopyFrom(data))
				}
				for i := range data {
					const h = 1e-2
					old := data[i]
					set(i, old+h)
					up, _, err := net.Evaluate(x, labels)
					require.NoError(t, err)
					set(i, old-h)
					down, _, err := net.Evaluate(x, labels)
					require.NoError(t, err)
					set(i, old)
					numeric := (up - down) / (2 * h)
					require.InDelta(t, numeric, float64(grad[i]), 2e-3+1e-2*math.Abs(numeric), "%s[%d]", p.Name, i)
					if math.Abs(numeric) > 1e-3 {
						nonzero++
					}
				}
			}
			require.Greater(t, nonzero, 20, "too few gradients large enough to check anything")
		})
	}
}

// Bad options are errors, not a network.
func TestNewWithOptionsRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, o := range []Options{{Activation: Activation(7)}, {InitScale: -1}, {InitScale: math.NaN()}, {InitScale: math.Inf(1)}} {
		_, err := NewWithOptions([]int{3, 2}, 2, rng, o)
		require.Error(t, err, "%+v", o)
	}
	_, err := NewWithOptions([]int{3, 0, 2}, 2, rng, Options{})
	require.Error(t, err)
}

// InitScale scales the initial weights: the same draws times the scale.
func TestInitScale(t *testing.T) {
	a, err := NewWithOptions([]int{4, 3}, 1, rand.New(rand.NewPCG(5, 6)), Options{})
	require.NoError(t, err)
	defer a.Close()
	b, err := NewWithOptions([]int{4, 3}, 1, rand.New(rand.NewPCG(5, 6)), Options{InitScale: 4})
	require.NoError(t, err)
	defer b.Close()
	wa, err := a.Params()[0].Data.Values()
	require.NoError(t, err)
	wb, err := b.Params()[0].Data.Values()
	require.NoError(t, err)
	for i := range wa {
		require.InDelta(t, 4*float64(wa[i]), float64(wb[i]), 1e-6, "weight %d", i)
		require.LessOrEqual(t, math.Abs(float64(wb[i])), 4/math.Sqrt(4)+1e-6)
	}
}

func TestEvaluateAndShapes(t *testing.T) {
	net, err := New([]int{3, 2}, 2, rand.New(rand.NewPCG(3, 4)))
	require.NoError(t, err)
	defer net.Close()
	names := []string{}
	for _, p := range net.Params() {
		names = append(names, p.Name)
	}
	require.Equal(t, []string{"fc1.weight", "fc1.bias"}, names)

	// Five rows in batches of two; a uniform network (all zero) has loss log 2.
	for _, p := range net.Params() {
		require.NoError(t, p.Data.Fill(0))
	}
	loss, acc, err := net.Evaluate(make([]float32, 15), []int{0, 1, 0, 1, 1})
	require.NoError(t, err)
	require.InDelta(t, math.Log(2), loss, 1e-6)
	require.InDelta(t, 0.4, acc, 1e-12) // ties go to class 0

	_, err = net.TrainStep(make([]float32, 9), []int{0, 1, 0})
	require.Error(t, err, "more rows than maxRows")
	_, err = New([]int{3}, 2, rand.New(rand.NewPCG(3, 4)))
	require.Error(t, err)
}
