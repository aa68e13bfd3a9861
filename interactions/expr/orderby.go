package expr

import (
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// OrderKey is one key of a workflow target's order_by.
type OrderKey struct {
	// Path is the attribute path, split into keys as in Expr.Paths; callers
	// sort by Lookup(doc, Path).
	Path []string
	Desc bool
}

// ParseOrderBy parses an order_by clause such as
// "worker.level DESC, worker.english ASC": paths separated by commas, each
// with an optional, case-insensitive ASC (the default) or DESC. Errors are
// *SyntaxError.
func ParseOrderBy(src string) ([]OrderKey, error) {
	toks, err := scan(src)
	if err != nil {
		return nil, err
	}
	ast, err := orderByParser.ParseString("", src)
	if err != nil {
		return nil, parseError(src, toks, err, expectInOrderBy)
	}
	keys := make([]OrderKey, len(ast.Keys))
	for i, k := range ast.Keys {
		keys[i] = OrderKey{Path: splitPath(k.Path), Desc: strings.EqualFold(k.Dir, "DESC")}
	}
	return keys, nil
}

func expectInOrderBy(toks []lexer.Token, i int) string {
	if i == 0 {
		return "expected an attribute"
	}
	prev := toks[i-1]
	switch {
	case !isNameToken(prev):
		return "expected an attribute after " + show(prev)
	case i >= 2 && isNameToken(toks[i-2]) &&
		(strings.EqualFold(prev.Value, "ASC") || strings.EqualFold(prev.Value, "DESC")):
		return `expected "," after ` + show(prev)
	}
	return `expected ASC, DESC or "," after ` + show(prev)
}
