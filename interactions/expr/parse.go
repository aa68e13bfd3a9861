package expr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// Limits on what Parse accepts, so that a saved expression can never make
// routing slow or deep: far beyond any real routing rule, far below anything
// that could hurt.
const (
	// MaxLength is the longest expression, in bytes, both as given and in
	// its canonical form (see Expr.String).
	MaxLength = 4096
	// MaxDepth is how deeply parentheses and brackets may nest.
	MaxDepth = 32
)

// SyntaxError is why Parse or ParseOrderBy rejected its input.
type SyntaxError struct {
	// Pos is the 1-based position of the offending character, counted in
	// characters (not bytes) from the start of the input; a line break
	// counts as one character.
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid expression at position %d: %s", e.Pos, e.Msg)
}

// Parse parses and checks an expression; see the package documentation for
// the language. Errors are *SyntaxError.
func Parse(src string) (*Expr, error) {
	toks, err := scan(src)
	if err != nil {
		return nil, err
	}
	ast, err := exprParser.ParseString("", src)
	if err != nil {
		return nil, parseError(src, toks, err, expectInExpr)
	}
	c := compiler{src: src, seen: map[string]bool{}}
	root, err := c.or(ast)
	if err != nil {
		return nil, err
	}
	e := &Expr{root: root, paths: c.paths}
	// Canonical form can be longer than the source (a=1 becomes a == 1);
	// holding it to the same limit is what lets String always re-parse.
	if len(e.String()) > MaxLength {
		return nil, &SyntaxError{
			Pos: 1,
			Msg: fmt.Sprintf("the expression is longer than %d bytes once written out in full", MaxLength),
		}
	}
	return e, nil
}

// scan lexes src ahead of the parser to enforce the limits before any
// recursion happens, and to give error messages the tokens around a mistake.
func scan(src string) ([]lexer.Token, error) {
	if len(src) > MaxLength {
		return nil, &SyntaxError{
			Pos: position(src, MaxLength),
			Msg: fmt.Sprintf("the expression is longer than %d bytes", MaxLength),
		}
	}
	lex, err := tokens.LexString("", src)
	if err != nil {
		return nil, &SyntaxError{Pos: 1, Msg: err.Error()}
	}
	toks, err := lexer.ConsumeAll(lex)
	if err != nil {
		return nil, lexError(src, err)
	}
	if len(toks) == 1 {
		return nil, &SyntaxError{Pos: 1, Msg: "the expression is empty"}
	}
	depth := 0
	for _, t := range toks {
		switch {
		case isPunct(t, "(", "["):
			depth++
		case isPunct(t, ")", "]"):
			depth--
		}
		if depth > MaxDepth {
			return nil, &SyntaxError{
				Pos: position(src, t.Pos.Offset),
				Msg: fmt.Sprintf("parentheses and brackets nest more than %d deep", MaxDepth),
			}
		}
	}
	return toks, nil
}

// position turns a byte offset into a SyntaxError.Pos.
func position(src string, offset int) int {
	return utf8.RuneCountInString(src[:offset]) + 1
}

func lexError(src string, err error) error {
	var le *lexer.Error
	if !errors.As(err, &le) {
		return &SyntaxError{Pos: 1, Msg: err.Error()}
	}
	off := le.Pos.Offset
	afterName := endsInPath(src[:off])
	r, size := utf8.DecodeRuneInString(src[off:])
	var msg string
	switch {
	case r == '"' || r == '\'':
		msg = "the string starting here is never closed"
	case r == '-' && afterName:
		msg = "hyphens are not allowed in attribute names"
	case r == '.' && afterName:
		msg = `expected a key after "."`
	case r == utf8.RuneError && size == 1:
		msg = fmt.Sprintf("unexpected byte 0x%02x", src[off])
	default:
		msg = "unexpected character " + strconv.Quote(string(r))
	}
	return &SyntaxError{Pos: position(src, off), Msg: msg}
}

// endsInPath reports whether s ends in an attribute path, so that the
// hyphen of "es-mx" gets a message about names and the one of "1-x" does not.
func endsInPath(s string) bool {
	i := len(s)
	for i > 0 && (isNameByte(s[i-1]) || strings.IndexByte(".[]", s[i-1]) >= 0) {
		i--
	}
	if i == len(s) {
		return false
	}
	c := s[i]
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isNameByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// parseError rewrites a participle error, whose position is reliable but
// whose wording is in terms of the grammar, into a message about what was
// expected after the last good token and what was found instead.
func parseError(src string, toks []lexer.Token, err error, expect func([]lexer.Token, int) string) error {
	var perr participle.Error
	if !errors.As(err, &perr) {
		return &SyntaxError{Pos: 1, Msg: err.Error()}
	}
	off := perr.Position().Offset
	i := 0
	for i < len(toks)-1 && toks[i].Pos.Offset < off {
		i++
	}
	return &SyntaxError{
		Pos: position(src, toks[i].Pos.Offset),
		Msg: expect(toks, i) + ", found " + show(toks[i]),
	}
}

// expectInExpr says what the expression grammar wanted at toks[i], judging by
// the tokens before it.
func expectInExpr(toks []lexer.Token, i int) string {
	if i == 0 {
		return "expected a comparison"
	}
	prev := toks[i-1]
	switch {
	case isNameToken(prev) && toks[i].Type == tokNumber && strings.HasPrefix(toks[i].Value, "-") &&
		prev.Pos.Offset+len(prev.Value) == toks[i].Pos.Offset:
		return "hyphens are not allowed in attribute names; expected an operator after " + show(prev)
	case isLogical(prev) || isPunct(prev, "("):
		return "expected a comparison after " + show(prev)
	case isKeyword(prev, "NOT"):
		return "expected IN after " + show(prev)
	case isComparator(prev):
		return "expected a value after " + show(prev)
	case isPunct(prev, "[", ","):
		return "expected a string, number or boolean after " + show(prev)
	case unclosed(toks[:i], "[", "]"):
		return `expected "," or "]" after ` + show(prev)
	case isPunct(prev, ")") || rightOperand(toks, i-1):
		if unclosed(toks[:i], "(", ")") {
			return `expected AND, OR or ")" after ` + show(prev)
		}
		return "expected AND or OR after " + show(prev)
	}
	return "expected an operator such as ==, IN or HAS after " + show(prev)
}

// rightOperand reports whether the operand ending at toks[j] is the right
// side of a comparison, by looking back for an operator before the start of
// the comparison.
func rightOperand(toks []lexer.Token, j int) bool {
	for ; j >= 0; j-- {
		switch t := toks[j]; {
		case isComparator(t) || isKeyword(t, "NOT"):
			return true
		case isLogical(t) || isPunct(t, "("):
			return false
		}
	}
	return false
}

func unclosed(toks []lexer.Token, open, closing string) bool {
	n := 0
	for _, t := range toks {
		switch {
		case isPunct(t, open):
			n++
		case isPunct(t, closing):
			n--
		}
	}
	return n > 0
}

func isPunct(t lexer.Token, values ...string) bool {
	if t.Type != tokPunct {
		return false
	}
	for _, v := range values {
		if t.Value == v {
			return true
		}
	}
	return false
}

func isKeyword(t lexer.Token, words ...string) bool {
	if t.Type != tokKeyword {
		return false
	}
	for _, w := range words {
		if strings.EqualFold(t.Value, w) {
			return true
		}
	}
	return false
}

func isNameToken(t lexer.Token) bool { return t.Type == tokPath || t.Type == tokIdent }

func isLogical(t lexer.Token) bool {
	return isKeyword(t, "AND", "OR") || isPunct(t, "&&", "||")
}

func isComparator(t lexer.Token) bool {
	return isKeyword(t, "IN", "HAS", "CONTAINS") || isPunct(t, "==", "=", "!=", "<", "<=", ">", ">=")
}

// show quotes a token for a message.
func show(t lexer.Token) string {
	if t.EOF() {
		return "the end of the expression"
	}
	return showText(t.Value)
}

// showText quotes source text for a message, except text that is a string
// constant and so already quoted.
func showText(s string) string {
	if s[0] == '"' || s[0] == '\'' {
		return excerpt(s)
	}
	return strconv.Quote(excerpt(s))
}

func excerpt(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max]) + "…"
}

// compiler turns the participle syntax tree into the evaluation tree,
// converting constants and checking what the grammar cannot.
type compiler struct {
	src   string
	paths [][]string
	seen  map[string]bool
}

func (c *compiler) or(x *astOr) (node, error) {
	if len(x.Terms) == 1 {
		return c.and(x.Terms[0])
	}
	n := node{kind: nodeOr}
	for _, t := range x.Terms {
		kid, err := c.and(t)
		if err != nil {
			return node{}, err
		}
		if kid.kind == nodeOr {
			n.kids = append(n.kids, kid.kids...)
		} else {
			n.kids = append(n.kids, kid)
		}
	}
	return n, nil
}

func (c *compiler) and(x *astAnd) (node, error) {
	if len(x.Terms) == 1 {
		return c.term(x.Terms[0])
	}
	n := node{kind: nodeAnd}
	for _, t := range x.Terms {
		kid, err := c.term(t)
		if err != nil {
			return node{}, err
		}
		if kid.kind == nodeAnd {
			n.kids = append(n.kids, kid.kids...)
		} else {
			n.kids = append(n.kids, kid)
		}
	}
	return n, nil
}

func (c *compiler) term(x *astTerm) (node, error) {
	if x.Group != nil {
		return c.or(x.Group)
	}
	return c.comparison(x.Cmp)
}

var operators = map[string]cmpOp{
	"==": opEq, "=": opEq, "!=": opNe,
	"<": opLt, "<=": opLe, ">": opGt, ">=": opGe,
	"IN": opIn, "HAS": opHas, "CONTAINS": opContains,
}

func (c *compiler) comparison(x *astComparison) (node, error) {
	op := opNotIn
	if !x.NotIn {
		op = operators[strings.ToUpper(x.Op)]
	}
	l, err := c.operand(x.Left)
	if err != nil {
		return node{}, err
	}
	r, err := c.operand(x.Right)
	if err != nil {
		return node{}, err
	}
	if err := c.check(op, x, &l, &r); err != nil {
		return node{}, err
	}
	return node{kind: nodeCmp, op: op, l: l, r: r}, nil
}

// check rejects constants that make a comparison unable ever to hold, since
// at routing time such a mistake would only show as a task nobody gets.
func (c *compiler) check(op cmpOp, x *astComparison, l, r *operand) error {
	isConst := func(o *operand, kinds ...kind) bool {
		if o.path != nil {
			return false
		}
		for _, k := range kinds {
			if o.lit.kind == k {
				return true
			}
		}
		return false
	}
	name := opNames[op]
	switch op {
	case opEq, opNe:
		if isConst(l, kindList) {
			return c.errorAt(x.Left, name+" compares single values; use IN or HAS with a list")
		}
		if isConst(r, kindList) {
			return c.errorAt(x.Right, name+" compares single values; use IN or HAS with a list")
		}
	case opLt, opLe, opGt, opGe:
		if isConst(l, kindBool, kindList) {
			return c.errorAt(x.Left, name+" compares numbers or strings")
		}
		if isConst(r, kindBool, kindList) {
			return c.errorAt(x.Right, name+" compares numbers or strings")
		}
	case opIn, opNotIn:
		if isConst(l, kindList) {
			return c.errorAt(x.Left, name+" needs a single value on its left")
		}
		if isConst(r, kindNum, kindStr, kindBool) {
			return c.errorAt(x.Right, name+" needs a list or an attribute on its right")
		}
	case opHas:
		if isConst(l, kindNum, kindStr, kindBool) {
			return c.errorAt(x.Left, "HAS needs a list or an attribute on its left")
		}
		if isConst(r, kindList) {
			return c.errorAt(x.Right, "HAS needs a single value on its right")
		}
	case opContains:
		if isConst(l, kindNum, kindBool) {
			return c.errorAt(x.Left, "CONTAINS needs a string, a list or an attribute on its left")
		}
		if isConst(r, kindNum, kindBool, kindList) {
			return c.errorAt(x.Right, "CONTAINS needs a string or an attribute on its right")
		}
	}
	return nil
}

// errorAt reports msg at operand x. EndPos is where the next token starts,
// so the operand's text is trimmed of the whitespace before it.
func (c *compiler) errorAt(x *astOperand, msg string) error {
	return &SyntaxError{
		Pos: position(c.src, x.Pos.Offset),
		Msg: msg + ", found " + showText(strings.TrimSpace(c.src[x.Pos.Offset:x.EndPos.Offset])),
	}
}

func (c *compiler) operand(x *astOperand) (operand, error) {
	if x.Path != nil {
		segs := splitPath(*x.Path)
		if key := strings.Join(segs, "."); !c.seen[key] {
			c.seen[key] = true
			c.paths = append(c.paths, segs)
		}
		return operand{path: segs}, nil
	}
	v, err := c.constant(x)
	return operand{lit: v}, err
}

func (c *compiler) constant(x *astOperand) (value, error) {
	switch {
	case x.Bool != nil:
		return value{kind: kindBool, b: strings.EqualFold(*x.Bool, "true")}, nil
	case x.Number != nil:
		f, err := strconv.ParseFloat(*x.Number, 64)
		if err != nil {
			return value{}, c.errorAt(x, "number out of range")
		}
		return value{kind: kindNum, num: f}, nil
	case x.String != nil:
		return value{kind: kindStr, str: unquote(*x.String)}, nil
	}
	v := value{kind: kindList, lits: make([]value, 0, len(x.List.Items))}
	for _, item := range x.List.Items {
		if item.Path != nil || item.List != nil {
			return value{}, c.errorAt(item, "a list may hold only strings, numbers and booleans")
		}
		el, err := c.constant(item)
		if err != nil {
			return value{}, err
		}
		v.lits = append(v.lits, el)
	}
	return v, nil
}

// splitPath splits a lexed path such as a.b[2].c into its keys; an index
// becomes a key like any other, and Lookup reads it as an index on a list.
func splitPath(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '.' || r == '[' || r == ']' })
}

// unquote strips the quotes of a lexed string and resolves its escapes.
func unquote(s string) string {
	s = s[1 : len(s)-1]
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' {
			i++ // the lexer guarantees a character after every backslash
			switch c = s[i]; c {
			case 'n':
				c = '\n'
			case 't':
				c = '\t'
			case 'r':
				c = '\r'
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}
