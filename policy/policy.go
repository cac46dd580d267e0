// Package policy checks and evaluates perch's IAM-like policies: what a
// key may do. A policy is IAM's JSON (Version, Statement; each statement
// an Effect, Action, Resource and optional Condition), so that a policy
// written for AML means the same here.
//
// A request is allowed when a statement allows it and none denies it;
// nothing is allowed by default. Actions match case-insensitively and
// resources case-sensitively, with * for any run of characters and ? for
// one. Parse and Check refuse what would silently match nothing or mean
// something else (a misspelt action, an unknown condition key, another
// service's ARN), since a policy that does less than its writer thinks is
// found out only when it is needed.
package policy

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/perchml/perch"
)

// Limits on a policy document, as IAM has them for a managed policy.
const (
	MaxBytes      = 32 << 10
	MaxStatements = 100
)

// Version is the one policy language version there is; a policy may also
// leave its Version out.
const Version = "2012-10-17"

// Parse reads a policy document and checks it (Check). Its errors are
// *perch.Error with code perch.EInvalid, naming the statement (by Sid, or
// #N counting from 1) and the field.
func Parse(b []byte) (*perch.Policy, error) {
	if len(b) > MaxBytes {
		return nil, invalid("policy is %d bytes; the limit is %d (32 KiB)", len(b), MaxBytes)
	}
	p, err := decode(b)
	if err != nil {
		return nil, err
	}
	if err := Check(p); err != nil {
		return nil, err
	}
	return p, nil
}

// Check reports what is wrong with a policy, as a *perch.Error with code
// perch.EInvalid: a Version other than 2012-10-17; no statements, or more
// than MaxStatements; a Sid that is not letters and digits, or that two
// statements share; an Effect other than Allow or Deny; no actions or no
// resources; an action pattern that matches no action in perch.Actions; a
// resource that is neither "*", KIND/ID (KIND a resource kind, both parts
// patterns) nor arn:aws:machinelearning:REGION:ACCOUNT:KIND/ID; a
// condition operator or key it does not know, a key the operator does not
// compare, or a value that is not an IP address, CIDR or date where one
// is wanted.
func Check(p *perch.Policy) error {
	if p == nil {
		return invalid("no policy")
	}
	if p.Version != "" && p.Version != Version {
		return invalid("Version: %q is not %q", p.Version, Version)
	}
	switch n := len(p.Statement); {
	case n == 0:
		return invalid("Statement: a policy needs at least one statement")
	case n > MaxStatements:
		return invalid("Statement: %d statements; the limit is %d", n, MaxStatements)
	}
	sids := make(map[string]int, len(p.Statement))
	for i := range p.Statement {
		st := &p.Statement[i]
		name := checkName(i, st.Sid)
		if st.Sid != "" {
			if !validSid(st.Sid) {
				return stmtErr(name, "Sid", "%q may have only letters and digits", st.Sid)
			}
			if j, ok := sids[st.Sid]; ok {
				return stmtErr(statementName(i, ""), "Sid", "%q is statement #%d's Sid too", st.Sid, j+1)
			}
			sids[st.Sid] = i
		}
		if err := checkStatement(name, st); err != nil {
			return err
		}
	}
	return nil
}

func checkStatement(name string, st *perch.Statement) error {
	if st.Effect != perch.Allow && st.Effect != perch.Deny {
		return stmtErr(name, "Effect", "%q is neither %q nor %q", st.Effect, perch.Allow, perch.Deny)
	}
	if len(st.Action) == 0 {
		return stmtErr(name, "Action", "no actions")
	}
	for _, a := range st.Action {
		if !matchesAction(a) {
			return stmtErr(name, "Action", "%q matches no action", a)
		}
	}
	if len(st.Resource) == 0 {
		return stmtErr(name, "Resource", `no resources (use "*" for every resource)`)
	}
	for _, r := range st.Resource {
		if msg := checkResource(r); msg != "" {
			return stmtErr(name, "Resource", "%s", msg)
		}
	}
	for _, op := range slices.Sorted(maps.Keys(st.Condition)) {
		if err := checkOperator(name, op, st.Condition[op]); err != nil {
			return err
		}
	}
	return nil
}

// matchesAction reports whether an action pattern matches some action.
func matchesAction(pattern string) bool {
	for a := range perch.Actions {
		if match(pattern, string(a), true) {
			return true
		}
	}
	return false
}

// kinds are the resource kinds a resource pattern may name.
var kinds = []perch.ResourceKind{
	perch.KindDataSource, perch.KindMLModel, perch.KindEvaluation, perch.KindBatchPrediction,
	perch.KindPipeline, perch.KindObject, perch.KindKey,
}

// checkResource says what is wrong with a resource pattern, "" when
// nothing is.
func checkResource(r string) string {
	if r == "*" {
		return ""
	}
	if !strings.HasPrefix(r, "arn:") {
		return checkKindID(r, r)
	}
	a, ok := splitARN(r)
	if !ok {
		return fmt.Sprintf("%q: want arn:aws:machinelearning:REGION:ACCOUNT:KIND/ID", r)
	}
	switch {
	case !match(a.partition, "aws", false):
		return fmt.Sprintf("%q: the partition is %q, not aws", r, a.partition)
	case !match(a.service, "machinelearning", false):
		return fmt.Sprintf("%q is an ARN of service %q; perch's resources are machinelearning's", r, a.service)
	case a.region == "" || strings.Trim(a.region, "abcdefghijklmnopqrstuvwxyz0123456789-*?") != "":
		return fmt.Sprintf("%q: region %q is not a region", r, a.region)
	case !validAccount(a.account):
		return fmt.Sprintf("%q: account %q is not 12 digits", r, a.account)
	case a.resource == "*":
		return ""
	}
	return checkKindID(r, a.resource)
}

// checkKindID checks the KIND/ID part of a resource pattern r.
func checkKindID(r, kindID string) string {
	kind, id, ok := strings.Cut(kindID, "/")
	if !ok {
		return fmt.Sprintf(`%q is neither "*", KIND/ID nor arn:aws:machinelearning:REGION:ACCOUNT:KIND/ID`, r)
	}
	if !slices.ContainsFunc(kinds, func(k perch.ResourceKind) bool { return match(kind, string(k), false) }) {
		return fmt.Sprintf("%q: %q is no resource kind (%s)", r, kind, kindList())
	}
	if id == "" {
		return fmt.Sprintf("%q names no id (end it with * for every one)", r)
	}
	return ""
}

func kindList() string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// validAccount: 12 digits, or a pattern of digits and wildcards.
func validAccount(a string) bool {
	if a == "" || strings.Trim(a, "0123456789*?") != "" {
		return false
	}
	return len(a) == 12 || strings.ContainsAny(a, "*?")
}

func checkOperator(name, op string, keys map[string]perch.StringList) error {
	o, ok := operators[op]
	if !ok {
		return stmtErr(name, "Condition", "unknown operator %q (perch has %s)", op, operatorList())
	}
	field := "Condition " + op
	if len(keys) == 0 {
		return stmtErr(name, field, "no condition keys")
	}
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		k, _ := conditionKey(key)
		switch {
		case k == keyUnknown:
			return stmtErr(name, field, "unknown key %q (perch has perch:ResourceTag/KEY, aws:ResourceTag/KEY, aws:SourceIp and aws:CurrentTime)", key)
		case k != o.key:
			return stmtErr(name, field, "%s is not compared by %s; compare it with %s", key, op, k.operators())
		}
		values := keys[key]
		field := field + " " + key
		if len(values) == 0 {
			return stmtErr(name, field, "no values")
		}
		for _, v := range values {
			switch k {
			case keyIP:
				if _, ok := parseIP(v); !ok {
					return stmtErr(name, field, "%q is neither an IP address nor a CIDR", v)
				}
			case keyTime:
				if _, ok := parseDate(v); !ok {
					return stmtErr(name, field, "%q is neither an RFC 3339 date nor seconds since 1970", v)
				}
			}
		}
	}
	return nil
}

func operatorList() string {
	return strings.Join(slices.Sorted(maps.Keys(operators)), ", ")
}

// validSid: IAM's rule, letters and digits, which also keeps a Sid from
// being taken for a statement's number (#N).
func validSid(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}

// checkName names statement i in an error: by its Sid when that is one.
func checkName(i int, sid string) string {
	if validSid(sid) {
		return sid
	}
	return statementName(i, "")
}

// numbers are the names of statements without a Sid, made once so that a
// decision does not make them again.
var numbers = func() (n [MaxStatements]string) {
	for i := range n {
		n[i] = "#" + strconv.Itoa(i+1)
	}
	return n
}()

// statementName is how a decision names statement i: its Sid, or #N.
func statementName(i int, sid string) string {
	switch {
	case sid != "":
		return sid
	case i < len(numbers):
		return numbers[i]
	}
	return "#" + strconv.Itoa(i+1)
}

// parseIP reads a condition's address: a CIDR, or one address (IPv4 or
// IPv6, without a zone) as a prefix of its full length. An IPv4 address
// written in IPv6 (::ffff:a.b.c.d) is taken as the IPv4 one, as a
// request's address is.
func parseIP(s string) (netip.Prefix, bool) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, false
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return p, false
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p, true
}

// parseDate reads a condition's date: RFC 3339, or seconds since 1970.
func parseDate(s string) (time.Time, bool) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > 1<<40 { // beyond the year 36000: a typo, not a date
			return time.Time{}, false
		}
		return time.Unix(n, 0), true
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

func invalid(format string, args ...any) error {
	return perch.Errorf(perch.EInvalid, format, args...)
}

func stmtErr(name, field, format string, args ...any) error {
	return perch.Errorf(perch.EInvalid, "statement %s: %s: %s", name, field, fmt.Sprintf(format, args...))
}
