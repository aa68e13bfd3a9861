package desk_test

import (
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

func (r *rig) canned(workspaceSid, title, body string, tags ...string) desk.CannedResponse {
	r.t.Helper()
	c, err := r.desk.CreateCannedResponse(r.ctx, desk.CannedParams{WorkspaceSid: &workspaceSid, Title: &title, Body: &body, Tags: &tags})
	r.must(err)
	return c
}

func titles(cs []desk.CannedResponse) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Title)
	}
	return strings.Join(out, "|")
}

func TestCannedResponsesAreSearchedByTitleOrBodyWithinWhatTheWorkspaceSees(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		other, err := r.tr.CreateWorkspace(r.ctx, taskrouter.WorkspaceParams{FriendlyName: strp("Elsewhere")}, strp(taskrouter.TemplateFIFO))
		r.must(err)
		r.canned(r.ws.Sid, "Refund policy", "Refunds take 5 business days.", "Billing", "refunds")
		r.canned("", "Greeting", "Hi! How can I help you today?")
		r.canned(r.ws.Sid, "Discount", "You get 50% off your next order.", "sales")
		r.canned(other.Sid, "Their refunds", "Not ours to see.")
		anna := r.agent("Anna", "Available")

		for _, tc := range []struct{ query, want string }{
			{"", "Discount|Greeting|Refund policy"},
			{"REFUND", "Refund policy"},
			{"help you", "Greeting"},
			{"50%", "Discount"},
			{"5%", ""}, // % is a character, not a wildcard
			{"_", ""},
		} {
			got, err := r.desk.SearchCanned(r.ctx, anna, tc.query)
			r.must(err)
			if titles(got) != tc.want {
				t.Errorf("search %q = %q, want %q", tc.query, titles(got), tc.want)
			}
		}
		byTag, _, err := r.desk.CannedResponses(r.ctx, desk.CannedFilter{Tag: "billing"}, 0, 50)
		r.must(err)
		if titles(byTag) != "Refund policy" || strings.Join(byTag[0].Tags, ",") != "billing,refunds" {
			t.Fatalf("by tag = %q %v, want the refund policy with its tags lowercased", titles(byTag), byTag)
		}
		all, more, err := r.desk.CannedResponses(r.ctx, desk.CannedFilter{}, 0, 3)
		r.must(err)
		if len(all) != 3 || !more {
			t.Fatalf("a page of 3 of 4: %d, more %v", len(all), more)
		}
	})
}

func TestACannedResponseIsEditedAndDeletedAndRefusesBadInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		c := r.canned(r.ws.Sid, "Hours", "We're open 9 to 5.")
		body := "We're open 8 to 6."
		tags := []string{" Hours ", "hours", ""}
		up, err := r.desk.UpdateCannedResponse(r.ctx, c.Sid, desk.CannedParams{Body: &body, Tags: &tags})
		r.must(err)
		if up.Title != "Hours" || up.Body != body || strings.Join(up.Tags, ",") != "hours" || up.WorkspaceSid != r.ws.Sid {
			t.Fatalf("updated = %+v", up)
		}
		got, err := r.desk.CannedResponse(r.ctx, c.Sid)
		r.must(err)
		if got.Body != body {
			t.Fatalf("fetched body = %q", got.Body)
		}

		long, empty, badTag := strings.Repeat("t", desk.MaxCannedTitle+1), "  ", []string{`"quoted"`}
		many := strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",")
		unknown := sid.New(sid.Workspace)
		for _, tc := range []struct {
			name string
			p    desk.CannedParams
		}{
			{"no body", desk.CannedParams{Title: strp("x")}},
			{"empty title", desk.CannedParams{Title: &empty, Body: strp("x")}},
			{"long title", desk.CannedParams{Title: &long, Body: strp("x")}},
			{"long body", desk.CannedParams{Title: strp("x"), Body: strp(strings.Repeat("b", desk.MaxCannedBody+1))}},
			{"bad tag", desk.CannedParams{Title: strp("x"), Body: strp("x"), Tags: &badTag}},
			{"too many tags", desk.CannedParams{Title: strp("x"), Body: strp("x"), Tags: &many}},
			{"unknown workspace", desk.CannedParams{WorkspaceSid: &unknown, Title: strp("x"), Body: strp("x")}},
		} {
			_, err := r.desk.CreateCannedResponse(r.ctx, tc.p)
			wantRefused(t, err, errs.Invalid, tc.name)
		}
		_, err = r.desk.UpdateCannedResponse(r.ctx, c.Sid, desk.CannedParams{WorkspaceSid: strp("")})
		wantRefused(t, err, errs.Invalid, "moving a response to another scope")
		if r.count("desk_canned_responses") != 1 {
			t.Fatal("refused input created responses")
		}

		r.must(r.desk.DeleteCannedResponse(r.ctx, c.Sid))
		_, err = r.desk.CannedResponse(r.ctx, c.Sid)
		wantRefused(t, err, errs.NotFound, "a deleted response")
		wantRefused(t, r.desk.DeleteCannedResponse(r.ctx, c.Sid), errs.NotFound, "deleting twice")
	})
}

func TestDispositionsHaveUniqueFixedCodesPerWorkspace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		other, err := r.tr.CreateWorkspace(r.ctx, taskrouter.WorkspaceParams{FriendlyName: strp("Elsewhere")}, strp(taskrouter.TemplateFIFO))
		r.must(err)
		res := r.disposition("resolved", "Resolved", true)
		_, err = r.desk.CreateDisposition(r.ctx, desk.DispositionParams{WorkspaceSid: &other.Sid, Code: strp("resolved"), Label: strp("Done")})
		r.must(err) // the same code in another workspace is another disposition

		for _, tc := range []struct {
			name string
			p    desk.DispositionParams
			kind errs.Kind
		}{
			{"duplicate code", desk.DispositionParams{WorkspaceSid: &r.ws.Sid, Code: strp("resolved"), Label: strp("Again")}, errs.Conflict},
			{"no workspace", desk.DispositionParams{Code: strp("x"), Label: strp("X")}, errs.Invalid},
			{"unknown workspace", desk.DispositionParams{WorkspaceSid: strp(sid.New(sid.Workspace)), Code: strp("x"), Label: strp("X")}, errs.Invalid},
			{"no code", desk.DispositionParams{WorkspaceSid: &r.ws.Sid, Label: strp("X")}, errs.Invalid},
			{"code with spaces", desk.DispositionParams{WorkspaceSid: &r.ws.Sid, Code: strp("call back"), Label: strp("X")}, errs.Invalid},
			{"no label", desk.DispositionParams{WorkspaceSid: &r.ws.Sid, Code: strp("x")}, errs.Invalid},
			{"long label", desk.DispositionParams{WorkspaceSid: &r.ws.Sid, Code: strp("x"), Label: strp(strings.Repeat("l", 101))}, errs.Invalid},
		} {
			_, err := r.desk.CreateDisposition(r.ctx, tc.p)
			wantRefused(t, err, tc.kind, tc.name)
		}
		_, err = r.desk.UpdateDisposition(r.ctx, res.Sid, desk.DispositionParams{Code: strp("fixed")})
		wantRefused(t, err, errs.Invalid, "changing a code")

		off := false
		up, err := r.desk.UpdateDisposition(r.ctx, res.Sid, desk.DispositionParams{Label: strp("Solved"), Active: &off})
		r.must(err)
		if up.Code != "resolved" || up.Label != "Solved" || up.Active {
			t.Fatalf("updated = %+v", up)
		}
		active := true
		list, _, err := r.desk.Dispositions(r.ctx, desk.DispositionFilter{WorkspaceSid: r.ws.Sid, Active: &active}, 0, 50)
		r.must(err)
		if len(list) != 0 {
			t.Fatalf("active dispositions of the workspace = %+v, want none", list)
		}
		all, _, err := r.desk.Dispositions(r.ctx, desk.DispositionFilter{}, 0, 50)
		r.must(err)
		if len(all) != 2 {
			t.Fatalf("all dispositions = %d, want 2", len(all))
		}
		r.must(r.desk.DeleteDisposition(r.ctx, res.Sid))
		_, err = r.desk.Disposition(r.ctx, res.Sid)
		wantRefused(t, err, errs.NotFound, "a deleted disposition")
	})
}
