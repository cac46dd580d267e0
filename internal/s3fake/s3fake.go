// Package s3fake starts an in-process S3 server for tests, spoken to by
// the real S3 client, with the AWS environment pointed away from any
// credentials or configuration the machine has.
package s3fake

import (
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is a running in-process S3 server.
type Server struct {
	URL     string         // its endpoint
	Backend *s3mem.Backend // its objects, to put or read directly
}

// Start starts a server holding the empty buckets named, stopped when t
// ends, and sets test credentials in the environment for t.
func Start(t testing.TB, buckets ...string) *Server {
	t.Helper()
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	return &Server{URL: srv.URL, Backend: backend}
}

// Bucket returns the gocloud URL of a bucket on s.
func (s *Server) Bucket(name string) string {
	return "s3://" + name + "?endpoint=" + s.URL + "&use_path_style=true&region=us-east-1"
}
