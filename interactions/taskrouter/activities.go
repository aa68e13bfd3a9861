package taskrouter

import (
	"context"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// ActivityParams are an activity's settable fields; nil leaves one as is.
// Available is fixed once the activity exists.
type ActivityParams struct {
	FriendlyName *string
	Available    *bool
}

// ActivityFilter narrows an activity list; zero values match everything.
type ActivityFilter struct {
	FriendlyName string
	Available    *bool
}

// CreateActivity adds an activity to the workspace. Names are unique in a
// workspace.
func (e *Engine) CreateActivity(ctx context.Context, workspaceSid string, p ActivityParams) (Activity, error) {
	if err := checkFriendlyName(p.FriendlyName, true); err != nil {
		return Activity{}, err
	}
	now := e.now()
	a := Activity{Sid: sid.New(sid.Activity), WorkspaceSid: workspaceSid, FriendlyName: *p.FriendlyName,
		DateCreated: now, DateUpdated: now}
	set(&a.Available, p.Available)
	err := e.write(ctx, func(tx *db.Tx) error {
		if _, err := e.findWorkspace(tx.DB, workspaceSid); err != nil {
			return err
		}
		if err := tx.Create(&a).Error; err != nil {
			return activityNameTaken(err, a.FriendlyName)
		}
		return e.recordActivity(tx, a, "created")
	})
	return a, errs.Wrap(err, "create activity")
}

// activityNameTaken turns a unique violation into a clear conflict.
func activityNameTaken(err error, name string) error {
	if db.IsUniqueViolation(err) {
		return conflict("An activity named %q already exists in this workspace", name)
	}
	return err
}

func (e *Engine) recordActivity(tx *db.Tx, a Activity, what string) error {
	return e.record(tx, Event{WorkspaceSid: a.WorkspaceSid, EventType: "activity." + what, ResourceType: "activity",
		ResourceSid: a.Sid, Description: "Activity " + a.FriendlyName + " " + what},
		map[string]any{"activity_sid": a.Sid, "activity_name": a.FriendlyName, "activity_available": a.Available})
}

// Activity fetches an activity.
func (e *Engine) Activity(ctx context.Context, workspaceSid, activitySid string) (Activity, error) {
	return lookup[Activity](e.read(ctx), workspaceSid, "sid", activitySid, "Activities")
}

// Activities lists a workspace's activities, oldest first.
func (e *Engine) Activities(ctx context.Context, workspaceSid string, f ActivityFilter, p Page) ([]Activity, bool, error) {
	q := e.read(ctx).Where("workspace_sid = ?", workspaceSid)
	if f.FriendlyName != "" {
		q = q.Where("friendly_name = ?", f.FriendlyName)
	}
	if f.Available != nil {
		q = q.Where("available = ?", *f.Available)
	}
	var rows []Activity
	if err := q.Order("date_created, sid").Offset(p.Offset).Limit(p.Limit + 1).Find(&rows).Error; err != nil {
		return nil, false, errs.Wrap(err, "activities")
	}
	rows, more := trimPage(rows, p)
	return rows, more, nil
}

// UpdateActivity renames an activity.
func (e *Engine) UpdateActivity(ctx context.Context, workspaceSid, activitySid string, p ActivityParams) (Activity, error) {
	if p.Available != nil {
		return Activity{}, errs.Invalidf("Available cannot be changed once the activity exists")
	}
	if err := checkFriendlyName(p.FriendlyName, false); err != nil {
		return Activity{}, err
	}
	var a Activity
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		if a, err = lookup[Activity](tx.DB, workspaceSid, "sid", activitySid, "Activities"); err != nil {
			return err
		}
		set(&a.FriendlyName, p.FriendlyName)
		a.DateUpdated = e.now()
		if err := tx.Model(&a).Select("friendly_name", "date_updated").Updates(&a).Error; err != nil {
			return activityNameTaken(err, a.FriendlyName)
		}
		return e.recordActivity(tx, a, "updated")
	})
	return a, errs.Wrap(err, "update activity")
}

// DeleteActivity removes an activity nothing refers to: not the workspace's
// default or timeout activity, no worker in it, no queue moving workers to it.
func (e *Engine) DeleteActivity(ctx context.Context, workspaceSid, activitySid string) error {
	return errs.Wrap(e.write(ctx, func(tx *db.Tx) error {
		// Exclusive against the share lock of whatever starts using it.
		a, err := lookup[Activity](tx.Locked("UPDATE"), workspaceSid, "sid", activitySid, "Activities")
		if err != nil {
			return err
		}
		ws, err := e.findWorkspace(tx.DB, workspaceSid)
		if err != nil {
			return err
		}
		switch a.Sid {
		case ws.DefaultActivitySid:
			return errs.Invalidf("Activity %s is the workspace's default activity; set another DefaultActivitySid first", a.Sid)
		case ws.TimeoutActivitySid:
			return errs.Invalidf("Activity %s is the workspace's timeout activity; set another TimeoutActivitySid first", a.Sid)
		}
		var workers, queues int64
		if err := tx.Model(&Worker{}).Where("activity_sid = ?", a.Sid).Count(&workers).Error; err != nil {
			return err
		}
		if workers > 0 {
			return conflict("Activity %s cannot be deleted while %d workers are in it", a.Sid, workers)
		}
		if err := tx.Model(&TaskQueue{}).Where("reservation_activity_sid = ? OR assignment_activity_sid = ?", a.Sid, a.Sid).
			Count(&queues).Error; err != nil {
			return err
		}
		if queues > 0 {
			return conflict("Activity %s cannot be deleted while %d task queues move workers to it", a.Sid, queues)
		}
		if err := tx.Delete(&a).Error; err != nil {
			return err
		}
		return e.recordActivity(tx, a, "deleted")
	}), "delete activity")
}
