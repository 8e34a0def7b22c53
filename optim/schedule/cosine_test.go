package schedule

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

// restartOfCosine is torch's (e - 1 - T_max) % (2 * T_max) == 0 (Python's modulo)
// for every T_max, including those above math.MaxInt/2 where 2*T_max overflows int.
func TestRestartOfCosineMatchesTorchWithoutOverflow(t *testing.T) {
	torch := func(e, tmax int) bool {
		a := new(big.Int).Sub(big.NewInt(int64(e)-1), big.NewInt(int64(tmax)))
		m := new(big.Int).Mod(a, new(big.Int).Mul(big.NewInt(2), big.NewInt(int64(tmax)))) // Euclidean: >= 0
		return m.Sign() == 0
	}
	tmaxes := []int{1, 2, 3, 10, 1 << 40, math.MaxInt/2 - 1, math.MaxInt / 2, math.MaxInt/2 + 1, math.MaxInt - 1, math.MaxInt}
	for _, tmax := range tmaxes {
		es := []int{1, 2, 3, 11, 21, 31}
		for _, k := range []int{1, 2, 3} {
			if tmax <= (math.MaxInt-2)/k {
				es = append(es, k*tmax, k*tmax+1, k*tmax+2)
			}
		}
		es = append(es, math.MaxInt)
		for _, e := range es {
			require.Equal(t, torch(e, tmax), restartOfCosine(e, tmax), "e %d, T_max %d", e, tmax)
		}
	}
}
