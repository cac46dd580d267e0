package policy

import (
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/perchml/perch"
)

// Request is one question: may this action be done on this resource?
type Request struct {
	Action   perch.Action
	Resource string            // "mlmodel/ml-1", "object/in/a.csv", or "*" for actions on no one resource
	Tags     map[string]string // the resource's tags, for perch:ResourceTag/K (alias aws:ResourceTag/K)
	SourceIP netip.Addr        // for aws:SourceIp; invalid (zero) when unknown: an IpAddress condition then does not hold, NotIpAddress does not hold either
	Time     time.Time         // for aws:CurrentTime; zero when unknown: a date condition then cannot be decided (see Evaluate)
}

// Decision is the answer and why.
type Decision struct {
	Allowed   bool
	Statement string // the deciding statement: its Sid, or "#N" (1-based) when it has none; "" when nothing matched (implicit deny)
	Reason    string // e.g. "denied by statement DenyDelete", "allowed by statement #1", "no statement allows machinelearning:Predict on mlmodel/b"
}

// Evaluate decides r under p: a Deny statement that matches wins (the
// first one); else the first Allow statement that matches; else r is
// denied. A nil policy allows nothing.
//
// A statement matches when one of its action patterns matches r.Action,
// one of its resource patterns matches r.Resource (MatchResource) and
// every one of its conditions holds. Evaluate is meant for policies Check
// accepts; in one it does not, what it cannot decide (an unknown operator
// or key, a malformed value, or a date condition when r.Time is zero)
// keeps an Allow statement from applying and lets a Deny one apply, so
// that a doubt never allows more.
//
// A decision that a statement makes allocates nothing once a decision
// has named that statement before (see reasons); only an implicit deny
// builds its reason anew.
func Evaluate(p *perch.Policy, r Request) Decision {
	if p == nil {
		return Decision{Reason: "no policy allows " + string(r.Action) + " on " + r.Resource}
	}
	allowed := -1
	for i := range p.Statement {
		st := &p.Statement[i]
		deny := st.Effect == perch.Deny
		switch {
		case !deny && st.Effect != perch.Allow:
			continue
		case !deny && allowed >= 0:
			continue // allowed already: only a Deny can change that
		}
		if !matchAction(st.Action, r.Action) || !matchResource(st.Resource, r.Resource) || !conditionsHold(st.Condition, &r, deny) {
			continue
		}
		if deny {
			return decided(false, i, st.Sid)
		}
		allowed = i
	}
	if allowed >= 0 {
		return decided(true, allowed, p.Statement[allowed].Sid)
	}
	return Decision{Reason: "no statement allows " + string(r.Action) + " on " + r.Resource}
}

func matchAction(patterns perch.StringList, a perch.Action) bool {
	for _, p := range patterns {
		if match(p, string(a), true) {
			return true
		}
	}
	return false
}

func matchResource(patterns perch.StringList, r string) bool {
	for _, p := range patterns {
		if MatchResource(p, r) {
			return true
		}
	}
	return false
}

func decided(allowed bool, i int, sid string) Decision {
	name := statementName(i, sid)
	return Decision{Allowed: allowed, Statement: name, Reason: reason(name, allowed)}
}

// reasons holds "allowed by statement S" and "denied by statement S" for
// the statement names decisions have given, so that a decision does not
// build its reason again: a map replaced whole when a name is added, read
// without a lock. The names are few (Sids of the keys' policies); should
// they become many, the map starts again.
var reasons struct {
	sync.Mutex
	m atomic.Pointer[map[string][2]string]
}

const maxReasons = 4096

func reason(name string, allowed bool) string {
	i := 0
	if allowed {
		i = 1
	}
	if m := reasons.m.Load(); m != nil {
		if r, ok := (*m)[name]; ok {
			return r[i]
		}
	}
	r := [2]string{"denied by statement " + name, "allowed by statement " + name}
	reasons.Lock()
	defer reasons.Unlock()
	var next map[string][2]string
	if old := reasons.m.Load(); old != nil && len(*old) < maxReasons {
		next = make(map[string][2]string, len(*old)+1)
		for k, v := range *old {
			next[k] = v
		}
	} else {
		next = make(map[string][2]string, 1)
	}
	next[name] = r
	reasons.m.Store(&next)
	return r[i]
}

// keyKind is what a condition key gives: a tag of the resource, the
// caller's address, or the time.
type keyKind uint8

const (
	keyUnknown keyKind = iota
	keyTag
	keyIP
	keyTime
)

// operators says which operators compare this kind of key.
func (k keyKind) operators() string {
	switch k {
	case keyTag:
		return "StringEquals, StringNotEquals, StringLike or StringNotLike"
	case keyIP:
		return "IpAddress or NotIpAddress"
	case keyTime:
		return "DateLessThan or DateGreaterThan"
	}
	return "nothing"
}

// Tag keys are spelt either way; IAM's condition keys are
// case-insensitive, a tag's own key (after the slash) is not.
const (
	tagPrefix    = "perch:ResourceTag/"
	awsTagPrefix = "aws:ResourceTag/"
)

// conditionKey says what a condition key gives, and for a tag its key.
func conditionKey(key string) (keyKind, string) {
	for _, prefix := range [...]string{tagPrefix, awsTagPrefix} {
		if len(key) > len(prefix) && strings.EqualFold(key[:len(prefix)], prefix) {
			return keyTag, key[len(prefix):]
		}
	}
	switch {
	case strings.EqualFold(key, "aws:SourceIp"):
		return keyIP, ""
	case strings.EqualFold(key, "aws:CurrentTime"):
		return keyTime, ""
	}
	return keyUnknown, ""
}

// UsesTags reports whether p has a condition on a resource's tags, the
// only thing a decision needs the resource's tags for.
func UsesTags(p *perch.Policy) bool {
	if p == nil {
		return false
	}
	for _, st := range p.Statement {
		for _, keys := range st.Condition {
			for key := range keys {
				if k, _ := conditionKey(key); k == keyTag {
					return true
				}
			}
		}
	}
	return false
}

// test is the comparison an operator makes.
type test uint8

const (
	testEquals test = iota
	testLike
	testIP
	testBefore
	testAfter
)

// operator is a condition operator: the key kind it compares, its test,
// and whether it holds when the test fails for every value.
type operator struct {
	key     keyKind
	test    test
	negated bool
}

var operators = map[string]operator{
	"StringEquals":    {keyTag, testEquals, false},
	"StringNotEquals": {keyTag, testEquals, true},
	"StringLike":      {keyTag, testLike, false},
	"StringNotLike":   {keyTag, testLike, true},
	"IpAddress":       {keyIP, testIP, false},
	"NotIpAddress":    {keyIP, testIP, true},
	"DateLessThan":    {keyTime, testBefore, false},
	"DateGreaterThan": {keyTime, testAfter, false},
}

// truth is a condition's outcome; undecided is one that cannot be
// worked out (see Evaluate).
type truth uint8

const (
	no truth = iota
	yes
	undecided
)

// conditionsHold reports whether every condition holds for r: every
// operator, and within one every key (IAM's AND). An undecided one holds
// for a Deny statement and does not for an Allow one.
func conditionsHold(cond map[string]map[string]perch.StringList, r *Request, deny bool) bool {
	for op, keys := range cond {
		o, known := operators[op]
		if !known {
			if !deny {
				return false
			}
			continue
		}
		for key, values := range keys {
			switch o.holds(key, values, r) {
			case no:
				return false
			case undecided:
				if !deny {
					return false
				}
			}
		}
	}
	return true
}

// holds reports whether condition key compared with values by o holds
// for r. It holds when any value does (IAM's OR); a negated operator
// holds when none does, as IAM's do. A tag the resource lacks makes a
// StringEquals or StringLike fail and a StringNotEquals or StringNotLike
// hold, as IAM treats a missing key; an unknown address makes both
// IpAddress and NotIpAddress fail.
func (o operator) holds(key string, values perch.StringList, r *Request) truth {
	k, tag := conditionKey(key)
	if k != o.key || len(values) == 0 {
		return undecided
	}
	hit := false
	switch o.test {
	case testEquals, testLike:
		v, ok := r.Tags[tag]
		if !ok {
			return of(o.negated)
		}
		for _, want := range values {
			if o.test == testEquals && want == v || o.test == testLike && match(want, v, false) {
				hit = true
				break
			}
		}
	case testIP:
		if !r.SourceIP.IsValid() {
			return no
		}
		ip := r.SourceIP.Unmap().WithZone("")
		for _, want := range values {
			p, ok := parseIP(want)
			if !ok {
				return undecided
			}
			hit = hit || p.Contains(ip)
		}
	case testBefore, testAfter:
		if r.Time.IsZero() {
			return undecided
		}
		for _, want := range values {
			t, ok := parseDate(want)
			if !ok {
				return undecided
			}
			hit = hit || o.test == testBefore && r.Time.Before(t) || o.test == testAfter && r.Time.After(t)
		}
	}
	return of(hit != o.negated)
}

func of(b bool) truth {
	if b {
		return yes
	}
	return no
}
