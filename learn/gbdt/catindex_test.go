package gbdt

import (
	"fmt"
	"strings"
	"testing"
)

// Every category finds its own bin and nothing else finds one, whether
// the names are short, share long prefixes and suffixes, or are many.
func TestCatIndex(t *testing.T) {
	var many, middles []string
	for i := range 253 {
		many = append(many, fmt.Sprint(i))
		middles = append(middles, strings.Repeat("a", 9)+fmt.Sprint(i)+strings.Repeat("z", 9))
	}
	for _, names := range [][]string{
		{"Private", "Self-emp-not-inc", "Local-gov", "?", "Never-worked"},
		{"a"}, {"", "x"}, many, middles,
	} {
		c := newCatIndex(names)
		for j, n := range names {
			if got := c.bin(n); got != uint8(j+2) {
				t.Fatalf("%q: bin %d, want %d", n, got, j+2)
			}
			for _, other := range []string{n + " ", "x" + n, strings.ToUpper(n) + "!"} {
				if got := c.bin(other); got != 1 && names[got-2] != other {
					t.Fatalf("%q, not a category, found bin %d (%q)", other, got, names[got-2])
				}
			}
		}
	}
	// The fallback answers the same.
	c := &catIndex{m: map[string]uint8{"a": 2, "b": 3}}
	if c.bin("a") != 2 || c.bin("b") != 3 || c.bin("c") != 1 {
		t.Fatal("the map fallback")
	}
}
