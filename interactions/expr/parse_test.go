package expr

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

type errorCase struct {
	rule string
	expr string
	pos  int
	msg  string
}

// errorCases is also part of the seed corpus of FuzzParse.
var errorCases = []errorCase{
	{"empty input", "", 1, "the expression is empty"},
	{"whitespace only", " \t\n ", 1, "the expression is empty"},
	{"a missing right operand", "skills HAS 'x' AND level ==", 28, `expected a value after "==", found the end of the expression`},
	{"a missing right operand mid-expression", "a == AND b == 1", 6, `expected a value after "==", found "AND"`},
	{"a keyword where a value belongs", "a == and", 6, `expected a value after "==", found "and"`},
	{"a missing operator", "a b", 3, `expected an operator such as ==, IN or HAS after "a", found "b"`},
	{"a bare attribute", "vip", 4, `expected an operator such as ==, IN or HAS after "vip", found the end of the expression`},
	{"a bare attribute before AND", "vip AND a == 1", 5, `expected an operator such as ==, IN or HAS after "vip", found "AND"`},
	{"a missing AND", "a == 1 b == 2", 8, `expected AND or OR after "1", found "b"`},
	{"chained comparisons", "a == b == c", 8, `expected AND or OR after "b", found "=="`},
	{"a dangling AND", "a == 1 AND", 11, `expected a comparison after "AND", found the end of the expression`},
	{"a doubled OR", "a == 1 OR OR b == 2", 11, `expected a comparison after "OR", found "OR"`},
	{"a leading AND", "AND a == 1", 1, `expected a comparison, found "AND"`},
	{"NOT on its own", "NOT a == 1", 1, `expected a comparison, found "NOT"`},
	{"NOT without IN", "a NOT == 1", 7, `expected IN after "NOT", found "=="`},
	{"an unclosed parenthesis", "(a == 1 OR b == 2", 18, `expected AND, OR or ")" after "2", found the end of the expression`},
	{"an unopened parenthesis", "a == 1)", 7, `expected AND or OR after "1", found ")"`},
	{"empty parentheses", "()", 2, `expected a comparison after "(", found ")"`},
	{"an unclosed list", "a IN ['x', 'y'", 15, `expected "," or "]" after 'y', found the end of the expression`},
	{"a list without commas", "a IN [1 2]", 9, `expected "," or "]" after "1", found "2"`},
	{"a trailing comma in a list", "a IN [1, ]", 10, `expected a string, number or boolean after ",", found "]"`},
	{"an attribute in a list", "a IN ['x', b]", 12, `a list may hold only strings, numbers and booleans, found "b"`},
	{"a list in a list", "a IN [[1]]", 7, `a list may hold only strings, numbers and booleans, found "[1]"`},
	{"an unterminated string", "name == 'Ada", 9, "the string starting here is never closed"},
	{"an unterminated string ending in a backslash", `name == "Ada\"`, 9, "the string starting here is never closed"},
	{"a hyphen in a path", "routing.levels.es-mx >= 2", 18, "hyphens are not allowed in attribute names"},
	{"a hyphen before digits in a path", "level-2 == 1", 6, `hyphens are not allowed in attribute names; expected an operator after "level", found "-2"`},
	{"a trailing dot", "a. == 1", 2, `expected a key after "."`},
	{"a hyphen after a number is just unexpected", "a == 1-x", 7, `unexpected character "-"`},
	{"a hyphen after an index", "a[1]-b == 1", 5, "hyphens are not allowed in attribute names"},
	{"a stray character", "a == 1 ; b == 2", 8, `unexpected character ";"`},
	{"a lone !", "a ! b", 3, `unexpected character "!"`},
	{"an invalid byte", "a == \xff", 6, "unexpected byte 0xff"},
	{"positions count characters, not bytes", "name == 'Zoë' AND", 18, `expected a comparison after "AND", found the end of the expression`},
	{"a line break counts as one character", "a == 1 AND\nb", 13, `expected an operator such as ==, IN or HAS after "b", found the end of the expression`},
	{"a number too large", "a == 1e999", 6, `number out of range, found "1e999"`},
	{"IN with a string on the right", "a IN 'abc'", 6, `IN needs a list or an attribute on its right, found 'abc'`},
	{"NOT IN with a number on the right", "a NOT IN 3", 10, `NOT IN needs a list or an attribute on its right, found "3"`},
	{"IN with a list on the left", "['a'] IN b", 1, `IN needs a single value on its left, found "['a']"`},
	{"HAS on a constant string", "'abc' HAS 'a'", 1, `HAS needs a list or an attribute on its left, found 'abc'`},
	{"HAS with a list on the right", "skills HAS ['a', 'b']", 12, `HAS needs a single value on its right, found "['a', 'b']"`},
	{"CONTAINS a number", "name CONTAINS 3", 15, `CONTAINS needs a string or an attribute on its right, found "3"`},
	{"CONTAINS on a boolean", "true CONTAINS 'x'", 1, `CONTAINS needs a string, a list or an attribute on its left, found "true"`},
	{"ordering a boolean", "vip > true", 7, `> compares numbers or strings, found "true"`},
	{"ordering a list", "[1] <= a", 1, `<= compares numbers or strings, found "[1]"`},
	{"equality with a list", "skills == ['a']", 11, `== compares single values; use IN or HAS with a list, found "['a']"`},
	{"inequality with a list", "['a'] != skills", 1, `!= compares single values; use IN or HAS with a list, found "['a']"`},
}

func TestParseErrors(t *testing.T) {
	for _, c := range errorCases {
		t.Run(c.rule, func(t *testing.T) {
			e, err := Parse(c.expr)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want an error", c.expr, e)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error is %T, want *SyntaxError", c.expr, err)
			}
			if se.Pos != c.pos || se.Msg != c.msg {
				t.Errorf("Parse(%q) = position %d %q\nwant position %d %q", c.expr, se.Pos, se.Msg, c.pos, c.msg)
			}
		})
	}
}

func TestSyntaxErrorReadsWithItsPosition(t *testing.T) {
	_, err := Parse("type == 'x' AND priority >= ")
	want := `invalid expression at position 29: expected a value after ">=", found the end of the expression`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestLimits(t *testing.T) {
	t.Run("an expression at the length limit parses", func(t *testing.T) {
		src := "a == '" + strings.Repeat("x", MaxLength-len("a == ''")) + "'"
		if len(src) != MaxLength {
			t.Fatalf("test input is %d bytes", len(src))
		}
		if _, err := Parse(src); err != nil {
			t.Error(err)
		}
	})
	t.Run("an expression over the length limit is rejected", func(t *testing.T) {
		src := "a == '" + strings.Repeat("x", MaxLength) + "'"
		wantError(t, src, MaxLength+1, "the expression is longer than 4096 bytes")
	})
	t.Run("an expression whose canonical form is over the limit is rejected", func(t *testing.T) {
		src := "a=1" + strings.Repeat("||a=1", (MaxLength-3)/5)
		if len(src) > MaxLength {
			t.Fatalf("test input is %d bytes", len(src))
		}
		wantError(t, src, 1, "the expression is longer than 4096 bytes once written out in full")
	})
	t.Run("parentheses at the depth limit parse", func(t *testing.T) {
		src := strings.Repeat("(", MaxDepth) + "a == 1" + strings.Repeat(")", MaxDepth)
		if _, err := Parse(src); err != nil {
			t.Error(err)
		}
	})
	t.Run("parentheses past the depth limit are rejected", func(t *testing.T) {
		src := strings.Repeat("(", MaxDepth+1) + "a == 1" + strings.Repeat(")", MaxDepth+1)
		wantError(t, src, MaxDepth+1, "parentheses and brackets nest more than 32 deep")
	})
	t.Run("brackets count towards the depth limit", func(t *testing.T) {
		src := strings.Repeat("(", MaxDepth) + "a IN [1]" + strings.Repeat(")", MaxDepth)
		wantError(t, src, MaxDepth+6, "parentheses and brackets nest more than 32 deep")
	})
	t.Run("thousands of unclosed parentheses fail fast", func(t *testing.T) {
		wantError(t, strings.Repeat("(", MaxLength), MaxDepth+1, "parentheses and brackets nest more than 32 deep")
	})
}

func wantError(t *testing.T, src string, pos int, msg string) {
	t.Helper()
	_, err := Parse(src)
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a *SyntaxError", err)
	}
	if se.Pos != pos || se.Msg != msg {
		t.Errorf("got position %d %q, want position %d %q", se.Pos, se.Msg, pos, msg)
	}
}

func TestStringIsCanonical(t *testing.T) {
	cases := []struct {
		rule, expr, want string
	}{
		{"spaces around operators", "1==1", "1 == 1"},
		{"= becomes ==", "a=1", "a == 1"},
		{"keywords in upper case", "a in [1] and b has 'x' or c not in [] or d contains 'y'", `a IN [1] AND b HAS "x" OR c NOT IN [] OR d CONTAINS "y"`},
		{"&& and || become AND and OR", "a == 1 && b == 2 || c == 3", "a == 1 AND b == 2 OR c == 3"},
		{"strings in double quotes", "a == 'x'", `a == "x"`},
		{"quotes and backslashes escaped", `a == 'say "hi"' AND b == "it\'s \\ \q"`, `a == "say \"hi\"" AND b == "it's \\ q"`},
		{"control characters escaped", "a == 'x\ny\tz\r'", `a == "x\ny\tz\r"`},
		{"booleans in lower case", "a == TRUE OR b == False", "a == true OR b == false"},
		{"numbers written plainly", "a == 1.50 AND b == 1e3 AND c == -.5 AND d == 0.0", "a == 1.5 AND b == 1000 AND c == -0.5 AND d == 0"},
		{"exponents only for extreme numbers", "a == 1e21 AND b == 0.0000001", "a == 1e+21 AND b == 1e-07"},
		{"indexes become keys", "a[0].b[12] == 1", "a.0.b.12 == 1"},
		{"redundant parentheses dropped", "((a == 1)) AND (b == 2 AND (c == 3))", "a == 1 AND b == 2 AND c == 3"},
		{"parentheses kept around an OR inside an AND", "(a == 1 OR b == 2) AND c == 3", "(a == 1 OR b == 2) AND c == 3"},
		{"parentheses dropped around an AND inside an OR", "(a == 1 AND b == 2) OR c == 3", "a == 1 AND b == 2 OR c == 3"},
		{"nested ORs flattened", "a == 1 OR (b == 2 OR c == 3)", "a == 1 OR b == 2 OR c == 3"},
		{"list spacing", "a IN ['x',\"y\",3,true]", `a IN ["x", "y", 3, true]`},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			e, err := Parse(c.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.String(); got != c.want {
				t.Errorf("String() = %s\nwant       %s", got, c.want)
			}
		})
	}
}

func TestStringRoundTrips(t *testing.T) {
	for _, c := range evalCases {
		t.Run(c.rule, func(t *testing.T) {
			e, err := Parse(c.expr)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Parse(e.String())
			if err != nil {
				t.Fatalf("String() = %s does not parse: %v", e, err)
			}
			if again.String() != e.String() {
				t.Errorf("String() is not stable: %s then %s", e, again)
			}
			if again.Eval(c.doc) != c.want {
				t.Errorf("%s evaluates differently from %s", again, c.expr)
			}
			if !reflect.DeepEqual(again.Paths(), e.Paths()) {
				t.Errorf("Paths() changed from %v to %v", e.Paths(), again.Paths())
			}
		})
	}
}

func TestPaths(t *testing.T) {
	cases := []struct {
		rule string
		expr string
		want [][]string
	}{
		{"no paths in a constant expression", "1==1", [][]string{}},
		{"paths split into keys", "task.language IN worker.languages", [][]string{{"task", "language"}, {"worker", "languages"}}},
		{"a path used twice is listed once", "a == 1 OR b.c == 2 OR a == 3", [][]string{{"a"}, {"b", "c"}}},
		{"indexes are keys", "a[1].b == 2", [][]string{{"a", "1", "b"}}},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			e, err := Parse(c.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Paths(); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Paths() = %v, want %v", got, c.want)
			}
		})
	}
	t.Run("the result is a copy", func(t *testing.T) {
		e, err := Parse("a.b == 1")
		if err != nil {
			t.Fatal(err)
		}
		e.Paths()[0][0] = "x"
		if !e.Eval(map[string]any{"a": map[string]any{"b": 1.0}}) {
			t.Error("changing the result of Paths changed the expression")
		}
	})
}

func TestParseOrderBy(t *testing.T) {
	cases := []struct {
		rule string
		src  string
		want []OrderKey
	}{
		{"one key defaults to ascending", "worker.level", []OrderKey{{Path: []string{"worker", "level"}}}},
		{"DESC", "worker.level DESC", []OrderKey{{Path: []string{"worker", "level"}, Desc: true}}},
		{"several keys with mixed-case directions", "worker.level desc, worker.english Asc,worker.x",
			[]OrderKey{{Path: []string{"worker", "level"}, Desc: true}, {Path: []string{"worker", "english"}}, {Path: []string{"worker", "x"}}}},
		{"a key named like a direction", "desc DESC", []OrderKey{{Path: []string{"desc"}, Desc: true}}},
		{"an indexed key", "worker.scores[1] DESC", []OrderKey{{Path: []string{"worker", "scores", "1"}, Desc: true}}},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			got, err := ParseOrderBy(c.src)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("ParseOrderBy(%q) = %v, want %v", c.src, got, c.want)
			}
		})
	}

	errs := []errorCase{
		{"empty", "  ", 1, "the expression is empty"},
		{"a trailing comma", "worker.level DESC,", 19, `expected an attribute after ",", found the end of the expression`},
		{"a missing comma", "worker.level worker.x", 14, `expected ASC, DESC or "," after "worker.level", found "worker.x"`},
		{"a missing comma after a direction", "worker.level DESC worker.x", 19, `expected "," after "DESC", found "worker.x"`},
		{"an unknown direction", "worker.level DOWN", 14, `expected ASC, DESC or "," after "worker.level", found "DOWN"`},
		{"a constant", "3 DESC", 1, `expected an attribute, found "3"`},
		{"a hyphen", "worker.first-name", 13, "hyphens are not allowed in attribute names"},
	}
	for _, c := range errs {
		t.Run(c.rule, func(t *testing.T) {
			_, err := ParseOrderBy(c.expr)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseOrderBy(%q) = %v, want a *SyntaxError", c.expr, err)
			}
			if se.Pos != c.pos || se.Msg != c.msg {
				t.Errorf("ParseOrderBy(%q) = position %d %q\nwant position %d %q", c.expr, se.Pos, se.Msg, c.pos, c.msg)
			}
		})
	}
}
