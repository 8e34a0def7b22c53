package main

import (
	"fmt"
	"strings"

	"github.com/goptim/goptim/optim"
)

// An optimizer the demo compares, with the learning rate it uses in each part unless
// -lr overrides it.
type optimizer struct {
	key, name           string
	quadLR, digitsLR    float64
	fullBatch, subBatch bool // gd: whole batch; sgd: a random part
}

// optimizers are the contenders, in the order of every table and plot. The learning
// rates are each one's well-tried value for the problem, not a tuning contest: see
// README.md.
var optimizers = []optimizer{
	{key: "gd", name: "GD", quadLR: 0.05, digitsLR: 0.5, fullBatch: true},
	{key: "sgd", name: "SGD (mini-batch)", quadLR: 0.05, digitsLR: 0.1, subBatch: true},
	{key: "momentum", name: "SGD+momentum", quadLR: 0.05, digitsLR: 0.05},
	{key: "adagrad", name: "Adagrad", quadLR: 0.5, digitsLR: 0.05},
	{key: "rmsprop", name: "RMSprop", quadLR: 0.01, digitsLR: 1e-3},
	{key: "adam", name: "Adam", quadLR: 0.1, digitsLR: 3e-3},
	{key: "adamw", name: "AdamW", quadLR: 0.1, digitsLR: 3e-3},
}

// selectOptimizers parses -opt: "all" or a comma-separated list of keys.
func selectOptimizers(s string) ([]optimizer, error) {
	if s == "all" || s == "" {
		return optimizers, nil
	}
	var out []optimizer
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(strings.ToLower(k))
		found := false
		for _, o := range optimizers {
			if o.key == k {
				out, found = append(out, o), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown optimizer %q (want all or some of %s)", k, optimizerKeys())
		}
	}
	return out, nil
}

func optimizerKeys() string {
	var ks []string
	for _, o := range optimizers {
		ks = append(ks, o.key)
	}
	return strings.Join(ks, ",")
}

// newOptimizer makes o's optimizer from package optim over params, with torch's
// defaults except the learning rate (and momentum 0.9 for SGD+momentum).
func newOptimizer(o optimizer, params []*optim.Param, lr float64) (optim.Optimizer, error) {
	switch o.key {
	case "gd", "sgd":
		return optim.NewSGD(params, optim.SGDDefaults(lr))
	case "momentum":
		cfg := optim.SGDDefaults(lr)
		cfg.Momentum = 0.9
		return optim.NewSGD(params, cfg)
	case "adagrad":
		cfg := optim.AdagradDefaults()
		cfg.LR = lr
		return optim.NewAdagrad(params, cfg)
	case "rmsprop":
		cfg := optim.RMSpropDefaults()
		cfg.LR = lr
		return optim.NewRMSprop(params, cfg)
	case "adam":
		cfg := optim.AdamDefaults()
		cfg.LR = lr
		return optim.NewAdam(params, cfg)
	case "adamw":
		cfg := optim.AdamWDefaults()
		cfg.LR = lr
		return optim.NewAdamW(params, cfg)
	}
	return nil, fmt.Errorf("unknown optimizer %q", o.key)
}
