package optim_test

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

func TestTmpAPISeqRandom(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("N"))
	seed, _ := strconv.Atoi(os.Getenv("SEED"))
	r := rand.New(rand.NewPCG(uint64(seed), 1))
	for i := 0; i < n; i++ {
		b := make([]byte, r.IntN(600))
		for j := range b {
			b[j] = byte(r.IntN(256))
		}
		t.Logf("input %d", i)
		os.WriteFile("/tmp/apiseq_last", b, 0o644)
		e := newAPIEnv(t, true)
		e.run(0, apiParse(b))
		e.cleanup()
	}
}
