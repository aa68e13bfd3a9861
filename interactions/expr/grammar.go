package expr

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// The lexer tries its rules in order. Dotted paths come before keywords so
// that in.x and task.not stay paths, and keywords come before single-key
// identifiers so that a lone "in" is the operator; \b keeps "index" and
// "and_more" identifiers.
var tokens = lexer.MustSimple([]lexer.SimpleRule{
	{Name: "space", Pattern: `\s+`},
	{Name: "String", Pattern: `"(?:\\(?s:.)|[^"\\])*"|'(?:\\(?s:.)|[^'\\])*'`},
	{Name: "Number", Pattern: `-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?`},
	{Name: "Path", Pattern: `[A-Za-z_]\w*(?:\.\w+|\[\d+\])+`},
	{Name: "Keyword", Pattern: `(?i)(?:AND|OR|NOT|IN|HAS|CONTAINS|TRUE|FALSE)\b`},
	{Name: "Ident", Pattern: `[A-Za-z_]\w*`},
	{Name: "Punct", Pattern: `==|!=|>=|<=|&&|\|\||[=<>()\[\],]`},
})

var (
	tokString  = tokens.Symbols()["String"]
	tokNumber  = tokens.Symbols()["Number"]
	tokPath    = tokens.Symbols()["Path"]
	tokKeyword = tokens.Symbols()["Keyword"]
	tokIdent   = tokens.Symbols()["Ident"]
	tokPunct   = tokens.Symbols()["Punct"]
)

// The grammar is LL(1), so the parsers run without lookahead: a branch that
// has consumed a token and then fails is an error right there, which is what
// puts the error position on the offending token rather than on the start of
// the construct that contained it.

type astOr struct {
	Terms []*astAnd `parser:"@@ ( ( 'OR' | '||' ) @@ )*"`
}

type astAnd struct {
	Terms []*astTerm `parser:"@@ ( ( 'AND' | '&&' ) @@ )*"`
}

type astTerm struct {
	Group *astOr         `parser:"  '(' @@ ')'"`
	Cmp   *astComparison `parser:"| @@"`
}

type astComparison struct {
	Left  *astOperand `parser:"@@"`
	NotIn bool        `parser:"( @( 'NOT' 'IN' )"`
	Op    string      `parser:"| @( '==' | '=' | '!=' | '>=' | '<=' | '>' | '<' | 'IN' | 'HAS' | 'CONTAINS' ) )"`
	Right *astOperand `parser:"@@"`
}

// Lists take any operand so that a path or a nested list inside one gets a
// specific error from the compiler rather than a generic one from the parser.
type astOperand struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Bool   *string  `parser:"  @( 'TRUE' | 'FALSE' )"`
	Number *string  `parser:"| @Number"`
	String *string  `parser:"| @String"`
	List   *astList `parser:"| @@"`
	Path   *string  `parser:"| @( Path | Ident )"`
}

type astList struct {
	Items []*astOperand `parser:"'[' ( @@ ( ',' @@ )* )? ']'"`
}

var exprParser = participle.MustBuild[astOr](
	participle.Lexer(tokens),
	participle.CaseInsensitive("Keyword"),
	participle.UseLookahead(0),
)

type astOrderBy struct {
	Keys []*astOrderKey `parser:"@@ ( ',' @@ )*"`
}

type astOrderKey struct {
	Path string `parser:"@( Path | Ident )"`
	Dir  string `parser:"@( 'ASC' | 'DESC' )?"`
}

// ASC and DESC are plain identifiers rather than keywords so that an
// attribute called "desc" still works in expressions.
var orderByParser = participle.MustBuild[astOrderBy](
	participle.Lexer(tokens),
	participle.CaseInsensitive("Ident"),
	participle.UseLookahead(0),
)
