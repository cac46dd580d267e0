package policy

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/perchml/perch"
)

// fuzzRequests are the questions a policy that went through JSON and
// back must answer as before.
var fuzzRequests = []Request{
	{Action: "machinelearning:Predict", Resource: "mlmodel/ml-1", SourceIP: netip.MustParseAddr("10.1.2.3"), Time: t0, Tags: map[string]string{"team": "risk"}},
	{Action: "machinelearning:DeleteMLModel", Resource: "mlmodel/prod-1", SourceIP: netip.MustParseAddr("2001:db8::1"), Time: t0.Add(-time.Hour)},
	{Action: "machinelearning:DescribeMLModels", Resource: "*", Time: t0},
	{Action: "perch:GetObject", Resource: "object/in/a.csv", SourceIP: netip.MustParseAddr("192.168.1.1"), Tags: map[string]string{"env": "prod"}},
	{Action: "perch:DeleteKey", Resource: "key/k", Time: t0.Add(1000 * 24 * time.Hour)},
}

func FuzzParse(f *testing.F) {
	for _, name := range Names() {
		p, _ := Named(name)
		b, err := json.Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, doc := range []string{
		denyDelete, denyOutside, benchPolicy,
		allowIf(`{"StringEquals":{"perch:ResourceTag/team":["risk","ops"]},"StringNotLike":{"aws:ResourceTag/env":"prod*"}}`),
		allowIf(`{"DateGreaterThan":{"aws:CurrentTime":"1700000000"},"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00+01:00"}}`),
		`{"Statement":{"Effect":"Allow","Action":"perch:Get?bject","Resource":"arn:aws:machinelearning:us-*:*:object/in/*"}}`,
		`{"Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*","Condition":{}},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"::ffff:10.0.0.0/104"}}}]}`,
		`{"Statement":{"Sid":null,"Effect":"Allow","Action":"*","Resource":"*","Condition":null},"Version":null}`,
		`{"Statement":{"Effect":"Allow","Action":"machinelearning:Predcit","Resource":"*"}}`,
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Effect":"Deny"}}`,
	} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if q, err := decode(b); err == nil && q != nil {
			for _, r := range fuzzRequests {
				Evaluate(q, r) // an unchecked policy is decided too, without a panic
			}
		}
		if err != nil {
			if perch.Code(err) != perch.EInvalid {
				t.Fatalf("Parse: %v (%s)", err, perch.Code(err))
			}
			return
		}
		if err := Check(p); err != nil {
			t.Fatalf("Parse accepted what Check refuses: %v", err)
		}
		// What Parse accepts, encoding/json reads the same into perch's
		// types.
		var std perch.Policy
		if err := json.Unmarshal(b, &std); err != nil {
			t.Fatalf("encoding/json refuses what Parse accepts: %v", err)
		}
		if !reflect.DeepEqual(&std, p) {
			t.Fatalf("encoding/json read %+v; Parse %+v", std, *p)
		}
		// And marshalled, it reads back to the same decisions. (It may
		// grow past MaxBytes, as JSON escapes some characters, so it is
		// decoded without Parse's limit.)
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decode(out)
		if err == nil {
			err = Check(again)
		}
		if err != nil {
			t.Fatalf("reading back %s: %v", out, err)
		}
		for _, r := range fuzzRequests {
			if d, d2 := Evaluate(p, r), Evaluate(again, r); d != d2 {
				t.Fatalf("%s on %s: %+v, then %+v", r.Action, r.Resource, d, d2)
			}
		}
	})
}
