package gbdt

import "math/bits"

// catIndex finds a category's bin with one hash and one comparison.
// Its hash multiplier is searched for when the model is compiled so that
// no two categories share a slot; a Go map, general-purpose, spent three
// times the instructions on the same lookups.
type catIndex struct {
	keys  []string // per slot: its category
	bins  []uint8  // per slot: the category's bin, 0 for an empty slot
	mul   uint64
	shift uint
}

func newCatIndex(names []string) *catIndex {
	size := 1 << bits.Len(uint(2*len(names)))
	seed := uint64(0x9E3779B97F4A7C15)
	for {
		shift := uint(64 - bits.TrailingZeros(uint(size)))
		for try := 0; try < 64; try++ {
			// splitmix64 gives the candidate multipliers, odd.
			seed += 0x9E3779B97F4A7C15
			z := seed
			z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
			z = (z ^ z>>27) * 0x94D049BB133111EB
			c := &catIndex{keys: make([]string, size), bins: make([]uint8, size), mul: (z ^ z>>31) | 1, shift: shift}
			if c.fill(names) {
				return c
			}
		}
		size *= 2
	}
}

// fill places the names, bins 2, 3, … in order; false when two collide.
func (c *catIndex) fill(names []string) bool {
	for j, n := range names {
		s := c.slot(n)
		if c.bins[s] != 0 {
			return false
		}
		c.keys[s], c.bins[s] = n, uint8(j+2)
	}
	return true
}

func (c *catIndex) slot(s string) uint64 {
	var a, b uint64
	if n := len(s); n >= 8 {
		a, b = le64(s), le64(s[n-8:])
	} else {
		for i := 0; i < n; i++ {
			a |= uint64(s[i]) << (8 * i)
		}
	}
	h := (a ^ (b+uint64(len(s)))*0xC2B2AE3D27D4EB4F) * c.mul
	return h >> c.shift
}

// bin returns the bin of category s: 1 for one the model does not know.
func (c *catIndex) bin(s string) uint8 {
	i := c.slot(s)
	if b := c.bins[i]; b != 0 && c.keys[i] == s {
		return b
	}
	return 1
}

// le64 reads the first 8 bytes of s as one little-endian word; the
// compiler makes it a single load.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
