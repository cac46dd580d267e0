package data

import (
	"encoding/json"
	"fmt"
	"os"
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
		{"n", perch.MulticlassModel, ""}, // its numbers are the classes
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

func inferFile(t *testing.T, path string, opt InferOptions) *perch.Schema {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := InferSchema(f, opt)
	if err != nil {
		t.Fatalf("InferSchema(%s): %v", path, err)
	}
	return s
}

// types renders a schema's attributes as "name:TYPE ...".
func types(s *perch.Schema) string {
	var b strings.Builder
	for i, a := range s.Attributes {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%s", a.Name, a.Type)
	}
	return b.String()
}

func TestInferSchemaDatasets(t *testing.T) {
	tests := []struct {
		path, target, types, positive string
	}{
		{"testdata/adult.csv", "income",
			"age:NUMERIC workclass:CATEGORICAL fnlwgt:NUMERIC education:CATEGORICAL education_num:NUMERIC " +
				"marital_status:CATEGORICAL occupation:CATEGORICAL relationship:CATEGORICAL race:CATEGORICAL " +
				"sex:CATEGORICAL capital_gain:NUMERIC capital_loss:NUMERIC hours_per_week:NUMERIC " +
				"native_country:CATEGORICAL income:BINARY", ">50K"},
		{"testdata/sms.csv", "label", "label:BINARY text:TEXT", "spam"},
		{"testdata/wine.csv", "quality",
			"fixed_acidity:NUMERIC volatile_acidity:NUMERIC citric_acid:NUMERIC residual_sugar:NUMERIC " +
				"chlorides:NUMERIC free_sulfur_dioxide:NUMERIC total_sulfur_dioxide:NUMERIC density:NUMERIC " +
				"pH:NUMERIC sulphates:NUMERIC alcohol:NUMERIC color:CATEGORICAL quality:NUMERIC", ""},
	}
	for _, tt := range tests {
		s := inferFile(t, tt.path, InferOptions{Target: tt.target})
		if got := types(s); got != tt.types {
			t.Errorf("%s: types\n got %s\nwant %s", tt.path, got, tt.types)
		}
		if s.PositiveValue != tt.positive || s.TargetAttributeName != tt.target {
			t.Errorf("%s: target %q positive %q, want %q %q", tt.path, s.TargetAttributeName, s.PositiveValue, tt.target, tt.positive)
		}
		if !s.DataFileContainsHeader || s.Version != "1.0" || s.DataFormat != "CSV" || s.RowID != nil ||
			s.ExcludedAttributeNames == nil || len(s.ExcludedAttributeNames) != 0 {
			t.Errorf("%s: %+v", tt.path, s)
		}
		if err := ValidateSchema(s); err != nil {
			t.Errorf("%s: %v", tt.path, err)
		}
	}
	// The Adult schema of the design notes, but for fnlwgt's exclusion.
	want, err := ParseSchema([]byte(adultSchema))
	if err != nil {
		t.Fatal(err)
	}
	want.ExcludedAttributeNames = []string{}
	if got := inferFile(t, "testdata/adult.csv", InferOptions{Target: "income"}); !reflect.DeepEqual(got, want) {
		t.Errorf("adult:\n got %+v\nwant %+v", got, want)
	}
}

func TestInferSchemaPositive(t *testing.T) {
	s := inferFile(t, "testdata/adult.csv", InferOptions{Target: " income ", Positive: "<=50K"})
	if s.PositiveValue != "<=50K" || s.Attributes[14].Type != perch.Binary {
		t.Errorf("positive %q, type %s", s.PositiveValue, s.Attributes[14].Type)
	}
	f, _ := os.Open("testdata/adult.csv")
	defer f.Close()
	_, err := InferSchema(f, InferOptions{Target: "income", Positive: "yes"})
	if want := `schema: positive value "yes" is not a value of target "income" (values: <=50K, >50K)`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestInferSchemaHeaderless(t *testing.T) {
	// The Adult excerpt without its header line, as UCI ships it.
	b, err := os.ReadFile("testdata/adult.csv")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), "\n")
	s, err := InferSchema(strings.NewReader(rest), InferOptions{Target: "var15"})
	if err != nil {
		t.Fatal(err)
	}
	want := "var1:NUMERIC var2:CATEGORICAL var3:NUMERIC var4:CATEGORICAL var5:NUMERIC var6:CATEGORICAL " +
		"var7:CATEGORICAL var8:CATEGORICAL var9:CATEGORICAL var10:CATEGORICAL var11:NUMERIC var12:NUMERIC " +
		"var13:NUMERIC var14:CATEGORICAL var15:BINARY"
	if got := types(s); got != want || s.DataFileContainsHeader || s.PositiveValue != ">50K" {
		t.Errorf("got %s (header %v, positive %q)\nwant %s", got, s.DataFileContainsHeader, s.PositiveValue, want)
	}
}

func TestInferSchemaRules(t *testing.T) {
	no, yes := false, true
	tests := []struct {
		name, in string
		opt      InferOptions
		types    string
		header   bool
		positive string
	}{
		{"numbers and 0/1", "x,flag,n\n1.5,0,0\n2,1,1\n-3e2,1,2\n", InferOptions{}, "x:NUMERIC flag:BINARY n:NUMERIC", true, ""},
		{"0/1 target", "x,y\n1,0\n2,1\n3,1\n", InferOptions{Target: "y"}, "x:NUMERIC y:BINARY", true, ""},
		{"spelt binary", "a,b,c\nyes,T,x\nno,F,y\nno,T,x\nyes,F,x\n", InferOptions{}, "a:BINARY b:BINARY c:CATEGORICAL", true, ""},
		{"three spellings", "a,b\nyes,x\nno,x\nYES,x\n", InferOptions{}, "a:CATEGORICAL b:CATEGORICAL", true, ""},
		{"one spelling", "ok,v\ny,1\ny,2\n", InferOptions{}, "ok:BINARY v:NUMERIC", true, ""},
		{"NaN is not a number", "v,w\nNaN,1\n1,2\n", InferOptions{}, "v:CATEGORICAL w:NUMERIC", true, ""},
		{"missing values", "a,b,c\n?,,1\n?,x,?\n", InferOptions{}, "a:CATEGORICAL b:CATEGORICAL c:NUMERIC", true, ""},
		{"custom missing", "a,b\nNA,1\n2,NA\n", InferOptions{Missing: []string{"NA"}, Header: &yes}, "a:NUMERIC b:NUMERIC", true, ""},
		{"two-value target", "v,y\n1,b\n2,a\n3,b\n4,a\n", InferOptions{Target: "y"}, "v:NUMERIC y:BINARY", true, "b"},
		{"less frequent positive", "y\nhigh\nlow\nlow\n", InferOptions{Target: "y", Header: &yes}, "y:BINARY", true, "high"},
		{"numeric two-value target", "y\n3\n7\n3\n", InferOptions{Target: "y", Header: &yes}, "y:BINARY", true, "7"},
		{"spelt target, chosen positive", "y\nyes\nno\n", InferOptions{Target: "y", Positive: "no", Header: &yes}, "y:BINARY", true, "no"},
		{"few-valued numeric target", "y\n3\n5\n4\n3\n", InferOptions{Target: "y", Header: &yes}, "y:NUMERIC", true, ""},
		{"forced no header", "a,b\n1,2\n", InferOptions{Header: &no}, "var1:CATEGORICAL var2:CATEGORICAL", false, ""},
		{"no header: numbers first", "1,2\n3,4\n", InferOptions{}, "var1:NUMERIC var2:NUMERIC", false, ""},
		{"no header: first value recurs", "red,1\nblue,2\nred,3\n", InferOptions{}, "var1:CATEGORICAL var2:NUMERIC", false, ""},
		{"no header: repeated name", "a,a\nx,1\n", InferOptions{}, "var1:CATEGORICAL var2:CATEGORICAL", false, ""},
		{"header: names only", "a,b\n", InferOptions{Header: &no}, "var1:CATEGORICAL var2:CATEGORICAL", false, ""},
		{"text by words", "t\n" + strings.Repeat("the quick brown fox\nmy dog ate it\n", 3) + "what is it\n", InferOptions{Header: &yes}, "t:TEXT", true, ""},
		{"text by length", "t\n" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2\n", InferOptions{Header: &yes}, "t:TEXT", true, ""},
		{"repeated phrases", "c\n" + strings.Repeat("New York City\nLos Angeles Area\n", 20), InferOptions{Header: &yes}, "c:CATEGORICAL", true, ""},
		{"sample limit", "v\n1\n2\nx\n", InferOptions{SampleRows: 2}, "v:NUMERIC", true, ""},
	}
	for _, tt := range tests {
		s, err := InferSchema(strings.NewReader(tt.in), tt.opt)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := types(s); got != tt.types || s.DataFileContainsHeader != tt.header || s.PositiveValue != tt.positive {
			t.Errorf("%s: got %s (header %v, positive %q), want %s (header %v, positive %q)",
				tt.name, got, s.DataFileContainsHeader, s.PositiveValue, tt.types, tt.header, tt.positive)
		}
	}
}

func TestInferSchemaErrors(t *testing.T) {
	yes := true
	tests := []struct {
		name, in string
		opt      InferOptions
		want     string
	}{
		{"empty", "", InferOptions{}, "no records"},
		{"blank lines", "\n\n", InferOptions{}, "no records"},
		{"header only", "a,b\n", InferOptions{}, "no records"},
		{"no such target", "a,b\n1,2\n", InferOptions{Target: "c"}, `schema: target "c" is not an attribute (attributes: a, b)`},
		{"positive without target", "a,b\n1,2\n", InferOptions{Positive: "1"}, `schema: positive value "1" needs a target`},
		{"positive, many values", "y\n1\n2\n3\n", InferOptions{Target: "y", Positive: "1"}, `schema: positive value "1" needs a target with two values, but "y" has 3`},
		{"duplicate header", "a,a\n1,2\n", InferOptions{Header: &yes}, `schema: attribute "a" appears twice`},
		{"ragged", "a,b\n1,2\n3\n", InferOptions{}, "line 3: record has 1 fields, want 2"},
	}
	for _, tt := range tests {
		_, err := InferSchema(strings.NewReader(tt.in), tt.opt)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: got %v, want %s", tt.name, err, tt.want)
			continue
		}
		if perch.Code(err) != perch.EInvalid {
			t.Errorf("%s: code %s", tt.name, perch.Code(err))
		}
	}
}
