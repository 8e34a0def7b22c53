package optim

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// ClipStep(0, normType) is torch's clip_grad_norm_ with max_norm 0 followed by a
// step: every gradient is scaled by min(0/(norm+1e-6), 1), which is 0 (NaN for a NaN
// norm). The fused clip of the C ABI applies only for max_norm > 0, so ClipStep scales
// the gradients in memory first, as ClipGradNorm does: params, state, step counts and
// gradients must equal ClipGradNorm(params, 0, normType, false) then Step, bit for
// bit, and LastGradNorm the norm ClipGradNorm returned.
func TestClipStepMaxNormZeroIsClipGradNormThenStep(t *testing.T) {
	for _, kind := range allKinds {
		for _, normType := range []float64{2, math.Inf(1)} {
			for _, grad := range []string{"finite", "NaN", "Inf"} {
				t.Run(fmt.Sprintf("%s/norm%v/%s", kind, normType, grad), func(t *testing.T) {
					fused, fusedParams := twoGroupSetup(t, kind, 5)
					apart, apartParams := twoGroupSetup(t, kind, 5)
					for s := 0; s < 3; s++ {
						fillRandom(t, fusedParams, uint64(10+s))
						fillRandom(t, apartParams, uint64(10+s))
						bad := s == 1 && grad != "finite"
						if bad {
							v := float32(math.NaN())
							if grad == "Inf" {
								v = float32(math.Inf(-1))
							}
							setElem(t, fusedParams[2].Grad, 3, v)
							setElem(t, apartParams[2].Grad, 3, v)
						}
						require.NoError(t, fused.ClipStep(0, normType))
						norm, err := ClipGradNorm(apartParams, 0, normType, false)
						require.NoError(t, err)
						require.NoError(t, apart.Step())

						last, err := fused.LastGradNorm()
						require.NoError(t, err)
						require.Equal(t, math.Float64bits(norm), math.Float64bits(last), "step %d: LastGradNorm", s)
						require.Equal(t, takeSnapshot(t, apart, apartParams), takeSnapshot(t, fused, fusedParams),
							"step %d: ClipStep(0) against ClipGradNorm(0)+Step", s)
						if !bad {
							// A finite norm: every gradient is scaled to zero.
							for _, p := range fusedParams {
								g, err := p.Grad.Values()
								require.NoError(t, err)
								for i, v := range g {
									require.Zero(t, v, "step %d: %s grad[%d]", s, p.Name, i)
								}
							}
							continue
						}
						if kind == "rprop" || kind == "lion" {
							// Rprop and Lion move each element by a sign (of the
							// gradient, of the interpolated momentum), and torch's sign
							// of NaN is 0: NaN gradients move nothing, so every param
							// stays finite (the snapshot comparison above already holds
							// it to ClipGradNorm + Step).
							for _, p := range fusedParams {
								v, err := p.Data.Values()
								require.NoError(t, err)
								for i, x := range v {
									require.False(t, math.IsNaN(float64(x)), "step %d: %s[%d]", s, p.Name, i)
								}
							}
							continue
						}
						// NaN: the norm and so the coefficient are NaN, and every param
						// becomes NaN. Inf: the norm is Inf, the coefficient 0, and only
						// the element whose gradient is Inf (0*Inf) is NaN.
						first, err := fusedParams[0].Data.Values()
						require.NoError(t, err)
						hit, err := fusedParams[2].Data.Values()
						require.NoError(t, err)
						require.True(t, math.IsNaN(float64(hit[3])), "the element of the %s gradient", grad)
						if kind == "lamb" || kind == "lars" {
							// Their step scales each param by its norms (LAMB's trust
							// ratio, LARS's adaptive lr), NaN for the param holding the
							// NaN gradient: all of it becomes NaN. LAMB's global norm is
							// NaN too, which clips nothing (NaN > max_grad_norm is false,
							// as in apex), so the other params stay finite.
							for i, x := range hit {
								require.True(t, math.IsNaN(float64(x)), "step %d: %s[%d]", s, fusedParams[2].Name, i)
							}
						}
						require.Equal(t, grad == "NaN", math.IsNaN(float64(first[0])),
							"another param's element with a %s gradient elsewhere (norm %v)", grad, norm)
					}
				})
			}
		}
	}
}
