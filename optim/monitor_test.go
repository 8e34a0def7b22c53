package optim

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// monitorRun feeds the monitor steps whose gradients are drawn with per-param scales
// scale(step, param), and returns the flags of every step.
func monitorRun(t *testing.T, cfg MonitorConfig, steps int, scale func(step, param int) float64) ([][]MonitorFlag,
	*bytes.Buffer) {
	t.Helper()
	var params []*Param
	for i, name := range []string{"layer0", "layer1", "layer2"} {
		p, err := NewParam(name, 50+i)
		require.NoError(t, err)
		t.Cleanup(func() { p.Close() })
		params = append(params, p)
	}
	var out bytes.Buffer
	m, err := NewMonitor(&out, params, cfg)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 9))
	var flags [][]MonitorFlag
	for s := 1; s <= steps; s++ {
		for i, p := range params {
			g := make([]float32, p.Grad.Len())
			for j := range g {
				g[j] = float32(rng.NormFloat64() * scale(s, i))
			}
			require.NoError(t, p.Grad.CopyFrom(g))
		}
		r, err := m.Record(s, 1/float64(s), 0.01, 20)
		require.NoError(t, err)
		require.Len(t, r.Layers, 3)
		flags = append(flags, r.Flags)
	}
	return flags, &out
}

// TestMonitorQuietWhenHealthy: gradients of steady size raise no flag.
func TestMonitorQuietWhenHealthy(t *testing.T) {
	flags, out := monitorRun(t, MonitorDefaults(), 60, func(int, int) float64 { return 0.5 })
	for s, f := range flags {
		require.Empty(t, f, "step %d", s+1)
	}
	rows, err := csv.NewReader(out).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 61)
	require.Equal(t, []string{"step", "loss", "lr", "grad_norm", "clipped", "layer0", "layer1", "layer2", "flags"}, rows[0])
	require.Equal(t, "1", rows[1][0])
}

// TestMonitorFlagsVanishing: a layer whose gradient stays under the threshold is
// flagged once, on the step the streak reaches VanishSteps, by name.
func TestMonitorFlagsVanishing(t *testing.T) {
	cfg := MonitorDefaults()
	flags, _ := monitorRun(t, cfg, 30, func(s, i int) float64 {
		if i == 0 && s > 5 {
			return 1e-10
		}
		return 1
	})
	for s, f := range flags {
		if s+1 == 5+cfg.VanishSteps {
			require.Len(t, f, 1, "step %d", s+1)
			require.Equal(t, FlagVanishing, f[0].Kind)
			require.Equal(t, []string{"layer0"}, f[0].Params)
			require.Contains(t, f[0].Message, "layer0")
		} else {
			require.Empty(t, f, "step %d", s+1)
		}
	}
}

// TestMonitorFlagsExploding: a jump of the global norm names the layer that grew, and
// a NaN gradient is flagged as non-finite; JSON lines carry both.
func TestMonitorFlagsExploding(t *testing.T) {
	cfg := MonitorDefaults()
	cfg.JSON = true
	flags, out := monitorRun(t, cfg, 30, func(s, i int) float64 {
		switch {
		case s == 20 && i == 2:
			return 1e3
		case s == 25 && i == 1:
			return math.NaN()
		}
		return 1
	})
	for s, f := range flags {
		switch s + 1 {
		case 20:
			require.Len(t, f, 1)
			require.Equal(t, FlagExploding, f[0].Kind)
			require.Equal(t, "layer2", f[0].Params[0])
		case 25:
			require.Len(t, f, 1)
			require.Equal(t, FlagNonFinite, f[0].Kind)
			require.Equal(t, []string{"layer1"}, f[0].Params)
		default:
			require.Empty(t, f, "step %d", s+1)
		}
	}
	sc := bufio.NewScanner(out)
	lines := 0
	for sc.Scan() {
		var line struct {
			Step     int             `json:"step"`
			GradNorm json.RawMessage `json:"grad_norm"`
			Layers   map[string]any  `json:"layers"`
			Flags    []MonitorFlag   `json:"flags"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line), sc.Text())
		lines++
		require.Equal(t, lines, line.Step)
		require.Len(t, line.Layers, 3)
		if line.Step == 25 {
			require.Equal(t, `"NaN"`, string(line.GradNorm))
			require.Len(t, line.Flags, 1)
		}
	}
	require.Equal(t, 30, lines)
}

// TestMonitorFlagsExplodingAbove: with ExplodeAbove, gradients that are large from the
// first step (no calm history to jump from) are flagged when the norm rises above it,
// naming the largest param first, and again only after it has come back under.
func TestMonitorFlagsExplodingAbove(t *testing.T) {
	cfg := MonitorDefaults()
	cfg.ExplodeAbove = 100
	big := func(s int) bool { return s <= 3 || s >= 10 && s <= 12 }
	flags, _ := monitorRun(t, cfg, 20, func(s, i int) float64 {
		if big(s) {
			return []float64{2, 5, 50}[i]
		}
		return 1
	})
	for s, f := range flags {
		if step := s + 1; step == 1 || step == 10 {
			require.Len(t, f, 1, "step %d", step)
			require.Equal(t, FlagExploding, f[0].Kind)
			require.Equal(t, []string{"layer2", "layer1", "layer0"}, f[0].Params)
			if step == 1 {
				require.Contains(t, f[0].Message, "above 100")
			} else { // also a jump over the calm steps before: one flag, the jump's
				require.Contains(t, f[0].Message, "the median")
			}
		} else {
			require.Empty(t, f, "step %d", step)
		}
	}
	// off by default: the same run without it misses the start, sees only the jump
	flags, _ = monitorRun(t, MonitorDefaults(), 20, func(s, i int) float64 {
		if big(s) {
			return []float64{2, 5, 50}[i]
		}
		return 1
	})
	for s, f := range flags {
		if s+1 == 10 {
			require.Len(t, f, 1)
		} else {
			require.Empty(t, f, "step %d", s+1)
		}
	}
}

// TestMonitorConfig: bad options and arguments are errors.
func TestMonitorConfig(t *testing.T) {
	var b bytes.Buffer
	for _, f := range []func(*MonitorConfig){
		func(c *MonitorConfig) { c.VanishBelow = -1 },
		func(c *MonitorConfig) { c.VanishSteps = 0 },
		func(c *MonitorConfig) { c.ExplodeFactor = 1 },
		func(c *MonitorConfig) { c.Window = 4 },
		func(c *MonitorConfig) { c.ExplodeAbove = -1 },
		func(c *MonitorConfig) { c.ExplodeAbove = math.NaN() },
	} {
		cfg := MonitorDefaults()
		f(&cfg)
		_, err := NewMonitor(&b, nil, cfg)
		require.ErrorIs(t, err, ErrInvalidConfig)
	}
	_, err := NewMonitor(nil, nil, MonitorDefaults())
	require.ErrorIs(t, err, ErrInvalidArgument)
	_, err = NewMonitor(&b, []*Param{nil}, MonitorDefaults())
	require.ErrorIs(t, err, ErrNilParam)
	var nilMon *Monitor
	_, err = nilMon.Record(1, 0, 0, 0)
	require.ErrorIs(t, err, ErrInvalidArgument)
	_, err = new(Monitor).Record(1, 0, 0, 0)
	require.ErrorIs(t, err, ErrInvalidArgument)
}
