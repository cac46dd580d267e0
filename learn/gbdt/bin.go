package gbdt

import (
	"cmp"
	"slices"

	"github.com/perchml/perch"
	"github.com/perchml/perch/recipe"
)

// quantileRows bounds the rows read to place a numeric attribute's bin
// edges: quantiles of a few hundred thousand rows are as good as all.
const quantileRows = 200000

// buildFeatures makes the features of schema s from the training rows:
// every attribute that is not the target, the row id, the row weight or
// excluded, and is not TEXT. TEXT attributes are left out: a tree split on
// one token's presence is rarely worth its cost, and the sgd algorithm
// handles text well.
func buildFeatures(s *perch.Schema, rows [][]string, p *Params) []Feature {
	var fs []Feature
	step := max(1, len(rows)/quantileRows)
	for col, a := range s.Attributes {
		if s.Excluded(a.Name) {
			continue
		}
		f := Feature{Name: a.Name, Column: col, Type: a.Type}
		switch a.Type {
		case perch.Numeric:
			var xs []float64
			for i := 0; i < len(rows); i += step {
				if x, ok := recipe.ParseNumber(rows[i][col]); ok && rows[i][col] != "" {
					xs = append(xs, x)
				}
			}
			if len(xs) == 0 {
				continue
			}
			f.Uppers = uppers(xs, p.MaxBins-1)
		case perch.Binary:
			f.Uppers = []float64{0.5}
		case perch.Categorical:
			f.Categories = categories(rows, col, p.MinCategoryRows, p.MaxBins-2)
		default:
			continue
		}
		fs = append(fs, f)
	}
	return fs
}

// uppers returns the upper edges of at most bins value bins holding about
// as many of xs each. A value frequent enough to fill a bin gets its own.
func uppers(xs []float64, bins int) []float64 {
	slices.Sort(xs)
	var vals []float64
	var counts []int
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			vals = append(vals, x)
			counts = append(counts, 0)
		}
		counts[len(counts)-1]++
	}
	mid := func(i int) float64 {
		m := vals[i] + (vals[i+1]-vals[i])/2
		if m >= vals[i+1] {
			m = vals[i]
		}
		return m
	}
	var up []float64
	if len(vals) <= bins {
		for i := 0; i+1 < len(vals); i++ {
			up = append(up, mid(i))
		}
		return up
	}
	left, binsLeft, acc := len(xs), bins, 0
	for i := 0; i+1 < len(vals) && binsLeft > 1; i++ {
		acc += counts[i]
		target := float64(left) / float64(binsLeft)
		if float64(acc) >= target || float64(counts[i+1]) >= target {
			up = append(up, mid(i))
			left -= acc
			acc = 0
			binsLeft--
		}
	}
	return up
}

// categories returns the values of column col held by at least minRows
// rows, the most frequent first, at most limit of them.
func categories(rows [][]string, col, minRows, limit int) []string {
	counts := map[string]int{}
	for _, r := range rows {
		if v := r[col]; v != "" {
			counts[v]++
		}
	}
	var cs []string
	for v, n := range counts {
		if n >= minRows {
			cs = append(cs, v)
		}
	}
	slices.SortFunc(cs, func(a, b string) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	if len(cs) > limit {
		cs = cs[:limit]
	}
	return cs
}

// binRows returns the bins of every row, row after row: a row's features
// are adjacent, so a histogram pass reads each row's bins in one line.
func binRows(fs []Feature, rows [][]string) []uint8 {
	c := Compile(&Model{Features: fs})
	w := len(fs)
	bins := make([]uint8, len(rows)*w)
	parallel(len(rows), 4096, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			c.Bin(rows[r], bins[r*w:r*w+w])
		}
	})
	return bins
}
