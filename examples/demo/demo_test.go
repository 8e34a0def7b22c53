package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// short is a demo small enough for a unit test: every optimizer, few steps.
func short(out string) config {
	return config{opt: "all", steps: 60, epochs: 2, batch: 64, hidden: 32, clip: 1, seed: 7, threads: 2,
		out: out, part: "all"}
}

func TestShortDemo(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer
	res, err := run(short(dir), &log, 0)
	require.NoError(t, err)

	for _, name := range []string{"quadratic-loss", "digits-loss", "digits-accuracy"} {
		for _, ext := range []string{".png", ".svg"} {
			st, err := os.Stat(filepath.Join(dir, name+ext))
			require.NoError(t, err)
			require.Greater(t, st.Size(), int64(1000), name+ext)
		}
	}
	png, err := os.ReadFile(filepath.Join(dir, "quadratic-loss.png"))
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(png, []byte("\x89PNG")))
	svg, err := os.ReadFile(filepath.Join(dir, "digits-loss.svg"))
	require.NoError(t, err)
	require.Contains(t, string(svg), "<svg")

	// Every optimizer lowers the loss in both parts.
	require.Len(t, res.Quadratic, len(optimizers))
	for _, r := range res.Quadratic {
		require.Len(t, r.Loss, 61, r.Name)
		require.Less(t, r.Loss[60], r.Loss[0], r.Name)
	}
	require.Len(t, res.Digits, len(optimizers))
	for _, r := range res.Digits {
		require.Len(t, r.Epochs, 3, r.Name)
		first, last := r.Epochs[0], r.Epochs[2]
		require.Less(t, last.TrainLoss, first.TrainLoss, r.Name)
		require.Less(t, last.HeldOutLoss, first.HeldOutLoss, r.Name)
	}

	// The report: the table of part 1, a plain line per epoch (not a terminal), the
	// summary of part 2.
	out := log.String()
	require.Contains(t, out, "steps to f ≤ 1e-06")
	require.Contains(t, out, "Adam             epoch 2/2")
	require.NotContains(t, out, "\r")
	require.Contains(t, out, "held-out accuracy")
	require.Contains(t, out, "results.json")
}

// The same seed and thread count give the same numbers, bit for bit.
func TestDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	_, err := run(short(a), &bytes.Buffer{}, 0)
	require.NoError(t, err)
	_, err = run(short(b), &bytes.Buffer{}, 0)
	require.NoError(t, err)
	ja, err := os.ReadFile(filepath.Join(a, "results.json"))
	require.NoError(t, err)
	jb, err := os.ReadFile(filepath.Join(b, "results.json"))
	require.NoError(t, err)
	require.Equal(t, string(ja), string(jb))

	// A different seed gives different numbers.
	cfg := short(t.TempDir())
	cfg.seed = 8
	cfg.part = "quadratic"
	res, err := run(cfg, &bytes.Buffer{}, 0)
	require.NoError(t, err)
	var first results
	require.NoError(t, json.Unmarshal(ja, &first))
	require.NotEqual(t, first.Quadratic[0].Loss[0], res.Quadratic[0].Loss[0])
}

// With the default settings, Adam and AdamW reach 95% held-out accuracy (the demo's
// promise in README.md).
func TestDigitsAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two full runs")
	}
	cfg := config{opt: "adam,adamw", steps: 1, epochs: 30, batch: 64, hidden: 128, clip: 1, seed: 1,
		out: t.TempDir(), part: "digits"}
	res, err := run(cfg, &bytes.Buffer{}, 0)
	require.NoError(t, err)
	require.Len(t, res.Digits, 2)
	for _, r := range res.Digits {
		last := r.Epochs[len(r.Epochs)-1]
		require.GreaterOrEqual(t, last.Accuracy, 0.95, r.Name)
		require.Less(t, last.TrainLoss, r.Epochs[0].TrainLoss, r.Name)
	}
}

func TestProgressOnTerminal(t *testing.T) {
	var buf bytes.Buffer
	p := progress{w: &buf, width: 20}
	p.update("epoch 1 of a rather long line")
	p.update("epoch 2")
	p.finish()
	require.Equal(t, "\r\033[Kepoch 1 of a rather\r\033[Kepoch 2\n", buf.String())

	buf.Reset()
	p = progress{w: &buf}
	p.update("epoch 1")
	p.update("epoch 2")
	p.finish()
	require.Equal(t, "epoch 1\nepoch 2\n", buf.String())
}

func TestBadFlags(t *testing.T) {
	for _, mod := range []func(*config){
		func(c *config) { c.opt = "adam,lbfgs" },
		func(c *config) { c.steps = 0 },
		func(c *config) { c.lr = -1 },
		func(c *config) { c.part = "both" },
		func(c *config) { c.data = filepath.Join(t.TempDir(), "missing.csv.gz"); c.part = "digits" },
	} {
		cfg := short(t.TempDir())
		mod(&cfg)
		_, err := run(cfg, &bytes.Buffer{}, 0)
		require.Error(t, err)
	}
	opts, err := selectOptimizers(" Adam, sgd")
	require.NoError(t, err)
	require.Equal(t, "adam", opts[0].key)
	require.Equal(t, "sgd", opts[1].key)
}

func TestLoadDigits(t *testing.T) {
	path, err := findDigits("")
	require.NoError(t, err)
	d, err := loadDigits(path)
	require.NoError(t, err)
	require.Equal(t, 1797, d.len())
	require.Len(t, d.x, 1797*64)
	counts := make([]int, 10)
	for _, y := range d.y {
		counts[y]++
	}
	for c, n := range counts {
		require.InDelta(t, 180, n, 7, "class %d", c)
	}
	train, held := d.split(1)
	require.Equal(t, 1438, train.len())
	require.Equal(t, 359, held.len())

	bad := filepath.Join(t.TempDir(), "bad.csv.gz")
	require.NoError(t, os.WriteFile(bad, []byte("not gzip"), 0o644))
	_, err = loadDigits(bad)
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "bad.csv.gz"))
}
