package perch

import "time"

// The outcomes of an audited request.
const (
	AuditAllowed = "allowed" // a change the caller's key was allowed to make
	AuditDenied  = "denied"  // a request the caller's key was refused
)

// AuditEvent is one entry of the audit log: a change a key was allowed to
// make, or a request it was refused. It names who (the key's id and
// name, the source address, the door), what (the action and the resource
// it is on) and the outcome; it never holds a key's secret, a policy's
// text or a record's values, so the log can be read more widely than the
// data it describes.
type AuditEvent struct {
	ID        int64     `json:"id,omitempty"` // set by the store, increasing
	Time      time.Time `json:"time"`
	KeyID     string    `json:"keyId,omitempty"`
	KeyName   string    `json:"keyName,omitempty"`
	SourceIP  string    `json:"sourceIp,omitempty"`
	Door      string    `json:"door,omitempty"` // "rest" or "aml"
	Action    Action    `json:"action"`
	Resource  string    `json:"resource"`
	Outcome   string    `json:"outcome"` // AuditAllowed or AuditDenied
	RequestID string    `json:"requestId,omitempty"`
	Reason    string    `json:"reason,omitempty"` // why a request was denied
}

// Page sizes of the audit log.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
)

// AuditFilter selects audit events; every field set must hold. Events
// come newest first.
type AuditFilter struct {
	KeyID string
	// Action is an exact action, or a prefix when it ends in "*"
	// ("machinelearning:Delete*", "perch:*").
	Action string
	// Resource is a prefix of the resource ("mlmodel/", "mlmodel/ml-1").
	Resource string
	Outcome  string
	// Since and Until bound the time: Since <= Time < Until; zero is open.
	Since, Until time.Time
	Limit        int    // 1..MaxAuditLimit; 0 means DefaultAuditLimit
	PageToken    string // from the previous page; "" for the first
}
