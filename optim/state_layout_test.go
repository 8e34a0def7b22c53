package optim

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Every param's state shares its data's alignment modulo 64 bytes, however odd the
// lengths before it, and an arena's params (packed, odd lengths included) still go
// to the kernels as one contiguous run.
func TestStateSharesDataAlignment(t *testing.T) {
	var params []*Param
	for _, n := range []int{3, 8, 1, 17, 64, 5} {
		p, err := NewParam("", n)
		require.NoError(t, err)
		defer p.Close()
		params = append(params, p)
	}
	a, err := NewArena(nil, []int{3, 8, 1, 17, 64, 5})
	require.NoError(t, err)
	defer a.Close()
	opt, err := NewAdam(append(params, a.Params()...), AdamDefaults())
	require.NoError(t, err)
	defer opt.Close()
	g := opt.groups[0]
	for i, p := range g.params {
		for k, st := range g.state {
			if st == nil {
				continue
			}
			require.Equal(t, p.Data.addr()%64, uintptr(g.stateAt(k, i))%64, "param %d state %d", i, k)
		}
	}
	defer opt.held.done()
	_, acts, err := opt.prepare("test")
	require.NoError(t, err)
	opt.fill(g, acts[0][len(params):])
	require.Equal(t, 1, opt.list.Len(), "the arena's params are one run")
	opt.fill(g, acts[0][:len(params)])
	require.Equal(t, len(params), opt.list.Len())
	// And the numbers do not depend on the layout: both halves hold the same values.
	require.NoError(t, a.Grad().Fill(0.5))
	for _, p := range params {
		require.NoError(t, p.Grad.Fill(0.5))
	}
	opt.held.done()
	for s := 0; s < 3; s++ {
		require.NoError(t, opt.Step())
	}
	for i, p := range params {
		want, _ := p.Data.Values()
		got, _ := a.Params()[i].Data.Values()
		require.Equal(t, want, got)
		ws, _ := opt.State(0, i, "exp_avg_sq")
		gs, _ := opt.State(0, len(params)+i, "exp_avg_sq")
		require.Equal(t, ws, gs)
	}
}
