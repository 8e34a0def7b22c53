package optim

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Muon's options in Go (MuonConfig's json tags, which checkpoints use) are the ones its
// generator passes to torch's algorithm (testdata/torch/gen_muon.py's muon_cfg), and its
// aux AdamW's are AdamConfig's (adamw_cfg, AMSGrad aside, which Muon refuses): an option
// added on one side and forgotten on the other fails here. TestOptionListsAgree leaves
// Muon to this test (its options are not in optim.json's generator).
func TestMuonOptionsMatchGenerator(t *testing.T) {
	src, err := os.ReadFile("../testdata/torch/gen_muon.py")
	require.NoError(t, err)
	kwargs := func(fn string) []string {
		m := regexp.MustCompile(`(?s)def ` + fn + `\((.*?)\):`).FindSubmatch(src)
		require.NotNil(t, m, "gen_muon.py has no def %s", fn)
		var out []string
		for _, k := range regexp.MustCompile(`(\w+)\s*=`).FindAllSubmatch(m[1], -1) {
			out = append(out, string(k[1]))
		}
		slices.Sort(out)
		return out
	}
	tags := func(v any, skip ...string) []string {
		var out []string
		ty := reflect.TypeOf(v)
		for i := 0; i < ty.NumField(); i++ {
			tag, _, _ := strings.Cut(ty.Field(i).Tag.Get("json"), ",")
			if !slices.Contains(skip, tag) {
				out = append(out, tag)
			}
		}
		slices.Sort(out)
		return out
	}
	// bf16 is goptim's GPU option (torch's Muon always rounds to bfloat16; goptim's
	// default float32 is what the generator's reference computes); aux_adamw is below.
	require.Equal(t, kwargs("muon_cfg"), tags(MuonConfig{}, "bf16", "aux_adamw"))
	adam := tags(AdamConfig{}, "amsgrad")
	adam = slices.DeleteFunc(adam, func(s string) bool { return s == "beta1" || s == "beta2" })
	require.Equal(t, kwargs("adamw_cfg"), append(adam[:0:0], slices.Sorted(slices.Values(append(adam, "betas")))...))
}
