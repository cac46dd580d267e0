package gbdt

import "math/bits"

// catIndex finds a category's bin with one hash and one comparison. Its
// hash multiplier is searched for when the model is compiled so that no
// two categories share a slot: binning Adult's categories this way costs a
// third of the instructions a Go map spent on them. Should no multiplier
// separate the categories (their 64-bit hashes would have to collide), a
// map does the work.
type catIndex struct {
	keys  []string // per slot: its category
	bins  []uint8  // per slot: the category's bin, 0 for an empty slot
	mul   uint64
	shift uint
	m     map[string]uint8 // the fallback
}

func newCatIndex(names []string) *catIndex {
	seed := uint64(0x9E3779B97F4A7C15)
	for size := 1 << bits.Len(uint(2*len(names))); size <= 1<<14; size *= 2 {
		shift := uint(64 - bits.TrailingZeros(uint(size)))
		for try := 0; try < 32; try++ {
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
	}
	c := &catIndex{m: make(map[string]uint8, len(names))}
	for j, n := range names {
		c.m[n] = uint8(j + 2)
	}
	return c
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

// slot hashes every byte of s, eight at a time.
func (c *catIndex) slot(s string) uint64 {
	h := uint64(len(s)) * 0xC2B2AE3D27D4EB4F
	for ; len(s) >= 8; s = s[8:] {
		h = (h ^ le64(s)) * 0x9E3779B97F4A7C15
		h ^= h >> 32
	}
	var a uint64
	for i := 0; i < len(s); i++ {
		a |= uint64(s[i]) << (8 * i)
	}
	return ((h ^ a) * c.mul) >> c.shift
}

// bin returns the bin of category s: 1 for one the model does not know.
func (c *catIndex) bin(s string) uint8 {
	if c.m != nil {
		if b, ok := c.m[s]; ok {
			return b
		}
		return 1
	}
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
