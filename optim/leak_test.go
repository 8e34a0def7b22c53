package optim

import (
	"bytes"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLeakCycles runs create/step/close cycles over every kind of param
// and optimizer and every extra pass. By itself it only checks that each call
// works; it is the workload for the leak checkers, which see the C heap:
//
//	go test -c -o /tmp/optim.test ./optim
//	GOPTIM_LEAK_CYCLES=20000 valgrind --leak-check=full /tmp/optim.test -test.run LeakCycles
//	GOPTIM_LEAK_CYCLES=20000 go test -asan -run LeakCycles ./optim   # ASan errors; LSan at exit
//
// Under `go test -asan` LeakSanitizer is weak: pointers to leaked C blocks often
// survive in dead Go objects, which it scans as roots (a deliberate leak of tensor
// lists went unreported). `go run -asan ./cmd/leakcheck` reports it; cmd/leakcheck
// also measures RSS and the C heap over a million cycles.
func TestLeakCycles(t *testing.T) {
	n := 300
	if s := os.Getenv("GOPTIM_LEAK_CYCLES"); s != "" {
		var err error
		n, err = strconv.Atoi(s)
		require.NoError(t, err)
	}
	for i := 0; i < n; i++ {
		size := 1 + i%37
		var params []*Param
		var closeParams func() error
		switch i % 3 {
		case 0:
			p, err := NewParam("w", size)
			require.NoError(t, err)
			params, closeParams = []*Param{p}, p.Close
		case 1:
			a, err := NewArena([]string{"w", "b"}, []int{size, 3})
			require.NoError(t, err)
			params, closeParams = a.Params(), a.Close
		case 2: // WrapSlice halves of one Go slice; TensorFrom copies on the device backend
			buf := make([]float32, 2*size)
			p := &Param{Name: "w", Data: wrapOrCopy(t, buf[:size]), Grad: wrapOrCopy(t, buf[size:])}
			params, closeParams = []*Param{p}, p.Close
		}
		for _, p := range params {
			require.NoError(t, p.Grad.Fill(0.25))
		}
		opt, err := newKind(allKinds[i%len(allKinds)], params)
		require.NoError(t, err)
		require.NoError(t, opt.Step())
		switch i % 6 {
		case 0:
			require.NoError(t, opt.ClipStep(0.5, 2))
			_, err := opt.LastGradNorm()
			require.NoError(t, err)
		case 1:
			s, err := NewGradScaler(GradScalerDefaults())
			require.NoError(t, err)
			_, err = s.Step(opt)
			require.NoError(t, err)
		case 2:
			_, err := ClipGradNorm(params, 1, math.Inf(1), true)
			require.NoError(t, err)
			require.NoError(t, ClipGradValue(params, 0.1))
		case 3:
			var b bytes.Buffer
			require.NoError(t, opt.Save(&b))
			require.NoError(t, opt.Load(&b))
		case 4:
			opt.SetCheckFinite(true)
			require.NoError(t, params[0].Grad.Fill(float32(math.NaN())))
			require.ErrorIs(t, opt.Step(), ErrNonFinite)
		case 5:
			require.NoError(t, opt.ZeroGrad())
			require.ErrorIs(t, opt.ClipStep(-1, 2), ErrInvalidConfig)
		}
		require.NoError(t, opt.Close())
		require.NoError(t, closeParams())
	}
}
