package expr

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"
)

// fuzzDocs are the fixed documents on which a canonical form must agree with
// the expression it came from.
var fuzzDocs = []map[string]any{nil, workerDoc, taskDoc, targetDoc, skipDoc, goDoc}

func FuzzParse(f *testing.F) {
	for _, c := range evalCases {
		f.Add(c.expr)
	}
	for _, c := range errorCases {
		f.Add(c.expr)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error is %T, want *SyntaxError", src, err)
			}
			if se.Pos < 1 || se.Pos > utf8.RuneCountInString(src)+1 {
				t.Fatalf("Parse(%q) error position %d is outside the input", src, se.Pos)
			}
			return
		}
		canon := e.String()
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", src, canon, err)
		}
		if again.String() != canon {
			t.Fatalf("String() is not stable for %q: %q then %q", src, canon, again.String())
		}
		if !reflect.DeepEqual(again.Paths(), e.Paths()) {
			t.Fatalf("Paths() of %q changed from %v to %v", src, e.Paths(), again.Paths())
		}
		for _, doc := range fuzzDocs {
			if e.Eval(doc) != again.Eval(doc) {
				t.Fatalf("%q and its canonical form %q disagree on %v", src, canon, doc)
			}
		}
	})
}

func FuzzEval(f *testing.F) {
	docs := []string{
		`{}`,
		`{"a": null, "b": [1, "x", null, [2], {"c": 3}], "c": {"d": {"e": "f"}}}`,
		`{"routing": {"skills": ["support"], "levels": {"support": 3}}, "languages": ["en"]}`,
		`{"task": {"language": "en", "priority": 1e308}, "worker": {"languages": [], "level": -0}}`,
		`{"workers": {"available": 0, "unavailable": 2}}`,
	}
	for i, c := range evalCases {
		f.Add(c.expr, docs[i%len(docs)])
	}
	f.Fuzz(func(t *testing.T, src, doc string) {
		e, err := Parse(src)
		if err != nil {
			return
		}
		var root map[string]any
		if json.Unmarshal([]byte(doc), &root) != nil {
			return
		}
		got := e.Eval(root)
		again, err := Parse(e.String())
		if err != nil {
			t.Fatalf("canonical form %q does not parse: %v", e.String(), err)
		}
		if again.Eval(root) != got {
			t.Fatalf("%q and its canonical form %q disagree on %s", src, e.String(), doc)
		}
		for _, p := range e.Paths() {
			Lookup(root, p)
		}
	})
}

func FuzzParseOrderBy(f *testing.F) {
	for _, s := range []string{"worker.level DESC, worker.english ASC", "a", "desc desc", "a[1] asc,b", "a,", "a b", "3 DESC", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		keys, err := ParseOrderBy(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseOrderBy(%q) error is %T, want *SyntaxError", src, err)
			}
			if se.Pos < 1 || se.Pos > utf8.RuneCountInString(src)+1 {
				t.Fatalf("ParseOrderBy(%q) error position %d is outside the input", src, se.Pos)
			}
			return
		}
		if len(keys) == 0 {
			t.Fatalf("ParseOrderBy(%q) accepted no keys", src)
		}
		for _, k := range keys {
			if len(k.Path) == 0 {
				t.Fatalf("ParseOrderBy(%q) has an empty path", src)
			}
		}
	})
}
