package supervise

import (
	"slices"
	"testing"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// tmNames are the members' names in order.
func tmNames(ms []Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

func TestTeamShowsEveryAgentWithActivityTasksAndCapacity(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f, tasks := qDay(t, d)
		v, err := f.s.Team(f.ctx, f.ws.Sid, TeamFilter{})
		f.must(err)
		qWant(t, "members by name", tmNames(v.Members), []string{"Ann Lee", "Bob Ray", "Cat Dunn", "Dan Oak"})
		qWant(t, "teams", v.Teams, []string{"Blue", "Red"})
		qWant(t, "skills", v.Skills, []string{"sales", "support"})
		by := map[string]Member{}
		for _, m := range v.Members {
			by[m.Name] = m
		}
		qWant(t, "activities", []string{by["Ann Lee"].Activity.Name, by["Cat Dunn"].Activity.Name, by["Dan Oak"].Activity.Name},
			[]string{"Available", "Offline", "Break"})

		// Every live reservation is on its agent's line, once: s3
		// wrapping; s6, s10, m1 and x1 assigned; s8 and s9 offered.
		status := map[string]string{}
		for _, m := range v.Members {
			for _, lt := range m.Tasks {
				if _, dup := status[lt.TaskSid]; dup {
					t.Errorf("task %s twice", lt.TaskSid)
				}
				status[lt.TaskSid] = lt.Status
			}
		}
		want := map[string]string{tasks["s3"].Sid: LiveWrapping, tasks["s6"].Sid: LiveAssigned, tasks["s10"].Sid: LiveAssigned,
			tasks["m1"].Sid: LiveAssigned, tasks["x1"].Sid: LiveAssigned, tasks["s8"].Sid: LiveOffered, tasks["s9"].Sid: LiveOffered}
		qWant(t, "live tasks", status, want)
		// x1 went to Sales, where only Bob is available; its attributes
		// name the customer and the conversation.
		i := slices.IndexFunc(by["Bob Ray"].Tasks, func(lt LiveTask) bool { return lt.TaskSid == tasks["x1"].Sid })
		if i < 0 {
			t.Fatalf("x1 is not Bob's: %+v", by["Bob Ray"].Tasks)
		}
		x1 := by["Bob Ray"].Tasks[i]
		qWant(t, "x1", [3]string{x1.Customer, x1.ConversationSid, x1.Channel}, [3]string{"Xena", "CH00000000000000000000000000000001", "chat"})
		qWant(t, "x1 since", x1.Since.UTC(), tasks["x1"].DateCreated.UTC())

		// Capacity in use: the channels' used/configured, voice and default left out.
		used := 0
		for _, m := range v.Members {
			for _, c := range m.Capacity {
				if c.Channel == "default" || c.Channel == "voice" {
					t.Errorf("%s shows %s", m.Name, c.Channel)
				}
				used += c.Used
			}
		}
		qWant(t, "capacity in use over everyone", used, len(want))
		var annChat ChannelLoad
		for _, c := range by["Ann Lee"].Capacity {
			if c.Channel == "chat" {
				annChat = c
			}
		}
		qWant(t, "Ann's chat capacity", annChat.Of, 10)

		for _, c := range []struct {
			f    TeamFilter
			want []string
		}{
			{TeamFilter{Team: "Blue"}, []string{"Ann Lee", "Cat Dunn"}},
			{TeamFilter{Skill: "sales"}, []string{"Bob Ray", "Dan Oak"}},
			{TeamFilter{Activity: f.act["Offline"]}, []string{"Cat Dunn"}},
			{TeamFilter{Team: "Red", Skill: "support"}, []string{"Bob Ray"}},
			{TeamFilter{Team: "Green"}, nil},
		} {
			got, err := f.s.Team(f.ctx, f.ws.Sid, c.f)
			f.must(err)
			qWant(t, "filtered", tmNames(got.Members), c.want)
		}
		if _, err := f.s.Team(f.ctx, f.ws.Sid, TeamFilter{Activity: "WAffffffffffffffffffffffffffffffff"}); errs.KindOf(err) != errs.Invalid {
			t.Errorf("unknown activity filter: %v", err)
		}
	})
}

func TestSupervisorChangesAnAgentsActivityAndCapacityAndBadInputChangesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f, _ := qDay(t, d)
		ann := f.worker["ann"]
		f.must(f.s.SetAgentActivity(f.ctx, f.ws.Sid, ann, f.act["Break"]))
		f.must(f.s.SetAgentCapacity(f.ctx, f.ws.Sid, ann, "sms", " 3 "))
		mv, err := f.s.Member(f.ctx, f.ws.Sid, ann)
		f.must(err)
		qWant(t, "Ann's activity", mv.Member.Activity.Name, "Break")
		qWant(t, "Ann in it since", mv.Member.Since.UTC(), f.now.UTC())
		i := slices.IndexFunc(mv.Member.Capacity, func(c ChannelLoad) bool { return c.Channel == "sms" })
		qWant(t, "Ann's SMS capacity", mv.Member.Capacity[i].Of, 3)

		// Another workspace's worker is not found; bad values are refused.
		other, err := f.tr.CreateWorkspace(f.ctx, taskrouter.WorkspaceParams{FriendlyName: tmPtr("Other")}, nil)
		f.must(err)
		stranger := "Stranger"
		w, err := f.tr.CreateWorker(f.ctx, other.Sid, taskrouter.WorkerParams{FriendlyName: &stranger})
		f.must(err)
		otherActs, _, err := f.tr.Activities(f.ctx, other.Sid, taskrouter.ActivityFilter{FriendlyName: "Available"}, taskrouter.Page{Limit: 1})
		f.must(err)
		for name, c := range map[string]struct {
			err  error
			kind errs.Kind
		}{
			"activity of a foreign worker":   {f.s.SetAgentActivity(f.ctx, f.ws.Sid, w.Sid, f.act["Available"]), errs.NotFound},
			"capacity of a foreign worker":   {f.s.SetAgentCapacity(f.ctx, f.ws.Sid, w.Sid, "chat", "2"), errs.NotFound},
			"unknown activity":               {f.s.SetAgentActivity(f.ctx, f.ws.Sid, ann, "WAffffffffffffffffffffffffffffffff"), errs.Invalid},
			"another workspace's activity":   {f.s.SetAgentActivity(f.ctx, f.ws.Sid, ann, otherActs[0].Sid), errs.Invalid},
			"no activity":                    {f.s.SetAgentActivity(f.ctx, f.ws.Sid, ann, ""), errs.Invalid},
			"negative capacity":              {f.s.SetAgentCapacity(f.ctx, f.ws.Sid, ann, "sms", "-1"), errs.Invalid},
			"capacity that is not a number":  {f.s.SetAgentCapacity(f.ctx, f.ws.Sid, ann, "sms", "two"), errs.Invalid},
			"capacity on an unknown channel": {f.s.SetAgentCapacity(f.ctx, f.ws.Sid, ann, "fax", "2"), errs.NotFound},
		} {
			if errs.KindOf(c.err) != c.kind {
				t.Errorf("%s: %v, want kind %d", name, c.err, c.kind)
			}
		}
		after, err := f.s.Member(f.ctx, f.ws.Sid, ann)
		f.must(err)
		qWant(t, "Ann after the refusals", after.Member, mv.Member)
		stillW, err := f.tr.Worker(f.ctx, other.Sid, w.Sid)
		f.must(err)
		qWant(t, "the stranger's activity", stillW.ActivitySid, w.ActivitySid)
	})
}

func tmPtr[T any](v T) *T { return &v }
