package data

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/perchml/perch"
)

// schemaAliases pairs top-level schema fields with their legacy names,
// which older AML documents and samples still use.
var schemaAliases = [][2]string{
	{"targetAttributeName", "targetFieldName"},
	{"rowId", "recordAnnotationFieldName"},
	{"rowWeight", "recordWeightFieldName"},
	{"attributes", "variables"},
	{"excludedAttributeNames", "excludedVariableNames"},
}

// ParseSchema parses an AML data schema and validates it. It accepts the
// legacy field names AML accepted (targetFieldName, recordAnnotationFieldName,
// recordWeightFieldName, variables with fieldName and fieldType,
// excludedVariableNames) and ignores fields it does not know, as AML did.
// The result has its defaults filled in: version "1.0", dataFormat "CSV"
// and a non-nil excludedAttributeNames.
func ParseSchema(b []byte) (*perch.Schema, error) {
	if len(b) > perch.MaxRecipeBytes {
		return nil, invalid("schema: %d bytes, more than the limit of %d", len(b), perch.MaxRecipeBytes)
	}
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		return nil, invalid("schema: not a JSON object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, invalid("schema: invalid JSON: %v", err)
	}
	for _, a := range schemaAliases {
		alias, ok := m[a[1]]
		if !ok {
			continue
		}
		if _, both := m[a[0]]; both {
			return nil, invalid("schema: both %s and its alias %s are given", a[0], a[1])
		}
		m[a[0]] = alias
	}

	s := &perch.Schema{}
	if err := decodeString(m, "version", &s.Version); err != nil {
		return nil, err
	}
	if err := decodeString(m, "targetAttributeName", &s.TargetAttributeName); err != nil {
		return nil, err
	}
	if err := decodeString(m, "dataFormat", &s.DataFormat); err != nil {
		return nil, err
	}
	if err := decodeString(m, "positiveValue", &s.PositiveValue); err != nil {
		return nil, err
	}
	var rowID, rowWeight string
	if err := decodeString(m, "rowId", &rowID); err != nil {
		return nil, err
	}
	if err := decodeString(m, "rowWeight", &rowWeight); err != nil {
		return nil, err
	}
	// An empty name means no column, as null does.
	if rowID != "" {
		s.RowID = &rowID
	}
	if rowWeight != "" {
		s.RowWeight = &rowWeight
	}
	if raw, ok := m["dataFileContainsHeader"]; ok {
		h, err := decodeBool(raw)
		if err != nil {
			return nil, invalid("schema: dataFileContainsHeader must be true or false")
		}
		s.DataFileContainsHeader = h
	}
	if raw, ok := m["attributes"]; ok && !isNull(raw) {
		var attrs []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &attrs); err != nil {
			return nil, invalid(`schema: attributes must be a list of {"attributeName": ..., "attributeType": ...} objects`)
		}
		s.Attributes = make([]perch.Attribute, len(attrs))
		for i, am := range attrs {
			a, err := decodeAttribute(i, am)
			if err != nil {
				return nil, err
			}
			s.Attributes[i] = a
		}
	}
	if raw, ok := m["excludedAttributeNames"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &s.ExcludedAttributeNames); err != nil {
			return nil, invalid("schema: excludedAttributeNames must be a list of strings")
		}
	}

	if s.Version == "" {
		s.Version = "1.0"
	}
	if s.DataFormat == "" {
		s.DataFormat = "CSV"
	}
	if s.ExcludedAttributeNames == nil {
		s.ExcludedAttributeNames = []string{}
	}
	if err := ValidateSchema(s); err != nil {
		return nil, err
	}
	return s, nil
}

// decodeAttribute reads attribute i, in either spelling.
func decodeAttribute(i int, m map[string]json.RawMessage) (perch.Attribute, error) {
	var a perch.Attribute
	if m == nil {
		return a, invalid("schema: attribute %d is not an object", i+1)
	}
	for _, f := range [][2]string{{"attributeName", "fieldName"}, {"attributeType", "fieldType"}} {
		if alias, ok := m[f[1]]; ok {
			if _, both := m[f[0]]; both {
				return a, invalid("schema: attribute %d: both %s and its alias %s are given", i+1, f[0], f[1])
			}
			m[f[0]] = alias
		}
	}
	if err := decodeString(m, "attributeName", &a.Name); err != nil {
		return a, invalid("schema: attribute %d: attributeName must be a string", i+1)
	}
	var t string
	if err := decodeString(m, "attributeType", &t); err != nil {
		return a, invalid("schema: attribute %d: attributeType must be a string", i+1)
	}
	a.Type = perch.AttributeType(t)
	return a, nil
}

// decodeString sets *dst to the string field key of m, leaving it alone
// when the field is absent or null.
func decodeString(m map[string]json.RawMessage, key string, dst *string) error {
	raw, ok := m[key]
	if !ok || isNull(raw) {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return invalid("schema: %s must be a string", key)
	}
	return nil
}

// decodeBool reads a JSON boolean, or the strings "true" and "false" that
// AML's own examples write for flags.
func decodeBool(raw json.RawMessage) (bool, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return false, err
	}
	switch v := v.(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, fmt.Errorf("not a boolean")
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

func invalid(format string, args ...any) error {
	return perch.Errorf(perch.EInvalid, format, args...)
}

// ValidateSchema checks s against AML's rules. An empty version or
// dataFormat stands for the default, "1.0" and "CSV". dataFormat "JSON"
// (one JSON object per line) is a perch extension.
func ValidateSchema(s *perch.Schema) error {
	if s == nil {
		return invalid("schema: no schema")
	}
	if s.Version != "" && s.Version != "1.0" {
		return invalid(`schema: version %q is not supported (want "1.0")`, s.Version)
	}
	switch s.DataFormat {
	case "", "CSV", "JSON":
	default:
		return invalid("schema: dataFormat %q is not supported (want CSV or JSON)", s.DataFormat)
	}
	if len(s.Attributes) == 0 {
		return invalid("schema: no attributes")
	}
	if len(s.Attributes) > perch.MaxAttributes {
		return invalid("schema: %d attributes, more than the limit of %d", len(s.Attributes), perch.MaxAttributes)
	}
	types := make(map[string]perch.AttributeType, len(s.Attributes))
	for i, a := range s.Attributes {
		switch {
		case strings.TrimSpace(a.Name) == "":
			return invalid("schema: attribute %d has no name", i+1)
		case strings.TrimSpace(a.Name) != a.Name:
			// Header names are trimmed, so such a name would never match one.
			return invalid("schema: attribute %q has leading or trailing spaces", a.Name)
		case a.Type == "":
			return invalid("schema: attribute %q has no attributeType (want BINARY, CATEGORICAL, NUMERIC or TEXT)", a.Name)
		case !a.Type.Valid():
			return invalid("schema: attribute %q: unknown attributeType %q (want BINARY, CATEGORICAL, NUMERIC or TEXT)", a.Name, a.Type)
		}
		if _, dup := types[a.Name]; dup {
			return invalid("schema: attribute %q appears twice", a.Name)
		}
		types[a.Name] = a.Type
	}
	target := s.TargetAttributeName
	if target != "" {
		if _, ok := types[target]; !ok {
			return invalid("schema: targetAttributeName %q is not an attribute", target)
		}
	}
	if s.RowID != nil {
		if _, ok := types[*s.RowID]; !ok {
			return invalid("schema: rowId %q is not an attribute", *s.RowID)
		}
		if *s.RowID == target {
			return invalid("schema: rowId %q is also the targetAttributeName", *s.RowID)
		}
	}
	if s.RowWeight != nil {
		t, ok := types[*s.RowWeight]
		switch {
		case !ok:
			return invalid("schema: rowWeight %q is not an attribute", *s.RowWeight)
		case *s.RowWeight == target:
			return invalid("schema: rowWeight %q is also the targetAttributeName", *s.RowWeight)
		case t != perch.Numeric:
			return invalid("schema: rowWeight %q is %s, not NUMERIC", *s.RowWeight, t)
		}
	}
	for _, n := range s.ExcludedAttributeNames {
		if _, ok := types[n]; !ok {
			return invalid("schema: excludedAttributeNames: %q is not an attribute", n)
		}
	}
	if s.PositiveValue != "" {
		switch {
		case target == "":
			return invalid("schema: positiveValue %q needs a targetAttributeName", s.PositiveValue)
		case types[target] != perch.Binary:
			return invalid("schema: positiveValue %q needs a BINARY target, but %q is %s", s.PositiveValue, target, types[target])
		}
	}
	return nil
}

// ValidateTarget checks that s has a target of the type a model of type mt
// predicts: BINARY for BINARY, CATEGORICAL for MULTICLASS and NUMERIC for
// REGRESSION. A MULTICLASS model also takes a NUMERIC target, whose
// distinct values are its classes (digits 0 to 9, ratings 1 to 5): asking
// for MULTICLASS says the numbers name categories. Training counts them.
func ValidateTarget(s *perch.Schema, mt perch.ModelType) error {
	var want perch.AttributeType
	switch mt {
	case perch.BinaryModel:
		want = perch.Binary
	case perch.MulticlassModel:
		want = perch.Categorical
	case perch.RegressionModel:
		want = perch.Numeric
	default:
		return invalid("unknown model type %q (want BINARY, MULTICLASS or REGRESSION)", mt)
	}
	if s.TargetAttributeName == "" {
		return invalid("schema: no targetAttributeName; a %s model needs a %s target", mt, want)
	}
	i := s.Target()
	if i < 0 {
		return invalid("schema: targetAttributeName %q is not an attribute", s.TargetAttributeName)
	}
	if t := s.Attributes[i].Type; t != want && (mt != perch.MulticlassModel || t != perch.Numeric) {
		return invalid("schema: target %q is %s; a %s model needs a %s target", s.TargetAttributeName, t, mt, want)
	}
	return nil
}

// ParseBinary reads a BINARY value in one of AML's spellings, in any case
// and with surrounding spaces ignored: 1, y, yes, t, true for true and 0,
// n, no, f, false for false.
func ParseBinary(v string) (value, ok bool) { return perch.ParseBinary(v) }

// BinaryLabel returns the 0/1 label of the target value v. When the schema
// names a positiveValue, the file spells its two values its own way: v
// equal to it is 1 and any other non-empty value, the file's other value,
// is 0. Otherwise v must be one of AML's spellings (see ParseBinary).
// ok is false for a missing or invalid value.
func BinaryLabel(s *perch.Schema, v string) (label int, ok bool) {
	if s.PositiveValue != "" {
		v = strings.TrimSpace(v)
		switch v {
		case "":
			return 0, false
		case strings.TrimSpace(s.PositiveValue):
			return 1, true
		}
		return 0, true
	}
	b, ok := ParseBinary(v)
	if !ok {
		return 0, false
	}
	if b {
		return 1, true
	}
	return 0, true
}

// InferOptions control InferSchema.
type InferOptions struct {
	Target     string   // the target attribute; "" leaves the schema without one
	Positive   string   // the value meaning 1 for a target spelt its own way (say ">50K")
	SampleRows int      // records to look at; 0 means 10000
	Missing    []string // values read as missing; nil means DefaultMissing
	Header     *bool    // whether the first line holds names; nil detects it
	// Types give attributes their types instead of the inferred ones,
	// by name; a name that is no attribute is an error.
	Types map[string]perch.AttributeType
}

// InferSchema reads the first records of a CSV file and proposes a schema
// for it: the attributes in column order with their types, the target if
// one is named, version "1.0", dataFormat "CSV" and no rowId. The proposal
// is a starting point to be edited, as AML's console offered it.
//
// Header: unless opt.Header says, the first line holds names when its
// fields are non-empty and distinct and more columns vote for it than
// against. A column whose later values are all numbers votes for when its
// first field is not a number and against when it is; any other column
// votes against when its first field recurs further down, and for when it
// does not although the column repeats its values (half or fewer distinct).
// Without a header the attributes are named var1, var2, ... in column order.
//
// Types, from the non-missing values of each column:
//   - all numbers: NUMERIC, except two distinct values that are AML binary
//     spellings (0 and 1), which make it BINARY;
//   - all AML binary spellings (yes/no, t/f, ...), at most two distinct: BINARY;
//   - otherwise TEXT when values are not mostly repeats (at least one in ten
//     distinct) and either average three or more words, or are mostly
//     distinct (more than half) and average more than 30 bytes;
//   - otherwise CATEGORICAL, as is a column with no values at all.
//
// A target with exactly two distinct values becomes BINARY. When they are
// not AML's spellings of true and false (Adult's <=50K and >50K), the
// schema gets a positiveValue: opt.Positive if given, otherwise the less
// frequent value (on a tie, the one that sorts last), the usual convention
// for the class of interest. opt.Positive must be one of the two values,
// and may also pick the positive one of a spelt pair. A numeric target
// with more values stays NUMERIC, even when they are few integers; a
// MULTICLASS model takes it as it is, its numbers as classes.
//
// opt.Types overrides the inferred types. An overridden target is not
// turned BINARY; overridden to BINARY, it gets a positiveValue as above
// when its two values are not AML's spellings. An override the sampled
// values cannot be read as (NUMERIC over a value that is no number, BINARY
// over more than two values or over other spellings than AML's, but for a
// target's two) is an error naming the attribute and the value.
func InferSchema(r io.Reader, opt InferOptions) (*perch.Schema, error) {
	limit := opt.SampleRows
	if limit <= 0 {
		limit = 10000
	}
	missing := opt.Missing
	if missing == nil {
		missing = DefaultMissing
	}
	target, positive := strings.TrimSpace(opt.Target), strings.TrimSpace(opt.Positive)
	if positive != "" && target == "" {
		return nil, invalid("schema: positive value %q needs a target", positive)
	}

	rd := NewCSVReader(r, Options{Missing: missing})
	var rows [][]string
	for len(rows) <= limit { // one more than limit, in case the first is a header
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, slices.Clone(rec))
	}
	if len(rows) == 0 {
		return nil, invalid("no records")
	}
	header := looksLikeHeader(rows[0], rows[1:])
	if opt.Header != nil {
		header = *opt.Header
	}
	names := make([]string, len(rows[0]))
	if header {
		for j, f := range rows[0] {
			names[j] = strings.TrimSpace(f)
		}
		rows = rows[1:]
		if len(rows) == 0 {
			return nil, invalid("no records")
		}
	} else {
		for j := range names {
			names[j] = "var" + strconv.Itoa(j+1)
		}
	}
	rows = rows[:min(len(rows), limit)]

	s := &perch.Schema{
		Version:                "1.0",
		DataFormat:             "CSV",
		DataFileContainsHeader: header,
		Attributes:             make([]perch.Attribute, len(names)),
		ExcludedAttributeNames: []string{},
	}
	for _, name := range slices.Sorted(maps.Keys(opt.Types)) {
		if !slices.Contains(names, name) {
			return nil, invalid("schema: type for %q: no such attribute (attributes: %s)", name, strings.Join(names, ", "))
		}
		if t := opt.Types[name]; !t.Valid() {
			return nil, invalid("schema: type for %q: unknown type %q (want BINARY, CATEGORICAL, NUMERIC or TEXT)", name, t)
		}
	}
	cols := make([]*column, len(names))
	for j, name := range names {
		cols[j] = newColumn(rows, j)
		t, ok := opt.Types[name]
		if !ok {
			t = cols[j].infer()
		} else if err := cols[j].readableAs(name, t, name == target); err != nil {
			return nil, err
		}
		s.Attributes[j] = perch.Attribute{Name: name, Type: t}
	}
	if target != "" {
		ti := slices.Index(names, target)
		if ti < 0 {
			return nil, invalid("schema: target %q is not an attribute (attributes: %s)", target, strings.Join(names, ", "))
		}
		s.TargetAttributeName = target
		c := cols[ti]
		forced, overridden := opt.Types[target]
		if overridden && forced != perch.Binary {
			if positive != "" {
				return nil, invalid("schema: positive value %q needs a BINARY target, but %q is given type %s", positive, target, forced)
			}
		} else if len(c.distinct) == 2 {
			a, b := c.distinct[0], c.distinct[1]
			if c.counts[a] > c.counts[b] || c.counts[a] == c.counts[b] && a < b {
				a, b = b, a
			}
			// a is now the less frequent value, or the greater on a tie.
			va, oka := ParseBinary(a)
			vb, okb := ParseBinary(b)
			spelt := oka && okb && va != vb
			switch {
			case positive != "" && positive != a && positive != b:
				lo, hi := min(a, b), max(a, b)
				return nil, invalid("schema: positive value %q is not a value of target %q (values: %s, %s)", positive, target, lo, hi)
			case positive != "":
				s.PositiveValue = positive
			case !spelt:
				s.PositiveValue = a
			}
			s.Attributes[ti].Type = perch.Binary
		} else if positive != "" {
			return nil, invalid("schema: positive value %q needs a target with two values, but %q has %d", positive, target, len(c.distinct))
		}
	}
	if err := ValidateSchema(s); err != nil {
		return nil, err
	}
	return s, nil
}

// readableAs checks that the column's values can be read as type t, the
// type an override gives the attribute name: every value a number for
// NUMERIC; for BINARY, at most two values, which must be AML's spellings
// unless they are the target's two (positiveValue names the one meaning 1).
func (c *column) readableAs(name string, t perch.AttributeType, target bool) error {
	switch t {
	case perch.Numeric:
		for _, v := range c.distinct {
			if !isNumber(v) {
				return invalid("schema: type NUMERIC for %q: value %q is not a number", name, v)
			}
		}
	case perch.Binary:
		if len(c.distinct) > 2 {
			return invalid("schema: type BINARY for %q: it has %d values, more than two", name, len(c.distinct))
		}
		if !target || len(c.distinct) < 2 {
			for _, v := range c.distinct {
				if _, ok := ParseBinary(v); !ok {
					return invalid("schema: type BINARY for %q: value %q is not 1/0, yes/no, true/false, y/n or t/f", name, v)
				}
			}
		}
	}
	return nil
}

// column summarises the non-missing values of one column of a sample.
type column struct {
	n        int            // non-missing values
	counts   map[string]int // value -> occurrences
	distinct []string       // values in order of first appearance
	numeric  bool           // every value is a finite number
	binary   bool           // every value is an AML binary spelling
	words    int            // whitespace-separated words, over all values
	bytes    int            // total length
}

func newColumn(rows [][]string, j int) *column {
	c := &column{counts: map[string]int{}, numeric: true, binary: true}
	for _, row := range rows {
		if j >= len(row) || row[j] == "" {
			continue
		}
		v := row[j]
		c.n++
		if c.counts[v] == 0 {
			c.distinct = append(c.distinct, v)
			if c.numeric && !isNumber(v) {
				c.numeric = false
			}
			if _, ok := ParseBinary(v); !ok {
				c.binary = false
			}
		}
		c.counts[v]++
		c.words += countWords(v)
		c.bytes += len(v)
	}
	return c
}

// infer returns the column's type by the rules documented on InferSchema.
func (c *column) infer() perch.AttributeType {
	d := len(c.distinct)
	switch {
	case c.n == 0:
		return perch.Categorical
	case c.numeric:
		if d == 2 && c.binary {
			return perch.Binary
		}
		return perch.Numeric
	case c.binary && d <= 2:
		return perch.Binary
	}
	n := float64(c.n)
	ratio, words, length := float64(d)/n, float64(c.words)/n, float64(c.bytes)/n
	if ratio >= 0.1 && (words >= 3 || ratio > 0.5 && length > 30) {
		return perch.Text
	}
	return perch.Categorical
}

// looksLikeHeader applies the header rule documented on InferSchema.
func looksLikeHeader(first []string, rest [][]string) bool {
	seen := make(map[string]bool, len(first))
	for _, f := range first {
		f = strings.TrimSpace(f)
		if f == "" || seen[f] {
			return false
		}
		seen[f] = true
	}
	if len(rest) == 0 {
		// Nothing to compare with: names are not numbers.
		return !slices.ContainsFunc(first, isNumber)
	}
	votes := 0
	for j, f := range first {
		c := newColumn(rest, j)
		switch {
		case c.n == 0:
		case c.numeric && isNumber(f):
			votes--
		case c.numeric:
			votes++
		case c.counts[f] > 0:
			votes--
		case 2*len(c.distinct) <= c.n:
			votes++
		}
	}
	return votes > 0
}

// isNumber reports whether v is a finite number, the values a NUMERIC
// attribute accepts.
func isNumber(v string) bool {
	_, ok := parseNumber(v)
	return ok
}

// parseNumber parses a NUMERIC value: a finite float64. NaN and the
// infinities are invalid, as they would poison any model trained on them.
func parseNumber(v string) (float64, bool) {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}

// countWords counts the whitespace-separated words of v without
// allocating.
func countWords(v string) int {
	n, in := 0, false
	for _, r := range v {
		space := unicode.IsSpace(r)
		if !space && !in {
			n++
		}
		in = !space
	}
	return n
}
