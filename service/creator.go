package service

import (
	"context"
	"regexp"

	"github.com/perchml/perch"
)

// AccountID is the AWS account id in the IAM ARNs perch reports as who
// created an entity (AML's CreatedByIamUser). perch has no AWS account;
// one fixed id keeps the ARNs well-formed and comparable in filters.
const AccountID = "000000000000"

// iamUserName is IAM's pattern for a user name.
var iamUserName = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

// KeyARN is the IAM ARN naming the holder of a key: the account's root
// for the root key, otherwise a user named for the key (its name when that
// is a valid IAM user name, else its id, so that the ARN is always one).
func KeyARN(k *perch.Key) string {
	if k.Root {
		return "arn:aws:iam::" + AccountID + ":root"
	}
	name := k.Name
	if !iamUserName.MatchString(name) {
		name = k.ID
	}
	return "arn:aws:iam::" + AccountID + ":user/" + name
}

// AWSKeyARN returns the IAM ARN of the holder of a live access key pair,
// as KeyARN names it.
func (s *Service) AWSKeyARN(ctx context.Context, accessKeyID string) (string, error) {
	k, err := s.AccessKey(ctx, accessKeyID)
	if err != nil {
		return "", err
	}
	return KeyARN(k), nil
}

// AccessKey returns the access key pair a SigV4 signature was checked
// against, without its secret: the caller of an AML request.
func (s *Service) AccessKey(ctx context.Context, accessKeyID string) (*perch.Key, error) {
	k := s.keys.get(accessKeyID)
	if k == nil {
		var err error
		if k, err = s.store.GetKey(ctx, accessKeyID); err != nil {
			return nil, err
		}
	}
	return withoutSecret(k), nil
}

type creatorKey struct{}

// WithCreator returns a context saying who makes the calls made with it,
// as an IAM ARN (KeyARN); the entities they create record it as CreatedBy.
// Without it, CreatedBy is left empty.
func WithCreator(ctx context.Context, arn string) context.Context {
	return context.WithValue(ctx, creatorKey{}, arn)
}

// creator is the ARN WithCreator put in ctx, or else the caller's key's,
// or "".
func creator(ctx context.Context) string {
	if arn, ok := ctx.Value(creatorKey{}).(string); ok {
		return arn
	}
	if c := perch.CallerFrom(ctx); c != nil && c.Key != nil {
		return KeyARN(c.Key)
	}
	return ""
}
