package access

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkVerify measures checking the signature of an AML Predict
// request of the founding record's size.
func BenchmarkVerify(b *testing.B) {
	body := []byte(`{"MLModelId":"adult-income","Record":{"age":"22","workclass":"Local-gov","fnlwgt":"108435","education":"Masters","education_num":"14","marital_status":"Married-civ-spouse","occupation":"Prof-specialty","relationship":"Husband","race":"White","sex":"Male","capital_gain":"0","capital_loss":"0","hours_per_week":"80","native_country":"United-States"},"PredictEndpoint":"http://127.0.0.1:8080"}`)
	r := httptest.NewRequest("POST", "http://127.0.0.1:8080/", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "AmazonML_20141212.Predict")
	SignV4(r, body, exampleID, exampleSecret, "us-east-1", "machinelearning", exampleTime)
	v := exampleVerifier("machinelearning")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}
