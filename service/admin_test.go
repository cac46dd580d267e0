package service_test

import (
	"github.com/perchml/perch"
	"github.com/perchml/perch/policy"
)

// adminPolicy is the ready-made policy that allows everything, for keys
// that tests use as any key but the root one.
func adminPolicy() *perch.Policy {
	p, _ := policy.Named("admin")
	return p
}
