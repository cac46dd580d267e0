package access

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SigV4 request signing, header form (AWS4-HMAC-SHA256), as AWS SDKs sign
// requests to JSON-protocol services such as AmazonML_20141212.

// sigV4Algorithm is the only algorithm of the header form.
const sigV4Algorithm = "AWS4-HMAC-SHA256"

// amzDateFormat is X-Amz-Date's layout.
const amzDateFormat = "20060102T150405Z"

// DefaultMaxSkew is how far a request's time may be from the server's, as
// AWS allows: a captured request cannot be replayed later than this.
const DefaultMaxSkew = 5 * time.Minute

// SigV4Error is a refused signature, with the AWS error type (without the
// "Exception" suffix) that says why, so that a protocol adapter can answer
// as AWS does.
type SigV4Error struct {
	Type    string // MissingAuthenticationToken, IncompleteSignature, InvalidSignature, UnrecognizedClient
	Message string
}

func (e *SigV4Error) Error() string { return e.Type + ": " + e.Message }

func sigErr(typ, format string, args ...any) *SigV4Error {
	return &SigV4Error{Type: typ, Message: fmt.Sprintf(format, args...)}
}

// ErrUnknownAccessKey is what a SigV4Verifier's Secret returns for an
// access key id it does not know (or that was revoked).
var ErrUnknownAccessKey = sigErr("UnrecognizedClient", "The security token included in the request is invalid.")

// SigV4Verifier checks SigV4-signed requests for one service, in any
// region.
type SigV4Verifier struct {
	Service string        // the signing name, "machinelearning"
	Region  string        // the region requests must be signed for; "" takes any
	MaxSkew time.Duration // 0 means DefaultMaxSkew
	Now     func() time.Time
	// Secret returns the secret access key of an access key id, or
	// ErrUnknownAccessKey.
	Secret func(ctx context.Context, accessKeyID string) (string, error)

	keys     sync.Map // credential scope → *derived: keys reused all day
	derivedN atomic.Int64
}

// Verify checks r's signature over r and body (the request body, already
// read) and returns the access key id that signed it. A refusal is a
// *SigV4Error; any other error comes from Secret.
func (v *SigV4Verifier) Verify(r *http.Request, body []byte) (string, error) {
	auth := header(r.Header, "Authorization")
	if auth == "" {
		return "", sigErr("MissingAuthenticationToken", "Missing Authentication Token")
	}
	alg, rest, _ := strings.Cut(auth, " ")
	if alg != sigV4Algorithm {
		return "", sigErr("IncompleteSignature", "Authorization header requires %s; got %q", sigV4Algorithm, alg)
	}
	var cred, signed, sig string
	for more := true; more; {
		var part string
		part, rest, more = strings.Cut(rest, ",")
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "Credential":
			cred = val
		case "SignedHeaders":
			signed = val
		case "Signature":
			sig = val
		}
	}
	var missing []string
	for _, p := range [][2]string{{"Credential", cred}, {"SignedHeaders", signed}, {"Signature", sig}} {
		if p[1] == "" {
			missing = append(missing, p[0])
		}
	}
	if len(missing) > 0 {
		return "", sigErr("IncompleteSignature", "Authorization header requires %s parameter(s)", strings.Join(missing, ", "))
	}
	var scopeBuf [5]string
	scope := split(scopeBuf[:0], cred, '/')
	if len(scope) != 5 || scope[0] == "" || scope[4] != "aws4_request" {
		return "", sigErr("IncompleteSignature", "Credential must be ACCESSKEYID/DATE/REGION/SERVICE/aws4_request; got %q", cred)
	}
	akid, day, region, service := scope[0], scope[1], scope[2], scope[3]
	if service != v.Service {
		return "", sigErr("InvalidSignature", "Credential should be scoped to correct service: '%s'.", v.Service)
	}
	if region == "" {
		return "", sigErr("IncompleteSignature", "Credential names no region")
	}
	if v.Region != "" && region != v.Region {
		return "", sigErr("InvalidSignature", "Credential should be scoped to a valid region: '%s', not '%s'.", v.Region, region)
	}
	stamp := header(r.Header, "X-Amz-Date")
	if stamp == "" {
		stamp = header(r.Header, "Date")
	}
	t, err := parseAmzDate(stamp)
	if err != nil {
		if t, err = http.ParseTime(stamp); err != nil {
			return "", sigErr("IncompleteSignature", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header")
		}
		stamp = t.UTC().Format(amzDateFormat)
	}
	if day != stamp[:8] {
		return "", sigErr("InvalidSignature", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s'", day, stamp[:8])
	}
	var nameBuf [16]string
	names := split(nameBuf[:0], signed, ';')
	if !sort.StringsAreSorted(names) || !contains(names, "host") {
		return "", sigErr("InvalidSignature", "SignedHeaders must be sorted and include host; got %q", signed)
	}
	if header(r.Header, "X-Amz-Date") != "" && !contains(names, "x-amz-date") {
		return "", sigErr("InvalidSignature", "SignedHeaders must include x-amz-date")
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	n := now().UTC()
	if t.Before(n.Add(-skew)) {
		return "", sigErr("InvalidSignature", "Signature expired: %s is now earlier than %s (%s - %s.)", stamp, n.Add(-skew).Format(amzDateFormat), n.Format(amzDateFormat), skew)
	}
	if t.After(n.Add(skew)) {
		return "", sigErr("InvalidSignature", "Signature not yet current: %s is still later than %s (%s + %s.)", stamp, n.Add(skew).Format(amzDateFormat), n.Format(amzDateFormat), skew)
	}
	bodyHash := sha256.Sum256(body)
	var hexHash [2 * sha256.Size]byte
	hex.Encode(hexHash[:], bodyHash[:])
	payload := hexHash[:]
	if h := header(r.Header, "X-Amz-Content-Sha256"); h != "" && h != string(payload) {
		return "", sigErr("InvalidSignature", "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	secret, err := v.Secret(r.Context(), akid)
	if err != nil {
		return "", err
	}
	ch := hasherPool.Get().(*hasher)
	defer hasherPool.Put(ch) // want lives in it
	ch.buf = appendCanonicalRequest(ch.buf[:0], r, names, payload)
	ch.sum = sha256.Sum256(ch.buf)
	canonical := ch.sum[:]
	d := v.signingKey(cred, secret, day, region, service)
	mac := d.macs.Get().(hash.Hash)
	mac.Reset()
	ch.sts = appendStringToSign(ch.sts[:0], stamp, cred[len(akid)+1:], canonical)
	mac.Write(ch.sts)
	want := mac.Sum(ch.mac[:0])
	d.macs.Put(mac)
	var got [sha256.Size]byte
	gn, herr := hex.Decode(got[:], []byte(sig[:min(len(sig), 2*sha256.Size)]))
	if herr != nil || len(sig) != 2*sha256.Size || subtle.ConstantTimeCompare(got[:gn], want) != 1 {
		return "", sigErr("InvalidSignature", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return akid, nil
}

// signingKey derives, or recalls, the key of a credential scope
// (AKID/day/region/service/aws4_request) and its secret.
func (v *SigV4Verifier) signingKey(cred, secret, day, region, service string) *derived {
	if e, ok := v.keys.Load(cred); ok && e.(*derived).secret == secret {
		return e.(*derived)
	}
	k := SigningKey(secret, day, region, service)
	d := &derived{secret: secret}
	d.macs.New = func() any { return hmac.New(sha256.New, k) }
	// Scopes come from requests, before their signature is checked: bound
	// what they can make the verifier keep.
	if v.derivedN.Add(1) > 1000 {
		v.keys.Clear()
		v.derivedN.Store(0)
	}
	v.keys.Store(cred, d)
	return d
}

// derived is a signing key, as HMACs keyed with it, and the secret it was
// derived from.
type derived struct {
	secret string
	macs   sync.Pool // hash.Hash
}

// hasher holds a verification's buffers; pooled.
type hasher struct {
	buf []byte // the canonical request
	sts []byte // the string to sign
	sum [sha256.Size]byte
	mac [sha256.Size]byte
}

var hasherPool = sync.Pool{New: func() any { return new(hasher) }}

// header is h.Get(key) for a key already in canonical form, without
// canonicalising it again.
func header(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// parseAmzDate parses SigV4's basic ISO 8601 time, 20060102T150405Z, as
// time.Parse would, for less.
func parseAmzDate(s string) (time.Time, error) {
	if len(s) != len(amzDateFormat) || s[8] != 'T' || s[15] != 'Z' {
		return time.Parse(amzDateFormat, s) // for its error
	}
	var f [6]int
	for i, w := range [6][2]int{{0, 4}, {4, 6}, {6, 8}, {9, 11}, {11, 13}, {13, 15}} {
		for j := w[0]; j < w[1]; j++ {
			c := s[j]
			if c < '0' || c > '9' {
				return time.Parse(amzDateFormat, s)
			}
			f[i] = f[i]*10 + int(c-'0')
		}
	}
	if f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 59 {
		return time.Parse(amzDateFormat, s)
	}
	t := time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], 0, time.UTC)
	if t.Day() != f[2] { // February 30th and the like
		return time.Parse(amzDateFormat, s)
	}
	return t, nil
}

// split appends the parts of s between seps to dst, as strings.Split
// would return them, without allocating while they fit.
func split(dst []string, s string, sep byte) []string {
	for {
		i := strings.IndexByte(s, sep)
		if i < 0 {
			return append(dst, s)
		}
		dst = append(dst, s[:i])
		s = s[i+1:]
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// SigningKey derives the SigV4 key of a secret for one day (YYYYMMDD),
// region and service.
func SigningKey(secret, day, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), day)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func stringToSign(stamp, scope string, canonicalHash []byte) string {
	return string(appendStringToSign(nil, stamp, scope, canonicalHash))
}

// appendStringToSign appends SigV4's string to sign to b.
func appendStringToSign(b []byte, stamp, scope string, canonicalHash []byte) []byte {
	b = append(b, sigV4Algorithm+"\n"...)
	b = append(b, stamp...)
	b = append(b, '\n')
	b = append(b, scope...)
	b = append(b, '\n')
	return hex.AppendEncode(b, canonicalHash)
}

// appendCanonicalRequest appends SigV4's canonical form of r, over the
// headers named (lower case, sorted), to b.
func appendCanonicalRequest(b []byte, r *http.Request, names []string, payload []byte) []byte {
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = append(b, canonicalPath(r.URL)...)
	b = append(b, '\n')
	b = append(b, canonicalQuery(r.URL)...)
	b = append(b, '\n')
	for _, n := range names {
		b = append(b, n...)
		b = append(b, ':')
		b = appendHeaderValue(b, r, n)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	for i, n := range names {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, n...)
	}
	b = append(b, '\n')
	return append(b, payload...)
}

// canonicalName is a lower-case header name as net/http keys it; the
// names AWS clients sign are spelled out, so they cost nothing.
func canonicalName(name string) string {
	switch name {
	case "content-type":
		return "Content-Type"
	case "x-amz-date":
		return "X-Amz-Date"
	case "x-amz-target":
		return "X-Amz-Target"
	case "x-amz-content-sha256":
		return "X-Amz-Content-Sha256"
	case "x-amz-security-token":
		return "X-Amz-Security-Token"
	}
	return http.CanonicalHeaderKey(name)
}

// appendHeaderValue appends a header's canonical value: its values
// joined by commas, each trimmed with inner runs of spaces made one.
func appendHeaderValue(b []byte, r *http.Request, name string) []byte {
	var vals []string
	switch name {
	case "host":
		return append(b, r.Host...)
	case "content-length":
		if r.ContentLength >= 0 && len(r.Header.Values("Content-Length")) == 0 {
			return strconv.AppendInt(b, r.ContentLength, 10)
		}
		vals = r.Header.Values(name)
	default:
		vals = r.Header[canonicalName(name)]
	}
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		if plainValue(v) {
			b = append(b, v...)
			continue
		}
		v = strings.Trim(v, " \t")
		space := false
		for j := 0; j < len(v); j++ {
			c := v[j]
			if c == ' ' || c == '\t' {
				space = true
				continue
			}
			if space {
				b = append(b, ' ')
				space = false
			}
			b = append(b, c)
		}
	}
	return b
}

// plainValue reports whether a header value is its own canonical form:
// no tabs, no space at either end or twice in a row.
func plainValue(v string) bool {
	if v == "" || v[0] == ' ' || v[len(v)-1] == ' ' {
		return v == ""
	}
	for i := 0; i < len(v); i++ {
		if v[i] == '\t' || v[i] == ' ' && v[i+1] == ' ' {
			return false
		}
	}
	return true
}

// canonicalPath is the URI-encoded path, encoded again, as SigV4 has it
// for every service but S3.
func canonicalPath(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" || p == "/" {
		return "/"
	}
	return uriEncode(p, false)
}

// canonicalQuery is the query with keys and values encoded and sorted.
func canonicalQuery(u *url.URL) string {
	if u.RawQuery == "" {
		return ""
	}
	q := u.Query()
	if len(q) == 0 {
		return ""
	}
	var pairs []string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, uriEncode(k, true)+"="+uriEncode(v, true))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// uriEncode percent-encodes all but RFC 3986's unreserved characters (and
// slashes, unless slash says otherwise).
func uriEncode(s string, slash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !slash:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// SignV4 signs r (whose body is body) as an AWS SDK does: it sets
// X-Amz-Date and Authorization over host, content-type, x-amz-date,
// x-amz-target and any x-amz-* header present. Tests and Go clients of
// the AML protocol use it.
func SignV4(r *http.Request, body []byte, accessKeyID, secret, region, service string, t time.Time) {
	stamp := t.UTC().Format(amzDateFormat)
	r.Header.Set("X-Amz-Date", stamp)
	names := []string{"host"}
	for k := range r.Header {
		lk := strings.ToLower(k)
		if lk == "content-type" || strings.HasPrefix(lk, "x-amz-") {
			names = append(names, lk)
		}
	}
	sort.Strings(names)
	if r.Host == "" {
		r.Host = r.URL.Host
	}
	body256 := sha256.Sum256(body)
	canonical := sha256.Sum256(appendCanonicalRequest(nil, r, names, []byte(hex.EncodeToString(body256[:]))))
	scope := stamp[:8] + "/" + region + "/" + service + "/aws4_request"
	sig := hmacSHA256(SigningKey(secret, stamp[:8], region, service), stringToSign(stamp, scope, canonical[:]))
	r.Header.Set("Authorization", sigV4Algorithm+" Credential="+accessKeyID+"/"+scope+", SignedHeaders="+strings.Join(names, ";")+", Signature="+hex.EncodeToString(sig))
}
