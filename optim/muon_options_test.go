package optim

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/binding"
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
	// default float32 is what the generator's reference computes) and blas its choice of
	// products (the generator's are the reference order's); aux_adamw is below.
	require.Equal(t, kwargs("muon_cfg"), tags(MuonConfig{}, "bf16", "blas", "aux_adamw"))
	adam := tags(AdamConfig{}, "amsgrad")
	adam = slices.DeleteFunc(adam, func(s string) bool { return s == "beta1" || s == "beta2" })
	require.Equal(t, kwargs("adamw_cfg"), append(adam[:0:0], slices.Sorted(slices.Values(append(adam, "betas")))...))
}

// Every option of MuonConfig reaches goptim_muon_params: changing any one field from the
// defaults changes what the step hands the C ABI, so an option added to MuonConfig and
// forgotten in params() fails here. aux_adamw.amsgrad is the exception: validation
// refuses it, so it never gets that far.
func TestMuonConfigReachesC(t *testing.T) {
	base := MuonDefaults()
	want := *base.params()
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			name := path + tag
			if f.Kind() == reflect.Struct {
				walk(name+".", f)
				continue
			}
			if name == "aux_adamw.amsgrad" {
				continue
			}
			elems := []reflect.Value{f}
			if f.Kind() == reflect.Array {
				elems = elems[:0]
				for j := 0; j < f.Len(); j++ {
					elems = append(elems, f.Index(j))
				}
			}
			for j, e := range elems {
				old := reflect.ValueOf(e.Interface())
				switch e.Kind() {
				case reflect.Float64:
					e.SetFloat(e.Float() + 0.5)
				case reflect.Int:
					e.SetInt(e.Int() + 1)
				case reflect.Bool:
					e.SetBool(!e.Bool())
				case reflect.String:
					e.SetString("match_rms_adamw")
				default:
					t.Fatalf("%s: a %v option: teach this test its kind", name, e.Kind())
				}
				require.NotEqual(t, want, *base.params(), "%s[%d] does not reach goptim_muon_params", name, j)
				e.Set(old)
			}
		}
	}
	walk("", reflect.ValueOf(&base).Elem())
	require.Equal(t, want, *base.params())

	// The product modes as goptim.h numbers them, and the library acting on BLAS: on
	// the CPU (and the emulated device, which runs the CPU's calls) its update rounds
	// otherwise than the reference order's; on a GPU both are cuBLAS's, the same bits.
	require.Equal(t, []int32{0, 1, 2}, []int32{binding.MuonFP32, binding.MuonBF16, binding.MuonFP32BLAS})
	blas := MuonDefaults()
	blas.BLAS = true
	require.Equal(t, binding.MuonFP32BLAS, blas.params().Precision)
	shapes := [][]int{{40, 60}}
	ref, got := muonUpdates(t, shapes, MuonDefaults(), 3), muonUpdates(t, shapes, blas, 3)
	differ := bitsDiffer(got[0], ref[0])
	if Backend() == "cuda" {
		require.Zero(t, differ, "the GPU's float32 products are cuBLAS's in both modes")
	} else {
		require.NotZero(t, differ, fmt.Sprintf("%s: BLAS gave the reference order's bits", Backend()))
	}
	require.Less(t, relFrobenius(got[0], ref[0]), muonBLASTol)
}
