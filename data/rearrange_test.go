package data

import (
	"fmt"
	"hash/fnv"
	"testing"

	"github.com/perchml/perch"
)

func TestParseRearrangement(t *testing.T) {
	tests := []struct {
		in   string
		want *Rearrangement
	}{
		{``, nil},
		{"  \n", nil},
		{`{"splitting":{}}`, &Rearrangement{Begin: 0, End: 100}},
		{`{"splitting":{"percentBegin":10,"percentEnd":60}}`, &Rearrangement{Begin: 10, End: 60}},
		{`{"splitting":{"percentBegin":0,"percentEnd":25,"complement":"true"}}`, &Rearrangement{Begin: 0, End: 25, Complement: true}},
		{`{"splitting":{"percentBegin":"70","percentEnd":" 100 ","complement":true}}`, &Rearrangement{Begin: 70, End: 100, Complement: true}},
		{`{"splitting":{"percentEnd":70,"complement":"false","strategy":"sequential"}}`, &Rearrangement{End: 70}},
		{`{"splitting":{"percentEnd":70.0,"complement":null}}`, &Rearrangement{End: 70}},
		{`{"splitting":{"percentBegin":0,"percentEnd":70,"strategy":"random","randomSeed":"s3://bucket/adult/train.csv"}}`,
			&Rearrangement{End: 70, Random: true, Seed: "s3://bucket/adult/train.csv"}},
		{`{"splitting":{"percentBegin":0,"percentEnd":70,"strategy":"random","strategyParams":{"randomSeed":"s"},"complement":"true"}}`,
			&Rearrangement{End: 70, Random: true, Seed: "s", Complement: true}},
		{`{"splitting":{"percentEnd":70,"strategy":"RANDOM","randomSeed":"s","strategyParams":{"randomSeed":"s"}}}`,
			&Rearrangement{End: 70, Random: true, Seed: "s"}},
		{`{"splitting":{"percentBegin":50,"percentEnd":50,"complement":"true"}}`, &Rearrangement{Begin: 50, End: 50, Complement: true}},
		{`{"splitting":{"percentEnd":70,"randomSeed":"ignored when sequential"}}`, &Rearrangement{End: 70}},
	}
	for _, tt := range tests {
		r, err := ParseRearrangement(tt.in)
		if err != nil {
			t.Errorf("ParseRearrangement(%s): %v", tt.in, err)
			continue
		}
		if (r == nil) != (tt.want == nil) || r != nil && *r != *tt.want {
			t.Errorf("ParseRearrangement(%s) = %+v, want %+v", tt.in, r, tt.want)
		}
	}
}

func TestParseRearrangementErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`null`, `rearrangement: not a JSON object`},
		{`{"splitting":`, `rearrangement: invalid JSON: unexpected end of JSON input`},
		{`{}`, `rearrangement: no "splitting" object`},
		{`{"splitting":null}`, `rearrangement: splitting: not a JSON object`},
		{`{"splitting":{},"shuffle":true}`, `rearrangement: unknown field "shuffle" (want splitting)`},
		{`{"splitting":{"percentbegin":10}}`, `rearrangement: unknown field "percentbegin" in splitting (want percentBegin, percentEnd, complement, strategy, randomSeed or strategyParams)`},
		{`{"splitting":{"percentBegin":-1}}`, `rearrangement: percentBegin -1 is not an integer from 0 to 100`},
		{`{"splitting":{"percentEnd":101}}`, `rearrangement: percentEnd 101 is not an integer from 0 to 100`},
		{`{"splitting":{"percentEnd":70.5}}`, `rearrangement: percentEnd 70.5 is not an integer from 0 to 100`},
		{`{"splitting":{"percentEnd":"seventy"}}`, `rearrangement: percentEnd seventy is not an integer from 0 to 100`},
		{`{"splitting":{"percentEnd":true}}`, `rearrangement: percentEnd true is not an integer from 0 to 100`},
		{`{"splitting":{"percentBegin":70,"percentEnd":30}}`, `rearrangement: percentBegin 70 is greater than percentEnd 30`},
		{`{"splitting":{"percentBegin":40,"percentEnd":40}}`, `rearrangement: percentBegin and percentEnd are both 40, which selects no rows`},
		{`{"splitting":{"complement":"true"}}`, `rearrangement: the complement of percentBegin 0 to percentEnd 100 selects no rows`},
		{`{"splitting":{"complement":"yes"}}`, `rearrangement: complement must be true or false`},
		{`{"splitting":{"strategy":"shuffled"}}`, `rearrangement: unknown strategy "shuffled" (want "sequential" or "random")`},
		{`{"splitting":{"strategy":1}}`, `rearrangement: strategy must be a string`},
		{`{"splitting":{"percentEnd":70,"strategy":"random"}}`, `rearrangement: strategy "random" needs randomSeed`},
		{`{"splitting":{"percentEnd":70,"strategy":"random","randomSeed":""}}`, `rearrangement: strategy "random" needs randomSeed`},
		{`{"splitting":{"strategy":"random","randomSeed":7}}`, `rearrangement: randomSeed must be a string`},
		{`{"splitting":{"strategy":"random","randomSeed":"a","strategyParams":{"randomSeed":"b"}}}`, `rearrangement: randomSeed "a" and strategyParams.randomSeed "b" differ`},
		{`{"splitting":{"strategy":"random","strategyParams":{"seed":"b"}}}`, `rearrangement: unknown field "seed" in strategyParams (want randomSeed)`},
	}
	for _, tt := range tests {
		_, err := ParseRearrangement(tt.in)
		if err == nil {
			t.Errorf("ParseRearrangement(%s): no error, want %s", tt.in, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseRearrangement(%s):\n got %s\nwant %s", tt.in, err, tt.want)
		}
		if perch.Code(err) != perch.EInvalid {
			t.Errorf("ParseRearrangement(%s): code %s, want Invalid", tt.in, perch.Code(err))
		}
	}
}

func TestRearrangementString(t *testing.T) {
	tests := []struct {
		r    *Rearrangement
		want string
	}{
		{nil, ``},
		{&Rearrangement{Begin: 10, End: 60}, `{"splitting":{"percentBegin":10,"percentEnd":60,"strategy":"sequential"}}`},
		{&Rearrangement{End: 70, Complement: true, Random: true, Seed: "s3://b/a&b.csv"},
			`{"splitting":{"percentBegin":0,"percentEnd":70,"complement":"true","strategy":"random","randomSeed":"s3://b/a&b.csv"}}`},
	}
	for _, tt := range tests {
		got := tt.r.String()
		if got != tt.want {
			t.Errorf("String() = %s, want %s", got, tt.want)
		}
		back, err := ParseRearrangement(got)
		if err != nil || (back == nil) != (tt.r == nil) || back != nil && *back != *tt.r {
			t.Errorf("ParseRearrangement(%s) = %+v, %v, want %+v", got, back, err, tt.r)
		}
	}
}

// offsets returns plausible byte offsets of n rows of varying length.
func offsets(n int) []int64 {
	o := make([]int64, n)
	var off int64 = 120 // a header line
	for i := range o {
		o[i] = off
		off += 40 + int64(i*7919%61)
	}
	return o
}

func TestKeepPartition(t *testing.T) {
	for _, total := range []int{0, 1, 2, 3, 7, 10, 99, 100, 101, 1000, 3257} {
		offs := offsets(total)
		for begin := 0; begin <= 100; begin += 5 {
			for end := begin; end <= 100; end += 7 {
				for _, random := range []bool{false, true} {
					r := &Rearrangement{Begin: begin, End: end, Random: random, Seed: "seed"}
					c := *r
					c.Complement = true
					in := 0
					for i := range total {
						a, b := r.Keep(i, total, offs[i]), c.Keep(i, total, offs[i])
						if a == b {
							t.Fatalf("%+v: row %d of %d kept by both or neither", r, i, total)
						}
						if a {
							in++
						}
					}
					if !random {
						if want := end*total/100 - begin*total/100; in != want {
							t.Errorf("%+v on %d rows keeps %d, want %d", r, total, in, want)
						}
					}
					if begin == 0 && end == 100 && in != total {
						t.Errorf("%+v on %d rows keeps %d, want all", r, total, in)
					}
				}
			}
		}
	}
}

func TestKeepSizes(t *testing.T) {
	const total = 32561
	offs := offsets(total)
	for _, random := range []bool{false, true} {
		train := &Rearrangement{End: 70, Random: random, Seed: "s3://bucket/adult/train.csv"}
		n := 0
		for i := range total {
			if train.Keep(i, total, offs[i]) {
				n++
			}
		}
		if frac := float64(n) / total; frac < 0.69 || frac > 0.71 {
			t.Errorf("random %v: 70%% split keeps %d of %d rows (%.3f)", random, n, total, frac)
		}
	}
	// Sequential keeps the first rows.
	r := &Rearrangement{End: 70}
	if !r.Keep(0, 10, 0) || !r.Keep(6, 10, 0) || r.Keep(7, 10, 0) {
		t.Error("sequential 0-70 of 10 rows should keep rows 0..6")
	}
	var none *Rearrangement
	if !none.Keep(5, 10, 0) {
		t.Error("nil Rearrangement should keep every row")
	}
}

func TestKeepRandomDeterministic(t *testing.T) {
	a := &Rearrangement{Begin: 20, End: 50, Random: true, Seed: "x"}
	b := &Rearrangement{Begin: 20, End: 50, Random: true, Seed: "y"}
	var sa, sb string
	for off := range int64(200) {
		// Only the offset matters, not the row index or the total.
		if a.Keep(0, 1, off*13) != a.Keep(int(off), 1000, off*13) {
			t.Fatal("random Keep depends on the row index")
		}
		sa += fmt.Sprint(btoi(a.Keep(0, 0, off*13)))
		sb += fmt.Sprint(btoi(b.Keep(0, 0, off*13)))
	}
	// Pinned: a change here changes every random split ever made.
	const want = "10000000110110000011001000000010000010000000100001010000100110000111010001100100100110001010010000001001001100100100100101000010100100100010110001100010000000000000100101011000001001000000011000000001"
	if sa != want {
		t.Errorf("seed x selects\n%s, want\n%s", sa, want)
	}
	if sa == sb {
		t.Error("seeds x and y select the same rows")
	}
}

// TestKeepRandomIndependent checks that rows at nearby offsets are chosen
// independently: with a 30% split, about 9% of adjacent pairs are both kept.
func TestKeepRandomIndependent(t *testing.T) {
	r := &Rearrangement{End: 30, Random: true, Seed: "s3://bucket/data.csv"}
	const n = 20000
	kept, pairs := 0, 0
	prev := false
	for off := range int64(n) {
		k := r.Keep(0, 0, 1000+off)
		if k {
			kept++
			if prev {
				pairs++
			}
		}
		prev = k
	}
	if kept < n*28/100 || kept > n*32/100 {
		t.Errorf("kept %d of %d, want about 30%%", kept, n)
	}
	if pairs < n*8/100 || pairs > n*10/100 {
		t.Errorf("%d adjacent pairs both kept, want about %d", pairs, n*9/100)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestHashRow(t *testing.T) {
	for _, off := range []int64{0, 7, 120, 1 << 40} {
		h := fnv.New64a()
		fmt.Fprintf(h, "seed/%d", off)
		x := h.Sum64()
		x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
		x = (x ^ x>>27) * 0x94d049bb133111eb
		x ^= x >> 31
		if got, want := hashRow("seed", off), x; got != want {
			t.Errorf("hashRow(seed, %d) = %#x, want %#x", off, got, want)
		}
	}
}
