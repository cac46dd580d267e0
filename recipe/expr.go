package recipe

import "strings"

// node is a parsed expression: a name (a variable, group, assignment or
// number) or a call of a function on arguments.
type node struct {
	name string
	call bool
	args []*node
	pos  int // byte offset of name in the expression
}

// maxDepth bounds how deeply calls nest. Real recipes nest three or four
// deep; the bound keeps a hostile recipe from exhausting the stack.
const maxDepth = 64

type exprParser struct {
	s   string
	i   int
	ctx string
}

// parseExpr parses one expression. ctx says where it is in the recipe.
func parseExpr(s, ctx string) (*node, error) {
	p := &exprParser{s: s, ctx: ctx}
	n, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i < len(p.s) {
		return nil, p.errorf("unexpected %q after the expression", p.s[p.i])
	}
	return n, nil
}

func (p *exprParser) errorf(format string, args ...any) error {
	args = append([]any{p.ctx, p.i + 1, p.s}, args...)
	return invalid("recipe: %s: syntax error at column %d of %q: "+format, args...)
}

func (p *exprParser) space() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isWord reports whether c can be part of a name. Names are anything up to
// a space, comma or parenthesis, so attribute names such as capital-gain or
// x.1 can be written as they are.
func isWord(c byte) bool { return !isSpace(c) && c != '(' && c != ')' && c != ',' }

func (p *exprParser) expr(depth int) (*node, error) {
	if depth >= maxDepth {
		return nil, p.errorf("expressions nest more than %d deep", maxDepth)
	}
	p.space()
	start := p.i
	for p.i < len(p.s) && isWord(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		if p.i == len(p.s) {
			return nil, p.errorf("expected a name, found the end")
		}
		return nil, p.errorf("expected a name, found %q", p.s[p.i])
	}
	n := &node{name: p.s[start:p.i], pos: start}
	p.space()
	if p.i == len(p.s) || p.s[p.i] != '(' {
		return n, nil
	}
	n.call = true
	p.i++
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ')' {
		p.i++
		return n, nil
	}
	for {
		a, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		n.args = append(n.args, a)
		p.space()
		if p.i == len(p.s) {
			return nil, p.errorf(`expected "," or ")", found the end`)
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ')':
			p.i++
			return n, nil
		default:
			return nil, p.errorf(`expected "," or ")", found %q`, p.s[p.i])
		}
	}
}

// render writes n in canonical form, with no spaces and with the name
// from replaced by to: the name of one output of an expression over a
// group.
func (n *node) render(b *strings.Builder, from, to string) {
	switch {
	case n.call:
		b.WriteString(n.name)
		b.WriteByte('(')
		for i, a := range n.args {
			if i > 0 {
				b.WriteByte(',')
			}
			a.render(b, from, to)
		}
		b.WriteByte(')')
	case n.name == from:
		b.WriteString(to)
	default:
		b.WriteString(n.name)
	}
}

func (n *node) String() string {
	var b strings.Builder
	n.render(&b, "", "")
	return b.String()
}

// number reads a whole number argument such as the 10 of
// quantile_bin(age, 10).
func number(s string) (int, bool) {
	if len(s) == 0 || len(s) > 9 {
		return 0, false
	}
	k := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		k = k*10 + int(c-'0')
	}
	return k, true
}
