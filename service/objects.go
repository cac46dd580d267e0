package service

import (
	"context"
	"io"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/objects"
)

// The object routes go through the service like every other operation,
// so that who may read or change which object is decided in one place,
// with perch's own files (under .perch/) readable and never changed.

// ownKey reports whether key is one of perch's own files (model files,
// reports, statistics), which clients may read but not change.
func ownKey(key string) bool {
	first, _, _ := strings.Cut(key, "/")
	return strings.EqualFold(first, ".perch")
}

func forbidOwn(key string) error {
	if ownKey(key) {
		return perch.Errorf(perch.EForbidden, "object %q: .perch/ holds perch's own files; they can be read, not changed", key)
	}
	return nil
}

// PutObject stores r's bytes as the object key and returns its
// attributes.
func (s *Service) PutObject(ctx context.Context, key string, r io.Reader, contentType string) (objects.Attrs, error) {
	if err := s.authorize(ctx, "perch:PutObject", perch.Resource(perch.KindObject, key), nil); err != nil {
		return objects.Attrs{}, err
	}
	if err := forbidOwn(key); err != nil {
		return objects.Attrs{}, err
	}
	if err := s.objects.Write(ctx, key, r, contentType); err != nil {
		return objects.Attrs{}, err
	}
	return s.objects.Attributes(ctx, key)
}

// OpenObject opens an object for reading.
func (s *Service) OpenObject(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := s.authorize(ctx, "perch:GetObject", perch.Resource(perch.KindObject, key), nil); err != nil {
		return nil, err
	}
	return s.objects.NewReader(ctx, key)
}

// ListObjects lists the objects under prefix that the caller may read.
func (s *Service) ListObjects(ctx context.Context, prefix string) ([]objects.Attrs, error) {
	if err := s.authorize(ctx, "perch:ListObjects", "*", nil); err != nil {
		return nil, err
	}
	all, err := s.objects.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	c := perch.CallerFrom(ctx)
	if c == nil || (c.Key != nil && c.Key.Root) {
		return all, nil
	}
	out := all[:0]
	for _, a := range all {
		if s.may(ctx, "perch:GetObject", perch.Resource(perch.KindObject, a.Key), nil) {
			out = append(out, a)
		}
	}
	return out, nil
}

// DeleteObject deletes an object.
func (s *Service) DeleteObject(ctx context.Context, key string) error {
	if err := s.authorize(ctx, "perch:DeleteObject", perch.Resource(perch.KindObject, key), nil); err != nil {
		return err
	}
	if err := forbidOwn(key); err != nil {
		return err
	}
	return s.objects.Delete(ctx, key)
}
