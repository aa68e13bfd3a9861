package taskrouter

import (
	"context"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// Worker channel capacity: what a new worker channel gets, and the most a
// worker may be given on one channel.
const (
	DefaultChannelCapacity = 1
	MaxChannelCapacity     = 50
)

// WorkerChannelParams are a worker channel's settable fields; nil leaves one as is.
type WorkerChannelParams struct {
	Capacity  *int
	Available *bool
}

// AvailableCapacityPercentage is how much of the channel's capacity is free,
// 0 to 100; a channel without capacity has none free.
func (wc WorkerChannel) AvailableCapacityPercentage() int {
	if wc.Capacity <= 0 {
		return 0
	}
	return max(0, (wc.Capacity-wc.Used)*100/wc.Capacity)
}

// newWorkerChannel is a worker's capacity on a task channel as it starts.
func newWorkerChannel(workspaceSid, workerSid, channelSid string, now time.Time) WorkerChannel {
	return WorkerChannel{Sid: sid.New(sid.WorkerChannel), WorkspaceSid: workspaceSid, WorkerSid: workerSid,
		TaskChannelSid: channelSid, Capacity: DefaultChannelCapacity, Available: true, DateCreated: now, DateUpdated: now}
}

// workerChannelByKey loads a worker's channel by its WC SID, or by the task
// channel's SID or unique name.
func workerChannelByKey(q *gorm.DB, workspaceSid, workerSid, key string) (WorkerChannel, error) {
	column, value := "sid", key
	if !sid.Is(key, sid.WorkerChannel) {
		tc, err := taskChannelByKey(q, workspaceSid, key)
		if err != nil && errs.KindOf(err) != errs.NotFound {
			return WorkerChannel{}, err
		}
		column, value = "task_channel_sid", tc.Sid
	}
	var wc WorkerChannel
	res := q.Where("workspace_sid = ? AND worker_sid = ? AND "+column+" = ?", workspaceSid, workerSid, value).Limit(1).Find(&wc)
	if res.Error != nil {
		return wc, errs.Wrap(res.Error, "worker channel")
	}
	if res.RowsAffected == 0 {
		return wc, notFound("Workers/"+workerSid+"/Channels", key)
	}
	return wc, nil
}

// WorkerChannel fetches a worker's capacity on one task channel, by WC SID
// or by the task channel's SID or unique name.
func (e *Engine) WorkerChannel(ctx context.Context, workspaceSid, workerSid, key string) (WorkerChannel, error) {
	return workerChannelByKey(e.read(ctx), workspaceSid, workerSid, key)
}

// WorkerChannels lists a worker's channels in task channel order.
func (e *Engine) WorkerChannels(ctx context.Context, workspaceSid, workerSid string, p Page) ([]WorkerChannel, bool, error) {
	if _, err := e.findWorker(e.read(ctx), workspaceSid, workerSid); err != nil {
		return nil, false, err
	}
	var rows []WorkerChannel
	if err := e.read(ctx).Where("workspace_sid = ? AND worker_sid = ?", workspaceSid, workerSid).
		Order("date_created, task_channel_sid").Offset(p.Offset).Limit(p.Limit + 1).Find(&rows).Error; err != nil {
		return nil, false, errs.Wrap(err, "worker channels")
	}
	rows, more := trimPage(rows, p)
	return rows, more, nil
}

// UpdateWorkerChannel sets a worker's capacity on a channel (0 stops new
// offers) or whether the worker takes tasks of it at all, and wakes the
// router, since either may make an offer possible.
func (e *Engine) UpdateWorkerChannel(ctx context.Context, workspaceSid, workerSid, key string, p WorkerChannelParams) (WorkerChannel, error) {
	if p.Capacity != nil && (*p.Capacity < 0 || *p.Capacity > MaxChannelCapacity) {
		return WorkerChannel{}, errs.Invalidf("Capacity must be between 0 and %d", MaxChannelCapacity)
	}
	var wc WorkerChannel
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		if wc, err = workerChannelByKey(tx.DB, workspaceSid, workerSid, key); err != nil {
			return err
		}
		before := wc
		set(&wc.Capacity, p.Capacity)
		set(&wc.Available, p.Available)
		wc.DateUpdated = e.now()
		// Only these columns: the router moves used and assigned concurrently.
		if err := tx.Model(&wc).Select("capacity", "available", "date_updated").Updates(&wc).Error; err != nil {
			return err
		}
		ev := Event{WorkspaceSid: workspaceSid, ResourceType: "worker", ResourceSid: workerSid, WorkerSid: workerSid}
		data := map[string]any{"worker_channel_sid": wc.Sid, "task_channel_sid": wc.TaskChannelSid,
			"worker_channel_capacity": wc.Capacity, "worker_channel_available": wc.Available}
		if wc.Capacity != before.Capacity {
			ev.EventType = "worker.capacity.update"
			ev.Description = "Worker " + workerSid + " capacity on " + wc.TaskChannelSid + " set to " + strconv.Itoa(wc.Capacity)
			if err := e.record(tx, ev, data); err != nil {
				return err
			}
		}
		if wc.Available != before.Available {
			ev.EventType = "worker.channel.availability.update"
			ev.Description = "Worker " + workerSid + " availability on " + wc.TaskChannelSid + " set to " + strconv.FormatBool(wc.Available)
			if err := e.record(tx, ev, data); err != nil {
				return err
			}
		}
		return wake(tx, workspaceSid)
	})
	return wc, errs.Wrap(err, "update worker channel")
}
