package desk_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// provisionFixture is a bootstrapped account (default conversation service
// and workspace) with the staff directory over the desk's provisioner.
type provisionFixture struct {
	t      *testing.T
	ctx    context.Context
	conv   *conversations.Engine
	tr     *taskrouter.Engine
	oldest taskrouter.Workspace
}

func newProvisionFixture(t *testing.T, d *db.DB) *provisionFixture {
	t.Helper()
	ctx := context.Background()
	acct, err := auth.NewStore(d).EnsureAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conversations.Bootstrap(ctx, d, acct.Sid); err != nil {
		t.Fatal(err)
	}
	if err := taskrouter.Bootstrap(ctx, d, acct.Sid); err != nil {
		t.Fatal(err)
	}
	f := &provisionFixture{t: t, ctx: ctx, conv: conversations.New(d, acct.Sid), tr: taskrouter.New(d, acct.Sid)}
	all, _, err := f.tr.Workspaces(ctx, "", taskrouter.Page{Limit: 1})
	if err != nil || len(all) != 1 {
		t.Fatalf("workspaces = %v, %v", all, err)
	}
	f.oldest = all[0]
	return f
}

func (f *provisionFixture) provision(s auth.Staff, workspaceSid string) (auth.Placement, error) {
	return desk.NewProvisioner(f.conv, f.tr, workspaceSid).Provision(f.ctx, s)
}

func (f *provisionFixture) attributes(p auth.Placement) map[string]any {
	f.t.Helper()
	w, err := f.tr.Worker(f.ctx, p.WorkspaceSid, p.WorkerSid)
	if err != nil {
		f.t.Fatal(err)
	}
	var attrs map[string]any
	if err := json.Unmarshal([]byte(w.Attributes), &attrs); err != nil {
		f.t.Fatal(err)
	}
	return attrs
}

func (f *provisionFixture) user(identity string) conversations.User {
	f.t.Helper()
	svc, err := f.conv.ResolveService(f.ctx, "")
	if err != nil {
		f.t.Fatal(err)
	}
	u, err := f.conv.User(f.ctx, svc.Sid, identity)
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

var ana = auth.Staff{Sid: "SU00000000000000000000000000000001", Identity: "ana@example.com", Email: "ana@example.com",
	Name: "Ana Agent", Roles: []string{auth.RoleAgent}}

func TestProvisioningGivesStaffAChatUserAndAWorkerInTheOldestWorkspace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newProvisionFixture(t, d)
		p, err := f.provision(ana, "")
		if err != nil {
			t.Fatal(err)
		}
		if p.WorkspaceSid != f.oldest.Sid || !strings.HasPrefix(p.WorkerSid, "WK") {
			t.Fatalf("placement = %+v; want a worker in %s", p, f.oldest.Sid)
		}
		w, err := f.tr.Worker(f.ctx, p.WorkspaceSid, p.WorkerSid)
		if err != nil || w.FriendlyName != "ana@example.com" {
			t.Fatalf("worker = %+v, %v; want it named after the identity", w, err)
		}
		attrs := f.attributes(p)
		want := map[string]any{"identity": "ana@example.com", "contact_uri": "client:ana@example.com", "email": "ana@example.com",
			"full_name": "Ana Agent", "roles": []any{"agent"}}
		got, _ := json.Marshal(attrs)
		wanted, _ := json.Marshal(want)
		if string(got) != string(wanted) {
			t.Fatalf("worker attributes = %s; want %s", got, wanted)
		}
		if u := f.user("ana@example.com"); u.FriendlyName != "Ana Agent" {
			t.Fatalf("chat user = %+v; want named Ana Agent", u)
		}
	})
}

func TestProvisioningAgainUpdatesTheSameWorkerAndUserAndKeepsOtherAttributes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newProvisionFixture(t, d)
		first, err := f.provision(ana, "")
		if err != nil {
			t.Fatal(err)
		}
		skills := `{"identity":"ana@example.com","skills":["billing"],"full_name":"Ana Agent"}`
		if _, err := f.tr.UpdateWorker(f.ctx, first.WorkspaceSid, first.WorkerSid, taskrouter.WorkerParams{Attributes: &skills}); err != nil {
			t.Fatal(err)
		}
		later := ana
		later.WorkspaceSid, later.WorkerSid = first.WorkspaceSid, first.WorkerSid
		later.Name, later.Email, later.Roles = "Ana Lima", "ana.lima@example.com", []string{auth.RoleSupervisor}
		again, err := f.provision(later, "")
		if err != nil {
			t.Fatal(err)
		}
		if again != first {
			t.Fatalf("placement = %+v; want the same worker %+v", again, first)
		}
		attrs := f.attributes(again)
		if attrs["full_name"] != "Ana Lima" || attrs["email"] != "ana.lima@example.com" || attrs["identity"] != "ana@example.com" ||
			attrs["contact_uri"] != "client:ana@example.com" || len(attrs["skills"].([]any)) != 1 || attrs["roles"].([]any)[0] != "supervisor" {
			t.Fatalf("attributes after the update = %v", attrs)
		}
		if u := f.user("ana@example.com"); u.FriendlyName != "Ana Lima" {
			t.Fatalf("chat user = %+v; want renamed", u)
		}
	})
}

func TestProvisioningAdoptsAWorkerNamedAfterTheIdentityAndReplacesADeletedOne(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newProvisionFixture(t, d)
		name, attrs := "ana@example.com", `{"skills":["sales"]}`
		made, err := f.tr.CreateWorker(f.ctx, f.oldest.Sid, taskrouter.WorkerParams{FriendlyName: &name, Attributes: &attrs})
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.provision(ana, "")
		if err != nil {
			t.Fatal(err)
		}
		if p.WorkerSid != made.Sid {
			t.Fatalf("worker %s; want the one made over the API, %s", p.WorkerSid, made.Sid)
		}
		if a := f.attributes(p); a["identity"] != "ana@example.com" || a["skills"] == nil {
			t.Fatalf("adopted worker's attributes = %v", a)
		}
		if err := f.tr.DeleteWorker(f.ctx, p.WorkspaceSid, p.WorkerSid); err != nil {
			t.Fatal(err)
		}
		had := ana
		had.WorkspaceSid, had.WorkerSid = p.WorkspaceSid, p.WorkerSid
		again, err := f.provision(had, "")
		if err != nil {
			t.Fatal(err)
		}
		if again.WorkerSid == p.WorkerSid || again.WorkspaceSid != f.oldest.Sid {
			t.Fatalf("after the worker was deleted: %+v; want a new worker", again)
		}
	})
}

func TestProvisioningUsesTheConfiguredWorkspaceAndRefusesOneThatDoesNotExist(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newProvisionFixture(t, d)
		name := "Night shift"
		night, err := f.tr.CreateWorkspace(f.ctx, taskrouter.WorkspaceParams{FriendlyName: &name}, nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.provision(ana, night.Sid)
		if err != nil || p.WorkspaceSid != night.Sid {
			t.Fatalf("placement = %+v, %v; want in %s", p, err, night.Sid)
		}
		if _, err := f.provision(ana, "WS00000000000000000000000000000000"); errs.KindOf(err) != errs.NotFound ||
			!strings.Contains(err.Error(), "--workspace") {
			t.Fatalf("a missing workspace: %v; want NotFound naming --workspace", err)
		}
	})
}

func TestProvisioningCreatesAWorkspaceWhenThereIsNone(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newProvisionFixture(t, d)
		if err := f.tr.DeleteWorkspace(f.ctx, f.oldest.Sid); err != nil {
			t.Fatal(err)
		}
		p, err := f.provision(ana, "")
		if err != nil {
			t.Fatal(err)
		}
		ws, err := f.tr.Workspace(f.ctx, p.WorkspaceSid)
		if err != nil || ws.FriendlyName != "Switchboard" {
			t.Fatalf("workspace = %+v, %v; want a new one named Switchboard", ws, err)
		}
	})
}

func TestAnIdentityTooLongForAWorkerNameNamesTheWorkerAfterTheStaffSID(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newProvisionFixture(t, d)
		long := ana
		long.Identity = strings.Repeat("a", 70) + "@example.com"
		p, err := f.provision(long, "")
		if err != nil {
			t.Fatal(err)
		}
		w, err := f.tr.Worker(f.ctx, p.WorkspaceSid, p.WorkerSid)
		if err != nil || w.FriendlyName != long.Sid {
			t.Fatalf("worker = %+v, %v; want named %s", w, err, long.Sid)
		}
		if a := f.attributes(p); a["identity"] != long.Identity {
			t.Fatalf("identity attribute = %v", a["identity"])
		}
	})
}
