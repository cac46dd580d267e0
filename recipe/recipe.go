// Package recipe implements AML's recipe language: it parses and validates
// recipes, suggests one for a schema, and compiles a recipe into a Mapper
// that turns records into the sparse feature vectors a learner sees.
//
// A recipe goes through three stages. Parse reads the JSON. Compile checks
// it against a schema and resolves every name to a column, giving a Plan.
// Plan.Fit learns what the features need from the training rows
// (vocabularies, quantile bins, means and deviations), giving a Mapper.
// A Mapper is saved with MarshalJSON and read back with Decode.
package recipe

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/perchml/perch"
)

// Recipe is a recipe as written: its groups, assignments and outputs in the
// order they were given. Expressions are kept as written; Compile gives
// them meaning.
type Recipe struct {
	Groups, Assignments []Assign
	Outputs             []string
}

// Assign names an expression: a group or an assignment.
type Assign struct {
	Name, Expr string
}

// Built-in groups, filled from the schema's attribute types.
const (
	allText        = "ALL_TEXT"
	allNumeric     = "ALL_NUMERIC"
	allCategorical = "ALL_CATEGORICAL"
	allBinary      = "ALL_BINARY"
	allInputs      = "ALL_INPUTS"
)

func builtin(name string) bool {
	switch name {
	case allText, allNumeric, allCategorical, allBinary, allInputs:
		return true
	}
	return false
}

func invalid(format string, args ...any) *perch.Error {
	return perch.Errorf(perch.EInvalid, format, args...)
}

// Section ranks: AML requires groups, assignments and outputs in this order.
var sections = [...]string{"groups", "assignments", "outputs"}

// Parse reads a recipe in AML's JSON form. Sections must come in the
// order groups, assignments, outputs; only outputs is required. A
// "dependencies" member, which AML itself wrote, is ignored. Parse checks
// everything that does not need a schema: the names, duplicates and the
// syntax of every expression.
func Parse(b []byte) (*Recipe, error) {
	if len(b) > perch.MaxRecipeBytes {
		return nil, invalid("recipe: %d bytes, more than the limit of %d", len(b), perch.MaxRecipeBytes)
	}
	return parse(b)
}

// parse is Parse without the size limit, for recipes read back from model
// files, whose canonical form may be a little longer than what was given.
func parse(b []byte) (*Recipe, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, invalid("recipe: not a JSON object")
	}
	r := &Recipe{}
	last := -1
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(err)
		}
		key, _ := tok.(string)
		rank := -1
		for i, s := range sections {
			if key == s {
				rank = i
			}
		}
		switch {
		case key == "dependencies":
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, jsonError(err)
			}
			continue
		case rank < 0:
			return nil, invalid("recipe: unknown section %q (want groups, assignments and outputs)", key)
		case rank == last:
			return nil, invalid("recipe: section %q is given twice", key)
		case rank < last:
			return nil, invalid("recipe: section %q must come before %q", key, sections[last])
		}
		last = rank
		switch rank {
		case 0:
			r.Groups, err = parseObject(dec, key)
		case 1:
			r.Assignments, err = parseObject(dec, key)
		default:
			r.Outputs, err = parseList(dec)
		}
		if err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid("recipe: unexpected data after the recipe object")
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return r, nil
}

func jsonError(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return invalid("recipe: invalid JSON at byte %d: %v", se.Offset, err)
	}
	return invalid("recipe: invalid JSON: %v", err)
}

// parseObject reads an object of name → expression pairs, keeping their
// order, which a map would lose.
func parseObject(dec *json.Decoder, section string) ([]Assign, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, invalid("recipe: %s must be an object", section)
	}
	var out []Assign
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(err)
		}
		name, _ := tok.(string)
		tok, err = dec.Token()
		if err != nil {
			return nil, jsonError(err)
		}
		expr, ok := tok.(string)
		if !ok {
			return nil, invalid("recipe: %s[%q] must be a string", section, name)
		}
		out = append(out, Assign{Name: name, Expr: expr})
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonError(err)
	}
	return out, nil
}

func parseList(dec *json.Decoder) ([]string, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, invalid("recipe: outputs must be a list")
	}
	var out []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(err)
		}
		s, ok := tok.(string)
		if !ok {
			return nil, invalid("recipe: outputs[%d] must be a string", len(out))
		}
		out = append(out, s)
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonError(err)
	}
	return out, nil
}

// UnmarshalJSON parses b with Parse, so that a Recipe embedded in other
// JSON is checked as one given alone.
func (r *Recipe) UnmarshalJSON(b []byte) error {
	p, err := Parse(b)
	if err != nil {
		return err
	}
	*r = *p
	return nil
}

// MarshalJSON writes r in canonical form: all three sections, in AML's
// order, with members in r's order. The same recipe always gives the same
// bytes.
func (r *Recipe) MarshalJSON() ([]byte, error) {
	return r.appendJSON(nil), nil
}

func (r *Recipe) appendJSON(b []byte) []byte {
	b = append(b, `{"groups":`...)
	b = appendObject(b, r.Groups)
	b = append(b, `,"assignments":`...)
	b = appendObject(b, r.Assignments)
	b = append(b, `,"outputs":[`...)
	for i, o := range r.Outputs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, o)
	}
	return append(b, "]}"...)
}

func appendObject(b []byte, as []Assign) []byte {
	b = append(b, '{')
	for i, a := range as {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, a.Name)
		b = append(b, ':')
		b = appendString(b, a.Expr)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string. Unlike encoding/json it leaves
// <, > and & alone, so recipes stay readable; invalid UTF-8 becomes U+FFFD
// as it does there.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, `\n`...)
			case c == '\r':
				b = append(b, `\r`...)
			case c == '\t':
				b = append(b, `\t`...)
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but not valid JavaScript; escape them as
			// encoding/json does.
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

// validName reports whether s is a valid group or assignment name: a
// letter, then up to 63 letters, digits or underscores.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && !('0' <= c && c <= '9') && c != '_' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'A' <= c&^0x20 && c&^0x20 <= 'Z' }

// check validates what needs no schema: names, duplicates and syntax.
func (r *Recipe) check() error {
	groups := make(map[string]bool, len(r.Groups))
	for _, g := range r.Groups {
		switch {
		case !validName(g.Name):
			return invalid("recipe: group name %q is not valid: a name starts with a letter and has 1 to 64 letters, digits or underscores", g.Name)
		case builtin(g.Name):
			return invalid("recipe: group %q has the name of a built-in group", g.Name)
		case groups[g.Name]:
			return invalid("recipe: group %q is defined twice", g.Name)
		}
		groups[g.Name] = true
		if _, err := parseExpr(g.Expr, groupsCtx(g.Name)); err != nil {
			return err
		}
	}
	assigns := make(map[string]bool, len(r.Assignments))
	for _, a := range r.Assignments {
		switch {
		case !validName(a.Name):
			return invalid("recipe: assignment name %q is not valid: a name starts with a letter and has 1 to 64 letters, digits or underscores", a.Name)
		case builtin(a.Name):
			return invalid("recipe: assignment %q has the name of a built-in group", a.Name)
		case groups[a.Name]:
			return invalid("recipe: assignment %q has the name of a group", a.Name)
		case assigns[a.Name]:
			return invalid("recipe: assignment %q is defined twice", a.Name)
		}
		assigns[a.Name] = true
		if _, err := parseExpr(a.Expr, assignCtx(a.Name)); err != nil {
			return err
		}
	}
	if len(r.Outputs) == 0 {
		return invalid("recipe: outputs is missing or empty")
	}
	for i, o := range r.Outputs {
		if _, err := parseExpr(o, outputCtx(i)); err != nil {
			return err
		}
	}
	return nil
}

// Contexts name where in a recipe an expression is, for error messages.
func groupsCtx(name string) string { return "groups[" + strconv.Quote(name) + "]" }
func assignCtx(name string) string { return "assignments[" + strconv.Quote(name) + "]" }
func outputCtx(i int) string       { return "outputs[" + strconv.Itoa(i) + "]" }
