package desk

import (
	"context"
	"encoding/json"
	"maps"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// staffWorkspaceName is the workspace provisioning creates when there is
// none at all.
const staffWorkspaceName = "Switchboard"

// Provisioner gives members of staff, as they sign in, a conversations User
// in the default service and a TaskRouter Worker whose attributes carry
// their identity (what routing joins to conversations), email, name and
// roles. It implements auth.Provisioner.
type Provisioner struct {
	conv *conversations.Engine
	tr   *taskrouter.Engine
	// workspaceSid is where workers go; "" means the oldest workspace.
	workspaceSid string
}

// NewProvisioner returns a provisioner that puts workers in workspaceSid,
// or in the oldest workspace when it is "" (creating one if there is none).
func NewProvisioner(conv *conversations.Engine, tr *taskrouter.Engine, workspaceSid string) *Provisioner {
	return &Provisioner{conv: conv, tr: tr, workspaceSid: workspaceSid}
}

// Provision makes sure s has a user and a worker, both up to date. A worker
// of the workspace already named after their identity (made over the REST
// API, say) becomes theirs; its other attributes (skills…) are kept.
func (p *Provisioner) Provision(ctx context.Context, s auth.Staff) (auth.Placement, error) {
	if err := p.user(ctx, s); err != nil {
		return auth.Placement{}, err
	}
	ws, err := p.workspace(ctx)
	if err != nil {
		return auth.Placement{}, err
	}
	w, err := p.worker(ctx, ws, s)
	if err != nil {
		return auth.Placement{}, err
	}
	return auth.Placement{WorkspaceSid: ws, WorkerSid: w.Sid}, nil
}

// user creates or renames the member of staff's conversations user.
func (p *Provisioner) user(ctx context.Context, s auth.Staff) error {
	svc, err := p.conv.ResolveService(ctx, "")
	if err != nil {
		return err
	}
	u, err := p.conv.User(ctx, svc.Sid, s.Identity)
	if errs.KindOf(err) == errs.NotFound {
		_, err = p.conv.CreateUser(ctx, svc.Sid, conversations.UserParams{Identity: &s.Identity, FriendlyName: &s.Name})
		if errs.KindOf(err) != errs.Conflict { // else another sign-in made it just now: update it
			return err
		}
		u, err = p.conv.User(ctx, svc.Sid, s.Identity)
	}
	if err != nil {
		return err
	}
	if u.FriendlyName == s.Name {
		return nil
	}
	_, err = p.conv.UpdateUser(ctx, svc.Sid, u.Sid, conversations.UserParams{FriendlyName: &s.Name})
	return err
}

// workspace is the configured workspace, or the oldest one, or a new one.
func (p *Provisioner) workspace(ctx context.Context) (string, error) {
	if p.workspaceSid != "" {
		ws, err := p.tr.Workspace(ctx, p.workspaceSid)
		if errs.KindOf(err) == errs.NotFound {
			return "", errs.NotFoundf("The workspace %s that staff are provisioned in (--workspace) does not exist", p.workspaceSid)
		}
		return ws.Sid, err
	}
	all, _, err := p.tr.Workspaces(ctx, "", taskrouter.Page{Limit: 1})
	if err != nil {
		return "", err
	}
	if len(all) > 0 {
		return all[0].Sid, nil
	}
	name, template := staffWorkspaceName, taskrouter.TemplateFIFO
	ws, err := p.tr.CreateWorkspace(ctx, taskrouter.WorkspaceParams{FriendlyName: &name}, &template)
	return ws.Sid, err
}

// worker finds the member of staff's worker in the workspace (the one they
// had, or one named after their identity) and brings its attributes up to
// date, or creates it.
func (p *Provisioner) worker(ctx context.Context, workspaceSid string, s auth.Staff) (taskrouter.Worker, error) {
	var w taskrouter.Worker
	var err error
	found := false
	name := workerName(s)
	if s.WorkspaceSid == workspaceSid && s.WorkerSid != "" {
		w, err = p.tr.Worker(ctx, workspaceSid, s.WorkerSid)
		if err != nil && errs.KindOf(err) != errs.NotFound {
			return w, err
		}
		found = err == nil
	}
	if !found {
		if w, found, err = p.workerNamed(ctx, workspaceSid, name); err != nil {
			return w, err
		}
	}
	if !found {
		attrs, _ := staffAttributes("{}", s)
		w, err = p.tr.CreateWorker(ctx, workspaceSid, taskrouter.WorkerParams{FriendlyName: &name, Attributes: &attrs})
		if errs.KindOf(err) != errs.Conflict {
			return w, err
		}
		// Another sign-in of theirs created it just now.
		if w, found, err = p.workerNamed(ctx, workspaceSid, name); err != nil || !found {
			return w, errs.Wrap(err, "worker "+s.Identity)
		}
	}
	attrs, changed := staffAttributes(w.Attributes, s)
	if !changed {
		return w, nil
	}
	return p.tr.UpdateWorker(ctx, workspaceSid, w.Sid, taskrouter.WorkerParams{Attributes: &attrs})
}

// workerName is the worker's friendly name: the identity, or the staff SID
// when the identity is longer than a worker name may be.
func workerName(s auth.Staff) string {
	if utf8.RuneCountInString(s.Identity) > taskrouter.MaxFriendlyName {
		return s.Sid
	}
	return s.Identity
}

func (p *Provisioner) workerNamed(ctx context.Context, workspaceSid, name string) (taskrouter.Worker, bool, error) {
	ws, _, err := p.tr.Workers(ctx, workspaceSid, taskrouter.WorkerFilter{FriendlyName: name}, taskrouter.Page{Limit: 1})
	if err != nil || len(ws) == 0 {
		return taskrouter.Worker{}, false, err
	}
	return ws[0], true, nil
}

// staffAttributes returns the worker attributes current with s, the way
// Flex lays them out (identity, contact_uri, email, full_name, roles), with
// any others kept, and whether they differ from current.
func staffAttributes(current string, s auth.Staff) (string, bool) {
	attrs := map[string]any{}
	_ = json.Unmarshal([]byte(current), &attrs) // unreadable attributes are replaced
	before := maps.Clone(attrs)
	roles := make([]any, len(s.Roles))
	for i, r := range s.Roles {
		roles[i] = r
	}
	attrs["identity"] = s.Identity
	attrs["contact_uri"] = "client:" + s.Identity
	attrs["email"] = s.Email
	attrs["full_name"] = s.Name
	attrs["roles"] = roles
	out, _ := json.Marshal(attrs)
	old, _ := json.Marshal(before)
	return string(out), string(out) != string(old)
}
