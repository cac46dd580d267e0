package policy

import (
	"strings"
	"unicode/utf8"
)

// Region and Account are the server's, as its ARNs name them: an ARN in a
// policy matches a resource only when its region and account parts allow
// these. A server may set them once, before it evaluates any policy.
var (
	Region  = "us-east-1"
	Account = "000000000000"
)

// match reports whether s matches the pattern p, in which * matches any
// run of characters ("/" and ":" too) and ? exactly one. fold makes ASCII
// letters match either case, as IAM matches actions.
//
// It walks both strings once, going back only to the last *, so it takes
// O(len(p)·len(s)) at worst and allocates nothing.
func match(p, s string, fold bool) bool {
	px, sx := 0, 0
	starPx, starSx := -1, 0 // the last * seen, and where its match would end next
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			switch c := p[px]; c {
			case '*':
				if px == len(p)-1 {
					return true // a final * takes the rest, whatever it is
				}
				starPx, starSx = px, sx+runeLen(s, sx)
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx += runeLen(s, sx)
					continue
				}
			default:
				if sx < len(s) && (c == s[sx] || fold && lower(c) == lower(s[sx])) {
					px++
					sx++
					continue
				}
			}
		}
		// Let the last * take one more character, and try again from there.
		if starPx >= 0 && starSx <= len(s) {
			px, sx = starPx, starSx
			continue
		}
		return false
	}
	return true
}

// runeLen is the length of the character at s[i:], 1 past the end, so
// that a * or ? takes whole characters.
func runeLen(s string, i int) int {
	if i >= len(s) || s[i] < utf8.RuneSelf {
		return 1
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	return n
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// MatchResource reports whether a statement's resource pattern matches a
// resource name (KIND/ID, or "*" for an action on no one resource). The
// pattern is "*", a KIND/ID pattern, or an AML ARN
// arn:aws:machinelearning:REGION:ACCOUNT:KIND/ID, which matches by its
// KIND/ID part when its other parts allow the server's (Region, Account).
// Matching is case-sensitive.
func MatchResource(pattern, resource string) bool {
	if pattern == "*" {
		return true
	}
	arn, ok := splitARN(pattern)
	if !ok {
		return match(pattern, resource, false)
	}
	return match(arn.partition, "aws", false) &&
		match(arn.service, "machinelearning", false) &&
		match(arn.region, Region, false) &&
		match(arn.account, Account, false) &&
		match(arn.resource, resource, false)
}

// arnParts are the parts of an ARN pattern. The resource part is the rest
// after the fifth colon, colons and all.
type arnParts struct {
	partition, service, region, account, resource string
}

// splitARN splits a pattern that starts with "arn:" into its parts; ok is
// false for one that does not, or has fewer than six parts.
func splitARN(s string) (a arnParts, ok bool) {
	rest, ok := strings.CutPrefix(s, "arn:")
	if !ok {
		return a, false
	}
	var ok1, ok2, ok3, ok4 bool
	a.partition, rest, ok1 = strings.Cut(rest, ":")
	a.service, rest, ok2 = strings.Cut(rest, ":")
	a.region, rest, ok3 = strings.Cut(rest, ":")
	a.account, a.resource, ok4 = strings.Cut(rest, ":")
	return a, ok1 && ok2 && ok3 && ok4
}
