package expr

import (
	"encoding/json"
	"testing"
)

// Documents shaped like the ones the router builds.
var (
	// A Flex worker's attributes, the root for a queue's target_workers.
	workerDoc = decode(`{
		"routing": {"skills": ["support", "billing"], "levels": {"support": 4, "billing": 2}},
		"languages": ["en", "es"],
		"full_name": "Ada Lovelace",
		"email": "ada@example.com",
		"contact_uri": "client:ada",
		"roles": ["agent", "supervisor"],
		"team": "blue",
		"certified": false,
		"rating": 4.5,
		"manager": null
	}`)

	// A task's attributes, the root for a workflow filter.
	taskDoc = decode(`{
		"type": "billing",
		"priority": 7,
		"vip": true,
		"language": "es",
		"customer": {"tier": "gold", "tags": ["urgent", "returning_customer"], "score": "12"},
		"preferred_agents": ["WK1", "WK2"],
		"queues": ["support", "sales"],
		"transcript": "My card was charged twice"
	}`)

	// The root for a workflow target expression and order_by.
	targetDoc = map[string]any{
		"task": taskDoc,
		"worker": decode(`{
			"sid": "WK2",
			"languages": ["es", "pt"],
			"level": 3,
			"activity_name": "Available",
			"channel": {"chat": {"available_capacity_percentage": 50, "available": true, "assigned_tasks": 1}}
		}`),
	}

	// The root for skip_if.
	skipDoc = map[string]any{"workers": map[string]any{"available": 0, "unavailable": 3, "WA1234": 2}}

	// A document built in Go rather than decoded, as callers may do.
	goDoc = map[string]any{
		"count":  int(3),
		"big":    int64(1) << 40,
		"small":  int32(-2),
		"ratio":  float32(0.5),
		"skills": []string{"support", "sales"},
		"num":    json.Number("12.5"),
		"nilmap": map[string]any(nil),
		"other":  struct{}{},
	}
)

func decode(s string) map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		panic(err)
	}
	return m
}

type evalCase struct {
	rule string
	expr string
	doc  map[string]any
	want bool
}

// evalCases is also the seed corpus of the fuzzers.
var evalCases = []evalCase{
	// The classics.
	{"1==1 matches every document", "1==1", workerDoc, true},
	{"1==1 matches an empty document", "1==1", nil, true},
	{"constants compare with each other", "0 != 1", nil, true},
	{"string constants compare with each other", `"apple" != "orange"`, nil, true},

	// Flex skills and levels.
	{"HAS finds a skill in the skills list", "routing.skills HAS 'support'", workerDoc, true},
	{"HAS is false for a skill not in the list", "routing.skills HAS 'sales'", workerDoc, false},
	{"skill and level together", "routing.skills HAS 'support' AND routing.levels.support >= 3", workerDoc, true},
	{"a level below the bar fails", "routing.skills HAS 'billing' AND routing.levels.billing >= 3", workerDoc, false},
	{"a level of a skill the worker lacks is missing", "routing.levels.sales >= 1", workerDoc, false},
	{"roles are a list too", "roles HAS 'supervisor'", workerDoc, true},

	// Workflow filters on task attributes.
	{"filter on type", `type == "billing"`, taskDoc, true},
	{"OR takes either side", `type == "sales" OR (priority > 5 AND vip == true)`, taskDoc, true},
	{"parentheses group the AND", `type == "billing" OR (priority > 9 AND vip == true)`, taskDoc, true},
	{"neither side of the OR", `type == "sales" OR (priority > 9 AND vip == true)`, taskDoc, false},
	{"AND binds tighter than OR", `type == "sales" AND priority > 9 OR vip == true`, taskDoc, true},
	{"AND binds tighter than OR on the other side", `vip == true OR type == "sales" AND priority > 9`, taskDoc, true},
	{"parentheses override precedence", `(vip == true OR type == "sales") AND priority > 9`, taskDoc, false},
	{"single = means ==", "type = 'billing'", taskDoc, true},
	{"&& and || are AND and OR", "type == 'x' || priority == 7 && vip == true", taskDoc, true},
	{"keywords are case-insensitive", "type == 'x' or priority == 7 and vip == TRUE", taskDoc, true},
	{"nested paths", "customer.tier == 'gold'", taskDoc, true},

	// Target expressions over task and worker.
	{"task value IN a worker list", "task.language IN worker.languages", targetDoc, true},
	{"worker value IN a task list", "worker.sid IN task.preferred_agents", targetDoc, true},
	{"constant IN a path list", "'support' IN task.queues", targetDoc, true},
	{"worker channel capacity", "worker.channel.chat.available_capacity_percentage > 0", targetDoc, true},
	{"worker channel availability is a boolean", "worker.channel.chat.available == true", targetDoc, true},
	{"activity name IN a constant list", "worker.activity_name IN ['Available', 'High Value Tasks']", targetDoc, true},
	{"comparing two paths", "worker.level < task.priority", targetDoc, true},

	// skip_if.
	{"skip when nobody is available", "workers.available == 0", skipDoc, true},
	{"skip on an activity count", "workers.WA1234 < 2 OR workers.unavailable > 5", skipDoc, false},

	// IN and NOT IN.
	{"IN a constant list", "language IN ['en', 'es']", taskDoc, true},
	{"IN with double quotes and a number", `priority IN ["7", 7]`, taskDoc, true},
	{"not IN a constant list", "language IN ['en', 'fr']", taskDoc, false},
	{"IN an empty list is false", "language IN []", taskDoc, false},
	{"NOT IN a list without the value", "language NOT IN ['en', 'fr']", taskDoc, true},
	{"NOT IN a list with the value", "language NOT in ['en', 'es']", taskDoc, false},
	{"IN compares types strictly", "priority IN ['7']", taskDoc, false},
	{"IN needs a list on the right, not a string", "language IN type", taskDoc, false},
	{"a list is never IN a list", "queues IN ['support']", taskDoc, false},

	// HAS.
	{"HAS on a constant list", "['a', 'b'] HAS 'b'", nil, true},
	{"HAS on a string is false", "type HAS 'bill'", taskDoc, false},
	{"HAS compares types strictly", "preferred_agents HAS 1", taskDoc, false},

	// CONTAINS.
	{"CONTAINS finds a substring", "transcript CONTAINS 'charged'", taskDoc, true},
	{"CONTAINS is case-sensitive", "transcript CONTAINS 'Charged'", taskDoc, false},
	{"CONTAINS on an email domain", "email CONTAINS '@example.com'", workerDoc, true},
	{"CONTAINS on a list matches any element's substring", "customer.tags CONTAINS 'return'", taskDoc, true},
	{"CONTAINS on a list without a match", "customer.tags CONTAINS 'angry'", taskDoc, false},
	{"CONTAINS the empty string holds for any string", "type CONTAINS ''", taskDoc, true},
	{"CONTAINS on a number is false", "priority CONTAINS '7'", taskDoc, false},

	// Ordering.
	{"numbers order numerically", "priority > 10", taskDoc, false},
	{"integers and floats compare", "rating >= 4.5 AND rating < 5", workerDoc, true},
	{"negative numbers", "priority > -1", taskDoc, true},
	{"strings order byte-wise", "type < 'c' AND type > 'b'", taskDoc, true},
	{"upper case sorts before lower case", "'Z' < 'a'", nil, true},
	{"a numeric string does not order against a number", "customer.score > 5", taskDoc, false},
	{"nor does it equal one", "customer.score == 12", taskDoc, false},

	// Missing attributes.
	{"a missing attribute equals nothing", "department == 'sales'", taskDoc, false},
	{"a missing attribute is unequal to anything", "department != 'sales'", taskDoc, true},
	{"a missing attribute is not ordered", "age > 0 OR age <= 0", taskDoc, false},
	{"a missing attribute is not IN a list", "department IN ['sales']", taskDoc, false},
	{"a missing attribute is NOT IN a list", "department NOT IN ['sales']", taskDoc, true},
	{"a missing list HAS nothing", "certifications HAS 'x'", workerDoc, false},
	{"a missing string CONTAINS nothing", "bio CONTAINS ''", workerDoc, false},
	{"a path through a scalar is missing", "type.name == 'billing'", taskDoc, false},
	{"a path through a missing object is missing", "a.b.c != 1", taskDoc, true},
	{"two missing attributes are not equal", "x == y", taskDoc, false},
	{"JSON null is treated like a missing attribute", "manager == 'x' OR manager > 0", workerDoc, false},
	{"JSON null is unequal to anything", "manager != 'x'", workerDoc, true},
	{"a missing value IN a missing list is false", "x IN y", taskDoc, false},
	{"NOT IN a missing list is true", "language NOT IN nothing", taskDoc, true},

	// Type mismatches.
	{"a number does not equal its string", "priority == '7'", taskDoc, false},
	{"a number is unequal to its string", "priority != '7'", taskDoc, true},
	{"a boolean does not equal a string", "vip == 'true'", taskDoc, false},
	{"a boolean does not equal 1", "vip == 1", taskDoc, false},
	{"false equals false", "certified == false", workerDoc, true},
	{"booleans are not ordered, even against themselves", "vip >= vip", taskDoc, false},
	{"a list does not equal its only element", "roles == 'agent'", workerDoc, false},
	{"an object equals nothing", "routing == routing", workerDoc, false},
	{"a string does not order against a number", "type > 1", taskDoc, false},

	// List indexes.
	{"brackets index a list", "customer.tags[0] == 'urgent'", taskDoc, true},
	{"a numeric key indexes a list", "customer.tags.1 == 'returning_customer'", taskDoc, true},
	{"an index past the end is missing", "customer.tags[2] == 'x'", taskDoc, false},

	// Go values that callers put in documents.
	{"int counts as a number", "count == 3 AND count > 2.5", goDoc, true},
	{"int64 counts as a number", "big == 1099511627776", goDoc, true},
	{"int32 counts as a number", "small < -1", goDoc, true},
	{"float32 counts as a number", "ratio == 0.5", goDoc, true},
	{"json.Number counts as a number", "num > 12", goDoc, true},
	{"[]string is a list", "skills HAS 'sales' AND 'support' IN skills AND skills CONTAINS 'upp'", goDoc, true},
	{"[]string can be indexed", "skills[1] == 'sales'", goDoc, true},
	{"a nil map is an object", "nilmap.x != 1", goDoc, true},
	{"an unknown Go type reads as null", "other != 1 AND other == other", goDoc, false},

	// Keywords in paths.
	{"a keyword may be a later key", "task.not == 1 OR in.x == 2", map[string]any{"in": map[string]any{"x": 2.0}}, true},
	{"a key that starts like a keyword", "index == 1 AND and_more == 2", map[string]any{"index": 1.0, "and_more": 2.0}, true},
	{"true as the first key of a path", "true.x == 1", map[string]any{"true": map[string]any{"x": 1.0}}, true},

	// Strings and numbers as written.
	{"escaped quotes in strings", `name == 'O\'Brien' AND quote == "say \"hi\""`, map[string]any{"name": "O'Brien", "quote": `say "hi"`}, true},
	{"backslash escapes", `path == 'a\\b' AND nl == "x\ny\tz"`, map[string]any{"path": `a\b`, "nl": "x\ny\tz"}, true},
	{"exponents", "n == 1e3 AND m == 2.5E-1 AND o == .5", map[string]any{"n": 1000.0, "m": 0.25, "o": 0.5}, true},
	{"unicode in strings", "name == 'Zoë 😀'", map[string]any{"name": "Zoë 😀"}, true},
}

func TestEval(t *testing.T) {
	for _, c := range evalCases {
		t.Run(c.rule, func(t *testing.T) {
			e, err := Parse(c.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.expr, err)
			}
			if got := e.Eval(c.doc); got != c.want {
				t.Errorf("%s on %v = %v, want %v", c.expr, c.doc, got, c.want)
			}
		})
	}
}

func TestEvalSharedAcrossGoroutines(t *testing.T) {
	e, err := Parse("routing.skills HAS 'support' AND routing.levels.support >= 3")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan bool)
	for range 8 {
		go func() {
			ok := true
			for range 1000 {
				ok = ok && e.Eval(workerDoc)
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("a concurrent Eval returned false")
		}
	}
}

func TestLookup(t *testing.T) {
	cases := []struct {
		rule  string
		path  []string
		want  any
		found bool
	}{
		{"a top-level key", []string{"type"}, "billing", true},
		{"a nested key", []string{"customer", "tier"}, "gold", true},
		{"a list element by index", []string{"customer", "tags", "1"}, "returning_customer", true},
		{"a missing key", []string{"nope"}, nil, false},
		{"a key under a scalar", []string{"type", "x"}, nil, false},
		{"an index that is not a number", []string{"customer", "tags", "x"}, nil, false},
		{"an index too long to be one", []string{"customer", "tags", "0000000000"}, nil, false},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			got, found := Lookup(taskDoc, c.path)
			if got != c.want || found != c.found {
				t.Errorf("Lookup(%v) = %v, %v; want %v, %v", c.path, got, found, c.want, c.found)
			}
		})
	}
	if v, found := Lookup(workerDoc, []string{"manager"}); v != nil || !found {
		t.Errorf("a JSON null is found with a nil value, got %v, %v", v, found)
	}
	if _, found := Lookup(nil, []string{"x"}); found {
		t.Error("nothing is found in a nil document")
	}
}

func TestEvalDoesNotAllocate(t *testing.T) {
	for _, c := range evalCases {
		// Indexing a []string boxes the string: the one path that allocates.
		if c.rule == "[]string can be indexed" {
			continue
		}
		e, err := Parse(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(10, func() { e.Eval(c.doc) }); n != 0 {
			t.Errorf("%s: %v allocations per Eval", c.expr, n)
		}
	}
}
