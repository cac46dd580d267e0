package perch

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// MarshalJSON encodes p in AML's Predict shape:
//
//	{"predictedLabel":"1","predictedScores":{"1":0.87},
//	 "details":{"PredictiveModelType":"BINARY","Algorithm":"SGD"}}
//
// plus perch's "predictedOriginalLabel" and "invalidAttributes" when set,
// and in details the explanation and "missingAttributes" when set.
func (p *Prediction) MarshalJSON() ([]byte, error) {
	return p.AppendJSON(make([]byte, 0, 160)), nil
}

// AppendJSON appends the JSON encoding of p to b; batch and streaming paths
// use it to write predictions without allocating.
func (p *Prediction) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	if p.Type == RegressionModel {
		b = append(b, `"predictedValue":`...)
		b = appendFloat(b, p.Value)
		b = append(b, `,"predictedScores":{}`...)
	} else {
		b = append(b, `"predictedLabel":`...)
		b = AppendJSONString(b, p.Label)
		b = append(b, `,"predictedScores":{`...)
		for i, s := range p.Scores {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, s.Label)
			b = append(b, ':')
			b = appendFloat(b, s.Value)
		}
		b = append(b, '}')
	}
	b = append(b, `,"details":{"PredictiveModelType":`...)
	b = AppendJSONString(b, string(p.Type))
	b = append(b, `,"Algorithm":`...)
	b = AppendJSONString(b, p.Algorithm)
	if p.Contributions != nil {
		b = p.Contributions.appendJSON(b)
	}
	if len(p.Missing) > 0 {
		b = appendNames(append(b, `,"missingAttributes":`...), p.Missing)
	}
	b = append(b, '}')
	if p.Original != "" {
		b = append(b, `,"predictedOriginalLabel":`...)
		b = AppendJSONString(b, p.Original)
	}
	if len(p.Invalid) > 0 {
		b = appendNames(append(b, `,"invalidAttributes":`...), p.Invalid)
	}
	return append(b, '}')
}

// appendNames appends names as a JSON array of strings.
func appendNames(b []byte, names []string) []byte {
	b = append(b, '[')
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, n)
	}
	return append(b, ']')
}

// appendJSON appends c as members of details: for one margin,
//
//	"contributions":{"age":0.41,…},"expectedMargin":-1.2
//
// and for MULTICLASS each of the two keyed by class.
func (c *Contributions) appendJSON(b []byte) []byte {
	values := func(b []byte, m *Margin) []byte {
		b = append(b, '{')
		for i, n := range c.Names {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, n)
			b = append(b, ':')
			b = appendFloat(b, m.Values[i])
		}
		return append(b, '}')
	}
	b = append(b, `,"contributions":`...)
	if len(c.Margins) == 1 && c.Margins[0].Class == "" {
		b = values(b, &c.Margins[0])
		b = append(b, `,"expectedMargin":`...)
		return appendFloat(b, c.Margins[0].Expected)
	}
	b = append(b, '{')
	for i := range c.Margins {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, c.Margins[i].Class)
		b = append(b, ':')
		b = values(b, &c.Margins[i])
	}
	b = append(b, `},"expectedMargin":{`...)
	for i, m := range c.Margins {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, m.Class)
		b = append(b, ':')
		b = appendFloat(b, m.Expected)
	}
	return append(b, '}')
}

// appendFloat writes x as a JSON number; JSON has no NaN or infinity, so
// those (which a healthy model never produces) are written as 0.
func appendFloat(b []byte, x float64) []byte {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return append(b, '0')
	}
	return strconv.AppendFloat(b, x, 'g', -1, 64)
}

const hex = "0123456789abcdef"

// AppendJSONString appends s as a JSON string, escaping what JSON requires
// and replacing invalid UTF-8 with U+FFFD, as encoding/json does. Unlike
// encoding/json it leaves <, > and & alone: labels such as <=50K stay
// readable, and these answers are not embedded in HTML.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
