// Package expr implements the TaskRouter expression language: the
// target_workers of a queue, the filter and target expressions and skip_if of
// a workflow, and the order_by of a workflow target.
//
// An expression is parsed once, when the queue or workflow is saved, and
// evaluated many times while routing, so Parse does every check it can and
// Eval does no parsing and, on decoded JSON, allocates nothing. Parse also
// bounds what a saved expression can cost: at most MaxLength bytes and
// MaxDepth levels of nesting.
//
// # Syntax
//
// An expression is a set of comparisons joined by AND and OR (also written &&
// and ||; AND binds tighter than OR) and grouped with parentheses:
//
//	routing.skills HAS 'support' AND routing.levels.support >= 3
//	type == "billing" OR (priority > 5 AND vip == true)
//	1==1
//
// Each side of a comparison is an attribute path or a constant. A path is a
// dotted list of keys made of ASCII letters, digits and underscores, starting
// with a letter or underscore (hyphens are not supported, as in TaskRouter);
// a[2] and a.2 both pick the third element of a list. Constants are strings in
// single or double quotes (a backslash makes the next character literal, and
// \n, \t and \r stand for newline, tab and carriage return), numbers (-1, 2.5,
// 1e3), true and false, and lists of those: ['en', "es", 3]. Keywords (AND,
// OR, NOT, IN, HAS, CONTAINS, TRUE, FALSE) are case-insensitive and cannot be
// used as a one-key path, though they may appear inside a longer one
// (in.x, task.not).
//
// The operators are:
//
//	== (or =), !=          equal, not equal
//	<, <=, >, >=           ordered: numbers numerically, strings byte-wise
//	x IN list              x equals an element of list
//	x NOT IN list          the negation of IN
//	list HAS x             list has an element equal to x
//	s CONTAINS sub         string s contains sub; if s is a list, any string
//	                       element of it contains sub
//
// # Evaluation
//
// Paths are looked up in the document passed to Eval, which the caller builds:
// the worker's attributes for target_workers, the task's attributes for a
// filter, {"task": …, "worker": …} for a target expression and {"workers":
// {"available": n, …}} for skip_if.
//
// A path that is missing, or whose value is JSON null, equals nothing and is
// ordered against nothing: ==, <, <=, >, >=, IN, HAS and CONTAINS are false.
// != and NOT IN are always the exact negations of == and IN, so they are true
// for a missing attribute: "type != 'spam'" matches a task without a type,
// the way "every task except spam" reads.
//
// Values of different types are never equal and never ordered, so 3 == '3'
// is false and 3 != '3' is true. Booleans compare only with == and !=, and
// lists and objects are never equal to anything. Numbers compare as float64,
// whatever Go integer or float type the caller stored.
//
// Comparisons that could never hold because of a constant operand, such as
// x IN 'abc' or x > true, are rejected by Parse rather than left to fail
// silently at routing time.
package expr
