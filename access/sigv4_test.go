package access

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	exampleID     = "AKIDEXAMPLE"
	exampleSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

var exampleTime = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)

func exampleVerifier(service string) *SigV4Verifier {
	return &SigV4Verifier{
		Service: service,
		Now:     func() time.Time { return exampleTime },
		Secret: func(_ context.Context, id string) (string, error) {
			if id == exampleID {
				return exampleSecret, nil
			}
			return "", ErrUnknownAccessKey
		},
	}
}

// TestSigningKey checks the key derivation against AWS's documented
// example (IAM, 2015-08-30).
func TestSigningKey(t *testing.T) {
	got := hex.EncodeToString(SigningKey(exampleSecret, "20150830", "us-east-1", "iam"))
	if want := "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"; got != want {
		t.Errorf("signing key %s, want %s", got, want)
	}
}

// TestSigV4Vectors verifies requests signed as AWS's SigV4 test suite
// signs them (get-vanilla, post-vanilla, get-vanilla-query-order-key-case)
// and an AML request as botocore signs it, and signs them again to the
// same signature.
func TestSigV4Vectors(t *testing.T) {
	for _, c := range []struct {
		name, method, url, service, body string
		headers                          map[string]string
		signed, sig                      string
	}{
		{"get-vanilla", "GET", "https://example.amazonaws.com/", "service", "", nil,
			"host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{"post-vanilla", "POST", "https://example.amazonaws.com/", "service", "", nil,
			"host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
		{"get-vanilla-query-order-key-case", "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", "service", "", nil,
			"host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
		{"aml-botocore", "POST", "https://machinelearning.us-east-1.amazonaws.com/", "machinelearning", `{"MLModelId":"ml-1"}`,
			map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonML_20141212.GetMLModel"},
			"content-type;host;x-amz-date;x-amz-target", "bc329675b15ba580d6e32deb186d6ccf5293ca3fbdf494ff24bf8df7625d14f7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(c.method, c.url, strings.NewReader(c.body))
			for k, v := range c.headers {
				r.Header.Set(k, v)
			}
			r.Header.Set("X-Amz-Date", "20150830T123600Z")
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"+c.service+"/aws4_request, SignedHeaders="+c.signed+", Signature="+c.sig)
			id, err := exampleVerifier(c.service).Verify(r, []byte(c.body))
			if err != nil || id != exampleID {
				t.Fatalf("Verify: %q, %v", id, err)
			}
			r2 := httptest.NewRequest(c.method, c.url, strings.NewReader(c.body))
			for k, v := range c.headers {
				r2.Header.Set(k, v)
			}
			SignV4(r2, []byte(c.body), exampleID, exampleSecret, "us-east-1", c.service, exampleTime)
			if got := r2.Header.Get("Authorization"); got != r.Header.Get("Authorization") {
				t.Errorf("SignV4:\n got %s\nwant %s", got, r.Header.Get("Authorization"))
			}
		})
	}
}

// TestSigV4Refusals covers each way a request can fail, with the AWS error
// type it gets.
func TestSigV4Refusals(t *testing.T) {
	body := []byte(`{"MLModelId":"ml-1"}`)
	signed := func(id, secret string, at time.Time, region string) *http.Request {
		r := httptest.NewRequest("POST", "http://127.0.0.1:8080/", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		r.Header.Set("X-Amz-Target", "AmazonML_20141212.GetMLModel")
		SignV4(r, body, id, secret, region, "machinelearning", at)
		return r
	}
	v := exampleVerifier("machinelearning")
	now := exampleTime
	if _, err := v.Verify(signed(exampleID, exampleSecret, now, "eu-west-1"), body); err != nil {
		t.Errorf("another region: %v", err)
	}
	if _, err := v.Verify(signed(exampleID, exampleSecret, now.Add(-4*time.Minute), "us-east-1"), body); err != nil {
		t.Errorf("4 minutes old: %v", err)
	}
	for _, c := range []struct {
		name string
		r    *http.Request
		body []byte
		typ  string
		msg  string
	}{
		{"unsigned", httptest.NewRequest("POST", "http://127.0.0.1:8080/", nil), body, "MissingAuthenticationToken", "Missing Authentication Token"},
		{"wrong secret", signed(exampleID, "not the secret", now, "us-east-1"), body, "InvalidSignature", "does not match"},
		{"unknown key", signed("PKIAAAAAAAAAAAAAAAAA", exampleSecret, now, "us-east-1"), body, "UnrecognizedClient", "security token"},
		{"stale", signed(exampleID, exampleSecret, now.Add(-6*time.Minute), "us-east-1"), body, "InvalidSignature", "Signature expired"},
		{"future", signed(exampleID, exampleSecret, now.Add(6*time.Minute), "us-east-1"), body, "InvalidSignature", "not yet current"},
		{"tampered body", signed(exampleID, exampleSecret, now, "us-east-1"), []byte(`{"MLModelId":"ml-2"}`), "InvalidSignature", "does not match"},
		{"other service", func() *http.Request {
			r := signed(exampleID, exampleSecret, now, "us-east-1")
			SignV4(r, body, exampleID, exampleSecret, "us-east-1", "s3", now)
			return r
		}(), body, "InvalidSignature", "machinelearning"},
		{"tampered header", func() *http.Request {
			r := signed(exampleID, exampleSecret, now, "us-east-1")
			r.Header.Set("X-Amz-Target", "AmazonML_20141212.DeleteMLModel")
			return r
		}(), body, "InvalidSignature", "does not match"},
		{"no signature", func() *http.Request {
			r := signed(exampleID, exampleSecret, now, "us-east-1")
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
			return r
		}(), body, "IncompleteSignature", "Signature"},
		{"bearer", func() *http.Request {
			r := signed(exampleID, exampleSecret, now, "us-east-1")
			r.Header.Set("Authorization", "Bearer perch_x")
			return r
		}(), body, "IncompleteSignature", "AWS4-HMAC-SHA256"},
		{"no date", func() *http.Request {
			r := signed(exampleID, exampleSecret, now, "us-east-1")
			r.Header.Del("X-Amz-Date")
			return r
		}(), body, "IncompleteSignature", "X-Amz-Date"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.Verify(c.r, c.body)
			var se *SigV4Error
			if !errors.As(err, &se) || se.Type != c.typ || !strings.Contains(se.Message, c.msg) {
				t.Errorf("got %v; want %s containing %q", err, c.typ, c.msg)
			}
		})
	}
}

func TestSealer(t *testing.T) {
	dir := t.TempDir()
	master, err := EnsureMasterKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := EnsureMasterKey(dir)
	if err != nil || string(again) != string(master) {
		t.Fatalf("second EnsureMasterKey: %v, same key %v", err, string(again) == string(master))
	}
	if st, _ := os.Stat(filepath.Join(dir, MasterKeyFile)); st.Mode().Perm() != 0o600 {
		t.Errorf("master key mode %04o", st.Mode().Perm())
	}
	s, err := NewSealer(master)
	if err != nil {
		t.Fatal(err)
	}
	id, secret := NewAccessKeyPair()
	if !ValidAccessKeyID(id) || len(id) != 20 || len(secret) != 40 {
		t.Errorf("pair %q %q", id, secret)
	}
	sealed := s.Seal(id, secret)
	if strings.Contains(sealed, secret) {
		t.Error("the sealed secret holds the secret")
	}
	if got, err := s.Open(id, sealed); err != nil || got != secret {
		t.Errorf("Open: %q, %v", got, err)
	}
	if _, err := s.Open("PKIAAAAAAAAAAAAAAAAA", sealed); err == nil {
		t.Error("a sealed secret opened for another id")
	}
	other, _ := NewSealer(make([]byte, 32))
	if _, err := other.Open(id, sealed); err == nil {
		t.Error("a sealed secret opened with another master key")
	}
	os.Chmod(filepath.Join(dir, MasterKeyFile), 0o644)
	if _, err := EnsureMasterKey(dir); err == nil {
		t.Error("a master key readable by others was used")
	}

	path := filepath.Join(dir, RootAWSCredentialsFile)
	if err := WriteCredentialsFile(path, id, secret); err != nil {
		t.Fatal(err)
	}
	if err := WriteCredentialsFile(path, id, secret); err == nil {
		t.Error("the credentials file was written twice")
	}
	gid, gsecret, err := ReadCredentialsFile(path)
	if err != nil || gid != id || gsecret != secret {
		t.Errorf("ReadCredentialsFile: %q %q %v", gid, gsecret, err)
	}
}

// TestSigV4Concurrent checks signatures from many goroutines at once, good
// and bad mixed, as a busy endpoint does: pooled state must not leak from
// one check to another.
func TestSigV4Concurrent(t *testing.T) {
	v := exampleVerifier("machinelearning")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				body := []byte(fmt.Sprintf(`{"MLModelId":"ml-%d-%d"}`, g, i))
				r := httptest.NewRequest("POST", "http://127.0.0.1:8080/", strings.NewReader(string(body)))
				r.Header.Set("X-Amz-Target", "AmazonML_20141212.Predict")
				secret := exampleSecret
				if i%3 == 0 {
					secret = "wrong"
				}
				SignV4(r, body, exampleID, secret, []string{"us-east-1", "eu-west-1"}[i%2], "machinelearning", exampleTime)
				_, err := v.Verify(r, body)
				if (err == nil) != (i%3 != 0) {
					t.Errorf("goroutine %d request %d: %v", g, i, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

// TestVerifyRegion checks that a verifier bound to a region refuses a
// signature scoped to another, and takes its own.
func TestVerifyRegion(t *testing.T) {
	v := exampleVerifier("machinelearning")
	v.Region = "us-east-1"
	body := []byte(`{}`)
	signed := func(id, secret string, at time.Time, region string) *http.Request {
		r := httptest.NewRequest("POST", "http://127.0.0.1:8080/", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		r.Header.Set("X-Amz-Target", "AmazonML_20141212.GetMLModel")
		SignV4(r, body, id, secret, region, "machinelearning", at)
		return r
	}
	if _, err := v.Verify(signed(exampleID, exampleSecret, exampleTime, "us-east-1"), body); err != nil {
		t.Errorf("its own region: %v", err)
	}
	_, err := v.Verify(signed(exampleID, exampleSecret, exampleTime, "eu-west-1"), body)
	var se *SigV4Error
	if !errors.As(err, &se) || se.Type != "InvalidSignature" || !strings.Contains(se.Message, "'us-east-1', not 'eu-west-1'") {
		t.Errorf("another region: %v", err)
	}
}
