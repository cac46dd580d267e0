// Package jsonscan reads the plain JSON of a prediction request by hand:
// objects of strings without escapes. The predict routes take the common
// body this way, with no allocation but the body's one copy as a string,
// and hand anything else (escapes, numbers, invalid UTF-8) to
// encoding/json, which reads it or names what is wrong.
package jsonscan

import (
	"unicode/utf8"

	"github.com/perchml/perch"
)

// Scanner reads JSON tokens off a string.
type Scanner struct {
	s string
	i int
}

// New returns a scanner of body, or false if body is not valid UTF-8,
// which is encoding/json's to handle.
func New(body []byte) (*Scanner, bool) {
	if !utf8.Valid(body) {
		return nil, false
	}
	return &Scanner{s: string(body)}, true
}

func (p *Scanner) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// Byte consumes c, after white space, if it is next.
func (p *Scanner) Byte(c byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// Str reads a string without escapes or control characters.
func (p *Scanner) Str() (string, bool) {
	if !p.Byte('"') {
		return "", false
	}
	start := p.i
	for ; p.i < len(p.s); p.i++ {
		switch c := p.s[p.i]; {
		case c == '"':
			p.i++
			return p.s[start : p.i-1], true
		case c == '\\' || c < 0x20:
			return "", false
		}
	}
	return "", false
}

// Record reads an object of strings into rec; a name given twice keeps
// its last value, as encoding/json does.
func (p *Scanner) Record(rec perch.Record) bool {
	if !p.Byte('{') {
		return false
	}
	if p.Byte('}') {
		return true
	}
	for {
		k, ok := p.Str()
		if !ok || !p.Byte(':') {
			return false
		}
		v, ok := p.Str()
		if !ok {
			return false
		}
		rec[k] = v
		if p.Byte('}') {
			return true
		}
		if !p.Byte(',') {
			return false
		}
	}
}

// End reports whether nothing but white space is left.
func (p *Scanner) End() bool {
	p.space()
	return p.i == len(p.s)
}
