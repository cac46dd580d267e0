package recipe

import (
	"unicode"
	"unicode/utf8"
)

// Vocabulary keys are 64-bit FNV-1a hashes of an output's id followed by
// the term's bytes. Map computes them over transformed text as it reads
// it, so looking a term up builds no string.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// seed returns the hash state for the terms of output id.
func seed(id int) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < 4; i++ {
		h ^= uint64(byte(id >> (8 * i)))
		h *= fnvPrime
	}
	return h
}

func hashByte(h uint64, c byte) uint64 {
	h ^= uint64(c)
	return h * fnvPrime
}

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// hashToken hashes token s as appendToken would write it.
func hashToken(h uint64, s string, lower bool) uint64 {
	if !lower {
		return hashString(h, s)
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			h = hashByte(h, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if l := unicode.ToLower(r); l != r && r != utf8.RuneError {
			var buf [utf8.UTFMax]byte
			k := utf8.EncodeRune(buf[:], l)
			for _, c := range buf[:k] {
				h = hashByte(h, c)
			}
		} else {
			h = hashString(h, s[i:i+n])
		}
		i += n
	}
	return h
}

// appendToken appends token s, lowercased if lower. Invalid UTF-8 is kept
// as it is, byte for byte, as hashToken does.
func appendToken(b []byte, s string, lower bool) []byte {
	if !lower {
		return append(b, s...)
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if l := unicode.ToLower(r); l != r && r != utf8.RuneError {
			b = utf8.AppendRune(b, l)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return b
}

// asciiSpace and asciiPunct classify ASCII bytes. Punctuation is what C's
// ispunct calls punctuation: every printable character that is not a
// letter, digit or space.
var asciiSpace, asciiPunct [utf8.RuneSelf]bool

func init() {
	for _, c := range " \t\n\v\f\r" {
		asciiSpace[c] = true
	}
	for _, c := range "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" {
		asciiPunct[c] = true
	}
}

func isPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiPunct[r]
	}
	return unicode.IsPunct(r)
}

// trimPunct strips punctuation from both ends of a token, keeping what is
// inside: seat-belts! becomes seat-belts.
func trimPunct(s string) string {
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if !isPunct(r) || r == utf8.RuneError && n == 1 {
			break
		}
		s = s[n:]
	}
	for len(s) > 0 {
		r, n := utf8.DecodeLastRuneInString(s)
		if !isPunct(r) || r == utf8.RuneError && n == 1 {
			break
		}
		s = s[:len(s)-n]
	}
	return s
}

// tokenizer splits text into tokens on white space, stripping punctuation
// if asked. It returns substrings of the text, so it does not allocate.
type tokenizer struct {
	s       string
	i       int
	nopunct bool
}

func (t *tokenizer) next() (string, bool) {
	for {
		for t.i < len(t.s) {
			c := t.s[t.i]
			if c < utf8.RuneSelf {
				if !asciiSpace[c] {
					break
				}
				t.i++
				continue
			}
			r, n := utf8.DecodeRuneInString(t.s[t.i:])
			if !unicode.IsSpace(r) {
				break
			}
			t.i += n
		}
		if t.i >= len(t.s) {
			return "", false
		}
		start := t.i
		for t.i < len(t.s) {
			c := t.s[t.i]
			if c < utf8.RuneSelf {
				if asciiSpace[c] {
					break
				}
				t.i++
				continue
			}
			r, n := utf8.DecodeRuneInString(t.s[t.i:])
			if unicode.IsSpace(r) {
				break
			}
			t.i += n
		}
		tok := t.s[start:t.i]
		if t.nopunct {
			if tok = trimPunct(tok); tok == "" {
				continue
			}
		}
		return tok, true
	}
}
