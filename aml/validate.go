package aml

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/perchml/perch"
)

// The checks AML's model declares and its clients leave to the server:
// maximum lengths, patterns, enums and ranges. A failed check is an
// InvalidInputException naming the member.

var (
	entityIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)
	s3URLPattern    = regexp.MustCompile(`^s3://([^/]+)(/.*)?$`)
	tagPattern      = regexp.MustCompile(`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`)
	// An EntityName or ComparatorValue is empty or holds a non-space.
	nonBlankPattern = regexp.MustCompile(`^$|\S`)
)

// checks gathers the first failed check of an input.
type checks struct{ err error }

func (c *checks) fail(format string, args ...any) {
	if c.err == nil {
		c.err = invalid(format, args...)
	}
}

// failTag records a tag that breaks AML's rules for tags.
func (c *checks) failTag(format string, args ...any) {
	if c.err == nil {
		c.err = &Error{Type: "InvalidTagException", Status: 400, Message: fmt.Sprintf(format, args...)}
	}
}

func (c *checks) required(member, v string) bool {
	if v == "" {
		c.fail("%s: required", member)
		return false
	}
	return true
}

func (c *checks) length(member, v string, min, max int) {
	if n := utf8.RuneCountInString(v); n < min || n > max {
		if min == max || min == 0 {
			c.fail("%s: %d characters, more than %d", member, n, max)
		} else {
			c.fail("%s: %d characters; want %d to %d", member, n, min, max)
		}
	}
}

// id checks an EntityId: 1 to 64 of [a-zA-Z0-9_.-].
func (c *checks) id(member, v string) {
	if !c.required(member, v) {
		return
	}
	c.length(member, v, 1, 64)
	if !entityIDPattern.MatchString(v) {
		c.fail("%s %q: want 1 to 64 letters, digits, '_', '.' or '-'", member, v)
	}
}

// name checks an EntityName: at most 1024 characters, not only spaces.
func (c *checks) name(member, v string) {
	c.length(member, v, 0, 1024)
	if !nonBlankPattern.MatchString(v) {
		c.fail("%s: only spaces", member)
	}
}

// s3 checks an S3Url.
func (c *checks) s3(member, v string) {
	c.length(member, v, 0, 2048)
	if !s3URLPattern.MatchString(v) {
		c.fail("%s %q: want s3://bucket/key", member, v)
	}
}

// outputURI checks an OutputUri: an S3Url whose key has no ':', "//",
// "/./" or "/../".
func (c *checks) outputURI(member, v string) {
	c.s3(member, v)
	m := s3URLPattern.FindStringSubmatch(v)
	if m == nil {
		return
	}
	key := m[2]
	for _, bad := range []string{":", "//", "/./", "/../"} {
		k := key
		if bad != ":" && bad != "//" {
			k += "/" // "s3://b/out/.." ends in a dot segment too
		}
		if strings.Contains(k, bad) {
			c.fail("%s %q: the key may not hold %q", member, v, bad)
			return
		}
	}
}

// endpoint checks a PredictEndpoint or EndpointUrl. AML's pattern names
// AWS's hosts; perch's endpoints are its own, so any http(s) URL is taken,
// and so is a bare host or host:port, as older SDKs send it.
func (c *checks) endpoint(member, v string) {
	if !c.required(member, v) {
		return
	}
	c.length(member, v, 0, 2048)
	if !strings.Contains(v, "://") {
		v = "http://" + v
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.fail("%s %q: want an http or https URL", member, v)
	}
}

// enum checks that v is one of vals; "" passes unless required.
func (c *checks) enum(member, v string, vals ...string) {
	if v == "" {
		return
	}
	for _, x := range vals {
		if v == x {
			return
		}
	}
	c.fail("%s %q: want one of %s", member, v, strings.Join(vals, ", "))
}

// document checks a DataSchema or Recipe string.
func (c *checks) document(member, v string) {
	c.length(member, v, 0, perch.MaxRecipeBytes)
}

// tags checks a TagList.
func (c *checks) tags(tags []tag) {
	if len(tags) > 100 {
		c.failTag("Tags: %d tags, more than 100", len(tags))
	}
	for _, t := range tags {
		c.tagKey(t.Key)
		if t.Value != nil {
			if n := utf8.RuneCountInString(*t.Value); n > 256 {
				c.failTag("Tags: the value of %q has %d characters, more than 256", t.Key, n)
			}
			if !tagPattern.MatchString(*t.Value) {
				c.failTag("Tags: the value of %q holds characters a tag may not", t.Key)
			}
		}
	}
}

func (c *checks) tagKey(k string) {
	if n := utf8.RuneCountInString(k); n < 1 || n > 128 {
		c.failTag("Tags: key %q has %d characters; want 1 to 128", k, n)
	}
	if !tagPattern.MatchString(k) {
		c.failTag("Tags: key %q holds characters a tag may not", k)
	}
}
