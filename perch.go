// Package perch holds the domain types shared by every part of perch: data
// schemas, model types, predictions and errors. Subpackages import this one;
// it imports none of them.
package perch

import (
	"errors"
	"fmt"
	"strings"
)

// AttributeType is the type of one attribute in an AML data schema.
type AttributeType string

// The four attribute types of the AML data schema.
const (
	Binary      AttributeType = "BINARY"
	Categorical AttributeType = "CATEGORICAL"
	Numeric     AttributeType = "NUMERIC"
	Text        AttributeType = "TEXT"
)

// Valid reports whether t is one of the four AML attribute types.
func (t AttributeType) Valid() bool {
	switch t {
	case Binary, Categorical, Numeric, Text:
		return true
	}
	return false
}

// Attribute is one column of a data schema.
type Attribute struct {
	Name string        `json:"attributeName"`
	Type AttributeType `json:"attributeType"`
}

// Schema is AML's data schema: the columns of a data file, in file order,
// and which of them is the target. PositiveValue is a perch extension: for
// a BINARY target whose file spells its two values some other way than AML's
// (say `>50K` and `<=50K`), it names the value that means "1".
type Schema struct {
	Version                string      `json:"version"`
	RowID                  *string     `json:"rowId"`
	RowWeight              *string     `json:"rowWeight,omitempty"`
	TargetAttributeName    string      `json:"targetAttributeName,omitempty"`
	DataFormat             string      `json:"dataFormat"`
	DataFileContainsHeader bool        `json:"dataFileContainsHeader"`
	Attributes             []Attribute `json:"attributes"`
	ExcludedAttributeNames []string    `json:"excludedAttributeNames"`
	PositiveValue          string      `json:"positiveValue,omitempty"`
}

// Index returns the position of the named attribute, or -1.
func (s *Schema) Index(name string) int {
	for i, a := range s.Attributes {
		if a.Name == name {
			return i
		}
	}
	return -1
}

// Target returns the position of the target attribute, or -1 when the
// schema has none.
func (s *Schema) Target() int {
	if s.TargetAttributeName == "" {
		return -1
	}
	return s.Index(s.TargetAttributeName)
}

// Excluded reports whether the named attribute is read but not used as a
// feature: the target, the row id and the excluded attributes.
func (s *Schema) Excluded(name string) bool {
	if name == s.TargetAttributeName || (s.RowID != nil && name == *s.RowID) || (s.RowWeight != nil && name == *s.RowWeight) {
		return true
	}
	for _, n := range s.ExcludedAttributeNames {
		if n == name {
			return true
		}
	}
	return false
}

// ModelType is the kind of prediction a model makes.
type ModelType string

// The three AML model types.
const (
	BinaryModel     ModelType = "BINARY"
	MulticlassModel ModelType = "MULTICLASS"
	RegressionModel ModelType = "REGRESSION"
)

// Valid reports whether t is one of the three model types.
func (t ModelType) Valid() bool {
	switch t {
	case BinaryModel, MulticlassModel, RegressionModel:
		return true
	}
	return false
}

// Record is one observation as AML's Predict takes it: attribute name to
// value, every value a string.
type Record map[string]string

// ErrorCode classifies an error so that each adapter can map it to its own
// protocol (an HTTP status, an AML __type, an exit code).
type ErrorCode string

// Error codes.
const (
	ENotFound      ErrorCode = "NotFound"
	EInvalid       ErrorCode = "Invalid"
	EConflict      ErrorCode = "Conflict"
	ELimitExceeded ErrorCode = "LimitExceeded"
	EUnauthorized  ErrorCode = "Unauthorized"
	EForbidden     ErrorCode = "Forbidden"
	// EAccessDenied is a request its caller's policy does not allow.
	EAccessDenied ErrorCode = "AccessDenied"
	EInternal     ErrorCode = "Internal"
)

// Error is an error with a code and a message meant for the person who
// made the request.
type Error struct {
	Code    ErrorCode
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Code returns the code of the first *Error in err's chain, EInternal for
// any other error, and "" for nil.
func Code(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// Limits that bound every input, as AML had them.
const (
	MaxRecordBytes = 100 << 10 // one observation
	MaxAttributes  = 1000      // columns in a schema
	MaxClasses     = 100       // classes of a multiclass target
	MaxRecipeBytes = 131071    // schema or recipe JSON
)

// Vector is a sparse feature vector: feature Index[i] has value Value[i].
// Recipes produce vectors; learners and predictors consume them. A Vector is
// reused from record to record, so the hot path does not allocate.
type Vector struct {
	Index []int32
	Value []float64
}

// Reset empties v, keeping its storage.
func (v *Vector) Reset() {
	v.Index = v.Index[:0]
	v.Value = v.Value[:0]
}

// Add appends feature i with value x.
func (v *Vector) Add(i int32, x float64) {
	v.Index = append(v.Index, i)
	v.Value = append(v.Value, x)
}

// Prediction is the answer for one record, in the shape of AML's Predict.
// Scores, Invalid and Missing are reused from prediction to prediction when the
// same Prediction is passed again, so a steady stream of predictions does
// not allocate.
type Prediction struct {
	Type      ModelType
	Algorithm string  // "SGD" as AML spells it in details
	Label     string  // predictedLabel: "0"/"1" for BINARY, the class for MULTICLASS
	Value     float64 // predictedValue, REGRESSION only
	Scores    []Score // predictedScores: the label's score for BINARY, every class for MULTICLASS
	// Original is the target's own spelling of Label for a BINARY target
	// whose file does not use 1/0 (say ">50K"); empty otherwise.
	Original string
	// Invalid names the attributes whose values did not parse as their
	// type; they were treated as missing, as AML did.
	Invalid []string
	// Missing names, in schema order, the attributes the model reads that
	// the record lacks: absent from a Record, or given empty or as the
	// missing marker "?" (in a CSV line too), which AML treated alike. The
	// target, the row id and weight, excluded attributes and attributes
	// the model ignores are never listed; an invalid value is listed in
	// Invalid, not here. Reused like Invalid.
	Missing []string
	// Contributions, when asked for, explain the prediction.
	Contributions *Contributions
}

// Contributions explain a prediction by TreeSHAP: each attribute's share
// of the raw margin (the log-odds of "1" for BINARY, the value for
// REGRESSION, each class's margin for MULTICLASS), starting from the
// model's expected margin. A margin's Expected and Values add up to it.
type Contributions struct {
	Names   []string // the attributes, in schema order
	Margins []Margin // one, or one per class for MULTICLASS
}

// Margin is one margin's explanation.
type Margin struct {
	Class    string    // MULTICLASS: the class whose margin this is
	Expected float64   // the margin of an average record
	Values   []float64 // per attribute of Names
}

// Score is the score of one label.
type Score struct {
	Label string
	Value float64
}

// ParseBinary reads a BINARY value in AML's spellings: 1/0, y/n, yes/no,
// t/f and true/false, in any case, with surrounding spaces allowed. ok is
// false for anything else.
func ParseBinary(v string) (value, ok bool) {
	v = strings.TrimSpace(v)
	switch len(v) {
	case 1:
		switch v[0] {
		case '1', 'y', 'Y', 't', 'T':
			return true, true
		case '0', 'n', 'N', 'f', 'F':
			return false, true
		}
	case 2:
		if strings.EqualFold(v, "no") {
			return false, true
		}
	case 3:
		if strings.EqualFold(v, "yes") {
			return true, true
		}
	case 4:
		if strings.EqualFold(v, "true") {
			return true, true
		}
	case 5:
		if strings.EqualFold(v, "false") {
			return false, true
		}
	}
	return false, false
}
