package data

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/perchml/perch"
)

// Rearrangement is an AML DataRearrangement: the part of a data file a
// datasource uses. It keeps the rows whose position falls in
// [Begin, End) percent of the file, or, with Complement, the rows outside
// it, so that a split and its complement partition the file exactly.
//
// Sequential rearrangements place rows by their index in the file. Random
// ones place each row by a hash of Seed and the row's byte offset in the
// file, as AML did: the split does not depend on reading order, and it
// changes when the data before a row changes.
type Rearrangement struct {
	Begin, End int // percent, 0 <= Begin <= End <= 100
	Complement bool
	Random     bool
	Seed       string // Random only
}

// ParseRearrangement parses AML's DataRearrangement JSON, for example
// {"splitting":{"percentBegin":0,"percentEnd":70,"strategy":"random","randomSeed":"s3://b/adult.csv"}}.
// An empty string means all the data and gives a nil *Rearrangement.
//
// As AML did, it accepts percentages written as strings ("70"), complement
// written as the string "true", and the random seed either in splitting or
// in splitting.strategyParams. Unknown fields are errors, so that a
// misspelt percentBegin does not silently select all the data.
func ParseRearrangement(s string) (*Rearrangement, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if len(s) > perch.MaxRecipeBytes {
		return nil, invalid("rearrangement: %d bytes, more than the limit of %d", len(s), perch.MaxRecipeBytes)
	}
	top, err := decodeObject([]byte(s), "rearrangement")
	if err != nil {
		return nil, err
	}
	var split map[string]json.RawMessage
	for _, k := range slices.Sorted(maps.Keys(top)) {
		v := top[k]
		if k != "splitting" {
			return nil, invalid("rearrangement: unknown field %q (want splitting)", k)
		}
		if split, err = decodeObject(v, "rearrangement: splitting"); err != nil {
			return nil, err
		}
	}
	if split == nil {
		return nil, invalid(`rearrangement: no "splitting" object`)
	}

	r := &Rearrangement{End: 100}
	strategy := "sequential"
	seed, paramSeed := "", ""
	for _, k := range slices.Sorted(maps.Keys(split)) {
		v := split[k]
		if isNull(v) {
			continue
		}
		switch k {
		case "percentBegin":
			r.Begin, err = decodePercent(k, v)
		case "percentEnd":
			r.End, err = decodePercent(k, v)
		case "complement":
			r.Complement, err = decodeBool(v)
			if err != nil {
				err = invalid(`rearrangement: complement must be true or false`)
			}
		case "strategy":
			if err = json.Unmarshal(v, &strategy); err != nil {
				err = invalid("rearrangement: strategy must be a string")
			}
		case "randomSeed":
			if err = json.Unmarshal(v, &seed); err != nil {
				err = invalid("rearrangement: randomSeed must be a string")
			}
		case "strategyParams":
			var p map[string]json.RawMessage
			if p, err = decodeObject(v, "rearrangement: strategyParams"); err != nil {
				break
			}
			for _, pk := range slices.Sorted(maps.Keys(p)) {
				pv := p[pk]
				if pk != "randomSeed" {
					return nil, invalid("rearrangement: unknown field %q in strategyParams (want randomSeed)", pk)
				}
				if !isNull(pv) && json.Unmarshal(pv, &paramSeed) != nil {
					return nil, invalid("rearrangement: randomSeed must be a string")
				}
			}
		default:
			return nil, invalid("rearrangement: unknown field %q in splitting (want percentBegin, percentEnd, complement, strategy, randomSeed or strategyParams)", k)
		}
		if err != nil {
			return nil, err
		}
	}

	switch strings.ToLower(strategy) {
	case "sequential":
	case "random":
		r.Random = true
		switch {
		case seed != "" && paramSeed != "" && seed != paramSeed:
			return nil, invalid("rearrangement: randomSeed %q and strategyParams.randomSeed %q differ", seed, paramSeed)
		case seed == "":
			seed = paramSeed
		}
		if seed == "" {
			return nil, invalid(`rearrangement: strategy "random" needs randomSeed`)
		}
		r.Seed = seed
	default:
		return nil, invalid(`rearrangement: unknown strategy %q (want "sequential" or "random")`, strategy)
	}
	switch {
	case r.Begin > r.End:
		return nil, invalid("rearrangement: percentBegin %d is greater than percentEnd %d", r.Begin, r.End)
	case r.Begin == r.End && !r.Complement:
		return nil, invalid("rearrangement: percentBegin and percentEnd are both %d, which selects no rows", r.Begin)
	case r.Begin == 0 && r.End == 100 && r.Complement:
		return nil, invalid("rearrangement: the complement of percentBegin 0 to percentEnd 100 selects no rows")
	}
	return r, nil
}

// decodeObject decodes a JSON object into its fields.
func decodeObject(b []byte, what string) (map[string]json.RawMessage, error) {
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		return nil, invalid("%s: not a JSON object", what)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, invalid("%s: invalid JSON: %v", what, err)
	}
	return m, nil
}

// decodePercent reads an integer percentage, given as a JSON number or as
// a string holding one.
func decodePercent(key string, raw json.RawMessage) (int, error) {
	text := string(bytes.TrimSpace(raw))
	if strings.HasPrefix(text, `"`) {
		if json.Unmarshal(raw, &text) != nil {
			return 0, invalid("rearrangement: %s must be an integer from 0 to 100", key)
		}
		text = strings.TrimSpace(text)
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f > 100 {
		if len(text) > 20 {
			text = text[:20] + "..."
		}
		return 0, invalid("rearrangement: %s %s is not an integer from 0 to 100", key, text)
	}
	return int(f), nil
}

// Keep reports whether the row with index row (from 0) of a file of total
// rows, starting at byte offset in the file, is part of the rearranged
// data. A nil Rearrangement keeps every row.
//
// Sequential: the rows from Begin*total/100 up to End*total/100, rounded
// down. Random: the rows whose number u in [0, 100), derived from a hash
// of Seed, "/" and the decimal offset (see hashRow), lies in [Begin, End).
// Complement keeps the other rows.
func (r *Rearrangement) Keep(row, total int, offset int64) bool {
	if r == nil {
		return true
	}
	var in bool
	if r.Random {
		// u = x/2^53*100 for the top 53 bits x of the hash; compared in
		// integers so that End 100 keeps every row.
		x := hashRow(r.Seed, offset) >> 11
		in = x*100 >= uint64(r.Begin)<<53 && x*100 < uint64(r.End)<<53
	} else {
		lo := int(int64(r.Begin) * int64(total) / 100)
		hi := int(int64(r.End) * int64(total) / 100)
		in = lo <= row && row < hi
	}
	return in != r.Complement
}

// hashRow is FNV-1a 64 of seed + "/" + the decimal offset, computed
// without allocating, then mixed with the SplitMix64 finalizer. The mixing
// matters: the top bits of FNV-1a barely move when only the last bytes
// change, so nearby offsets would otherwise land in runs on the same side
// of the split.
func hashRow(seed string, offset int64) uint64 {
	const (
		basis = 14695981039346656037
		prime = 1099511628211
	)
	h := uint64(basis)
	for i := 0; i < len(seed); i++ {
		h ^= uint64(seed[i])
		h *= prime
	}
	h ^= '/'
	h *= prime
	var buf [20]byte
	for _, c := range strconv.AppendInt(buf[:0], offset, 10) {
		h ^= uint64(c)
		h *= prime
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// String returns r as canonical DataRearrangement JSON, which
// ParseRearrangement reads back to the same value; "" for nil.
func (r *Rearrangement) String() string {
	if r == nil {
		return ""
	}
	type splitting struct {
		Begin      int    `json:"percentBegin"`
		End        int    `json:"percentEnd"`
		Complement string `json:"complement,omitempty"`
		Strategy   string `json:"strategy"`
		Seed       string `json:"randomSeed,omitempty"`
	}
	sp := splitting{Begin: r.Begin, End: r.End, Strategy: "sequential"}
	if r.Complement {
		sp.Complement = "true" // AML's spelling
	}
	if r.Random {
		sp.Strategy = "random"
		sp.Seed = r.Seed
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(struct {
		Splitting splitting `json:"splitting"`
	}{sp})
	return strings.TrimSuffix(b.String(), "\n")
}
