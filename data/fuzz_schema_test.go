package data

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/perchml/perch"
)

func FuzzParseSchema(f *testing.F) {
	for _, s := range []string{
		adultSchema,
		`{"attributes":[{"attributeName":"x","attributeType":"NUMERIC"}]}`,
		`{"version":"1.0","rowId":"id","targetAttributeName":"y","dataFormat":"JSON","dataFileContainsHeader":"true",
		  "attributes":[{"attributeName":"id","attributeType":"CATEGORICAL"},{"attributeName":"y","attributeType":"BINARY"}],
		  "excludedAttributeNames":["id"],"positiveValue":"spam"}`,
		`{"targetFieldName":"y","recordAnnotationFieldName":"id","recordWeightFieldName":"w",
		  "variables":[{"fieldName":"id","fieldType":"TEXT"},{"fieldName":"w","fieldType":"NUMERIC"},{"fieldName":"y","fieldType":"NUMERIC"}],
		  "excludedVariableNames":[]}`,
		`{"rowId":null,"rowWeight":null,"attributes":[{"attributeName":"\u00e9t\u00e9","attributeType":"TEXT"}],"x":{"nested":[1,2]}}`,
		`{"attributes":[{"attributeName":"a","attributeType":"TEXT"},{"attributeName":"a","attributeType":"TEXT"}]}`,
		`{"attributes":[{"attributeName":"age","attributeType":"NUMBER"}]}`,
		`{"targetAttributeName":"incme","attributes":[{"attributeName":"income","attributeType":"BINARY"}]}`,
		`{"positiveValue":"1","targetAttributeName":"y","attributes":[{"attributeName":"y","attributeType":"NUMERIC"}]}`,
		`{"version":"2.0","attributes":[]}`,
		`{"attributes":[null,1,"x"]}`,
		`{"attributes":`,
		`[]`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSchema(b)
		if err != nil {
			if perch.Code(err) != perch.EInvalid {
				t.Fatalf("error %v has code %s", err, perch.Code(err))
			}
			return
		}
		if err := ValidateSchema(s); err != nil {
			t.Fatalf("parsed schema does not validate: %v", err)
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) > perch.MaxRecipeBytes {
			return // defaults and escapes can grow an input near the limit
		}
		s2, err := ParseSchema(out)
		if err != nil {
			t.Fatalf("re-parsing %s: %v", out, err)
		}
		if !reflect.DeepEqual(s, s2) {
			t.Fatalf("round trip changed the schema:\n%+v\n%+v", s, s2)
		}
	})
}

func FuzzParseRearrangement(f *testing.F) {
	for _, s := range []string{
		`{"splitting":{"percentBegin":10,"percentEnd":60}}`,
		`{"splitting":{"percentBegin":0,"percentEnd":25,"complement":"true"}}`,
		`{"splitting":{"percentBegin":0,"percentEnd":70,"strategy":"random","randomSeed":"s3://bucket/adult/train.csv"}}`,
		`{"splitting":{"percentBegin":"70","percentEnd":"100","complement":true,"strategy":"random","strategyParams":{"randomSeed":"x"}}}`,
		`{"splitting":{"percentBegin":50,"percentEnd":50,"complement":"true"}}`,
		`{"splitting":{}}`,
		``,
		`{"splitting":{"percentBegin":70,"percentEnd":30}}`,
		`{"splitting":{"percentBegin":1e2,"percentEnd":-0}}`,
		`{"splitting":{"strategy":"random"}}`,
		`{"splitting":{"percentbegin":10}}`,
		`{"splitting":null}`,
		`{"splitting":{"complement":"yes"}}`,
		`{"splitting":{"percentEnd":70.5}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRearrangement(s)
		if err != nil {
			if perch.Code(err) != perch.EInvalid {
				t.Fatalf("error %v has code %s", err, perch.Code(err))
			}
			return
		}
		if r == nil {
			return
		}
		if r.Begin < 0 || r.End > 100 || r.Begin > r.End || r.Random == (r.Seed == "") {
			t.Fatalf("parsed an invalid rearrangement %+v", r)
		}
		r2, err := ParseRearrangement(r.String())
		if err != nil {
			t.Fatalf("re-parsing %s: %v", r, err)
		}
		if r2 == nil || *r2 != *r {
			t.Fatalf("round trip changed %+v to %+v", r, r2)
		}
		// Every rearrangement selects some row of a large file, and its
		// complement the others.
		c := *r
		c.Complement = !c.Complement
		kept := 0
		for i := range 1000 {
			if r.Keep(i, 1000, int64(i)*50) == c.Keep(i, 1000, int64(i)*50) {
				t.Fatalf("%+v and its complement agree on row %d", r, i)
			}
			if r.Keep(i, 1000, int64(i)*50) {
				kept++
			}
		}
		if kept == 0 && !r.Random {
			t.Fatalf("%+v keeps no row of 1000", r)
		}
	})
}
