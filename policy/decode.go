package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/perchml/perch"
)

// decode reads a policy document into a perch.Policy, as encoding/json
// would read it into one, but stricter, so that a document means one
// thing: names are matched exactly (Effect, not effect), a field given
// twice or one perch does not know (NotAction, Principal, a misspelt
// Resource) is refused rather than dropped, and errors name the
// statement and field.
func decode(b []byte) (*perch.Policy, error) {
	var doc json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, invalid("policy is not JSON: %v (at byte %d)", se, se.Offset)
		}
		return nil, invalid("policy is not JSON: %v", err)
	}
	fields, err := object(doc)
	if err != nil {
		return nil, invalid("policy: %v", err)
	}
	p := &perch.Policy{}
	for _, f := range fields {
		switch f.name {
		case "Version":
			if !optionalString(f.value, &p.Version) {
				return nil, invalid("Version: want a string")
			}
		case "Statement":
			if p.Statement, err = statements(f.value); err != nil {
				return nil, err
			}
		default:
			return nil, invalid("unknown field %q (a policy has Version and Statement)", f.name)
		}
	}
	return p, nil
}

func statements(raw json.RawMessage) (perch.StatementList, error) {
	var list []json.RawMessage
	switch first(raw) {
	case '{':
		list = []json.RawMessage{raw}
	case '[':
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, invalid("Statement: %v", err)
		}
	default:
		return nil, invalid("Statement: want a statement or a list of statements")
	}
	if len(list) > MaxStatements {
		return nil, invalid("Statement: %d statements; the limit is %d", len(list), MaxStatements)
	}
	sts := make(perch.StatementList, len(list))
	for i, raw := range list {
		if err := statement(i, raw, &sts[i]); err != nil {
			return nil, err
		}
	}
	return sts, nil
}

func statement(i int, raw json.RawMessage, st *perch.Statement) error {
	fields, err := object(raw)
	if err != nil {
		return invalid("statement %s: %v", statementName(i, ""), err)
	}
	// Name the statement by its Sid from the start, wherever in the
	// object the Sid is.
	name := statementName(i, "")
	for _, f := range fields {
		var sid string
		if f.name == "Sid" && optionalString(f.value, &sid) {
			name = checkName(i, sid)
		}
	}
	for _, f := range fields {
		ok := true
		switch f.name {
		case "Sid":
			ok = optionalString(f.value, &st.Sid)
		case "Effect":
			var s string
			ok = first(f.value) == '"' && json.Unmarshal(f.value, &s) == nil
			st.Effect = perch.Effect(s)
		case "Action":
			st.Action, ok = stringList(f.value)
		case "Resource":
			st.Resource, ok = stringList(f.value)
		case "Condition":
			if st.Condition, err = condition(f.value); err != nil {
				return stmtErr(name, "Condition", "%v", err)
			}
		default:
			return stmtErr(name, f.name, "unknown field (a statement has Sid, Effect, Action, Resource and Condition)")
		}
		if !ok {
			want := "a string"
			if f.name == "Action" || f.name == "Resource" {
				want = "a string or a list of strings"
			}
			return stmtErr(name, f.name, "want %s", want)
		}
	}
	return nil
}

// condition reads a statement's Condition: operator to key to values.
func condition(raw json.RawMessage) (map[string]map[string]perch.StringList, error) {
	if first(raw) == 'n' {
		return nil, nil
	}
	ops, err := object(raw)
	if err != nil {
		return nil, err
	}
	cond := make(map[string]map[string]perch.StringList, len(ops))
	for _, op := range ops {
		keys, err := object(op.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", op.name, err)
		}
		m := make(map[string]perch.StringList, len(keys))
		for _, k := range keys {
			var ok bool
			if m[k.name], ok = stringList(k.value); !ok {
				return nil, fmt.Errorf("%s %s: want a string or a list of strings", op.name, k.name)
			}
		}
		cond[op.name] = m
	}
	return cond, nil
}

// field is one name and value of a JSON object.
type field struct {
	name  string
	value json.RawMessage
}

// object reads a JSON object's fields in order, refusing one given
// twice: encoding/json would keep the last silently.
func object(raw json.RawMessage) ([]field, error) {
	if first(raw) != '{' {
		return nil, errors.New("want an object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var fields []field
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		for _, f := range fields {
			if f.name == name {
				return nil, fmt.Errorf("%q is given twice", name)
			}
		}
		fields = append(fields, field{name, v})
	}
	return fields, nil
}

// stringList reads a string or a list of strings, as perch.StringList
// does.
func stringList(raw json.RawMessage) (perch.StringList, bool) {
	switch first(raw) {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, false
		}
		return perch.StringList{s}, true
	case '[':
		var ss []string
		if json.Unmarshal(raw, &ss) != nil {
			return nil, false
		}
		return ss, true
	}
	return nil, false
}

// optionalString reads a string; null leaves *s as it is, as
// encoding/json does.
func optionalString(raw json.RawMessage, s *string) bool {
	switch first(raw) {
	case 'n':
		return true
	case '"':
		return json.Unmarshal(raw, s) == nil
	}
	return false
}

// first is the first byte of a JSON value: { [ " n and so on.
func first(raw json.RawMessage) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}
