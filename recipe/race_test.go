//go:build race

package recipe

// The race detector makes sync.Pool drop items, so Map allocates.
func init() { raceEnabled = true }
