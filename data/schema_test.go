package data

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/perchml/perch"
)

const adultSchema = `{"version":"1.0","rowId":null,"targetAttributeName":"income","dataFormat":"CSV","dataFileContainsHeader":true,
 "attributes":[
  {"attributeName":"age","attributeType":"NUMERIC"},
  {"attributeName":"workclass","attributeType":"CATEGORICAL"},
  {"attributeName":"fnlwgt","attributeType":"NUMERIC"},
  {"attributeName":"education","attributeType":"CATEGORICAL"},
  {"attributeName":"education_num","attributeType":"NUMERIC"},
  {"attributeName":"marital_status","attributeType":"CATEGORICAL"},
  {"attributeName":"occupation","attributeType":"CATEGORICAL"},
  {"attributeName":"relationship","attributeType":"CATEGORICAL"},
  {"attributeName":"race","attributeType":"CATEGORICAL"},
  {"attributeName":"sex","attributeType":"CATEGORICAL"},
  {"attributeName":"capital_gain","attributeType":"NUMERIC"},
  {"attributeName":"capital_loss","attributeType":"NUMERIC"},
  {"attributeName":"hours_per_week","attributeType":"NUMERIC"},
  {"attributeName":"native_country","attributeType":"CATEGORICAL"},
  {"attributeName":"income","attributeType":"BINARY"}],
 "excludedAttributeNames":["fnlwgt"],
 "positiveValue":">50K"}`

func TestParseSchemaAdult(t *testing.T) {
	s, err := ParseSchema([]byte(adultSchema))
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != "1.0" || s.DataFormat != "CSV" || !s.DataFileContainsHeader || s.RowID != nil || s.RowWeight != nil {
		t.Errorf("header fields: %+v", s)
	}
	if len(s.Attributes) != 15 || s.Attributes[14] != (perch.Attribute{Name: "income", Type: perch.Binary}) {
		t.Errorf("attributes: %v", s.Attributes)
	}
	if s.Target() != 14 || s.PositiveValue != ">50K" {
		t.Errorf("target %d, positive %q", s.Target(), s.PositiveValue)
	}
	if !reflect.DeepEqual(s.ExcludedAttributeNames, []string{"fnlwgt"}) {
		t.Errorf("excluded: %v", s.ExcludedAttributeNames)
	}
}

func TestParseSchemaDefaults(t *testing.T) {
	s, err := ParseSchema([]byte(`{"attributes":[{"attributeName":"x","attributeType":"NUMERIC"}],"someFutureField":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	want := `{"version":"1.0","rowId":null,"dataFormat":"CSV","dataFileContainsHeader":false,"attributes":[{"attributeName":"x","attributeType":"NUMERIC"}],"excludedAttributeNames":[]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestParseSchemaLegacy(t *testing.T) {
	s, err := ParseSchema([]byte(`{"version":"1.0","targetFieldName":"y","recordAnnotationFieldName":"id",
		"recordWeightFieldName":"w","dataFileContainsHeader":"true",
		"variables":[{"fieldName":"id","fieldType":"CATEGORICAL"},{"fieldName":"w","fieldType":"NUMERIC"},
			{"fieldName":"x","fieldType":"TEXT"},{"attributeName":"y","attributeType":"BINARY"}],
		"excludedVariableNames":["x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &perch.Schema{
		Version: "1.0", RowID: ptr("id"), RowWeight: ptr("w"), TargetAttributeName: "y", DataFormat: "CSV",
		DataFileContainsHeader: true,
		Attributes: []perch.Attribute{
			{Name: "id", Type: perch.Categorical}, {Name: "w", Type: perch.Numeric},
			{Name: "x", Type: perch.Text}, {Name: "y", Type: perch.Binary},
		},
		ExcludedAttributeNames: []string{"x"},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got  %+v\nwant %+v", s, want)
	}
}

func ptr(s string) *string { return &s }

func TestParseSchemaErrors(t *testing.T) {
	attrs := `"attributes":[{"attributeName":"age","attributeType":"NUMERIC"},{"attributeName":"income","attributeType":"BINARY"},{"attributeName":"name","attributeType":"TEXT"}]`
	tests := []struct{ in, want string }{
		{``, `schema: not a JSON object`},
		{`null`, `schema: not a JSON object`},
		{`[1]`, `schema: not a JSON object`},
		{`{"attributes":`, `schema: invalid JSON: unexpected end of JSON input`},
		{`{} x`, `schema: invalid JSON: invalid character 'x' after top-level value`},
		{`{}`, `schema: no attributes`},
		{`{"attributes":[]}`, `schema: no attributes`},
		{`{"attributes":{}}`, `schema: attributes must be a list of {"attributeName": ..., "attributeType": ...} objects`},
		{`{"attributes":[null]}`, `schema: attribute 1 is not an object`},
		{`{"attributes":[{"attributeName":1,"attributeType":"TEXT"}]}`, `schema: attribute 1: attributeName must be a string`},
		{`{"attributes":[{"attributeName":"age","attributeType":"NUMBER"}]}`, `schema: attribute "age": unknown attributeType "NUMBER" (want BINARY, CATEGORICAL, NUMERIC or TEXT)`},
		{`{"attributes":[{"attributeName":"age","attributeType":"numeric"}]}`, `schema: attribute "age": unknown attributeType "numeric" (want BINARY, CATEGORICAL, NUMERIC or TEXT)`},
		{`{"attributes":[{"attributeName":"s","attributeType":"WEIGHTED_STRING_SEQUENCE"}]}`, `schema: attribute "s": unknown attributeType "WEIGHTED_STRING_SEQUENCE" (want BINARY, CATEGORICAL, NUMERIC or TEXT)`},
		{`{"attributes":[{"attributeName":"age"}]}`, `schema: attribute "age" has no attributeType (want BINARY, CATEGORICAL, NUMERIC or TEXT)`},
		{`{"attributes":[{"attributeType":"TEXT"}]}`, `schema: attribute 1 has no name`},
		{`{"attributes":[{"attributeName":" age","attributeType":"TEXT"}]}`, `schema: attribute " age" has leading or trailing spaces`},
		{`{"attributes":[{"attributeName":"a","attributeType":"TEXT"},{"attributeName":"a","attributeType":"TEXT"}]}`, `schema: attribute "a" appears twice`},
		{`{"attributes":[{"attributeName":"a","fieldName":"a","attributeType":"TEXT"}]}`, `schema: attribute 1: both attributeName and its alias fieldName are given`},
		{`{"version":"2.0",` + attrs + `}`, `schema: version "2.0" is not supported (want "1.0")`},
		{`{"version":1.0,` + attrs + `}`, `schema: version must be a string`},
		{`{"dataFormat":"XML",` + attrs + `}`, `schema: dataFormat "XML" is not supported (want CSV or JSON)`},
		{`{"dataFileContainsHeader":"yes",` + attrs + `}`, `schema: dataFileContainsHeader must be true or false`},
		{`{"targetAttributeName":"incme",` + attrs + `}`, `schema: targetAttributeName "incme" is not an attribute`},
		{`{"targetAttributeName":"income","targetFieldName":"income",` + attrs + `}`, `schema: both targetAttributeName and its alias targetFieldName are given`},
		{`{"rowId":"id",` + attrs + `}`, `schema: rowId "id" is not an attribute`},
		{`{"rowId":"income","targetAttributeName":"income",` + attrs + `}`, `schema: rowId "income" is also the targetAttributeName`},
		{`{"rowWeight":"name",` + attrs + `}`, `schema: rowWeight "name" is TEXT, not NUMERIC`},
		{`{"rowWeight":"w",` + attrs + `}`, `schema: rowWeight "w" is not an attribute`},
		{`{"excludedAttributeNames":["age","nme"],` + attrs + `}`, `schema: excludedAttributeNames: "nme" is not an attribute`},
		{`{"excludedAttributeNames":"age",` + attrs + `}`, `schema: excludedAttributeNames must be a list of strings`},
		{`{"positiveValue":"yes",` + attrs + `}`, `schema: positiveValue "yes" needs a targetAttributeName`},
		{`{"positiveValue":"yes","targetAttributeName":"age",` + attrs + `}`, `schema: positiveValue "yes" needs a BINARY target, but "age" is NUMERIC`},
		{`{"attributes":[` + strings.Repeat(`{"attributeName":"a","attributeType":"TEXT"},`, 3000) + `]}`, `schema: 135017 bytes, more than the limit of 131071`},
	}
	for _, tt := range tests {
		_, err := ParseSchema([]byte(tt.in))
		if err == nil {
			t.Errorf("ParseSchema(%.60s): no error, want %s", tt.in, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseSchema(%.60s):\n got %s\nwant %s", tt.in, err, tt.want)
		}
		if perch.Code(err) != perch.EInvalid {
			t.Errorf("ParseSchema(%.60s): code %s, want Invalid", tt.in, perch.Code(err))
		}
	}
}

func TestValidateSchemaLimit(t *testing.T) {
	s := &perch.Schema{}
	for i := range perch.MaxAttributes + 1 {
		s.Attributes = append(s.Attributes, perch.Attribute{Name: "v" + string(rune('a'+i%26)) + strings.Repeat("x", i/26), Type: perch.Numeric})
	}
	if err := ValidateSchema(s); err == nil || err.Error() != "schema: 1001 attributes, more than the limit of 1000" {
		t.Errorf("got %v", err)
	}
	s.Attributes = s.Attributes[:perch.MaxAttributes]
	if err := ValidateSchema(s); err != nil {
		t.Errorf("1000 attributes: %v", err)
	}
}

func TestValidateTarget(t *testing.T) {
	s := &perch.Schema{Attributes: []perch.Attribute{
		{Name: "b", Type: perch.Binary}, {Name: "c", Type: perch.Categorical}, {Name: "n", Type: perch.Numeric},
	}}
	tests := []struct {
		target string
		mt     perch.ModelType
		want   string
	}{
		{"b", perch.BinaryModel, ""},
		{"c", perch.MulticlassModel, ""},
		{"n", perch.RegressionModel, ""},
		{"c", perch.BinaryModel, `schema: target "c" is CATEGORICAL; a BINARY model needs a BINARY target`},
		{"b", perch.MulticlassModel, `schema: target "b" is BINARY; a MULTICLASS model needs a CATEGORICAL target`},
		{"c", perch.RegressionModel, `schema: target "c" is CATEGORICAL; a REGRESSION model needs a NUMERIC target`},
		{"", perch.BinaryModel, `schema: no targetAttributeName; a BINARY model needs a BINARY target`},
		{"x", perch.BinaryModel, `schema: targetAttributeName "x" is not an attribute`},
		{"b", "LINEAR", `unknown model type "LINEAR" (want BINARY, MULTICLASS or REGRESSION)`},
	}
	for _, tt := range tests {
		s.TargetAttributeName = tt.target
		err := ValidateTarget(s, tt.mt)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("ValidateTarget(%q, %s) = %q, want %q", tt.target, tt.mt, got, tt.want)
		}
	}
}

func TestParseBinary(t *testing.T) {
	for _, v := range []string{"1", "y", "Y", "yes", "YES", "Yes", "t", "T", "true", "TRUE", "True", " true "} {
		if b, ok := ParseBinary(v); !b || !ok {
			t.Errorf("ParseBinary(%q) = %v, %v, want true", v, b, ok)
		}
	}
	for _, v := range []string{"0", "n", "N", "no", "NO", "f", "F", "false", "False", "FALSE"} {
		if b, ok := ParseBinary(v); b || !ok {
			t.Errorf("ParseBinary(%q) = %v, %v, want false", v, b, ok)
		}
	}
	for _, v := range []string{"", "2", "1.0", "-1", "ye", "tru", "nope", "on", "off", ">50K", "yess"} {
		if _, ok := ParseBinary(v); ok {
			t.Errorf("ParseBinary(%q) ok, want invalid", v)
		}
	}
}

func TestBinaryLabel(t *testing.T) {
	plain := &perch.Schema{}
	adult := &perch.Schema{PositiveValue: ">50K"}
	tests := []struct {
		s     *perch.Schema
		v     string
		label int
		ok    bool
	}{
		{plain, "yes", 1, true},
		{plain, "0", 0, true},
		{plain, ">50K", 0, false},
		{plain, "", 0, false},
		{adult, ">50K", 1, true},
		{adult, " >50K", 1, true},
		{adult, "<=50K", 0, true},
		{adult, "1", 0, true},
		{adult, "", 0, false},
	}
	for _, tt := range tests {
		l, ok := BinaryLabel(tt.s, tt.v)
		if l != tt.label || ok != tt.ok {
			t.Errorf("BinaryLabel(positive %q, %q) = %d, %v, want %d, %v", tt.s.PositiveValue, tt.v, l, ok, tt.label, tt.ok)
		}
	}
}
