package expr

import "testing"

// BenchmarkEval measures the per-candidate cost the router pays: one queue
// expression against one worker's attributes, and a target expression that
// joins task and worker.
func BenchmarkEval(b *testing.B) {
	cases := []struct {
		name, expr string
		doc        map[string]any
	}{
		{"everyone", "1==1", workerDoc},
		{"skill_and_level", "routing.skills HAS 'support' AND routing.levels.support >= 3", workerDoc},
		{"language_in_list", "languages HAS 'es' AND team IN ['red', 'green', 'blue']", workerDoc},
		{"filter", `type == "sales" OR (priority > 5 AND vip == true)`, taskDoc},
		{"target", "task.language IN worker.languages AND worker.channel.chat.available_capacity_percentage > 0", targetDoc},
		{"contains", "customer.tags CONTAINS 'return'", taskDoc},
	}
	for _, c := range cases {
		e, err := Parse(c.expr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.Eval(c.doc)
			}
		})
	}
}

// BenchmarkParse is the save-time cost, for comparison.
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("routing.skills HAS 'support' AND routing.levels.support >= 3"); err != nil {
			b.Fatal(err)
		}
	}
}
