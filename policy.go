package perch

import (
	"bytes"
	"encoding/json"
)

// Policy is an IAM-like policy: what a key may do. A request is allowed
// when a statement allows it and none denies it; nothing is allowed by
// default. Package policy checks and evaluates policies.
type Policy struct {
	Version   string        `json:"Version,omitempty"`
	Statement StatementList `json:"Statement"`
}

// Effect is what a statement does to the requests it matches.
type Effect string

// The effects of a statement.
const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Statement is one rule of a policy: the actions (with * and ? wildcards)
// on the resources (KIND/ID, or AML's ARNs) it allows or denies, when its
// conditions hold. Condition maps an operator (StringEquals, IpAddress,
// …) to condition keys (perch:ResourceTag/K, aws:SourceIp, …) and their
// values.
type Statement struct {
	Sid       string                           `json:"Sid,omitempty"`
	Effect    Effect                           `json:"Effect"`
	Action    StringList                       `json:"Action"`
	Resource  StringList                       `json:"Resource"`
	Condition map[string]map[string]StringList `json:"Condition,omitempty"`
}

// StringList is a list of strings that JSON may also give as one string,
// as IAM's policies do.
type StringList []string

// UnmarshalJSON reads a string or a list of strings.
func (l *StringList) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = StringList{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*l = ss
	return nil
}

// StatementList is a policy's statements, which JSON may also give as one
// statement, as IAM's policies do.
type StatementList []Statement

// UnmarshalJSON reads a statement or a list of them.
func (l *StatementList) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '{' {
		var s Statement
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = StatementList{s}
		return nil
	}
	var ss []Statement
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*l = ss
	return nil
}
