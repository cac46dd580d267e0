package recipe

import (
	"strconv"

	"github.com/perchml/perch"
)

// AttributeHint is what the data says about one attribute: how many
// values are valid, how many are missing and how many are distinct. A zero
// Distinct means unknown.
type AttributeHint struct {
	Count, Missing, Distinct int
}

// Suggestion settings.
const (
	// suggestBins is the number of quantile bins for a numeric attribute.
	suggestBins = 10
	// A CATEGORICAL attribute with more than idCount values, over half of
	// them distinct, is taken for an identifier and left out: its values
	// do not recur, so a linear model learns nothing from them.
	idCount = 1000
)

// Suggest returns a recipe that suits a linear learner, as AML's console
// suggested: numeric attributes both quantile-binned (so the model can bend)
// and normalized (so it can follow a trend), binary and categorical ones as
// they are, and text as lowercased words and word pairs without
// punctuation. hints, which may be nil, refine it: attributes that are
// never present are left out, as are identifier-like categorical ones and
// constant numeric ones, and a numeric attribute with few distinct values
// gets fewer bins.
//
// Empty groups and outputs are left out, so the recipe compiles against s
// unless s leaves nothing to use.
func Suggest(s *perch.Schema, hints map[string]AttributeHint) *Recipe {
	r := &Recipe{}
	taken := make(map[string]bool, len(s.Attributes))
	for _, a := range s.Attributes {
		taken[a.Name] = true
	}
	// group defines a group of members and returns its name, or "" when
	// no member can be written in a recipe.
	group := func(base string, members []string) string {
		var ok []string
		for _, m := range members {
			if writable(m) {
				ok = append(ok, m)
			}
		}
		if len(ok) == 0 {
			return ""
		}
		members = ok
		name := base
		for i := 2; taken[name]; i++ {
			name = base + "_" + strconv.Itoa(i)
		}
		taken[name] = true
		expr := "group("
		for i, m := range members {
			if i > 0 {
				expr += ", "
			}
			expr += m
		}
		r.Groups = append(r.Groups, Assign{Name: name, Expr: expr + ")"})
		return name
	}

	var binary, categorical, numeric, text []string
	var all [4]int // usable attributes by type: binary, categorical, numeric, text
	var binCounts []int
	binned := map[int][]string{}
	for _, a := range s.Attributes {
		if s.Excluded(a.Name) {
			continue
		}
		h, hinted := hints[a.Name]
		absent := hinted && h.Count == 0 && h.Missing > 0
		switch a.Type {
		case perch.Binary:
			all[0]++
			if !absent {
				binary = append(binary, a.Name)
			}
		case perch.Categorical:
			all[1]++
			if !absent && !(hinted && h.Count > idCount && 2*h.Distinct > h.Count) {
				categorical = append(categorical, a.Name)
			}
		case perch.Numeric:
			all[2]++
			if absent || hinted && h.Distinct == 1 {
				continue
			}
			numeric = append(numeric, a.Name)
			n := suggestBins
			if hinted && h.Distinct > 1 && h.Distinct < n {
				n = h.Distinct
			}
			if _, ok := binned[n]; !ok {
				binCounts = append(binCounts, n)
			}
			binned[n] = append(binned[n], a.Name)
		case perch.Text:
			all[3]++
			if !absent {
				text = append(text, a.Name)
			}
		}
	}
	// each names the attributes: the built-in group when it holds them
	// all, else a group of its own.
	each := func(kept []string, total int, builtin, base string) string {
		if len(kept) == total {
			return builtin
		}
		return group(base, kept)
	}
	out := func(prefix, g, suffix string) {
		if g != "" {
			r.Outputs = append(r.Outputs, prefix+g+suffix)
		}
	}
	if len(binary) > 0 {
		out("", each(binary, all[0], allBinary, "BINARY_VARS"), "")
	}
	if len(categorical) > 0 {
		out("", each(categorical, all[1], allCategorical, "CATEGORICAL_VARS"), "")
	}
	for _, n := range binCounts {
		k := strconv.Itoa(n)
		out("quantile_bin(", group("NUMERIC_VARS_QB_"+k, binned[n]), ","+k+")")
	}
	if len(numeric) > 0 {
		out("normalize(", each(numeric, all[2], allNumeric, "NUMERIC_VARS"), ")")
	}
	if len(text) > 0 {
		out("ngram(lowercase(no_punct(", each(text, all[3], allText, "TEXT_VARS"), ")),2)")
	}
	return r
}

// writable reports whether an attribute name can be written in a recipe
// expression, which has no quoting.
func writable(name string) bool {
	for i := 0; i < len(name); i++ {
		if !isWord(name[i]) {
			return false
		}
	}
	return name != ""
}
