package recipe

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/perchml/perch"
)

func TestParseKeepsOrder(t *testing.T) {
	in := `{"groups":{"Z":"group(a)","A":"group(b, Z)"},"assignments":{"y":"lowercase(t)","b2":"y"},"outputs":["Z","y","ALL_NUMERIC"]}`
	r, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &Recipe{
		Groups:      []Assign{{"Z", "group(a)"}, {"A", "group(b, Z)"}},
		Assignments: []Assign{{"y", "lowercase(t)"}, {"b2", "y"}},
		Outputs:     []string{"Z", "y", "ALL_NUMERIC"},
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("Parse = %+v, want %+v", r, want)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != in {
		t.Errorf("Marshal =\n%s\nwant\n%s", b, in)
	}
}

func TestParseForms(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"outputs":["ALL_BINARY","ALL_CATEGORICAL","quantile_bin(ALL_NUMERIC,50)","lowercase(ALL_TEXT)"]}`,
			`{"groups":{},"assignments":{},"outputs":["ALL_BINARY","ALL_CATEGORICAL","quantile_bin(ALL_NUMERIC,50)","lowercase(ALL_TEXT)"]}`},
		{`{"groups":{},"assignments":{},"dependencies":{},"outputs":["ALL_CATEGORICAL"]}`,
			`{"groups":{},"assignments":{},"outputs":["ALL_CATEGORICAL"]}`},
		{` { "dependencies" : [1, {"x": null}], "assignments":{"a_1":" ngram( t , 3 ) "}, "outputs" : [ "a_1" ] } `,
			`{"groups":{},"assignments":{"a_1":" ngram( t , 3 ) "},"outputs":["a_1"]}`},
		{`{"outputs":["x<y&z", "t\u2028"]}`, `{"groups":{},"assignments":{},"outputs":["x<y&z","t\u2028"]}`},
	} {
		r, err := Parse([]byte(tc.in))
		if err != nil {
			t.Errorf("Parse(%s): %v", tc.in, err)
			continue
		}
		b, _ := r.MarshalJSON()
		if string(b) != tc.want {
			t.Errorf("Parse(%s) marshals to\n%s\nwant\n%s", tc.in, b, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	long := `{"outputs":["` + strings.Repeat("a", perch.MaxRecipeBytes) + `"]}`
	for _, tc := range []struct{ in, want string }{
		{long, "recipe: 131087 bytes, more than the limit of 131071"},
		{``, "recipe: invalid JSON: unexpected EOF"},
		{`{"outputs":["a"]`, "recipe: invalid JSON: unexpected EOF"},
		{`{"outputs":["a"],}`, "recipe: invalid JSON at byte 17: invalid character '}' looking for beginning of object key string"},
		{`["a"]`, "recipe: not a JSON object"},
		{`{"outputs":["a"]} {}`, "recipe: unexpected data after the recipe object"},
		{`{"output":["a"]}`, `recipe: unknown section "output" (want groups, assignments and outputs)`},
		{`{"outputs":["a"],"groups":{}}`, `recipe: section "groups" must come before "outputs"`},
		{`{"assignments":{},"groups":{},"outputs":["a"]}`, `recipe: section "groups" must come before "assignments"`},
		{`{"groups":{},"groups":{},"outputs":["a"]}`, `recipe: section "groups" is given twice`},
		{`{"groups":[],"outputs":["a"]}`, "recipe: groups must be an object"},
		{`{"groups":null,"outputs":["a"]}`, "recipe: groups must be an object"},
		{`{"groups":{"G":1},"outputs":["a"]}`, `recipe: groups["G"] must be a string`},
		{`{"outputs":"a"}`, "recipe: outputs must be a list"},
		{`{"outputs":["a",{}]}`, "recipe: outputs[1] must be a string"},
		{`{"groups":{}}`, "recipe: outputs is missing or empty"},
		{`{"outputs":[]}`, "recipe: outputs is missing or empty"},
		{`{"groups":{"1G":"group(a)"},"outputs":["a"]}`, `recipe: group name "1G" is not valid: a name starts with a letter and has 1 to 64 letters, digits or underscores`},
		{`{"groups":{"a-b":"group(a)"},"outputs":["a"]}`, `recipe: group name "a-b" is not valid: a name starts with a letter and has 1 to 64 letters, digits or underscores`},
		{`{"groups":{"` + strings.Repeat("g", 65) + `":"group(a)"},"outputs":["a"]}`, `recipe: group name "` + strings.Repeat("g", 65) + `" is not valid: a name starts with a letter and has 1 to 64 letters, digits or underscores`},
		{`{"assignments":{"":"a"},"outputs":["a"]}`, `recipe: assignment name "" is not valid: a name starts with a letter and has 1 to 64 letters, digits or underscores`},
		{`{"groups":{"ALL_TEXT":"group(a)"},"outputs":["a"]}`, `recipe: group "ALL_TEXT" has the name of a built-in group`},
		{`{"groups":{"G":"group(a)","G":"group(b)"},"outputs":["a"]}`, `recipe: group "G" is defined twice`},
		{`{"assignments":{"x":"a","x":"b"},"outputs":["a"]}`, `recipe: assignment "x" is defined twice`},
		{`{"groups":{"G":"group(a)"},"assignments":{"G":"a"},"outputs":["a"]}`, `recipe: assignment "G" has the name of a group`},
		{`{"assignments":{"ALL_INPUTS":"a"},"outputs":["a"]}`, `recipe: assignment "ALL_INPUTS" has the name of a built-in group`},
		{`{"outputs":["quantile_bin(age 10)"]}`, `recipe: outputs[0]: syntax error at column 18 of "quantile_bin(age 10)": expected "," or ")", found '1'`},
		{`{"outputs":["a", "ngram(t, 2"]}`, `recipe: outputs[1]: syntax error at column 11 of "ngram(t, 2": expected "," or ")", found the end`},
		{`{"outputs":[""]}`, `recipe: outputs[0]: syntax error at column 1 of "": expected a name, found the end`},
		{`{"outputs":["f(,a)"]}`, `recipe: outputs[0]: syntax error at column 3 of "f(,a)": expected a name, found ','`},
		{`{"outputs":["a b"]}`, `recipe: outputs[0]: syntax error at column 3 of "a b": unexpected 'b' after the expression`},
		{`{"outputs":["a)"]}`, `recipe: outputs[0]: syntax error at column 2 of "a)": unexpected ')' after the expression`},
		{`{"groups":{"G":"group(a,"},"outputs":["a"]}`, `recipe: groups["G"]: syntax error at column 9 of "group(a,": expected a name, found the end`},
		{`{"assignments":{"x":"(a)"},"outputs":["a"]}`, `recipe: assignments["x"]: syntax error at column 1 of "(a)": expected a name, found '('`},
		{`{"outputs":["` + strings.Repeat("f(", 70) + "a" + strings.Repeat(")", 70) + `"]}`, `recipe: outputs[0]: syntax error at column 129 of "` + strings.Repeat("f(", 70) + "a" + strings.Repeat(")", 70) + `": expressions nest more than 64 deep`},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil {
			t.Errorf("Parse(%.80s) succeeded, want %s", tc.in, tc.want)
			continue
		}
		if err.Error() != tc.want || perch.Code(err) != perch.EInvalid {
			t.Errorf("Parse(%.80s):\n got %v (%s)\nwant %s", tc.in, err, perch.Code(err), tc.want)
		}
	}
}

// testSchema has every type, a target, a row id and an excluded attribute.
func testSchema() *perch.Schema {
	id := "id"
	return &perch.Schema{
		RowID:               &id,
		TargetAttributeName: "y",
		Attributes: []perch.Attribute{
			{Name: "id", Type: perch.Categorical},
			{Name: "age", Type: perch.Numeric},
			{Name: "color", Type: perch.Categorical},
			{Name: "flag", Type: perch.Binary},
			{Name: "text", Type: perch.Text},
			{Name: "note", Type: perch.Text},
			{Name: "skip", Type: perch.Numeric},
			{Name: "size", Type: perch.Numeric},
			{Name: "y", Type: perch.Binary},
		},
		ExcludedAttributeNames: []string{"skip"},
	}
}

func compileString(in string, s *perch.Schema) (*Plan, error) {
	r, err := Parse([]byte(in))
	if err != nil {
		return nil, err
	}
	return Compile(r, s)
}

func TestCompileErrors(t *testing.T) {
	s := testSchema()
	for _, tc := range []struct{ in, want string }{
		{`{"outputs":["age","color","agee"]}`, `recipe: outputs[2]: "agee" is not a variable, group or assignment`},
		{`{"outputs":["quantile_bin(color, 10)"]}`, `recipe: quantile_bin needs a NUMERIC variable, "color" is CATEGORICAL`},
		{`{"outputs":["quantile_bin(ALL_INPUTS, 10)"]}`, `recipe: quantile_bin needs a NUMERIC variable, "color" is CATEGORICAL`},
		{`{"outputs":["normalize(text)"]}`, `recipe: normalize needs a NUMERIC variable, "text" is TEXT`},
		{`{"outputs":["lowercase(flag)"]}`, `recipe: lowercase needs a TEXT variable, "flag" is BINARY`},
		{`{"outputs":["no_punct(ngram(text, 2))"]}`, `recipe: no_punct needs a TEXT variable, "ngram(text,2)" is TERMS`},
		{`{"outputs":["ngram(quantile_bin(age,5), 2)"]}`, `recipe: ngram needs a TEXT variable, "quantile_bin(age,5)" is CATEGORICAL`},
		{`{"outputs":["cartesian(color, age)"]}`, `recipe: cartesian needs a CATEGORICAL, BINARY or TEXT variable, "age" is NUMERIC`},
		{`{"outputs":["cartesian(osb(text,2), age)"]}`, `recipe: cartesian needs a CATEGORICAL, BINARY or TEXT variable, "osb(text,2)" is TERMS`},
		{`{"outputs":["cartesian(cartesian(color, flag), text)"]}`, `recipe: cartesian cannot take "cartesian(color,flag)", which is already a cartesian`},
		{`{"outputs":["normalize(5)"]}`, `recipe: normalize needs a NUMERIC variable, got the number 5`},
		{`{"outputs":["y"]}`, `recipe: "y" is the target and cannot be an input`},
		{`{"outputs":["cartesian(color, y)"]}`, `recipe: "y" is the target and cannot be an input`},
		{`{"groups":{"G":"group(age, y)"},"outputs":["G"]}`, `recipe: "y" is the target and cannot be an input`},
		{`{"outputs":["skip"]}`, `recipe: "skip" is excluded by the schema and cannot be an input`},
		{`{"outputs":["id"]}`, `recipe: "id" is excluded by the schema and cannot be an input`},
		{`{"outputs":["quantile_bin(age)"]}`, `recipe: quantile_bin takes 2 arguments, got 1 in quantile_bin(age)`},
		{`{"outputs":["normalize(age, 2)"]}`, `recipe: normalize takes 1 argument, got 2 in normalize(age,2)`},
		{`{"outputs":["lowercase()"]}`, `recipe: lowercase takes 1 argument, got 0 in lowercase()`},
		{`{"outputs":["quantile_bin(age, 1)"]}`, `recipe: quantile_bin: bin count 1 is out of range 2 to 1000`},
		{`{"outputs":["quantile_bin(age, 1001)"]}`, `recipe: quantile_bin: bin count 1001 is out of range 2 to 1000`},
		{`{"outputs":["ngram(text, 11)"]}`, `recipe: ngram: size 11 is out of range 2 to 10`},
		{`{"outputs":["osb(text, 1)"]}`, `recipe: osb: window 1 is out of range 2 to 10`},
		{`{"outputs":["ngram(text, two)"]}`, `recipe: ngram needs a whole number as its second argument, got "two"`},
		{`{"outputs":["ngram(text, -2)"]}`, `recipe: ngram needs a whole number as its second argument, got "-2"`},
		{`{"outputs":["quantile_bin(age, f(3))"]}`, `recipe: quantile_bin needs a whole number as its second argument, got "f(3)"`},
		{`{"outputs":["bin(age, 10)"]}`, `recipe: outputs[0]: unknown function "bin"`},
		{`{"outputs":["group(age)"]}`, `recipe: outputs[0]: group() defines groups and belongs in the groups section`},
		{`{"groups":{"G":"age"},"outputs":["G"]}`, `recipe: groups["G"]: want group(...) or group_remove(...), found "age"`},
		{`{"groups":{"G":"group(lowercase(text))"},"outputs":["G"]}`, `recipe: groups["G"]: a group lists variables and groups, not lowercase(text)`},
		{`{"groups":{"G":"group(age, ALL_INPUTS)"},"outputs":["G"]}`, `recipe: groups["G"]: ALL_INPUTS cannot be used inside a group`},
		{`{"groups":{"G":"group(age, H)","H":"group(color)"},"outputs":["G"]}`, `recipe: groups["G"]: "H" is not a variable or group`},
		{`{"groups":{"G":"group_remove(age, color)"},"outputs":["G"]}`, `recipe: groups["G"]: group_remove needs a group as its first argument, "age" is not one`},
		{`{"groups":{"age":"group(color)"},"outputs":["age"]}`, `recipe: group "age" has the name of an attribute`},
		{`{"assignments":{"color":"lowercase(text)"},"outputs":["color"]}`, `recipe: assignment "color" has the name of an attribute`},
		{`{"assignments":{"a":"lowercase(b)","b":"lowercase(text)"},"outputs":["a"]}`, `recipe: assignments["a"]: "b" is not a variable or assignment`},
		{`{"assignments":{"a":"quantile_bin(ALL_NUMERIC, 10)"},"outputs":["a"]}`, `recipe: assignments["a"]: "ALL_NUMERIC" is a group; an assignment takes one variable`},
		{`{"groups":{"G":"group(text)"},"outputs":["cartesian(G, ALL_CATEGORICAL)"]}`, `recipe: outputs[0]: an expression can use one group, this one uses "G" and "ALL_CATEGORICAL"`},
		{`{"outputs":["ALL_TEXT","ngram(text,2)","ALL_CATEGORICAL","missing"]}`, `recipe: outputs[3]: "missing" is not a variable, group or assignment`},
	} {
		_, err := compileString(tc.in, s)
		if err == nil {
			t.Errorf("Compile(%s) succeeded, want %s", tc.in, tc.want)
			continue
		}
		if err.Error() != tc.want || perch.Code(err) != perch.EInvalid {
			t.Errorf("Compile(%s):\n got %v\nwant %s", tc.in, err, tc.want)
		}
	}
}

func TestCompileNoVariables(t *testing.T) {
	s := &perch.Schema{TargetAttributeName: "y", Attributes: []perch.Attribute{{Name: "a", Type: perch.Numeric}, {Name: "y", Type: perch.Numeric}}}
	_, err := compileString(`{"outputs":["ALL_TEXT","lowercase(ALL_TEXT)"]}`, s)
	if err == nil || err.Error() != "recipe: outputs give no variables for this schema" {
		t.Errorf("err = %v", err)
	}
	// Empty built-in groups are fine next to others, as in AWS's samples.
	if _, err := compileString(`{"outputs":["ALL_BINARY","ALL_CATEGORICAL","quantile_bin(ALL_NUMERIC,50)","lowercase(ALL_TEXT)"]}`, s); err != nil {
		t.Error(err)
	}
}

func TestCompileOutputLimit(t *testing.T) {
	s := &perch.Schema{}
	for i := range 1000 {
		s.Attributes = append(s.Attributes, perch.Attribute{Name: "x" + strconv.Itoa(i), Type: perch.Numeric})
	}
	outs := []string{`"ALL_NUMERIC"`, `"ALL_INPUTS"`} // the same 1000 variables
	for k := 2; k <= 10; k++ {
		outs = append(outs, `"quantile_bin(ALL_NUMERIC,`+strconv.Itoa(k)+`)"`)
	}
	p, err := compileString(`{"outputs":[`+strings.Join(outs, ",")+`]}`, s)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Outputs()); n != MaxOutputs {
		t.Fatalf("%d outputs, want %d", n, MaxOutputs)
	}
	outs = append(outs, `"quantile_bin(x0,11)"`)
	_, err = compileString(`{"outputs":[`+strings.Join(outs, ",")+`]}`, s)
	if err == nil || err.Error() != "recipe: outputs give more than 10000 variables once groups are expanded" {
		t.Errorf("err = %v", err)
	}
}

func TestRecipeJSON(t *testing.T) {
	var holder struct {
		R Recipe `json:"recipe"`
	}
	in := `{"recipe":{"outputs":["a\"b\\c\u0001\u007f\u00e9\u2029"]}}`
	if err := json.Unmarshal([]byte(in), &holder); err != nil {
		t.Fatal(err)
	}
	b, _ := holder.R.MarshalJSON()
	want := `{"groups":{},"assignments":{},"outputs":["a\"b\\c\u0001\u007fé\u2029"]}`
	if string(b) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", b, want)
	}
	if got := string(appendString(nil, "x\xffy\n\r\t")); got != `"x\ufffdy\n\r\t"` {
		t.Errorf("invalid UTF-8 is written %s", got)
	}
	if err := json.Unmarshal([]byte(`{"recipe":{"outputs":[]}}`), &holder); err == nil || !strings.Contains(err.Error(), "outputs is missing or empty") {
		t.Errorf("Unmarshal of an empty recipe: %v", err)
	}
	m := mustFit(t, adultRecipe, adultSchema(), adultRows)
	r := m.Recipe()
	orig, _ := Parse([]byte(adultRecipe))
	if !reflect.DeepEqual(r, orig) {
		t.Errorf("Recipe() = %+v", r)
	}
	r.Outputs[0] = "changed"
	if m.Recipe().Outputs[0] != "ALL_CATEGORICAL" {
		t.Error("Recipe() shares its slices with the mapper")
	}
}
