package access

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzSigV4: a request signed with the right secret verifies whatever its
// path, header and body; the same request with another body, or any
// Authorization header the fuzzer makes up, is refused without a panic.
func FuzzSigV4(f *testing.F) {
	f.Add("/", "AmazonML_20141212.GetMLModel", []byte(`{"MLModelId":"ml-1"}`), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/machinelearning/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
	f.Add("/a%20b/c", "x", []byte{}, "AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=;, Signature=zz")
	v := exampleVerifier("machinelearning")
	f.Fuzz(func(t *testing.T, path, target string, body []byte, auth string) {
		if _, err := url.ParseRequestURI(path); err != nil || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " ?#") {
			path = "/"
		}
		target = strings.Map(func(r rune) rune {
			if r < 0x20 || r > 0x7e {
				return -1
			}
			return r
		}, target)
		r := httptest.NewRequest("POST", "http://127.0.0.1:8080"+path, strings.NewReader(string(body)))
		r.Header.Set("X-Amz-Target", target)
		SignV4(r, body, exampleID, exampleSecret, "us-east-1", "machinelearning", exampleTime)
		if id, err := v.Verify(r, body); err != nil || id != exampleID {
			t.Fatalf("signed %s %q %q: %q, %v", path, target, body, id, err)
		}
		if _, err := v.Verify(r, append(body, 'x')); err == nil {
			t.Fatalf("another body verified")
		}
		signed := r.Header.Get("Authorization")
		r.Header.Set("Authorization", auth)
		if id, err := v.Verify(r, body); err == nil && strings.TrimSpace(auth) != signed {
			t.Fatalf("made-up Authorization %q verified as %q", auth, id)
		}
	})
}

// FuzzParseAmzDate: the hand parser agrees with time.Parse, in value and
// in refusing.
func FuzzParseAmzDate(f *testing.F) {
	for _, s := range []string{"20150830T123600Z", "20240229T000000Z", "20230229T000000Z", "20151330T123600Z", "2015083OT123600Z", "20150830T246000Z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gerr := parseAmzDate(s)
		want, werr := time.Parse(amzDateFormat, s)
		if (gerr == nil) != (werr == nil) || gerr == nil && !got.Equal(want) {
			t.Fatalf("%q: %v %v, time.Parse %v %v", s, got, gerr, want, werr)
		}
	})
}
