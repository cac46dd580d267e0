//go:build !linux || mips || mipsle || mips64 || mips64le

package objects

import "os"

// openBeneath has no one-call form here: the folder walks.
func (f *folder) openBeneath(string, bool) (*os.File, bool, error) { return nil, false, nil }
