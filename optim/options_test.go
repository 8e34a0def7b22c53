package optim

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goptim/goptim/binding"
	"github.com/goptim/goptim/internal/golden"
	"github.com/goptim/goptim/internal/reference"
)

// Every optimizer's option list is written down in several places: the optim config
// (its json tags are torch's names, used by checkpoints), the binding's params struct,
// the C ABI's params struct and the binding's literal that fills it, the float64
// reference, the golden loader (OptionKeys and Hyper), the torch scripts that made the
// golden data, and that data (for Schedule-Free AdamW, its own generator, data and
// loader instead). TestOptionListsAgree checks them against one another, so
// that an option added in one place and forgotten in another fails here, naming the
// place. Names are compared mechanically (lower case, underscores dropped: WeightDecay,
// weight_decay and weightdecay are one name); optionAliases lists the few names that
// legitimately differ.

// optionKinds are the optimizers as torch, the golden data and newKind name them.
var optionKinds = []string{"sgd", "adam", "adamw", "adagrad", "rmsprop", "adamax", "radam", "adadelta", "rprop", "nadam", "asgd",
	"adafactor", "lion", "ademamix", "lamb", "lars", "schedulefree_adamw"}

// sfOptionKinds have golden data of their own instead of testdata/torch/optim.json:
// Schedule-Free AdamW's generator is testdata/torch/gen_schedulefree.py, its data
// optim/testdata/schedulefree.json and its loader sfGoldenCase (schedulefree_test.go).
// Those three places list its options (and only its); internal/golden, gen_golden.py
// and optim.json list every other kind's (goldenKinds).
var sfOptionKinds = []string{"schedulefree_adamw"}

var goldenKinds = slices.DeleteFunc(slices.Clone(optionKinds), func(k string) bool {
	return slices.Contains(sfOptionKinds, k)
})

// optionAliases maps a normalised name to torch's where the two differ for a reason.
var optionAliases = map[string]string{
	// torch takes betas as one pair; the Go and C sides keep the two numbers apart.
	"beta1": "betas",
	"beta2": "betas",
	// reference.Adam names the AdamW switch Decoupled.
	"decoupled": "decoupledweightdecay",
	// Rprop's etas and step_sizes are pairs in torch, two numbers each elsewhere.
	"etaminus":    "etas",
	"etaplus":     "etas",
	"stepsizemin": "stepsizes",
	"stepsizemax": "stepsizes",
	// AdEMAMix's betas are a triple in its reference.
	"beta3": "betas",
	// Adafactor's eps is a pair in torch.
	"eps1": "eps",
	"eps2": "eps",
}

// Options that the step's params (binding, C ABI, reference) hold differently from
// torch's list, by design.
var (
	// stepSelector: not a torch option but the switch that makes Adam's step AdamW's
	// (torch has two classes; the ABI one step function with a flag). The step
	// places must have it.
	stepSelector = map[string]string{"adam": "decoupledweightdecay", "adamw": "decoupledweightdecay"}
	// stateInit: an option that sets where the state starts, not part of any step;
	// the caller fills the state with it (goptim.h: "initialised by the caller to
	// initial_accumulator_value"), so the step places lack it.
	stateInit = map[string]string{"adagrad": "initialaccumulatorvalue"}
	// hostState: the values torch keeps per param as 0-dim tensors on the host, which
	// the caller passes to each step (goptim.h); not options, but the step places
	// must have them. Schedule-Free AdamW's weight_sum and lr_max are such values too
	// (its reference keeps them per group as Python floats, goptim per param, and the
	// caller passes them to each step in goptim_schedulefree_adamw_params beside the
	// options, as LAMB's global_grad_norm below).
	hostState = map[string][]string{"nadam": {"muproduct"}, "asgd": {"eta", "mu"},
		"schedulefree_adamw": {"weightsum", "lrmax"}}
	// stepInputs: values the optimizer computes and passes to each step beside the
	// options, not options: LAMB's global gradient norm (the L2 norm of every group's
	// gradients, which apex clips by; goptim.h's global_grad_norm). The step places
	// must have them; the reference computes them itself.
	stepInputs = map[string][]string{"lamb": {"globalgradnorm"}}
)

func normOption(name string) string {
	n := strings.ToLower(strings.ReplaceAll(name, "_", ""))
	if a, ok := optionAliases[n]; ok {
		return a
	}
	return n
}

// optionSet is one place's options of one optimizer: normalised name -> the name as
// that place writes it.
type optionSet map[string]string

func (s optionSet) add(name string) {
	n := normOption(name)
	if _, ok := s[n]; !ok {
		s[n] = name
	}
}

// optionPlace is one place that lists options; its sets are by optimizer kind.
type optionPlace struct {
	name string
	// step: the place holds what a step takes (stepSelector and stateInit apply).
	step bool
	// reference: internal/reference, whose steps take the host values (hostState) as
	// arguments, not fields.
	reference bool
	// kinds: the kinds the place lists, nil for every one of optionKinds (the golden
	// data's places list goldenKinds, Schedule-Free's own places sfOptionKinds).
	kinds []string
	sets  map[string]optionSet
}

// lists says whether the place lists kind's options.
func (p optionPlace) lists(kind string) bool { return p.kinds == nil || slices.Contains(p.kinds, kind) }

// optionSources are the texts the places are parsed from, so that a test can give a
// changed text to the same parsers.
type optionSources struct {
	header, bindingGo, goldenGo, genGolden, genScaler []byte
	optimJSON, scalerJSON                             []byte
	genSF, sfJSON                                     []byte // Schedule-Free's generator and data
}

const (
	srcHeader     = "../csrc/include/goptim.h"
	srcBinding    = "../binding" // every .go file but the tests: one per optimizer family
	srcGolden     = "../internal/golden/golden.go"
	srcGenGolden  = "../testdata/torch/gen_golden.py"
	srcGenScaler  = "../tests/torch/gen_gradscaler.py"
	srcOptimJSON  = "../testdata/torch/optim.json"
	srcScalerJSON = "testdata/gradscaler.json"
	srcGenSF      = "../testdata/torch/gen_schedulefree.py"
	srcSFJSON     = "testdata/schedulefree.json"
)

func readOptionSources(t *testing.T) optionSources {
	t.Helper()
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		require.NoError(t, err, "a place that lists the optimizers' options")
		return b
	}
	return optionSources{
		header: read(srcHeader), bindingGo: readBindingSources(t), goldenGo: read(srcGolden),
		genGolden: read(srcGenGolden), genScaler: read(srcGenScaler),
		optimJSON: read(srcOptimJSON), scalerJSON: read(srcScalerJSON),
		genSF: read(srcGenSF), sfJSON: read(srcSFJSON),
	}
}

// readBindingSources is the text of every Go file of package binding but its tests,
// in name order: the steps' C.goptim_<optimizer>_params literals live in binding.go
// and in files of their own (lamb.go for LAMB and LARS).
func readBindingSources(t *testing.T) []byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(srcBinding, "*.go"))
	require.NoError(t, err)
	sort.Strings(names)
	var out []byte
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		b, err := os.ReadFile(n)
		require.NoError(t, err, "a place that lists the optimizers' options")
		out = append(append(out, b...), '\n')
	}
	require.Contains(t, string(out), "C.goptim_sgd_params{", "the binding's step literals")
	return out
}

// reflectPlace lists the fields of one struct type per kind: their json tags when
// tags is set, otherwise their Go names. Fields of func type (reference's Round
// hook) are not options.
func reflectPlace(name string, step, tags bool, types map[string]reflect.Type) optionPlace {
	p := optionPlace{name: name, step: step, sets: map[string]optionSet{}}
	for kind, ty := range types {
		s := optionSet{}
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			if f.Type.Kind() == reflect.Func {
				continue
			}
			n := f.Name
			if tags {
				n, _, _ = strings.Cut(f.Tag.Get("json"), ",")
			}
			s.add(n)
		}
		p.sets[kind] = s
	}
	return p
}

// The structs of each kind; Adam and AdamW share theirs.
func perKind(sgd, adam, adagrad, rmsprop, adamax, radam, adadelta, rprop, nadam, asgd, adafactor, lion, ademamix, lamb,
	lars, schedulefreeAdamW any) map[string]reflect.Type {
	return map[string]reflect.Type{
		"sgd": reflect.TypeOf(sgd), "adam": reflect.TypeOf(adam), "adamw": reflect.TypeOf(adam),
		"adagrad": reflect.TypeOf(adagrad), "rmsprop": reflect.TypeOf(rmsprop), "adamax": reflect.TypeOf(adamax),
		"radam": reflect.TypeOf(radam), "adadelta": reflect.TypeOf(adadelta), "rprop": reflect.TypeOf(rprop),
		"nadam": reflect.TypeOf(nadam), "asgd": reflect.TypeOf(asgd), "adafactor": reflect.TypeOf(adafactor),
		"lion": reflect.TypeOf(lion), "ademamix": reflect.TypeOf(ademamix), "lamb": reflect.TypeOf(lamb),
		"lars": reflect.TypeOf(lars), "schedulefree_adamw": reflect.TypeOf(schedulefreeAdamW),
	}
}

var (
	cComment     = regexp.MustCompile(`(?s)/\*.*?\*/|//[^\n]*`)
	cParamsType  = regexp.MustCompile(`(?s)typedef\s+struct\s*\{([^}]*)\}\s*goptim_(\w+)_params\s*;`)
	cDeclarator  = regexp.MustCompile(`^\s*(?:const\s+)?\w+\s+(.+?)\s*$`)
	cgoLiteral   = regexp.MustCompile(`(?s)C\.goptim_(\w+)_params\{([^}]*)\}`)
	cgoKey       = regexp.MustCompile(`(\w+)\s*:`)
	pyDefaults   = regexp.MustCompile(`(?ms)^DEFAULTS\s*=\s*\{(.*?)^\}`)
	pyKindDict   = regexp.MustCompile(`(?s)"(\w+)"\s*:\s*\{([^}]*)\}`)
	pyDictKey    = regexp.MustCompile(`"(\w+)"\s*:`)
	pyDictCall   = regexp.MustCompile(`(?ms)^(\w+)\s*=\s*dict\((.*?)\)\s*$`)
	pyKeyword    = regexp.MustCompile(`(?:^|[(,\s])(\w+)\s*=`)
	goldenFieldC = regexp.MustCompile(`^\s*\w+\s*\(([^)]*)\)\s*$`)
)

// abiKinds maps the C ABI's params structs (and the binding's literals) to kinds.
var abiKinds = map[string][]string{"sgd": {"sgd"}, "adam": {"adam", "adamw"}, "adagrad": {"adagrad"}, "rmsprop": {"rmsprop"},
	"adamax": {"adamax"}, "radam": {"radam"}, "adadelta": {"adadelta"}, "rprop": {"rprop"}, "nadam": {"nadam"},
	"asgd": {"asgd"}, "adafactor": {"adafactor"}, "lion": {"lion"}, "ademamix": {"ademamix"},
	"lamb": {"lamb"}, "lars": {"lars"}, "schedulefree_adamw": {"schedulefree_adamw"},
	// The benchmarks' same-traffic loop has a step's signature but no optimizer's options.
	"traffic": nil,
	// Muon's options (and its aux AdamW's) are checked against its own generator,
	// testdata/torch/gen_muon.py, by TestMuonOptionsMatchGenerator.
	"muon": nil}

// parseHeader reads every typedef struct {...} goptim_<name>_params of goptim.h.
func parseHeader(src []byte) (optionPlace, error) {
	p := optionPlace{name: "csrc/include/goptim.h (typedef struct goptim_<optimizer>_params)", step: true, sets: map[string]optionSet{}}
	text := cComment.ReplaceAllString(string(src), "")
	for _, m := range cParamsType.FindAllStringSubmatch(text, -1) {
		kinds, ok := abiKinds[m[2]]
		if !ok {
			return p, fmt.Errorf("%s: goptim_%s_params is no optimizer's: add it to abiKinds", p.name, m[2])
		}
		s := optionSet{}
		for _, decl := range strings.Split(m[1], ";") {
			if strings.TrimSpace(decl) == "" {
				continue
			}
			d := cDeclarator.FindStringSubmatch(decl)
			if d == nil {
				return p, fmt.Errorf("%s: cannot read the declaration %q of goptim_%s_params", p.name, decl, m[2])
			}
			for _, n := range strings.Split(d[1], ",") {
				s.add(strings.Trim(strings.TrimSpace(n), "*"))
			}
		}
		for _, k := range kinds {
			p.sets[k] = s
		}
	}
	return p, nil
}

// parseBindingLiterals reads the C.goptim_<name>_params{...} literals of binding.go:
// every field of the C struct must be filled there.
func parseBindingLiterals(src []byte) optionPlace {
	p := optionPlace{name: "binding/*.go (the C.goptim_<optimizer>_params literal of each step)", step: true, sets: map[string]optionSet{}}
	for _, m := range cgoLiteral.FindAllStringSubmatch(string(src), -1) {
		s := optionSet{}
		for _, k := range cgoKey.FindAllStringSubmatch(m[2], -1) {
			s.add(k[1])
		}
		for _, k := range abiKinds[m[1]] {
			p.sets[k] = s
		}
	}
	return p
}

// parseGoldenHyper reads golden.Hyper's fields and, from each field's comment
// ("// lr (all)", "// momentum (sgd, rmsprop)"), the optimizers that have it.
func parseGoldenHyper(src []byte) (optionPlace, error) {
	p := optionPlace{name: "internal/golden/golden.go (type Hyper, the optimizers in each field's comment)",
		kinds: goldenKinds, sets: map[string]optionSet{}}
	for _, k := range goldenKinds {
		p.sets[k] = optionSet{}
	}
	f, err := parser.ParseFile(token.NewFileSet(), srcGolden, src, parser.ParseComments)
	if err != nil {
		return p, fmt.Errorf("%s: %v", p.name, err)
	}
	var st *ast.StructType
	ast.Inspect(f, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok && ts.Name.Name == "Hyper" {
			st, _ = ts.Type.(*ast.StructType)
		}
		return st == nil
	})
	if st == nil {
		return p, fmt.Errorf("%s: no struct type Hyper", p.name)
	}
	for _, fl := range st.Fields.List {
		var names []string
		for _, n := range fl.Names {
			names = append(names, n.Name)
		}
		m := goldenFieldC.FindStringSubmatch(strings.TrimSpace(fl.Comment.Text()))
		if fl.Comment == nil || m == nil {
			return p, fmt.Errorf("%s: field %v has no comment \"// name (optimizers)\"", p.name, names)
		}
		kinds := goldenKinds
		if strings.TrimSpace(m[1]) != "all" {
			kinds = nil
			for _, k := range strings.Split(m[1], ",") {
				k = strings.TrimSpace(k)
				if !slices.Contains(goldenKinds, k) {
					return p, fmt.Errorf("%s: field %v names an unknown optimizer %q", p.name, names, k)
				}
				kinds = append(kinds, k)
			}
		}
		for _, k := range kinds {
			for _, n := range names {
				p.sets[k].add(n)
			}
		}
	}
	return p, nil
}

// parseGenGolden reads the DEFAULTS dict of gen_golden.py: every option of every
// optimizer, which each case passes to torch with its overrides.
func parseGenGolden(src []byte) (optionPlace, error) {
	p := optionPlace{name: "testdata/torch/gen_golden.py (DEFAULTS)", kinds: goldenKinds, sets: map[string]optionSet{}}
	m := pyDefaults.FindSubmatch(src)
	if m == nil {
		return p, fmt.Errorf("%s: no DEFAULTS = {...}", p.name)
	}
	for _, d := range pyKindDict.FindAllSubmatch(m[1], -1) {
		s := optionSet{}
		for _, k := range pyDictKey.FindAllSubmatch(d[2], -1) {
			s.add(string(k[1]))
		}
		p.sets[string(d[1])] = s
	}
	return p, nil
}

// parseGenScaler reads the option dicts of gen_gradscaler.py (ADAM = dict(...), ...),
// on which every case builds its options.
func parseGenScaler(src []byte) (optionPlace, error) {
	p := optionPlace{name: "tests/torch/gen_gradscaler.py (ADAM, SGD, ADAGRAD, RMSPROP, ADAMAX, ...)", sets: map[string]optionSet{}}
	dicts := map[string][]string{"SGD": {"sgd"}, "ADAM": {"adam", "adamw"}, "ADAGRAD": {"adagrad"}, "RMSPROP": {"rmsprop"},
		"ADAMAX": {"adamax"}, "RADAM": {"radam"}, "ADADELTA": {"adadelta"}, "RPROP": {"rprop"}, "NADAM": {"nadam"},
		"ASGD": {"asgd"}, "ADAFACTOR": {"adafactor"}, "LION": {"lion"}, "ADEMAMIX": {"ademamix"},
		"LAMB": {"lamb"}, "LARS": {"lars"}, "SCHEDULEFREE": {"schedulefree_adamw"}}
	for _, d := range pyDictCall.FindAllSubmatch(src, -1) {
		kinds, ok := dicts[string(d[1])]
		if !ok {
			continue // the scaler settings, S_POW2 and friends
		}
		s := optionSet{}
		for _, k := range pyKeyword.FindAllSubmatch(d[2], -1) {
			s.add(string(k[1]))
		}
		for _, k := range kinds {
			p.sets[k] = s
		}
	}
	return p, nil
}

// parseCaseOptions reads the options of every case of a golden data file; each case
// must list every option (defaults included), so all cases of a kind agree.
func parseCaseOptions(name string, src []byte) (optionPlace, error) {
	p := optionPlace{name: name, sets: map[string]optionSet{}}
	var f struct {
		Cases []struct {
			Name      string         `json:"name"`
			Optimizer string         `json:"optimizer"`
			Options   map[string]any `json:"options"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(src, &f); err != nil {
		return p, fmt.Errorf("%s: %v", name, err)
	}
	first := map[string]string{}
	for _, c := range f.Cases {
		s := optionSet{}
		for k := range c.Options {
			s.add(k)
		}
		if prev, ok := p.sets[c.Optimizer]; ok {
			if !reflect.DeepEqual(keysOf(prev), keysOf(s)) {
				return p, fmt.Errorf("%s: case %q has options %v, case %q %v", name, c.Name, sortedNames(s),
					first[c.Optimizer], sortedNames(prev))
			}
			continue
		}
		p.sets[c.Optimizer], first[c.Optimizer] = s, c.Name
	}
	return p, nil
}

// parseGenSF reads the DEFAULTS dict of gen_schedulefree.py (DEFAULTS = dict(...)):
// every option of Schedule-Free AdamW, on which each group's options are built.
func parseGenSF(src []byte) (optionPlace, error) {
	p := optionPlace{name: "testdata/torch/gen_schedulefree.py (DEFAULTS)", kinds: sfOptionKinds, sets: map[string]optionSet{}}
	for _, d := range pyDictCall.FindAllSubmatch(src, -1) {
		if string(d[1]) != "DEFAULTS" {
			continue
		}
		s := optionSet{}
		for _, k := range pyKeyword.FindAllSubmatch(d[2], -1) {
			s.add(string(k[1]))
		}
		p.sets["schedulefree_adamw"] = s
		return p, nil
	}
	return p, fmt.Errorf("%s: no DEFAULTS = dict(...)", p.name)
}

// parseSFCaseOptions reads the options of every param group of every case of
// schedulefree.json; each must list every option (defaults included), so all agree.
func parseSFCaseOptions(src []byte) (optionPlace, error) {
	p := optionPlace{name: "optim/testdata/schedulefree.json (each group's options)", kinds: sfOptionKinds,
		sets: map[string]optionSet{}}
	var f struct {
		Cases []struct {
			Name   string `json:"name"`
			Groups []struct {
				Options map[string]any `json:"options"`
			} `json:"groups"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(src, &f); err != nil {
		return p, fmt.Errorf("%s: %v", p.name, err)
	}
	var first string
	for _, c := range f.Cases {
		for gi, g := range c.Groups {
			s := optionSet{}
			for k := range g.Options {
				s.add(k)
			}
			if prev, ok := p.sets["schedulefree_adamw"]; ok {
				if !reflect.DeepEqual(keysOf(prev), keysOf(s)) {
					return p, fmt.Errorf("%s: case %q group %d has options %v, %s %v", p.name, c.Name, gi,
						sortedNames(s), first, sortedNames(prev))
				}
				continue
			}
			p.sets["schedulefree_adamw"], first = s, fmt.Sprintf("case %q group %d", c.Name, gi)
		}
	}
	return p, nil
}

// sfLoaderPlace is the json tags of the options sfGoldenCase reads from each group of
// schedulefree.json (Schedule-Free's counterpart of internal/golden's OptionKeys).
func sfLoaderPlace() optionPlace {
	groups := reflect.TypeOf(sfGoldenCase{}.Groups).Elem()
	opts, ok := groups.FieldByName("Options")
	if !ok {
		panic("sfGoldenCase's groups have no Options")
	}
	p := reflectPlace("optim/schedulefree_test.go (sfGoldenCase's group options)", false, true,
		map[string]reflect.Type{"schedulefree_adamw": opts.Type})
	p.kinds = sfOptionKinds
	return p
}

func keysOf(s optionSet) []string {
	k := make([]string, 0, len(s))
	for n := range s {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

func sortedNames(s optionSet) []string {
	var out []string
	for _, n := range keysOf(s) {
		out = append(out, s[n])
	}
	return out
}

func referencePlace() optionPlace {
	p := reflectPlace("internal/reference (reference.SGD, Adam, Adagrad, RMSprop, Adamax, ...)", true, false,
		perKind(reference.SGD{}, reference.Adam{}, reference.Adagrad{}, reference.RMSprop{}, reference.Adamax{},
			reference.RAdam{}, reference.Adadelta{}, reference.Rprop{}, reference.NAdam{}, reference.ASGD{},
			reference.Adafactor{}, reference.Lion{}, reference.AdEMAMix{}, reference.LAMB{}, reference.LARS{},
			reference.ScheduleFreeAdamW{}))
	p.reference = true
	return p
}

// optionPlaces gathers every place from the sources and this build's types.
func optionPlaces(src optionSources) ([]optionPlace, error) {
	places := []optionPlace{
		reflectPlace("optim config json tags (SGDConfig, AdamConfig, AdagradConfig, RMSpropConfig, AdamaxConfig)", false, true,
			perKind(SGDConfig{}, AdamConfig{}, AdagradConfig{}, RMSpropConfig{}, AdamaxConfig{}, RAdamConfig{},
				AdadeltaConfig{}, RpropConfig{}, NAdamConfig{}, ASGDConfig{}, AdafactorConfig{}, LionConfig{},
				AdEMAMixConfig{}, LAMBConfig{}, LARSConfig{}, ScheduleFreeAdamWConfig{})),
		reflectPlace("binding params structs (binding.SGDParams, AdamParams, AdagradParams, RMSpropParams, AdamaxParams)", true, false,
			perKind(binding.SGDParams{}, binding.AdamParams{}, binding.AdagradParams{}, binding.RMSpropParams{},
				binding.AdamaxParams{}, binding.RAdamParams{}, binding.AdadeltaParams{}, binding.RpropParams{},
				binding.NAdamParams{}, binding.ASGDParams{}, binding.AdafactorParams{}, binding.LionParams{},
				binding.AdEMAMixParams{}, binding.LAMBParams{}, binding.LARSParams{},
				binding.ScheduleFreeAdamWParams{})),
		parseBindingLiterals(src.bindingGo),
		referencePlace(),
		sfLoaderPlace(),
	}
	keys := optionPlace{name: "internal/golden (OptionKeys)", kinds: goldenKinds, sets: map[string]optionSet{}}
	for kind, names := range golden.OptionKeys {
		s := optionSet{}
		for _, n := range names {
			s.add(n)
		}
		keys.sets[kind] = s
	}
	places = append(places, keys)
	for _, parse := range []func() (optionPlace, error){
		func() (optionPlace, error) { return parseHeader(src.header) },
		func() (optionPlace, error) { return parseGoldenHyper(src.goldenGo) },
		func() (optionPlace, error) { return parseGenGolden(src.genGolden) },
		func() (optionPlace, error) { return parseGenScaler(src.genScaler) },
		func() (optionPlace, error) {
			p, err := parseCaseOptions("testdata/torch/optim.json (each case's options)", src.optimJSON)
			p.kinds = goldenKinds
			return p, err
		},
		func() (optionPlace, error) { return parseGenSF(src.genSF) },
		func() (optionPlace, error) { return parseSFCaseOptions(src.sfJSON) },
		func() (optionPlace, error) {
			return parseCaseOptions("optim/testdata/gradscaler.json (each case's options)", src.scalerJSON)
		},
	} {
		p, err := parse()
		if err != nil {
			return nil, err
		}
		places = append(places, p)
	}
	return places, nil
}

// compareOptions returns one line per disagreement: an option some places list and
// others lack (naming both), a place without some optimizer, a step place without
// its selector.
func compareOptions(places []optionPlace) []string {
	var problems []string
	for _, kind := range optionKinds {
		// What each place says torch's options are: the step places' lists with the
		// state's starting value put back and the AdamW switch taken out.
		torch := map[string]optionSet{}
		display := map[string]string{}
		for _, p := range places {
			s, ok := p.sets[kind]
			if !p.lists(kind) {
				if ok {
					problems = append(problems, fmt.Sprintf("%s: options for %s, which it is not the place of", p.name, kind))
				}
				continue
			}
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: no options for %s at all", p.name, kind))
				continue
			}
			t := optionSet{}
			for n, shown := range s {
				t[n] = shown
				if _, ok := display[n]; !ok || !p.step {
					display[n] = shown
				}
			}
			if p.step {
				if sel, ok := stepSelector[kind]; ok {
					if _, has := t[sel]; !has {
						problems = append(problems, fmt.Sprintf("%s: %s: the step's switch %s is missing", p.name, kind, sel))
					}
					delete(t, sel)
				}
				if n, ok := stateInit[kind]; ok {
					t[n] = n
				}
				for _, n := range hostState[kind] {
					if _, has := t[n]; !has && !p.reference {
						problems = append(problems, fmt.Sprintf("%s: %s: the step's host value %s is missing", p.name, kind, n))
					}
					delete(t, n)
				}
				for _, n := range stepInputs[kind] {
					if _, has := t[n]; !has && !p.reference {
						problems = append(problems, fmt.Sprintf("%s: %s: the step's input %s is missing", p.name, kind, n))
					}
					delete(t, n)
				}
			}
			torch[p.name] = t
		}
		all := map[string]bool{}
		for _, t := range torch {
			for n := range t {
				all[n] = true
			}
		}
		names := make([]string, 0, len(all))
		for n := range all {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			var in, missing []string
			for _, p := range places {
				t, ok := torch[p.name]
				if !ok {
					continue
				}
				if _, has := t[n]; has {
					in = append(in, p.name)
				} else {
					missing = append(missing, p.name)
				}
			}
			if len(missing) > 0 {
				problems = append(problems, fmt.Sprintf("%s: option %s is missing from %s (it is in %s)",
					kind, display[n], strings.Join(missing, "; "), strings.Join(in, "; ")))
			}
		}
	}
	return problems
}

func TestOptionListsAgree(t *testing.T) {
	places, err := optionPlaces(readOptionSources(t))
	require.NoError(t, err)
	for _, p := range compareOptions(places) {
		t.Error(p)
	}
	// The comparison has something to compare: torch's options of each optimizer.
	want := map[string]int{"sgd": 6, "adam": 6, "adamw": 6, "adagrad": 6, "rmsprop": 7, "adamax": 5, "radam": 6,
		"adadelta": 5, "rprop": 4, "nadam": 7, "asgd": 6, "adafactor": 6, "lion": 3, "ademamix": 7, "lamb": 10,
		"lars": 9, "schedulefree_adamw": 7}
	for kind, n := range want {
		require.Len(t, places[0].sets[kind], n, "%s's options in %s", kind, places[0].name)
	}
}

// Each place, with one option taken out of it, makes the comparison fail with the
// place's name: the parsers read the texts they are given, and no place is ignored.
func TestOptionListsDetectDrift(t *testing.T) {
	src := readOptionSources(t)
	// Text places: the same sources with one option removed by editing the text.
	edits := []struct {
		place string
		edit  func(s *optionSources)
	}{
		{"goptim.h", func(s *optionSources) {
			s.header = []byte(strings.Replace(string(s.header), "int32_t centered, maximize;", "int32_t maximize;", 1))
		}},
		{"C.goptim_<optimizer>_params literal", func(s *optionSources) {
			s.bindingGo = []byte(strings.Replace(string(s.bindingGo), "centered: cbool(h.Centered),", "", 1))
		}},
		{"type Hyper", func(s *optionSources) {
			s.goldenGo = []byte(strings.Replace(string(s.goldenGo), "// centered (rmsprop)", "// centered (sgd)", 1))
		}},
		{"gen_golden.py", func(s *optionSources) {
			s.genGolden = []byte(strings.Replace(string(s.genGolden), `"momentum": 0.0, "centered": False,`, `"momentum": 0.0,`, 1))
		}},
		{"gen_gradscaler.py", func(s *optionSources) {
			s.genScaler = []byte(strings.Replace(string(s.genScaler), "momentum=0.0, centered=False,", "momentum=0.0,", 1))
		}},
	}
	for _, e := range edits {
		s := src
		e.edit(&s)
		require.NotEqual(t, src, s, "%s: the edit found its text", e.place)
		places, err := optionPlaces(s)
		require.NoError(t, err)
		problems := strings.Join(compareOptions(places), "\n")
		require.Contains(t, problems, "rmsprop: option centered is missing from", e.place)
		require.Contains(t, problems, e.place, "the message names the place")
	}
	// Schedule-Free AdamW's text places, its own generator and data among them, without
	// warmup_steps.
	warmupJSON := regexp.MustCompile(`\s*"warmup_steps":\s*\d+,`)
	sfEdits := []struct {
		place string
		edit  func(s *optionSources)
	}{
		{"goptim.h", func(s *optionSources) {
			s.header = []byte(strings.Replace(string(s.header), "int64_t warmup_steps;", "", 1))
		}},
		{"C.goptim_<optimizer>_params literal", func(s *optionSources) {
			s.bindingGo = []byte(strings.Replace(string(s.bindingGo), "warmup_steps: C.int64_t(h.WarmupSteps),", "", 1))
		}},
		{"gen_schedulefree.py", func(s *optionSources) {
			s.genSF = []byte(strings.Replace(string(s.genSF), "warmup_steps=0, ", "", 1))
		}},
		{"gen_gradscaler.py", func(s *optionSources) {
			s.genScaler = []byte(strings.Replace(string(s.genScaler), "warmup_steps=0, r=0.0,", "r=0.0,", 1))
		}},
		{"schedulefree.json", func(s *optionSources) { s.sfJSON = warmupJSON.ReplaceAll(s.sfJSON, nil) }},
		{"gradscaler.json", func(s *optionSources) { s.scalerJSON = warmupJSON.ReplaceAll(s.scalerJSON, nil) }},
	}
	for _, e := range sfEdits {
		s := src
		e.edit(&s)
		require.NotEqual(t, src, s, "%s: the edit found its text", e.place)
		places, err := optionPlaces(s)
		require.NoError(t, err)
		problems := strings.Join(compareOptions(places), "\n")
		require.Contains(t, problems, "schedulefree_adamw: option warmup_steps is missing from", e.place)
		require.Contains(t, problems, e.place, "the message names the place")
	}
	// Its host values are step inputs: goptim.h's struct without lr_max fails.
	s := src
	s.header = []byte(strings.Replace(string(s.header), "double weight_sum, lr_max;", "double weight_sum;", 1))
	require.NotEqual(t, src, s)
	hp, err := optionPlaces(s)
	require.NoError(t, err)
	require.Contains(t, strings.Join(compareOptions(hp), "\n"),
		"goptim.h (typedef struct goptim_<optimizer>_params): schedulefree_adamw: the step's host value lrmax is missing")

	// Every place, with one option deleted from its set.
	places, err := optionPlaces(src)
	require.NoError(t, err)
	require.Empty(t, compareOptions(places))
	for i := range places {
		for _, kind := range optionKinds {
			if !places[i].lists(kind) {
				// Not the place of kind's options (golden data of one family or the
				// other): it has none, and options put there are flagged.
				require.NotContains(t, places[i].sets, kind, "%s lists %s", places[i].name, kind)
				changed := slices.Clone(places)
				changed[i].sets = map[string]optionSet{kind: places[0].sets[kind]}
				require.Contains(t, strings.Join(compareOptions(changed), "\n"),
					places[i].name+": options for "+kind+", which it is not the place of")
				continue
			}
			const victim = "lr" // the one option every optimizer has
			changed := slices.Clone(places)
			sets := map[string]optionSet{}
			for k, s := range places[i].sets {
				sets[k] = s
			}
			one := optionSet{}
			for n, shown := range sets[kind] {
				if n != victim {
					one[n] = shown
				}
			}
			require.Less(t, len(one), len(sets[kind]), "%s lists %s for %s", places[i].name, victim, kind)
			sets[kind] = one
			changed[i].sets = sets
			problems := compareOptions(changed)
			require.NotEmpty(t, problems, "%s without %s's %s", places[i].name, kind, victim)
			require.Contains(t, strings.Join(problems, "\n"), "is missing from "+places[i].name,
				"%s without %s's %s", places[i].name, kind, victim)
		}
	}
}
