package service

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/policy"
)

// SimulateInput asks whether a key may do an action on a resource.
type SimulateInput struct {
	// Key names the key asked about: its id, or its name when that is
	// one key's.
	Key      string            `json:"key"`
	Action   perch.Action      `json:"action"`
	Resource string            `json:"resource"`
	Tags     map[string]string `json:"tags,omitempty"`     // the resource's, for tag conditions
	SourceIP string            `json:"sourceIp,omitempty"` // for aws:SourceIp conditions
}

// SimulateResult is the decision and what made it.
type SimulateResult struct {
	Allowed   bool   `json:"allowed"`
	Key       string `json:"key"`                 // the key's id
	Statement string `json:"statement,omitempty"` // the deciding statement's Sid, or #N
	Reason    string `json:"reason"`
}

// SimulatePolicy decides a request as authorize would for another key,
// without doing it, and says which statement decided.
func (s *Service) SimulatePolicy(ctx context.Context, in SimulateInput) (*SimulateResult, error) {
	if err := s.authorize(ctx, "perch:SimulatePolicy", "*", nil); err != nil {
		return nil, err
	}
	if _, ok := perch.Actions[in.Action]; !ok {
		return nil, perch.Errorf(perch.EInvalid, "action %q: no such action", perch.Clip(string(in.Action)))
	}
	if in.Resource == "" {
		in.Resource = "*"
	}
	k, err := s.findKey(ctx, in.Key)
	if err != nil {
		return nil, err
	}
	res := &SimulateResult{Key: k.ID}
	switch {
	case k.Root:
		res.Allowed, res.Reason = true, "the root key may do everything"
		return res, nil
	case k.Status == perch.StatusDeleted:
		res.Reason = "the key is revoked"
		return res, nil
	case in.Action == "perch:GetKey" && in.Resource == perch.Resource(perch.KindKey, k.ID):
		res.Allowed, res.Reason = true, "a key may always read itself"
		return res, nil
	case k.Policy == nil:
		res.Reason = "the key has no policy"
		return res, nil
	}
	req := policy.Request{Action: in.Action, Resource: in.Resource, Tags: in.Tags, Time: time.Now()}
	if in.SourceIP != "" {
		if req.SourceIP, err = netip.ParseAddr(in.SourceIP); err != nil {
			return nil, perch.Errorf(perch.EInvalid, "sourceIp %q: %v", perch.Clip(in.SourceIP), err)
		}
	}
	d := policy.Evaluate(k.Policy, req)
	res.Allowed, res.Statement, res.Reason = d.Allowed, d.Statement, d.Reason
	return res, nil
}

// findKey returns a key by id, or by name when exactly one live key has
// it.
func (s *Service) findKey(ctx context.Context, idOrName string) (*perch.Key, error) {
	if strings.TrimSpace(idOrName) == "" {
		return nil, perch.Errorf(perch.EInvalid, "key: required")
	}
	if k, err := s.store.GetKey(ctx, idOrName); err == nil {
		return withoutSecret(k), nil
	} else if perch.Code(err) != perch.ENotFound {
		return nil, err
	}
	keys, _, err := s.store.ListKeys(ctx, perch.Filter{Variable: "Name", Op: perch.OpEQ, Value: idOrName, Limit: perch.MaxPageLimit})
	if err != nil {
		return nil, err
	}
	var found *perch.Key
	for _, k := range keys {
		if k.Status == perch.StatusDeleted {
			continue
		}
		if found != nil {
			return nil, perch.Errorf(perch.EInvalid, "key %q: more than one key has that name; give its id", perch.Clip(idOrName))
		}
		found = k
	}
	if found == nil {
		return nil, perch.Errorf(perch.ENotFound, "key %s not found", perch.Clip(idOrName))
	}
	return withoutSecret(found), nil
}
