package recipe

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/perchml/perch"
)

// fuzzRows are records for testSchema: id, age, color, flag, text, note,
// skip, size, y.
var fuzzRows = [][]string{
	{"1", "39", "red", "yes", "The quick brown fox!", "free call now", "1", "3.5", "1"},
	{"2", "", "blue", "no", "jumps over the lazy dog", "", "2", "-1", "0"},
	{"3", "50", "", "maybe", "", "win a FREE prize, call...", "", "n/a", "1"},
	{"4", "22.5", "red", "T", "seat-belts! save lives", "call me", "4", "1e3", "0"},
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		adultRecipe,
		richRecipe,
		`{"outputs":["ALL_BINARY","ALL_CATEGORICAL","quantile_bin(ALL_NUMERIC,50)","lowercase(ALL_TEXT)"]}`,
		`{"groups":{},"assignments":{},"dependencies":{},"outputs":["ALL_INPUTS"]}`,
		`{"groups":{"G":"group(ALL_TEXT, age)","H":"group_remove(G, age)"},"outputs":["ngram(lowercase(no_punct(H)), 3)","osb(H, 4)"]}`,
		`{"assignments":{"c":"cartesian(color, flag)","q":"quantile_bin(size, 7)"},"outputs":["c","cartesian(q, text)","normalize(age)"]}`,
		`{"outputs":["cartesian(lowercase(text), no_punct(note))"]}`,
		`{"outputs":["quantile_bin(age 10)"]}`,
		`{"outputs":["quantile_bin(color, 10)"]}`,
		`{"outputs":["y"]}`,
		`{"outputs":[]}`,
		`{"outputs":["a"],"groups":{}}`,
		`{"groups":{"1G":"group(a)"},"outputs":["a"]}`,
		`{"groups":{"G":"group(age, ALL_INPUTS)"},"outputs":["G"]}`,
		`{"outputs":["f(g(h(i(j(k)))))", "ngram(text, 11)", "osb(text,x)"]}`,
		`{"outputs":["x<y&z", "t\u2028\u0001", "\ud800"]}`,
		`[1, 2]`,
		`{"outputs":["a"]} trailing`,
	} {
		f.Add([]byte(s))
	}
	schema := testSchema()
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			if perch.Code(err) != perch.EInvalid {
				t.Fatalf("error %v has code %s", err, perch.Code(err))
			}
			return
		}
		out, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		r2, err := parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(%q)) = %v", out, err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the recipe:\n%#v\n%#v", r, r2)
		}
		if out2, _ := r2.MarshalJSON(); !bytes.Equal(out, out2) {
			t.Fatalf("Marshal is not stable:\n%s\n%s", out, out2)
		}
		p, err := Compile(r, schema)
		if err != nil {
			if perch.Code(err) != perch.EInvalid {
				t.Fatalf("error %v has code %s", err, perch.Code(err))
			}
			return
		}
		m, err := p.Fit(fuzzRows)
		if err != nil {
			t.Fatal(err)
		}
		j, _ := m.MarshalJSON()
		d, err := Decode(j, schema)
		if err != nil {
			t.Fatalf("Decode(Marshal): %v\n%s", err, j)
		}
		var v1, v2 perch.Vector
		for _, row := range fuzzRows {
			m.Map(row, &v1)
			d.Map(row, &v2)
			if !reflect.DeepEqual(v1, v2) {
				t.Fatalf("decoded mapper maps %q differently", row)
			}
		}
	})
}
