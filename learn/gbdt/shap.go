package gbdt

// Contributions by TreeSHAP (Lundberg, Erion and Lee, "Consistent
// individualized feature attribution for tree ensembles", 2018): the
// exact Shapley values of each feature for one record, with the training
// rows that went through each node (Cover) standing for the data
// distribution. A record's contributions and the expected margin add up to
// its margin.

// pathElem is one feature on the path from the root to a node: the share
// of the paths that go its way when the feature is unknown (zero) and when
// it is known (one, 0 or 1), and the weight of the subsets of that size.
type pathElem struct {
	feat      int32
	zero, one float64
	weight    float64
}

// Contributions adds to out, for one binned record, each feature's
// contribution to the margin of each class: out[c*(Width()+1)+f] for
// feature f, and out[c*(Width()+1)+Width()] the expected margin (the base
// margin and each tree's mean leaf).
func (c *Compiled) Contributions(bins []uint8, out []float64) {
	m := c.m
	w := len(m.Features) + 1
	depth := 0
	for t := range m.Roots {
		depth = max(depth, m.depth(m.Roots[t]))
	}
	path := make([]pathElem, (depth+2)*(depth+3)/2)
	for cl := 0; cl < m.K; cl++ {
		out[cl*w+w-1] += m.Base[cl]
	}
	for t, root := range m.Roots {
		phi := out[(t%m.K)*w : (t%m.K+1)*w]
		phi[w-1] += m.expected(root)
		m.shap(root, bins, phi, path, 0, 1, 1, -1)
	}
}

// depth returns the depth of the tree below node i.
func (m *Model) depth(i int32) int {
	if m.Feature[i] < 0 {
		return 0
	}
	return 1 + max(m.depth(m.Left[i]), m.depth(m.Right[i]))
}

// expected returns the mean leaf value below node i, leaves weighted by
// their cover.
func (m *Model) expected(i int32) float64 {
	if m.Feature[i] < 0 {
		return m.Value[i]
	}
	l, r := m.Left[i], m.Right[i]
	return (m.Cover[l]*m.expected(l) + m.Cover[r]*m.expected(r)) / m.Cover[i]
}

// shap walks the tree below node i. path holds the parent's unique path
// (n elements) followed by free space; this node builds its own path right
// after the parent's, so that the parent's stays intact for the sibling.
func (m *Model) shap(i int32, bins []uint8, phi []float64, path []pathElem, n int, zero, one float64, feat int32) {
	own := path[n:]
	copy(own, path[:n])
	extend(own, n, zero, one, feat)
	if m.Feature[i] < 0 {
		for j := 1; j <= n; j++ {
			e := own[j]
			phi[e.feat] += unwoundSum(own, n, j) * (e.one - e.zero) * m.Value[i]
		}
		return
	}
	f := m.Feature[i]
	hot, cold := m.Right[i], m.Left[i]
	if m.goesLeft(i, bins[f]) {
		hot, cold = cold, hot
	}
	inZero, inOne := 1.0, 1.0
	// A feature met again on the path is taken out first: its earlier
	// split and this one act as one.
	for j := 1; j <= n; j++ {
		if own[j].feat == f {
			inZero, inOne = own[j].zero, own[j].one
			unwind(own, n, j)
			n--
			break
		}
	}
	cover := m.Cover[i]
	m.shap(hot, bins, phi, own, n+1, m.Cover[hot]/cover*inZero, inOne, f)
	m.shap(cold, bins, phi, own, n+1, m.Cover[cold]/cover*inZero, 0, f)
}

// extend adds a feature to the path p of n elements, with the shares of
// its paths when unknown (zero) and known (one).
func extend(p []pathElem, n int, zero, one float64, feat int32) {
	p[n] = pathElem{feat: feat, zero: zero, one: one}
	if n == 0 {
		p[n].weight = 1
	}
	for i := n - 1; i >= 0; i-- {
		p[i+1].weight += one * p[i].weight * float64(i+1) / float64(n+1)
		p[i].weight = zero * p[i].weight * float64(n-i) / float64(n+1)
	}
}

// unwind removes element j from the path p of n+1 elements (n is its
// last index), undoing extend.
func unwind(p []pathElem, n, j int) {
	one, zero := p[j].one, p[j].zero
	next := p[n].weight
	for i := n - 1; i >= 0; i-- {
		if one != 0 {
			t := p[i].weight
			p[i].weight = next * float64(n+1) / (float64(i+1) * one)
			next = t - p[i].weight*zero*float64(n-i)/float64(n+1)
		} else {
			p[i].weight = p[i].weight * float64(n+1) / (zero * float64(n-i))
		}
	}
	for i := j; i < n; i++ {
		p[i].feat, p[i].zero, p[i].one = p[i+1].feat, p[i+1].zero, p[i+1].one
	}
}

// unwoundSum is the total weight of the path p (last index n) with
// element j removed, without removing it.
func unwoundSum(p []pathElem, n, j int) float64 {
	one, zero := p[j].one, p[j].zero
	next := p[n].weight
	total := 0.0
	for i := n - 1; i >= 0; i-- {
		if one != 0 {
			t := next * float64(n+1) / (float64(i+1) * one)
			total += t
			next = p[i].weight - t*zero*float64(n-i)/float64(n+1)
		} else if zero != 0 {
			total += p[i].weight / zero * float64(n+1) / float64(n-i)
		}
	}
	return total
}
