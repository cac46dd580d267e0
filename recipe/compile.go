package recipe

import (
	"strings"

	"github.com/perchml/perch"
)

// MaxOutputs is AML's limit on the variables a recipe's outputs give once
// groups are expanded.
const MaxOutputs = 10000

// kind is the type of a compiled expression.
type kind uint8

const (
	kNumeric     kind = iota // a NUMERIC attribute, or normalize of one
	kCategorical             // a CATEGORICAL attribute
	kBinary                  // a BINARY attribute
	kText                    // a TEXT attribute, through lowercase and no_punct
	kTerms                   // ngram or osb of text
	kBin                     // quantile_bin of a number
	kCross                   // cartesian of two of the above
)

// typeName is how errors name a kind: the AML attribute type it behaves
// as. ngram and osb give TERMS, a bag of words that can only be output.
func (k kind) typeName() string {
	switch k {
	case kNumeric:
		return "NUMERIC"
	case kCategorical, kBin, kCross:
		return "CATEGORICAL"
	case kBinary:
		return "BINARY"
	case kText:
		return "TEXT"
	}
	return "TERMS"
}

// val is a compiled expression: what an output computes from which
// columns. Vals are immutable once compiled and shared between plans and
// the mappers fitted from them.
type val struct {
	kind    kind
	col     int  // the attribute read
	lower   bool // kText, kTerms: lowercase
	nopunct bool // kText, kTerms: no_punct
	osb     bool // kTerms: osb rather than ngram
	n       int  // kTerms: n-gram size or osb window; kBin: bins
	a, b    *val // kCross: the two sides
}

// Plan is a recipe compiled against a schema: every name resolved and
// every type checked. Fit it to training rows to get a Mapper. A Plan can
// be fitted any number of times.
type Plan struct {
	recipe *Recipe
	names  []string
	vals   []*val
}

// Outputs returns the names of the plan's outputs, groups expanded: the
// names FeatureName builds on.
func (p *Plan) Outputs() []string { return append([]string(nil), p.names...) }

// Function argument ranges.
const (
	minGram, maxGram = 2, 10   // ngram size and osb window
	minBins, maxBins = 2, 1000 // quantile_bin
)

type compiler struct {
	s      *perch.Schema
	attrs  map[string]int
	groups map[string][]int // group name → member columns
	assign map[string]*val
	ctx    string
}

// Compile checks r against s and resolves it: names to columns, functions
// to the features they make. Every error is a *perch.Error with code
// EInvalid that names what is wrong.
func Compile(r *Recipe, s *perch.Schema) (*Plan, error) {
	if r == nil || s == nil {
		return nil, invalid("recipe: a recipe needs a schema to compile against")
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	c := &compiler{
		s:      s,
		attrs:  make(map[string]int, len(s.Attributes)),
		groups: make(map[string][]int),
		assign: make(map[string]*val),
	}
	for i, a := range s.Attributes {
		if _, dup := c.attrs[a.Name]; !dup {
			c.attrs[a.Name] = i
		}
	}
	for _, g := range []string{allText, allNumeric, allCategorical, allBinary, allInputs} {
		c.groups[g] = nil
	}
	for i, a := range s.Attributes {
		if s.Excluded(a.Name) || c.attrs[a.Name] != i {
			continue
		}
		c.groups[allInputs] = append(c.groups[allInputs], i)
		switch a.Type {
		case perch.Text:
			c.groups[allText] = append(c.groups[allText], i)
		case perch.Numeric:
			c.groups[allNumeric] = append(c.groups[allNumeric], i)
		case perch.Categorical:
			c.groups[allCategorical] = append(c.groups[allCategorical], i)
		case perch.Binary:
			c.groups[allBinary] = append(c.groups[allBinary], i)
		}
	}
	for _, g := range r.Groups {
		if _, ok := c.attrs[g.Name]; ok {
			return nil, invalid("recipe: group %q has the name of an attribute", g.Name)
		}
		c.ctx = groupsCtx(g.Name)
		n, _ := parseExpr(g.Expr, c.ctx)
		members, err := c.group(n)
		if err != nil {
			return nil, err
		}
		c.groups[g.Name] = members
	}
	for _, a := range r.Assignments {
		if _, ok := c.attrs[a.Name]; ok {
			return nil, invalid("recipe: assignment %q has the name of an attribute", a.Name)
		}
		c.ctx = assignCtx(a.Name)
		n, _ := parseExpr(a.Expr, c.ctx)
		if g := c.groupIn(n); g != nil {
			return nil, invalid("recipe: %s: %q is a group; an assignment takes one variable", c.ctx, g.name)
		}
		v, err := c.compile(n, "", -1)
		if err != nil {
			return nil, err
		}
		c.assign[a.Name] = v
	}
	p := &Plan{recipe: r.clone()}
	seen := make(map[string]bool)
	add := func(name string, v *val) error {
		if seen[name] {
			return nil
		}
		if len(p.names) == MaxOutputs {
			return invalid("recipe: outputs give more than %d variables once groups are expanded", MaxOutputs)
		}
		seen[name] = true
		p.names = append(p.names, name)
		p.vals = append(p.vals, v)
		return nil
	}
	for i, o := range r.Outputs {
		c.ctx = outputCtx(i)
		n, _ := parseExpr(o, c.ctx)
		g := c.groupIn(n)
		if g == nil {
			v, err := c.compile(n, "", -1)
			if err != nil {
				return nil, err
			}
			if err := add(n.String(), v); err != nil {
				return nil, err
			}
			continue
		}
		if err := c.oneGroup(n, g.name); err != nil {
			return nil, err
		}
		for _, col := range c.groups[g.name] {
			v, err := c.compile(n, g.name, col)
			if err != nil {
				return nil, err
			}
			var b strings.Builder
			n.render(&b, g.name, s.Attributes[col].Name)
			if err := add(b.String(), v); err != nil {
				return nil, err
			}
		}
	}
	if len(p.vals) == 0 {
		return nil, invalid("recipe: outputs give no variables for this schema")
	}
	return p, nil
}

// group evaluates the expression of a group definition to its members.
func (c *compiler) group(n *node) ([]int, error) {
	if !n.call || (n.name != "group" && n.name != "group_remove") {
		return nil, invalid("recipe: %s: want group(...) or group_remove(...), found %q", c.ctx, n.String())
	}
	var members []int
	in := make(map[int]bool)
	for i, a := range n.args {
		if a.call {
			return nil, invalid("recipe: %s: a group lists variables and groups, not %s", c.ctx, a.String())
		}
		cols, err := c.members(a.name)
		if err != nil {
			return nil, err
		}
		if n.name == "group_remove" && i > 0 {
			for _, col := range cols {
				delete(in, col)
			}
			continue
		}
		if n.name == "group_remove" {
			if _, ok := c.groups[a.name]; !ok {
				return nil, invalid("recipe: %s: group_remove needs a group as its first argument, %q is not one", c.ctx, a.name)
			}
		}
		for _, col := range cols {
			if !in[col] {
				in[col] = true
				members = append(members, col)
			}
		}
	}
	if n.name == "group_remove" && len(n.args) == 0 {
		return nil, invalid("recipe: %s: group_remove needs a group", c.ctx)
	}
	kept := members[:0]
	for _, col := range members {
		if in[col] {
			kept = append(kept, col)
		}
	}
	return kept, nil
}

// members resolves one name in a group definition.
func (c *compiler) members(name string) ([]int, error) {
	if name == allInputs {
		return nil, invalid("recipe: %s: ALL_INPUTS cannot be used inside a group", c.ctx)
	}
	if g, ok := c.groups[name]; ok {
		return g, nil
	}
	if col, ok := c.attrs[name]; ok {
		if err := c.usable(col); err != nil {
			return nil, err
		}
		return []int{col}, nil
	}
	return nil, invalid("recipe: %s: %q is not a variable or group", c.ctx, name)
}

// usable reports whether attribute col may be a feature.
func (c *compiler) usable(col int) error {
	name := c.s.Attributes[col].Name
	switch {
	case name == c.s.TargetAttributeName:
		return invalid("recipe: %q is the target and cannot be an input", name)
	case c.s.Excluded(name):
		return invalid("recipe: %q is excluded by the schema and cannot be an input", name)
	}
	return nil
}

// groupIn returns the first group named in n, or nil.
func (c *compiler) groupIn(n *node) *node {
	if !n.call {
		if _, ok := c.groups[n.name]; ok {
			return n
		}
		return nil
	}
	for _, a := range n.args {
		if g := c.groupIn(a); g != nil {
			return g
		}
	}
	return nil
}

// oneGroup checks that n names no group other than g: an expression is
// applied to a group element by element, which is only defined for one.
func (c *compiler) oneGroup(n *node, g string) error {
	if !n.call {
		if _, ok := c.groups[n.name]; ok && n.name != g {
			return invalid("recipe: %s: an expression can use one group, this one uses %q and %q", c.ctx, g, n.name)
		}
		return nil
	}
	for _, a := range n.args {
		if err := c.oneGroup(a, g); err != nil {
			return err
		}
	}
	return nil
}

// compile compiles n, reading the group named group as column col.
func (c *compiler) compile(n *node, group string, col int) (*val, error) {
	if !n.call {
		return c.variable(n, group, col)
	}
	switch n.name {
	case "lowercase", "no_punct":
		if err := c.arity(n, 1); err != nil {
			return nil, err
		}
		v, err := c.arg(n, 0, group, col, "a TEXT variable", kText)
		if err != nil {
			return nil, err
		}
		w := *v
		if n.name == "lowercase" {
			w.lower = true
		} else {
			w.nopunct = true
		}
		return &w, nil
	case "ngram", "osb":
		if err := c.arity(n, 2); err != nil {
			return nil, err
		}
		v, err := c.arg(n, 0, group, col, "a TEXT variable", kText)
		if err != nil {
			return nil, err
		}
		what := "size"
		if n.name == "osb" {
			what = "window"
		}
		k, err := c.count(n, what, minGram, maxGram)
		if err != nil {
			return nil, err
		}
		w := *v
		w.kind, w.n, w.osb = kTerms, k, n.name == "osb"
		return &w, nil
	case "quantile_bin":
		if err := c.arity(n, 2); err != nil {
			return nil, err
		}
		v, err := c.arg(n, 0, group, col, "a NUMERIC variable", kNumeric)
		if err != nil {
			return nil, err
		}
		k, err := c.count(n, "bin count", minBins, maxBins)
		if err != nil {
			return nil, err
		}
		return &val{kind: kBin, col: v.col, n: k}, nil
	case "normalize":
		if err := c.arity(n, 1); err != nil {
			return nil, err
		}
		// Every numeric output is standardized, so normalize changes
		// nothing but the name.
		return c.arg(n, 0, group, col, "a NUMERIC variable", kNumeric)
	case "cartesian":
		if err := c.arity(n, 2); err != nil {
			return nil, err
		}
		var sides [2]*val
		for i := range sides {
			v, err := c.arg(n, i, group, col, "a CATEGORICAL, BINARY or TEXT variable", kCategorical, kBinary, kBin, kText)
			if err != nil {
				return nil, err
			}
			sides[i] = v
		}
		return &val{kind: kCross, col: -1, a: sides[0], b: sides[1]}, nil
	case "group", "group_remove":
		return nil, invalid("recipe: %s: %s() defines groups and belongs in the groups section", c.ctx, n.name)
	}
	return nil, invalid("recipe: %s: unknown function %q", c.ctx, n.name)
}

func (c *compiler) arity(n *node, want int) error {
	if len(n.args) == want {
		return nil
	}
	s := "s"
	if want == 1 {
		s = ""
	}
	return invalid("recipe: %s takes %d argument%s, got %d in %s", n.name, want, s, len(n.args), n.String())
}

// arg compiles argument i of n and checks that it is of one of the kinds.
func (c *compiler) arg(n *node, i int, group string, col int, want string, kinds ...kind) (*val, error) {
	a := n.args[i]
	if _, isNum := number(a.name); isNum && !a.call && !c.known(a.name) {
		return nil, invalid("recipe: %s needs %s, got the number %s", n.name, want, a.name)
	}
	v, err := c.compile(a, group, col)
	if err != nil {
		return nil, err
	}
	for _, k := range kinds {
		if v.kind == k {
			return v, nil
		}
	}
	var b strings.Builder
	to := ""
	if col >= 0 {
		to = c.s.Attributes[col].Name
	}
	a.render(&b, group, to)
	if v.kind == kCross {
		return nil, invalid("recipe: %s cannot take %q, which is already a cartesian", n.name, b.String())
	}
	return nil, invalid("recipe: %s needs %s, %q is %s", n.name, want, b.String(), v.kind.typeName())
}

func (c *compiler) known(name string) bool {
	_, a := c.attrs[name]
	_, g := c.groups[name]
	_, v := c.assign[name]
	return a || g || v
}

// count reads the whole-number second argument of n.
func (c *compiler) count(n *node, what string, lo, hi int) (int, error) {
	a := n.args[1]
	k, ok := number(a.name)
	if a.call || !ok {
		return 0, invalid("recipe: %s needs a whole number as its second argument, got %q", n.name, a.String())
	}
	if k < lo || k > hi {
		return 0, invalid("recipe: %s: %s %d is out of range %d to %d", n.name, what, k, lo, hi)
	}
	return k, nil
}

// variable resolves a name used as a variable.
func (c *compiler) variable(n *node, group string, col int) (*val, error) {
	if n.name == group && col >= 0 {
		return c.attribute(col), nil
	}
	if v, ok := c.assign[n.name]; ok {
		return v, nil
	}
	if i, ok := c.attrs[n.name]; ok {
		if err := c.usable(i); err != nil {
			return nil, err
		}
		return c.attribute(i), nil
	}
	if strings.HasPrefix(c.ctx, "assignments") {
		return nil, invalid("recipe: %s: %q is not a variable or assignment", c.ctx, n.name)
	}
	return nil, invalid("recipe: %s: %q is not a variable, group or assignment", c.ctx, n.name)
}

func (c *compiler) attribute(col int) *val {
	v := &val{col: col}
	switch c.s.Attributes[col].Type {
	case perch.Numeric:
		v.kind = kNumeric
	case perch.Categorical:
		v.kind = kCategorical
	case perch.Binary:
		v.kind = kBinary
	default:
		v.kind = kText
	}
	return v
}

func (r *Recipe) clone() *Recipe {
	return &Recipe{
		Groups:      append([]Assign(nil), r.Groups...),
		Assignments: append([]Assign(nil), r.Assignments...),
		Outputs:     append([]string(nil), r.Outputs...),
	}
}
