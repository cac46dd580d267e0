package service

import (
	"context"
	"regexp"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/objects"
)

// s3URLPattern is AML's S3Url.
var s3URLPattern = regexp.MustCompile(`^s3://([^/]+)(/.*)?$`)

// s3Bucket returns the bucket of an S3 object store, "" for a folder.
func (s *Service) s3Bucket() string {
	rest, ok := strings.CutPrefix(s.objects.URL("x"), "s3://")
	if !ok {
		return ""
	}
	b, _, _ := strings.Cut(rest, "/")
	return b
}

// S3Key returns the object key an s3://bucket/key URL names, as clients of
// S3 (AML's callers) spell locations. On a folder store every bucket is a
// folder of it: s3://bucket/key is the object bucket/key, so the objects
// a caller puts at <objects>/bucket/key are the ones it names, and
// s3://bucket is the folder bucket. On an S3
// store, s3://B/key is key when B is the store's bucket; another bucket
// is EInvalid, as the server reaches only its own.
func (s *Service) S3Key(u string) (string, error) {
	key, err := s.splitS3(u)
	if err != nil {
		return "", err
	}
	if key == "" {
		return "", perch.Errorf(perch.EInvalid, "%q names the whole bucket; name an object or a folder of it", u)
	}
	if err := objects.ValidKey(key); err != nil {
		return "", perch.Errorf(perch.EInvalid, "%q: %v", u, errMessage(err))
	}
	return key, nil
}

// locationKey returns the object key a request's location names: a key,
// the object's URL in the store, or an s3://bucket/key URL as S3Key maps
// it, so REST and CLI callers name objects as AML's callers do.
func (s *Service) locationKey(u string) (string, error) {
	if strings.HasPrefix(u, "s3://") {
		return s.S3Key(strings.TrimSuffix(u, "/"))
	}
	return s.objects.Key(u)
}

// splitS3 maps an s3:// URL to the store's bucket-relative key, which may
// be empty or end with a slash (a prefix).
func (s *Service) splitS3(u string) (string, error) {
	m := s3URLPattern.FindStringSubmatch(u)
	if m == nil {
		return "", perch.Errorf(perch.EInvalid, "%q: want s3://bucket/key", u)
	}
	bucket, key := m[1], strings.TrimPrefix(m[2], "/")
	if own := s.s3Bucket(); own != "" {
		if bucket != own {
			return "", perch.Errorf(perch.EInvalid, "%q: bucket %s is not the server's object store; it reaches s3://%s only", u, bucket, own)
		}
		return key, nil
	}
	if key == "" {
		return bucket, nil // the bucket's folder
	}
	return bucket + "/" + key, nil
}

// S3URL returns the s3:// URL of an object of the store, given its key or
// its URL: the inverse of S3Key.
func (s *Service) S3URL(keyOrURL string) string {
	key := keyOrURL
	if k, err := s.objects.Key(keyOrURL); err == nil {
		key = k
	}
	if own := s.s3Bucket(); own != "" {
		return "s3://" + own + "/" + key
	}
	return "s3://" + key
}

// StoredURLPrefix maps an s3:// URL, or the start of one, to the form
// entities keep locations in (the store's object URL), so that a filter on
// a location compares like with like. A value that is not an s3:// URL in
// the store is returned as it is, and matches nothing.
func (s *Service) StoredURLPrefix(u string) string {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return u
	}
	if own := s.s3Bucket(); own != "" {
		key, ok := strings.CutPrefix(rest, own+"/")
		if !ok {
			return u
		}
		return s.objects.URL(key)
	}
	return s.objects.URL(rest)
}

// ReadS3 returns the object an s3:// URL names: a schema or a recipe kept
// beside the data.
func (s *Service) ReadS3(ctx context.Context, u string) ([]byte, error) {
	key, err := s.S3Key(u)
	if err != nil {
		return nil, err
	}
	b, err := s.objects.ReadAll(ctx, key)
	if err != nil {
		return nil, perch.Errorf(perch.Code(err), "%s: %v", u, errMessage(err))
	}
	return b, nil
}
