package policy

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/perchml/perch"
)

var (
	t0     = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	office = netip.MustParseAddr("10.1.2.3")
	home   = netip.MustParseAddr("192.168.1.1")
)

func req(action perch.Action, resource string) Request {
	return Request{Action: action, Resource: resource, Time: t0, SourceIP: office}
}

func tagged(action perch.Action, resource string, tags ...string) Request {
	r := req(action, resource)
	r.Tags = map[string]string{}
	for i := 0; i+1 < len(tags); i += 2 {
		r.Tags[tags[i]] = tags[i+1]
	}
	return r
}

func from(ip string) Request {
	r := req("machinelearning:Predict", "mlmodel/ml-1")
	if ip != "" {
		r.SourceIP = netip.MustParseAddr(ip)
	} else {
		r.SourceIP = netip.Addr{}
	}
	return r
}

func at(t time.Time) Request {
	r := req("machinelearning:Predict", "mlmodel/ml-1")
	r.Time = t
	return r
}

// allowIf is a policy allowing Predict on everything under a condition.
func allowIf(cond string) string {
	return `{"Statement":{"Sid":"If","Effect":"Allow","Action":"machinelearning:Predict","Resource":"*","Condition":` + cond + `}}`
}

// allowOn is a policy allowing actions on resources, in one statement
// without a Sid.
func allowOn(action, resource string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":` + action + `,"Resource":` + resource + `}]}`
}

const denyDelete = `{"Version":"2012-10-17","Statement":[
	{"Sid":"All","Effect":"Allow","Action":"*","Resource":"*"},
	{"Sid":"DenyDelete","Effect":"Deny","Action":"machinelearning:Delete*","Resource":"*"}]}`

const denyOutside = `{"Statement":[
	{"Effect":"Allow","Action":"machinelearning:*","Resource":"*"},
	{"Sid":"Outside","Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}}]}`

func TestEvaluate(t *testing.T) {
	later := t0.Add(365 * 24 * time.Hour * 2)
	cases := []struct {
		name    string
		doc     string // a policy document, or "named:NAME"
		r       Request
		allowed bool
		stmt    string // the deciding statement
		refused string // when set: Parse refuses doc with a message containing this
	}{
		// Deny wins; implicit deny.
		{name: "allow all", doc: denyDelete, r: req("machinelearning:CreateMLModel", "mlmodel/ml-1"), allowed: true, stmt: "All"},
		{name: "deny wins", doc: denyDelete, r: req("machinelearning:DeleteMLModel", "mlmodel/ml-1"), stmt: "DenyDelete"},
		{name: "deny wins on another kind", doc: denyDelete, r: req("machinelearning:DeleteDataSource", "datasource/ds-1"), stmt: "DenyDelete"},
		{name: "deny wins whatever the order", doc: `{"Statement":[{"Sid":"D","Effect":"Deny","Action":"perch:PutObject","Resource":"object/*"},{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"}]}`, r: req("perch:PutObject", "object/a"), stmt: "D"},
		{name: "first allow decides", doc: `{"Statement":[{"Effect":"Allow","Action":"perch:GetObject","Resource":"*"},{"Sid":"Two","Effect":"Allow","Action":"perch:*","Resource":"*"}]}`, r: req("perch:GetObject", "object/a"), allowed: true, stmt: "#1"},
		{name: "implicit deny", doc: allowOn(`"machinelearning:Predict"`, `"mlmodel/a"`), r: req("machinelearning:Predict", "mlmodel/b")},
		{name: "implicit deny of another action", doc: allowOn(`"machinelearning:Predict"`, `"mlmodel/a"`), r: req("machinelearning:GetMLModel", "mlmodel/a")},
		{name: "single strings and one statement object", doc: `{"Statement":{"Effect":"Allow","Action":"machinelearning:Predict","Resource":"mlmodel/a"}}`, r: req("machinelearning:Predict", "mlmodel/a"), allowed: true, stmt: "#1"},
		{name: "lists", doc: allowOn(`["perch:GetObject","perch:ListObjects"]`, `["object/a","*"]`), r: req("perch:ListObjects", "*"), allowed: true, stmt: "#1"},
		{name: "empty policy refused", doc: `{"Statement":[]}`, refused: "Statement: a policy needs at least one statement"},

		// Actions: wildcards and case.
		{name: "action *", doc: allowOn(`"*"`, `"*"`), r: req("perch:DeleteKey", "key/k"), allowed: true, stmt: "#1"},
		{name: "action service:*", doc: allowOn(`"machinelearning:*"`, `"*"`), r: req("machinelearning:AddTags", "mlmodel/m"), allowed: true, stmt: "#1"},
		{name: "action service:* other service", doc: allowOn(`"machinelearning:*"`, `"*"`), r: req("perch:GetObject", "object/a")},
		{name: "action prefix*", doc: allowOn(`"perch:Get*"`, `"*"`), r: req("perch:GetPipeline", "pipeline/p"), allowed: true, stmt: "#1"},
		{name: "action prefix* no", doc: allowOn(`"perch:Get*"`, `"*"`), r: req("perch:DeletePipeline", "pipeline/p")},
		{name: "action *suffix", doc: allowOn(`"perch:*Object"`, `"*"`), r: req("perch:DeleteObject", "object/a"), allowed: true, stmt: "#1"},
		{name: "action *suffix no", doc: allowOn(`"perch:*Object"`, `"*"`), r: req("perch:ListObjects", "*")},
		{name: "action ?", doc: allowOn(`"machinelearning:Get?LModel"`, `"*"`), r: req("machinelearning:GetMLModel", "mlmodel/m"), allowed: true, stmt: "#1"},
		{name: "action ? no", doc: allowOn(`"perch:?etObject"`, `"*"`), r: req("perch:PutObject", "object/a")},
		{name: "action ? is one character", doc: allowOn(`"machinelearning:Get?Model"`, `"*"`), refused: `"machinelearning:Get?Model" matches no action`},
		{name: "action *:NAME", doc: allowOn(`"*:Predict"`, `"*"`), r: req("machinelearning:Predict", "mlmodel/m"), allowed: true, stmt: "#1"},
		{name: "action case in policy", doc: allowOn(`"MachineLearning:predict"`, `"*"`), r: req("machinelearning:Predict", "mlmodel/m"), allowed: true, stmt: "#1"},
		{name: "action case in request", doc: allowOn(`"machinelearning:Predict"`, `"*"`), r: req("MACHINELEARNING:PREDICT", "mlmodel/m"), allowed: true, stmt: "#1"},
		{name: "action case with wildcard", doc: allowOn(`"PERCH:get*"`, `"*"`), r: req("perch:GetKey", "key/k"), allowed: true, stmt: "#1"},
		{name: "unknown action refused", doc: allowOn(`"machinelearning:Predcit"`, `"*"`), refused: `statement #1: Action: "machinelearning:Predcit" matches no action`},
		{name: "unknown action pattern refused", doc: allowOn(`["perch:GetObject","perch:Nothing*"]`, `"*"`), refused: `"perch:Nothing*" matches no action`},
		{name: "unknown service refused", doc: allowOn(`"s3:GetObject"`, `"*"`), refused: `"s3:GetObject" matches no action`},
		{name: "empty action refused", doc: allowOn(`[]`, `"*"`), refused: "statement #1: Action: no actions"},

		// Resources: wildcards, case, ARNs.
		{name: "resource exact", doc: allowOn(`"*"`, `"mlmodel/ml-1"`), r: req("machinelearning:Predict", "mlmodel/ml-1"), allowed: true, stmt: "#1"},
		{name: "resource prefix*", doc: allowOn(`"*"`, `"mlmodel/ml-*"`), r: req("machinelearning:Predict", "mlmodel/ml-42"), allowed: true, stmt: "#1"},
		{name: "resource prefix* no", doc: allowOn(`"*"`, `"mlmodel/ml-*"`), r: req("machinelearning:Predict", "mlmodel/other")},
		{name: "resource * spans /", doc: allowOn(`"*"`, `"object/in/*"`), r: req("perch:GetObject", "object/in/2026/a.csv"), allowed: true, stmt: "#1"},
		{name: "resource ?", doc: allowOn(`"*"`, `"mlmodel/ml-?"`), r: req("machinelearning:Predict", "mlmodel/ml-7"), allowed: true, stmt: "#1"},
		{name: "resource ? not two", doc: allowOn(`"*"`, `"mlmodel/ml-?"`), r: req("machinelearning:Predict", "mlmodel/ml-12")},
		{name: "resource ? one character not one byte", doc: allowOn(`"*"`, `"object/?.csv"`), r: req("perch:GetObject", "object/é.csv"), allowed: true, stmt: "#1"},
		{name: "resource */ID", doc: allowOn(`"*"`, `"*/shared"`), r: req("machinelearning:GetDataSource", "datasource/shared"), allowed: true, stmt: "#1"},
		{name: "resource case-sensitive", doc: allowOn(`"*"`, `"mlmodel/ML-1"`), r: req("machinelearning:Predict", "mlmodel/ml-1")},
		{name: "resource of a kind misses a list", doc: allowOn(`"*"`, `"mlmodel/*"`), r: req("machinelearning:DescribeMLModels", "*")},
		{name: "resource * takes a list", doc: allowOn(`"*"`, `"*"`), r: req("machinelearning:DescribeMLModels", "*"), allowed: true, stmt: "#1"},
		{name: "ARN exact", doc: allowOn(`"*"`, `"arn:aws:machinelearning:us-east-1:000000000000:mlmodel/ml-1"`), r: req("machinelearning:Predict", "mlmodel/ml-1"), allowed: true, stmt: "#1"},
		{name: "ARN exact other id", doc: allowOn(`"*"`, `"arn:aws:machinelearning:us-east-1:000000000000:mlmodel/ml-1"`), r: req("machinelearning:Predict", "mlmodel/ml-2")},
		{name: "ARN wildcard region and account", doc: allowOn(`"*"`, `"arn:aws:machinelearning:*:*:mlmodel/*"`), r: req("machinelearning:Predict", "mlmodel/ml-2"), allowed: true, stmt: "#1"},
		{name: "ARN partial wildcards", doc: allowOn(`"*"`, `"arn:aws:machinelearning:us-*:0000000000??:datasource/ds-?"`), r: req("machinelearning:GetDataSource", "datasource/ds-1"), allowed: true, stmt: "#1"},
		{name: "ARN all resources", doc: allowOn(`"*"`, `"arn:aws:machinelearning:*:*:*"`), r: req("machinelearning:DescribeEvaluations", "*"), allowed: true, stmt: "#1"},
		{name: "ARN other region", doc: allowOn(`"*"`, `"arn:aws:machinelearning:eu-west-1:000000000000:mlmodel/ml-1"`), r: req("machinelearning:Predict", "mlmodel/ml-1")},
		{name: "ARN other account", doc: allowOn(`"*"`, `"arn:aws:machinelearning:*:123456789012:*"`), r: req("machinelearning:Predict", "mlmodel/ml-1")},
		{name: "ARN of another service refused", doc: allowOn(`"*"`, `"arn:aws:s3:::bucket/key"`), refused: `service "s3"`},
		{name: "ARN of an unknown kind refused", doc: allowOn(`"*"`, `"arn:aws:machinelearning:us-east-1:000000000000:model/ml-1"`), refused: `"model" is no resource kind`},
		{name: "ARN with a bad account refused", doc: allowOn(`"*"`, `"arn:aws:machinelearning:us-east-1:0:mlmodel/ml-1"`), refused: `account "0" is not 12 digits`},
		{name: "ARN too short refused", doc: allowOn(`"*"`, `"arn:aws:machinelearning:us-east-1"`), refused: "want arn:aws:machinelearning:REGION:ACCOUNT:KIND/ID"},
		{name: "unknown kind refused", doc: allowOn(`"*"`, `"model/ml-1"`), refused: `"model" is no resource kind`},
		{name: "no id refused", doc: allowOn(`"*"`, `"mlmodel/"`), refused: "names no id"},
		{name: "no kind refused", doc: allowOn(`"*"`, `"ml-1"`), refused: `"ml-1" is neither "*", KIND/ID nor`},
		{name: "empty resource refused", doc: allowOn(`"*"`, `[]`), refused: "statement #1: Resource: no resources"},

		// Conditions on tags.
		{name: "StringEquals holds", doc: allowIf(`{"StringEquals":{"perch:ResourceTag/team":"risk"}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "risk"), allowed: true, stmt: "If"},
		{name: "StringEquals fails", doc: allowIf(`{"StringEquals":{"perch:ResourceTag/team":"risk"}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "ops")},
		{name: "StringEquals is case-sensitive", doc: allowIf(`{"StringEquals":{"perch:ResourceTag/team":"risk"}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "Risk")},
		{name: "StringEquals missing tag", doc: allowIf(`{"StringEquals":{"perch:ResourceTag/team":"risk"}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "owner", "risk")},
		{name: "StringEquals values OR", doc: allowIf(`{"StringEquals":{"perch:ResourceTag/team":["risk","ops"]}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "ops"), allowed: true, stmt: "If"},
		{name: "StringEquals keys AND both", doc: allowIf(`{"StringEquals":{"perch:ResourceTag/team":"risk","perch:ResourceTag/env":"prod"}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "risk", "env", "prod"), allowed: true, stmt: "If"},
		{name: "StringEquals keys AND one", doc: allowIf(`{"StringEquals":{"perch:ResourceTag/team":"risk","perch:ResourceTag/env":"prod"}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "risk", "env", "dev")},
		{name: "aws:ResourceTag alias", doc: allowIf(`{"StringEquals":{"aws:ResourceTag/team":"risk"}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "risk"), allowed: true, stmt: "If"},
		{name: "condition key prefix case", doc: allowIf(`{"StringEquals":{"AWS:resourcetag/team":"risk"}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "risk"), allowed: true, stmt: "If"},
		{name: "tag key itself case-sensitive", doc: allowIf(`{"StringEquals":{"aws:ResourceTag/Team":"risk"}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "risk")},
		{name: "StringNotEquals holds", doc: allowIf(`{"StringNotEquals":{"perch:ResourceTag/team":"risk"}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "ops"), allowed: true, stmt: "If"},
		{name: "StringNotEquals fails", doc: allowIf(`{"StringNotEquals":{"perch:ResourceTag/team":"risk"}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "risk")},
		{name: "StringNotEquals missing tag holds", doc: allowIf(`{"StringNotEquals":{"perch:ResourceTag/team":"risk"}}`), r: tagged("machinelearning:Predict", "mlmodel/m"), allowed: true, stmt: "If"},
		{name: "StringNotEquals values: none equal", doc: allowIf(`{"StringNotEquals":{"perch:ResourceTag/team":["risk","ops"]}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "dev"), allowed: true, stmt: "If"},
		{name: "StringNotEquals values: one equals", doc: allowIf(`{"StringNotEquals":{"perch:ResourceTag/team":["risk","ops"]}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "ops")},
		{name: "StringLike holds", doc: allowIf(`{"StringLike":{"perch:ResourceTag/team":"ri*"}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "risk"), allowed: true, stmt: "If"},
		{name: "StringLike ?", doc: allowIf(`{"StringLike":{"perch:ResourceTag/team":"r?sk"}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "rusk"), allowed: true, stmt: "If"},
		{name: "StringLike fails", doc: allowIf(`{"StringLike":{"perch:ResourceTag/team":"ri*"}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "ops")},
		{name: "StringLike missing tag", doc: allowIf(`{"StringLike":{"perch:ResourceTag/team":"*"}}`), r: tagged("machinelearning:Predict", "mlmodel/m")},
		{name: "StringLike values OR", doc: allowIf(`{"StringLike":{"perch:ResourceTag/team":["ri*","op*"]}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "ops"), allowed: true, stmt: "If"},
		{name: "StringNotLike holds", doc: allowIf(`{"StringNotLike":{"perch:ResourceTag/team":"ri*"}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "ops"), allowed: true, stmt: "If"},
		{name: "StringNotLike fails", doc: allowIf(`{"StringNotLike":{"perch:ResourceTag/team":"ri*"}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "risk")},
		{name: "StringNotLike missing tag holds", doc: allowIf(`{"StringNotLike":{"perch:ResourceTag/team":"ri*"}}`), r: tagged("machinelearning:Predict", "mlmodel/m"), allowed: true, stmt: "If"},

		// Conditions on the address.
		{name: "IpAddress holds", doc: allowIf(`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), r: from("10.1.2.3"), allowed: true, stmt: "If"},
		{name: "IpAddress fails", doc: allowIf(`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), r: from("192.168.1.1")},
		{name: "IpAddress unknown address", doc: allowIf(`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), r: from("")},
		{name: "IpAddress one address", doc: allowIf(`{"IpAddress":{"aws:SourceIp":"192.0.2.7"}}`), r: from("192.0.2.7"), allowed: true, stmt: "If"},
		{name: "IpAddress IPv6", doc: allowIf(`{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`), r: from("2001:db8::1"), allowed: true, stmt: "If"},
		{name: "IpAddress IPv6 not IPv4", doc: allowIf(`{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`), r: from("10.1.2.3")},
		{name: "IpAddress IPv4 in IPv6", doc: allowIf(`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), r: from("::ffff:10.1.2.3"), allowed: true, stmt: "If"},
		{name: "IpAddress values OR", doc: allowIf(`{"IpAddress":{"aws:SourceIp":["192.0.2.0/24","10.0.0.0/8"]}}`), r: from("10.1.2.3"), allowed: true, stmt: "If"},
		{name: "NotIpAddress holds", doc: allowIf(`{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), r: from("192.168.1.1"), allowed: true, stmt: "If"},
		{name: "NotIpAddress fails", doc: allowIf(`{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), r: from("10.1.2.3")},
		{name: "NotIpAddress unknown address", doc: allowIf(`{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), r: from("")},
		{name: "deny outside the office", doc: denyOutside, r: from("192.168.1.1"), stmt: "Outside"},
		{name: "allow inside the office", doc: denyOutside, r: from("10.9.9.9"), allowed: true, stmt: "#1"},
		{name: "allow inside the office IPv6", doc: denyOutside, r: from("2001:db8::5"), allowed: true, stmt: "#1"},
		{name: "malformed CIDR refused", doc: allowIf(`{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}`), refused: `statement If: Condition IpAddress aws:SourceIp: "10.0.0.0/33" is neither an IP address nor a CIDR`},
		{name: "malformed address refused", doc: allowIf(`{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","10.0.0.300"]}}`), refused: `"10.0.0.300" is neither`},

		// Conditions on the time.
		{name: "DateLessThan holds", doc: allowIf(`{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`), r: at(t0), allowed: true, stmt: "If"},
		{name: "DateLessThan fails", doc: allowIf(`{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`), r: at(later)},
		{name: "DateLessThan with an offset", doc: allowIf(`{"DateLessThan":{"aws:CurrentTime":"2026-06-01T13:00:01+01:00"}}`), r: at(t0), allowed: true, stmt: "If"},
		{name: "DateGreaterThan epoch holds", doc: allowIf(`{"DateGreaterThan":{"aws:CurrentTime":"1700000000"}}`), r: at(t0), allowed: true, stmt: "If"},
		{name: "DateGreaterThan epoch fails", doc: allowIf(`{"DateGreaterThan":{"aws:CurrentTime":"1700000000"}}`), r: at(time.Unix(1600000000, 0))},
		{name: "DateGreaterThan values OR", doc: allowIf(`{"DateGreaterThan":{"aws:CurrentTime":["2030-01-01T00:00:00Z","2026-01-01T00:00:00Z"]}}`), r: at(t0), allowed: true, stmt: "If"},
		{name: "date window", doc: allowIf(`{"DateGreaterThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`), r: at(t0), allowed: true, stmt: "If"},
		{name: "date window after", doc: allowIf(`{"DateGreaterThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`), r: at(later)},
		{name: "date unknown: no allow", doc: allowIf(`{"DateLessThan":{"aws:CurrentTime":"2100-01-01T00:00:00Z"}}`), r: at(time.Time{})},
		{name: "date unknown: deny applies", doc: `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"Expired","Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2100-01-01T00:00:00Z"}}}]}`, r: at(time.Time{}), stmt: "Expired"},
		{name: "malformed date refused", doc: allowIf(`{"DateLessThan":{"aws:CurrentTime":"2026-13-01T00:00:00Z"}}`), refused: `statement If: Condition DateLessThan aws:CurrentTime: "2026-13-01T00:00:00Z" is neither an RFC 3339 date`},
		{name: "date in words refused", doc: allowIf(`{"DateGreaterThan":{"aws:CurrentTime":"yesterday"}}`), refused: `"yesterday" is neither`},

		// Several operators: all hold.
		{name: "operators AND both", doc: allowIf(`{"StringEquals":{"perch:ResourceTag/team":"risk"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "risk"), allowed: true, stmt: "If"},
		{name: "operators AND one", doc: allowIf(`{"StringEquals":{"perch:ResourceTag/team":"risk"},"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`), r: tagged("machinelearning:Predict", "mlmodel/m", "team", "risk")},
		{name: "unknown operator refused", doc: allowIf(`{"StringEqualsIgnoreCase":{"perch:ResourceTag/team":"risk"}}`), refused: `statement If: Condition: unknown operator "StringEqualsIgnoreCase"`},
		{name: "unknown key refused", doc: allowIf(`{"StringEquals":{"aws:PrincipalTag/team":"risk"}}`), refused: `statement If: Condition StringEquals: unknown key "aws:PrincipalTag/team"`},
		{name: "tag key without a tag refused", doc: allowIf(`{"StringEquals":{"perch:ResourceTag/":"risk"}}`), refused: `unknown key "perch:ResourceTag/"`},
		{name: "key the operator does not compare refused", doc: allowIf(`{"StringEquals":{"aws:SourceIp":"10.0.0.1"}}`), refused: "aws:SourceIp is not compared by StringEquals; compare it with IpAddress or NotIpAddress"},
		{name: "key without values refused", doc: allowIf(`{"StringEquals":{"perch:ResourceTag/team":[]}}`), refused: "Condition StringEquals perch:ResourceTag/team: no values"},

		// The named policies.
		{name: "predictor may Predict", doc: "named:predictor", r: req("machinelearning:Predict", "mlmodel/ml-1"), allowed: true, stmt: "Predict"},
		{name: "predictor may GetMLModel", doc: "named:predictor", r: req("machinelearning:GetMLModel", "mlmodel/ml-1"), allowed: true, stmt: "Predict"},
		{name: "predictor may DescribeMLModels", doc: "named:predictor", r: req("machinelearning:DescribeMLModels", "*"), allowed: true, stmt: "Predict"},
		{name: "predictor may not DeleteMLModel", doc: "named:predictor", r: req("machinelearning:DeleteMLModel", "mlmodel/ml-1")},
		{name: "predictor may not GetObject", doc: "named:predictor", r: req("perch:GetObject", "object/a")},
		{name: "reader may GetObject", doc: "named:reader", r: req("perch:GetObject", "object/a"), allowed: true, stmt: "Read"},
		{name: "reader may DescribeTags", doc: "named:reader", r: req("machinelearning:DescribeTags", "*"), allowed: true, stmt: "Read"},
		{name: "reader may not PutObject", doc: "named:reader", r: req("perch:PutObject", "object/a")},
		{name: "reader may not Predict", doc: "named:reader", r: req("machinelearning:Predict", "mlmodel/ml-1")},
		{name: "trainer may CreateMLModel", doc: "named:trainer", r: req("machinelearning:CreateMLModel", "mlmodel/ml-1"), allowed: true, stmt: "AmazonML"},
		{name: "trainer may PutObject", doc: "named:trainer", r: req("perch:PutObject", "object/a"), allowed: true, stmt: "Objects"},
		{name: "trainer may ListPipelines", doc: "named:trainer", r: req("perch:ListPipelines", "*"), allowed: true, stmt: "Read"},
		{name: "trainer may not CreateKey", doc: "named:trainer", r: req("perch:CreateKey", "key/k")},
		{name: "trainer may not DeletePipeline", doc: "named:trainer", r: req("perch:DeletePipeline", "pipeline/p")},
		{name: "admin may DeleteKey", doc: "named:admin", r: req("perch:DeleteKey", "key/k"), allowed: true, stmt: "Admin"},
		{name: "admin may ReadAudit", doc: "named:admin", r: req("perch:ReadAudit", "*"), allowed: true, stmt: "Admin"},

		// The document itself.
		{name: "Effect case refused", doc: `{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}`, refused: `statement #1: Effect: "allow" is neither "Allow" nor "Deny"`},
		{name: "old Version refused", doc: `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, refused: `Version: "2008-10-17" is not "2012-10-17"`},
		{name: "NotAction refused", doc: `{"Statement":{"Effect":"Deny","NotAction":"perch:GetKey","Resource":"*"}}`, refused: "statement #1: NotAction: unknown field"},
	}
	if len(cases) < 60 {
		t.Fatalf("%d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p *perch.Policy
			if name, ok := strings.CutPrefix(c.doc, "named:"); ok {
				if p, ok = Named(name); !ok {
					t.Fatalf("no policy %s", name)
				}
			} else {
				var err error
				p, err = Parse([]byte(c.doc))
				if c.refused != "" {
					if err == nil {
						t.Fatalf("Parse accepted %s", c.doc)
					}
					if perch.Code(err) != perch.EInvalid || !strings.Contains(err.Error(), c.refused) {
						t.Fatalf("Parse: %v (%s); want %q", err, perch.Code(err), c.refused)
					}
					return
				}
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
			}
			d := Evaluate(p, c.r)
			if d.Allowed != c.allowed || d.Statement != c.stmt {
				t.Fatalf("Evaluate(%s on %s) = %+v; want allowed %v by %q", c.r.Action, c.r.Resource, d, c.allowed, c.stmt)
			}
			want := "no statement allows " + string(c.r.Action) + " on " + c.r.Resource
			switch {
			case c.allowed:
				want = "allowed by statement " + c.stmt
			case c.stmt != "":
				want = "denied by statement " + c.stmt
			}
			if d.Reason != want {
				t.Fatalf("Reason %q; want %q", d.Reason, want)
			}
		})
	}
}

func TestEvaluateNil(t *testing.T) {
	d := Evaluate(nil, req("machinelearning:Predict", "mlmodel/a"))
	if d.Allowed || d.Statement != "" || d.Reason == "" {
		t.Fatalf("%+v", d)
	}
}

// An unchecked policy decides so that a doubt never allows more.
func TestEvaluateUnchecked(t *testing.T) {
	all := perch.Statement{Effect: perch.Allow, Action: perch.StringList{"*"}, Resource: perch.StringList{"*"}}
	odd := map[string]map[string]perch.StringList{"StringEqualz": {"perch:ResourceTag/a": {"b"}}}
	badIP := map[string]map[string]perch.StringList{"IpAddress": {"aws:SourceIp": {"ten"}}}
	r := req("machinelearning:Predict", "mlmodel/m")
	for _, cond := range []map[string]map[string]perch.StringList{odd, badIP} {
		allowIf := all
		allowIf.Condition = cond
		if d := Evaluate(&perch.Policy{Statement: perch.StatementList{allowIf}}, r); d.Allowed {
			t.Errorf("allowed under %v", cond)
		}
		denyIf := perch.Statement{Sid: "D", Effect: perch.Deny, Action: all.Action, Resource: all.Resource, Condition: cond}
		if d := Evaluate(&perch.Policy{Statement: perch.StatementList{all, denyIf}}, r); d.Allowed || d.Statement != "D" {
			t.Errorf("deny under %v: %+v", cond, d)
		}
	}
	if d := Evaluate(&perch.Policy{Statement: perch.StatementList{{Effect: "allow", Action: all.Action, Resource: all.Resource}}}, r); d.Allowed {
		t.Errorf("Effect allow allowed")
	}
}

func TestParseErrors(t *testing.T) {
	big := `{"Statement":{"Effect":"Allow","Action":"*","Resource":["` + strings.Repeat("x", MaxBytes) + `"]}}`
	var many []string
	for range MaxStatements + 1 {
		many = append(many, `{"Effect":"Allow","Action":"*","Resource":"*"}`)
	}
	cases := []struct{ doc, want string }{
		{`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"DenyDelete","Effect":"Deny","Action":"machinelearning:Delet","Resource":"*"}]}`,
			`statement DenyDelete: Action: "machinelearning:Delet" matches no action`},
		{`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Maybe","Action":"*","Resource":"*"}]}`,
			`statement #2: Effect: "Maybe" is neither "Allow" nor "Deny"`},
		{`{"Statement":[{"Action":"*","Resource":"*","Effect":"Allow","Sid":"Late","Condition":{"IpAddress":{"aws:SourceIp":"x"}}}]}`,
			`statement Late: Condition IpAddress aws:SourceIp: "x" is neither`},
		{`{"Statement":{"Sid":"Res","Effect":"Allow","Action":"*","Resource":"arn:aws:iam::000000000000:user/x"}}`,
			`statement Res: Resource: "arn:aws:iam::000000000000:user/x" is an ARN of service "iam"`},
		{`{"Statement":{"Sid":"R","Effect":"Allow","Action":"*","Resource":7}}`, "statement R: Resource: want a string or a list of strings"},
		{`{"Statement":{"Sid":"R","Effect":"Allow","Action":["*",7],"Resource":"*"}}`, "statement R: Action: want a string or a list of strings"},
		{`{"Statement":{"Sid":"R","Effect":true,"Action":"*","Resource":"*"}}`, "statement R: Effect: want a string"},
		{`{"Statement":{"Sid":"C","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":"x"}}}`, "statement C: Condition: StringLike: want an object"},
		{`{"Statement":{"Sid":"C","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{"aws:ResourceTag/a":1}}}}`, "statement C: Condition: StringLike aws:ResourceTag/a: want a string or a list of strings"},
		{`{"Statement":{"Sid":"C","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{}}}}`, "statement C: Condition StringLike: no condition keys"},
		{`{"Statement":{"Sid":"Twice","Effect":"Allow","Effect":"Deny","Action":"*","Resource":"*"}}`, `statement #1: "Effect" is given twice`},
		{`{"Statement":{"Sid":"P","Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`, "statement P: Principal: unknown field"},
		{`{"Statement":{"Sid":"P","effect":"Allow","Action":"*","Resource":"*"}}`, "statement P: effect: unknown field"},
		{`{"Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"*","Resource":"key/*"}]}`, `statement #2: Sid: "A" is statement #1's Sid too`},
		{`{"Statement":{"Sid":"no spaces","Effect":"Allow","Action":"*","Resource":"*"}}`, `statement #1: Sid: "no spaces" may have only letters and digits`},
		{`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}, 3]}`, "statement #2: want an object"},
		{`{"Statement":"Allow"}`, "Statement: want a statement or a list of statements"},
		{`{"Id":"x","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, `unknown field "Id"`},
		{`{"Version":1,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, "Version: want a string"},
		{`{"Statement":{"Effect":"Allow","Action":"*"}}`, "statement #1: Resource: no resources"},
		{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}} x`, "policy is not JSON"},
		{`{"Statement":`, "policy is not JSON"},
		{`[]`, "policy: want an object"},
		{`{}`, "Statement: a policy needs at least one statement"},
		{big, "the limit is 32768"},
		{`{"Statement":[` + strings.Join(many, ",") + `]}`, "Statement: 101 statements; the limit is 100"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.doc))
		if err == nil {
			t.Errorf("Parse accepted %.80s", c.doc)
			continue
		}
		if perch.Code(err) != perch.EInvalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%.80s): %v (%s); want %q", c.doc, err, perch.Code(err), c.want)
		}
	}
}

func TestCheck(t *testing.T) {
	if err := Check(nil); perch.Code(err) != perch.EInvalid {
		t.Errorf("Check(nil) = %v", err)
	}
	p := &perch.Policy{Statement: make(perch.StatementList, MaxStatements+1)}
	for i := range p.Statement {
		p.Statement[i] = perch.Statement{Effect: perch.Allow, Action: perch.StringList{"*"}, Resource: perch.StringList{"*"}}
	}
	if err := Check(p); perch.Code(err) != perch.EInvalid {
		t.Errorf("Check of %d statements = %v", len(p.Statement), err)
	}
	p.Statement = p.Statement[:MaxStatements]
	if err := Check(p); err != nil {
		t.Errorf("Check of %d statements: %v", len(p.Statement), err)
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"", "", true}, {"", "a", false}, {"*", "", true}, {"?", "", false},
		{"a*b*c", "abc", true}, {"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false},
		{"**", "x/y:z", true}, {"*?", "é", true}, {"*??", "€", false}, {"?*?", "é", false},
		{"a?c", "abc", true}, {"a?c", "ac", false}, {"*a", "bbba", true}, {"*a", "bbab", false},
		{"*ab*ab", "abxabab", true}, {"mlmodel/*", "mlmodel/", true},
	}
	for _, c := range cases {
		if got := match(c.p, c.s, false); got != c.want {
			t.Errorf("match(%q, %q) = %v", c.p, c.s, got)
		}
	}
	if !match("PERCH:get*", "perch:GetKey", true) || match("PERCH:get*", "perch:GetKey", false) {
		t.Error("folding")
	}
}

func TestMatchResource(t *testing.T) {
	defer func(r, a string) { Region, Account = r, a }(Region, Account)
	arn := "arn:aws:machinelearning:eu-west-1:123456789012:mlmodel/ml-1"
	if MatchResource(arn, "mlmodel/ml-1") {
		t.Error("matched another server's ARN")
	}
	Region, Account = "eu-west-1", "123456789012"
	if !MatchResource(arn, "mlmodel/ml-1") || MatchResource(arn, "mlmodel/ml-2") {
		t.Error("the server's own ARN")
	}
	for _, p := range []string{"arn:aws:s3:::b/x", "arn:aws:machinelearning", "arn:aws-cn:machinelearning:*:*:*"} {
		if MatchResource(p, "object/b/x") {
			t.Errorf("%s matched", p)
		}
	}
	if !MatchResource("arn:*:*:*:*:object/b/*", "object/b/x") {
		t.Error("all wildcards")
	}
}

func TestNamed(t *testing.T) {
	if got, want := Names(), []string{"admin", "predictor", "reader", "trainer"}; !slices.Equal(got, want) {
		t.Fatalf("Names() = %v", got)
	}
	if _, ok := Named("root"); ok {
		t.Error("Named(root)")
	}
	resource := func(a perch.Action) string {
		if k := perch.Actions[a].Kind; k != perch.KindNone {
			return perch.Resource(k, "x")
		}
		return "*"
	}
	allows := func(p *perch.Policy, a perch.Action) bool {
		return Evaluate(p, Request{Action: a, Resource: resource(a)}).Allowed
	}
	for _, name := range Names() {
		p, _ := Named(name)
		if err := Check(p); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(b); err != nil {
			t.Errorf("%s: Parse(%s): %v", name, b, err)
		}
		for a, info := range perch.Actions {
			got := allows(p, a)
			var want bool
			switch name {
			case "admin":
				want = true
			case "predictor":
				want = a == "machinelearning:Predict" || a == "machinelearning:GetMLModel" || a == "machinelearning:DescribeMLModels"
			case "reader":
				_, n, _ := strings.Cut(string(a), ":")
				want = !info.Change && (strings.HasPrefix(n, "Get") || strings.HasPrefix(n, "Describe") || strings.HasPrefix(n, "List")) || a == "perch:ReadMetrics"
			case "trainer":
				want = a.Service() == "machinelearning" || info.Kind == perch.KindObject || a == "perch:ListObjects" ||
					a == "perch:GetPipeline" || a == "perch:ListPipelines" || a == "perch:ReadMetrics"
			}
			if got != want {
				t.Errorf("%s allows %s: %v", name, a, got)
			}
		}
	}
	p, _ := Named("admin")
	p.Statement[0].Effect = perch.Deny
	if q, _ := Named("admin"); q.Statement[0].Effect != perch.Allow {
		t.Error("Named returned a shared policy")
	}
}

func TestUsesTags(t *testing.T) {
	p, _ := Parse([]byte(allowIf(`{"StringEquals":{"AWS:ResourceTag/team":"risk"}}`)))
	q, _ := Parse([]byte(allowIf(`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`)))
	if !UsesTags(p) || UsesTags(q) || UsesTags(nil) {
		t.Error("UsesTags")
	}
}

// benchPolicy is five statements such as a key's policy has.
const benchPolicy = `{"Version":"2012-10-17","Statement":[
	{"Sid":"NoKeys","Effect":"Deny","Action":["perch:*Key*","perch:ReadAudit"],"Resource":"*"},
	{"Sid":"Read","Effect":"Allow","Action":["machinelearning:Get*","machinelearning:Describe*"],"Resource":"*"},
	{"Sid":"Predict","Effect":"Allow","Action":"machinelearning:Predict","Resource":["mlmodel/ml-*","mlmodel/shared"]},
	{"Sid":"Inputs","Effect":"Allow","Action":["perch:GetObject","perch:PutObject"],"Resource":"object/in/*"},
	{"Sid":"KeepProd","Effect":"Deny","Action":"machinelearning:Delete*","Resource":"arn:aws:machinelearning:*:*:mlmodel/prod-*"}]}`

func TestEvaluateAllocs(t *testing.T) {
	p, err := Parse([]byte(benchPolicy))
	if err != nil {
		t.Fatal(err)
	}
	cond, err := Parse([]byte(allowIf(`{"StringEquals":{"perch:ResourceTag/team":"risk"},"IpAddress":{"aws:SourceIp":["192.0.2.0/24","10.0.0.0/8"]},"DateLessThan":{"aws:CurrentTime":"2100-01-01T00:00:00+02:00"}}`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p *perch.Policy
		r Request
	}{
		{p, req("machinelearning:Predict", "mlmodel/ml-7")},
		{p, req("perch:DeleteKey", "key/k")},
		{cond, tagged("machinelearning:Predict", "mlmodel/ml-7", "team", "risk")},
	} {
		Evaluate(c.p, c.r)
		if n := testing.AllocsPerRun(100, func() { Evaluate(c.p, c.r) }); n != 0 {
			t.Errorf("Evaluate(%s) allocates %v times", c.r.Action, n)
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	p, err := Parse([]byte(benchPolicy))
	if err != nil {
		b.Fatal(err)
	}
	r := req("machinelearning:Predict", "mlmodel/ml-123456789")
	b.ReportAllocs()
	for b.Loop() {
		if d := Evaluate(p, r); !d.Allowed {
			b.Fatal(d)
		}
	}
}
