package taskrouter

import (
	"context"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// MaxUniqueName is the longest task channel UniqueName we accept.
const MaxUniqueName = 64

// A new task channel's service level: answered within a minute; a
// customer who leaves within ten seconds is a short abandon.
const (
	DefaultServiceLevelSeconds = 60
	DefaultShortAbandonSeconds = 10
)

// TaskChannelParams are a task channel's settable fields; nil leaves one as
// is. UniqueName is fixed once the channel exists.
type TaskChannelParams struct {
	FriendlyName            *string
	UniqueName              *string
	ChannelOptimizedRouting *bool
}

// taskChannelByKey loads a task channel by SID or unique name.
func taskChannelByKey(q *gorm.DB, workspaceSid, key string) (TaskChannel, error) {
	column := "unique_name"
	if sid.Is(key, sid.TaskChannel) {
		column = "sid"
	}
	return lookup[TaskChannel](q, workspaceSid, column, key, "TaskChannels")
}

// CreateTaskChannel adds a task channel and gives every worker of the
// workspace capacity on it (one task, available).
func (e *Engine) CreateTaskChannel(ctx context.Context, workspaceSid string, p TaskChannelParams) (TaskChannel, error) {
	if err := checkFriendlyName(p.FriendlyName, true); err != nil {
		return TaskChannel{}, err
	}
	switch {
	case p.UniqueName == nil || strings.TrimSpace(*p.UniqueName) == "":
		return TaskChannel{}, errs.Invalidf("UniqueName is required")
	case utf8.RuneCountInString(*p.UniqueName) > MaxUniqueName:
		return TaskChannel{}, errs.Invalidf("UniqueName must be at most %d characters", MaxUniqueName)
	case sid.Looks(*p.UniqueName):
		// Paths take a SID or a unique name: a SID-shaped name could not be told apart.
		return TaskChannel{}, errs.Invalidf("UniqueName must not have the shape of a SID")
	}
	now := e.now()
	tc := TaskChannel{Sid: sid.New(sid.TaskChannel), WorkspaceSid: workspaceSid, FriendlyName: *p.FriendlyName,
		UniqueName: *p.UniqueName, DefaultCapacity: 1, ServiceLevelSeconds: DefaultServiceLevelSeconds,
		ShortAbandonSeconds: DefaultShortAbandonSeconds, DateCreated: now, DateUpdated: now}
	set(&tc.ChannelOptimizedRouting, p.ChannelOptimizedRouting)
	err := e.write(ctx, func(tx *db.Tx) error {
		// Exclusive against CreateWorker's share lock: a worker created
		// meanwhile either is seen below or sees this channel.
		if _, err := e.findWorkspace(tx.Locked("NO KEY UPDATE"), workspaceSid); err != nil {
			return err
		}
		if err := tx.Create(&tc).Error; err != nil {
			if db.IsUniqueViolation(err) {
				return conflict("A task channel with UniqueName %q already exists in this workspace", tc.UniqueName)
			}
			return err
		}
		var workers []string
		if err := tx.Model(&Worker{}).Where("workspace_sid = ?", workspaceSid).Order("sid").Pluck("sid", &workers).Error; err != nil {
			return err
		}
		if len(workers) > 0 {
			wcs := make([]WorkerChannel, len(workers))
			for i, w := range workers {
				wcs[i] = newWorkerChannel(workspaceSid, w, tc.Sid, now)
			}
			if err := tx.CreateInBatches(wcs, 500).Error; err != nil {
				return err
			}
		}
		return e.recordTaskChannel(tx, tc, "created")
	})
	return tc, errs.Wrap(err, "create task channel")
}

func (e *Engine) recordTaskChannel(tx *db.Tx, tc TaskChannel, what string) error {
	return e.record(tx, Event{WorkspaceSid: tc.WorkspaceSid, EventType: "task-channel." + what, ResourceType: "task_channel",
		ResourceSid: tc.Sid, TaskChannel: tc.UniqueName, Description: "TaskChannel " + tc.UniqueName + " " + what},
		map[string]any{"task_channel_sid": tc.Sid, "task_channel_unique_name": tc.UniqueName})
}

// TaskChannel fetches a task channel by SID or unique name.
func (e *Engine) TaskChannel(ctx context.Context, workspaceSid, key string) (TaskChannel, error) {
	return taskChannelByKey(e.read(ctx), workspaceSid, key)
}

// TaskChannels lists a workspace's task channels, oldest first.
func (e *Engine) TaskChannels(ctx context.Context, workspaceSid string, p Page) ([]TaskChannel, bool, error) {
	var rows []TaskChannel
	if err := e.read(ctx).Where("workspace_sid = ?", workspaceSid).Order("date_created, sid").
		Offset(p.Offset).Limit(p.Limit + 1).Find(&rows).Error; err != nil {
		return nil, false, errs.Wrap(err, "task channels")
	}
	rows, more := trimPage(rows, p)
	return rows, more, nil
}

// UpdateTaskChannel renames a task channel or switches its channel-optimized routing.
func (e *Engine) UpdateTaskChannel(ctx context.Context, workspaceSid, key string, p TaskChannelParams) (TaskChannel, error) {
	if p.UniqueName != nil {
		return TaskChannel{}, errs.Invalidf("UniqueName cannot be changed once the task channel exists")
	}
	if err := checkFriendlyName(p.FriendlyName, false); err != nil {
		return TaskChannel{}, err
	}
	var tc TaskChannel
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		if tc, err = taskChannelByKey(tx.DB, workspaceSid, key); err != nil {
			return err
		}
		set(&tc.FriendlyName, p.FriendlyName)
		set(&tc.ChannelOptimizedRouting, p.ChannelOptimizedRouting)
		tc.DateUpdated = e.now()
		if err := tx.Model(&tc).Select("friendly_name", "channel_optimized_routing", "date_updated").Updates(&tc).Error; err != nil {
			return err
		}
		return e.recordTaskChannel(tx, tc, "updated")
	})
	return tc, errs.Wrap(err, "update task channel")
}

// DeleteTaskChannel removes a task channel and the workers' capacity on it,
// unless a task of that channel is not yet completed or canceled: only
// such a task holds capacity on a worker channel (an offer or an
// assignment), so this also keeps every worker channel in use.
func (e *Engine) DeleteTaskChannel(ctx context.Context, workspaceSid, key string) error {
	return errs.Wrap(e.write(ctx, func(tx *db.Tx) error {
		// Locked, so that a task creation that share-locks the channel is
		// either counted below or finds the channel gone.
		tc, err := taskChannelByKey(tx.Locked("UPDATE"), workspaceSid, key)
		if err != nil {
			return err
		}
		var tasks int64
		if err := tx.Model(&Task{}).Where("task_channel_sid = ? AND assignment_status IN ?", tc.Sid, liveTaskStatuses).
			Count(&tasks).Error; err != nil {
			return err
		}
		if tasks > 0 {
			return conflict("TaskChannel %s cannot be deleted while %d tasks of it are not completed or canceled", tc.UniqueName, tasks)
		}
		if err := tx.Delete(&tc).Error; err != nil {
			return err
		}
		return e.recordTaskChannel(tx, tc, "deleted")
	}), "delete task channel")
}

// liveTaskStatuses are the statuses of tasks not yet completed or canceled.
var liveTaskStatuses = []string{TaskPending, TaskReserved, TaskAssigned, TaskWrapping}
