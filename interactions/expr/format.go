package expr

import (
	"math"
	"strconv"
	"strings"
)

var opNames = [...]string{
	opEq: "==", opNe: "!=", opLt: "<", opLe: "<=", opGt: ">", opGe: ">=",
	opIn: "IN", opNotIn: "NOT IN", opHas: "HAS", opContains: "CONTAINS",
}

// String returns the expression in canonical form: upper-case keywords, ==
// rather than =, AND and OR rather than && and ||, double-quoted strings,
// paths with dots only (a[2] becomes a.2) and only the parentheses that
// precedence needs. Parsing it gives an equivalent expression whose String
// is the same.
func (e *Expr) String() string {
	var b strings.Builder
	e.root.format(&b)
	return b.String()
}

func (n *node) format(b *strings.Builder) {
	switch n.kind {
	case nodeAnd:
		for i := range n.kids {
			if i > 0 {
				b.WriteString(" AND ")
			}
			// Kids of an AND are never ANDs, and an OR inside it needs its
			// parentheses back; kids of an OR never need any.
			if n.kids[i].kind == nodeOr {
				b.WriteByte('(')
				n.kids[i].format(b)
				b.WriteByte(')')
			} else {
				n.kids[i].format(b)
			}
		}
	case nodeOr:
		for i := range n.kids {
			if i > 0 {
				b.WriteString(" OR ")
			}
			n.kids[i].format(b)
		}
	case nodeCmp:
		n.l.format(b)
		b.WriteByte(' ')
		b.WriteString(opNames[n.op])
		b.WriteByte(' ')
		n.r.format(b)
	}
}

func (o *operand) format(b *strings.Builder) {
	if o.path != nil {
		b.WriteString(strings.Join(o.path, "."))
		return
	}
	o.lit.format(b)
}

func (v *value) format(b *strings.Builder) {
	switch v.kind {
	case kindNum:
		// Like encoding/json: plain digits for everyday magnitudes, an
		// exponent only where plain digits would be absurdly long.
		f := byte('f')
		if a := math.Abs(v.num); a != 0 && (a < 1e-6 || a >= 1e21) {
			f = 'e'
		}
		b.WriteString(strconv.FormatFloat(v.num, f, -1, 64))
	case kindStr:
		quote(b, v.str)
	case kindBool:
		b.WriteString(strconv.FormatBool(v.b))
	case kindList:
		b.WriteByte('[')
		for i := range v.lits {
			if i > 0 {
				b.WriteString(", ")
			}
			v.lits[i].format(b)
		}
		b.WriteByte(']')
	}
}

// quote is the inverse of unquote; other bytes, even invalid UTF-8, are
// written as they are, which the lexer accepts back.
func quote(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// Paths returns each distinct attribute path the expression reads, split
// into keys, in order of first appearance; callers use it to check, say, that
// a workflow filter reads only task attributes. The result is a copy.
func (e *Expr) Paths() [][]string {
	out := make([][]string, len(e.paths))
	for i, p := range e.paths {
		out[i] = append([]string(nil), p...)
	}
	return out
}
