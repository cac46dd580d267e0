package aml

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/perchml/perch"
)

// FuzzParsePredict holds the hand-read Predict input to encoding/json's
// reading: whatever parsePredict takes, encoding/json reads the same.
func FuzzParsePredict(f *testing.F) {
	for _, s := range []string{
		`{"MLModelId":"ml-1","Record":{"age":"39","sex":"Male"},"PredictEndpoint":"http://127.0.0.1:8080"}`,
		` { "Record" : { } , "MLModelId" : "m" } `,
		`{"MLModelId":"ml-1","Record":{"a":"1","a":"2"}}`,
		`{"MLModelId":"ml\u002d1","Record":{}}`,
		`{"MLModelId":"ml-1","Record":{"a":1}}`,
		`{"MLModelId":"ml-1","Record":{"é":"ü"}}`,
		`{"MLModelId":"ml-1"}x`,
		`{}`,
		`{}000`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast predictInput
		rec := perch.Record{}
		if !parsePredict(body, &fast, rec) {
			return
		}
		var slow predictInput
		if err := json.Unmarshal(body, &slow); err != nil {
			t.Fatalf("parsePredict took %q, which encoding/json refuses: %v", body, err)
		}
		if fast.MLModelID != slow.MLModelID || fast.PredictEndpoint != slow.PredictEndpoint ||
			(fast.Record == nil) != (slow.Record == nil) || !maps.Equal(fast.Record, slow.Record) {
			t.Fatalf("%q: parsePredict %+v, encoding/json %+v", body, fast, slow)
		}
	})
}
