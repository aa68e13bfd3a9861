package expr

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Expr is a parsed expression. It is immutable, so one Expr may be evaluated
// from many goroutines at once.
type Expr struct {
	root  node
	paths [][]string
}

type nodeKind uint8

const (
	nodeAnd nodeKind = iota
	nodeOr
	nodeCmp
)

type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
	opIn
	opNotIn
	opHas
	opContains
)

// node is an AND or OR of its kids, or a comparison of l and r. Nested ANDs
// and ORs are flattened at parse time, so the depth of the tree is bounded by
// the nesting of parentheses that alternate AND and OR.
type node struct {
	kind nodeKind
	kids []node
	op   cmpOp
	l, r operand
}

// operand is a path to look up, or (when path is nil) a constant converted
// once at parse time.
type operand struct {
	path []string
	lit  value
}

type kind uint8

const (
	kindNull kind = iota // missing, JSON null, or a type the language has no use for
	kindNum
	kindStr
	kindBool
	kindList
	kindObject
)

// value is a resolved operand. It is a plain struct rather than an interface
// so that resolving a path does not allocate. A list keeps the slice it came
// from in one of anys, strs or lits; when all three are nil it is empty.
type value struct {
	kind kind
	b    bool
	num  float64
	str  string
	anys []any
	strs []string
	lits []value
}

func (v *value) len() int {
	switch {
	case v.anys != nil:
		return len(v.anys)
	case v.strs != nil:
		return len(v.strs)
	}
	return len(v.lits)
}

func (v *value) at(i int) value {
	switch {
	case v.anys != nil:
		return valueOf(v.anys[i])
	case v.strs != nil:
		return value{kind: kindStr, str: v.strs[i]}
	}
	return v.lits[i]
}

func (v *value) scalar() bool {
	return v.kind == kindNum || v.kind == kindStr || v.kind == kindBool
}

// valueOf converts a decoded JSON value, or a Go value a caller put in the
// document, without allocating.
func valueOf(x any) value {
	switch x := x.(type) {
	case string:
		return value{kind: kindStr, str: x}
	case float64:
		return value{kind: kindNum, num: x}
	case bool:
		return value{kind: kindBool, b: x}
	case int:
		return value{kind: kindNum, num: float64(x)}
	case int64:
		return value{kind: kindNum, num: float64(x)}
	case int32:
		return value{kind: kindNum, num: float64(x)}
	case int16:
		return value{kind: kindNum, num: float64(x)}
	case int8:
		return value{kind: kindNum, num: float64(x)}
	case uint:
		return value{kind: kindNum, num: float64(x)}
	case uint64:
		return value{kind: kindNum, num: float64(x)}
	case uint32:
		return value{kind: kindNum, num: float64(x)}
	case uint16:
		return value{kind: kindNum, num: float64(x)}
	case uint8:
		return value{kind: kindNum, num: float64(x)}
	case float32:
		return value{kind: kindNum, num: float64(x)}
	case json.Number:
		// Documents decoded with UseNumber keep numbers as text.
		if f, err := strconv.ParseFloat(string(x), 64); err == nil {
			return value{kind: kindNum, num: f}
		}
	case []any:
		return value{kind: kindList, anys: x}
	case []string:
		return value{kind: kindList, strs: x}
	case map[string]any:
		return value{kind: kindObject}
	}
	return value{kind: kindNull}
}

// Lookup follows path through root one key at a time and reports whether
// every key was found. Maps are entered by key and lists ([]any or []string)
// by a decimal index. A key whose value is JSON null is found, with a nil
// value.
func Lookup(root map[string]any, path []string) (any, bool) {
	var cur any = root
	for _, seg := range path {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[seg]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, ok := index(seg)
			if !ok || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		case []string:
			i, ok := index(seg)
			if !ok || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// index parses a list index without strconv, whose errors allocate; it
// rejects anything long enough to overflow.
func index(seg string) (int, bool) {
	if seg == "" || len(seg) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func (o *operand) resolve(root map[string]any) value {
	if o.path == nil {
		return o.lit
	}
	x, ok := Lookup(root, o.path)
	if !ok {
		return value{kind: kindNull}
	}
	return valueOf(x)
}

// Eval reports whether the document root satisfies the expression. root is
// decoded JSON (map[string]any, []any, string, float64, bool, nil), and may
// also hold Go integers, float32, json.Number and []string; anything else
// reads as null. A nil root is an empty document.
func (e *Expr) Eval(root map[string]any) bool {
	return e.root.eval(root)
}

func (n *node) eval(root map[string]any) bool {
	switch n.kind {
	case nodeAnd:
		for i := range n.kids {
			if !n.kids[i].eval(root) {
				return false
			}
		}
		return true
	case nodeOr:
		for i := range n.kids {
			if n.kids[i].eval(root) {
				return true
			}
		}
		return false
	}
	l := n.l.resolve(root)
	r := n.r.resolve(root)
	return compare(n.op, &l, &r)
}

func compare(op cmpOp, l, r *value) bool {
	switch op {
	case opEq:
		return equal(l, r)
	case opNe:
		return !equal(l, r)
	case opLt, opLe, opGt, opGe:
		c, ok := order(l, r)
		if !ok {
			return false
		}
		switch op {
		case opLt:
			return c < 0
		case opLe:
			return c <= 0
		case opGt:
			return c > 0
		}
		return c >= 0
	case opIn:
		return member(r, l)
	case opNotIn:
		return !member(r, l)
	case opHas:
		return member(l, r)
	case opContains:
		return contains(l, r)
	}
	return false
}

// equal is scalar equality: null, lists and objects equal nothing, not even
// themselves, and values of different types are unequal.
func equal(l, r *value) bool {
	if l.kind != r.kind {
		return false
	}
	switch l.kind {
	case kindNum:
		return l.num == r.num
	case kindStr:
		return l.str == r.str
	case kindBool:
		return l.b == r.b
	}
	return false
}

func order(l, r *value) (int, bool) {
	switch {
	case l.kind == kindNum && r.kind == kindNum:
		switch {
		case l.num < r.num:
			return -1, true
		case l.num > r.num:
			return 1, true
		case l.num == r.num:
			return 0, true
		}
		return 0, false // NaN, which only a Go caller can supply
	case l.kind == kindStr && r.kind == kindStr:
		return strings.Compare(l.str, r.str), true
	}
	return 0, false
}

func member(list, x *value) bool {
	if list.kind != kindList || !x.scalar() {
		return false
	}
	for i, n := 0, list.len(); i < n; i++ {
		el := list.at(i)
		if equal(&el, x) {
			return true
		}
	}
	return false
}

func contains(s, sub *value) bool {
	if sub.kind != kindStr {
		return false
	}
	switch s.kind {
	case kindStr:
		return strings.Contains(s.str, sub.str)
	case kindList:
		for i, n := 0, s.len(); i < n; i++ {
			if el := s.at(i); el.kind == kindStr && strings.Contains(el.str, sub.str) {
				return true
			}
		}
	}
	return false
}
