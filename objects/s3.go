package objects

import (
	"context"
	"fmt"
	"net/url"
	"os"

	"gocloud.dev/blob/s3blob"

	"github.com/perchml/perch"
)

// openS3 opens an s3:// bucket on AWS or any S3-compatible store.
func openS3(ctx context.Context, rawURL string, u *url.URL) (*Bucket, error) {
	if u.Host == "" {
		return nil, perch.Errorf(perch.EInvalid, "objects: bad bucket URL %q: no bucket name", rawURL)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, perch.Errorf(perch.EInvalid, "objects: bad bucket URL %q: a bucket URL has no path (the key goes to each call)", rawURL)
	}
	q := u.Query()
	if q.Get("endpoint") != "" {
		// Stores other than AWS often reject the SDK's default trailing
		// checksums; ask for them only where the operation requires one.
		for _, k := range []string{"request_checksum_calculation", "response_checksum_validation"} {
			if !q.Has(k) {
				q.Set(k, "when_required")
			}
		}
		// Such stores rarely care about the region, but the SDK will not
		// sign a request without one.
		if !q.Has("region") && os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
			q.Set("region", "us-east-1")
		}
	}
	v := *u
	v.Path = ""
	v.RawQuery = q.Encode()
	b, err := (&s3blob.URLOpener{}).OpenBucketURL(ctx, &v)
	if err != nil {
		return nil, perch.Errorf(perch.EInvalid, "objects: bad bucket URL %q: %v", rawURL, err)
	}
	return &Bucket{b: b, url: fmt.Sprintf("s3://%s", u.Host), pageSize: defaultPageSize}, nil
}
