package data

import (
	"strings"
	"testing"

	"github.com/perchml/perch"
)

// Types overrides the inferred types by name; the target keeps an
// overridden type, and overridden to BINARY gets a positiveValue as an
// inferred one does.
func TestInferSchemaTypes(t *testing.T) {
	const csv = "zip,score,note,y\n01001,3,a b,1\n02139,5,c d,2\n01001,4,e f,3\n"
	tests := []struct {
		name     string
		opt      InferOptions
		types    string
		positive string
	}{
		{"none", InferOptions{Target: "y"}, "zip:NUMERIC score:NUMERIC note:CATEGORICAL y:NUMERIC", ""},
		{"features", InferOptions{Target: "y", Types: map[string]perch.AttributeType{"zip": perch.Categorical, "note": perch.Text}},
			"zip:CATEGORICAL score:NUMERIC note:TEXT y:NUMERIC", ""},
		{"target", InferOptions{Target: "y", Types: map[string]perch.AttributeType{"y": perch.Categorical}},
			"zip:NUMERIC score:NUMERIC note:CATEGORICAL y:CATEGORICAL", ""},
		{"no target", InferOptions{Types: map[string]perch.AttributeType{"score": perch.Categorical}},
			"zip:NUMERIC score:CATEGORICAL note:CATEGORICAL y:NUMERIC", ""},
	}
	for _, tt := range tests {
		s, err := InferSchema(strings.NewReader(csv), tt.opt)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := types(s); got != tt.types || s.PositiveValue != tt.positive {
			t.Errorf("%s: got %s (positive %q), want %s (positive %q)", tt.name, got, s.PositiveValue, tt.types, tt.positive)
		}
	}

	// A two-valued target kept CATEGORICAL is not made BINARY; made BINARY
	// it gets the less frequent value as positiveValue.
	const two = "x,y\n1,lo\n2,hi\n3,lo\n"
	s, err := InferSchema(strings.NewReader(two), InferOptions{Target: "y", Types: map[string]perch.AttributeType{"y": perch.Categorical}})
	if err != nil || types(s) != "x:NUMERIC y:CATEGORICAL" || s.PositiveValue != "" {
		t.Errorf("CATEGORICAL two-valued target: %v %v", s, err)
	}
	s, err = InferSchema(strings.NewReader(two), InferOptions{Target: "y", Types: map[string]perch.AttributeType{"y": perch.Binary}})
	if err != nil || types(s) != "x:NUMERIC y:BINARY" || s.PositiveValue != "hi" {
		t.Errorf("BINARY two-valued target: %v %v", s, err)
	}
}

// An override that names no attribute, no type or a type the values cannot
// be read as is an error naming it.
func TestInferSchemaTypeErrors(t *testing.T) {
	const csv = "zip,score,note,y\n01001,3,a b,yes\n02139,5,c d,no\n01001,4,e f,no\n"
	tests := []struct {
		name string
		opt  InferOptions
		want string
	}{
		{"no such attribute", InferOptions{Types: map[string]perch.AttributeType{"zp": perch.Categorical}},
			`schema: type for "zp": no such attribute (attributes: zip, score, note, y)`},
		{"no such type", InferOptions{Types: map[string]perch.AttributeType{"zip": "STRING"}},
			`schema: type for "zip": unknown type "STRING" (want BINARY, CATEGORICAL, NUMERIC or TEXT)`},
		{"not numbers", InferOptions{Types: map[string]perch.AttributeType{"note": perch.Numeric}},
			`schema: type NUMERIC for "note": value "a b" is not a number`},
		{"three values", InferOptions{Types: map[string]perch.AttributeType{"score": perch.Binary}},
			`schema: type BINARY for "score": it has 3 values, more than two`},
		{"not AML's spellings", InferOptions{Types: map[string]perch.AttributeType{"zip": perch.Binary}},
			`schema: type BINARY for "zip": value "01001" is not 1/0, yes/no, true/false, y/n or t/f`},
		{"positive of a target not BINARY", InferOptions{Target: "y", Positive: "yes", Types: map[string]perch.AttributeType{"y": perch.Categorical}},
			`schema: positive value "yes" needs a BINARY target, but "y" is given type CATEGORICAL`},
	}
	for _, tt := range tests {
		_, err := InferSchema(strings.NewReader(csv), tt.opt)
		if err == nil || err.Error() != tt.want || perch.Code(err) != perch.EInvalid {
			t.Errorf("%s: got %v (code %s), want %s", tt.name, err, perch.Code(err), tt.want)
		}
	}
}
