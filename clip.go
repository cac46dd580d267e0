package perch

import (
	"strconv"
	"unicode/utf8"
)

// maxEcho is the most of a caller's id a message repeats.
const maxEcho = 64

// Clip returns s as a message may repeat it: whole when short, otherwise
// its first bytes and its length, so that an error answering an unknown
// id of a megabyte is not a megabyte itself.
func Clip(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	n := maxEcho
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}
