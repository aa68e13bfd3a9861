package insights

import (
	"encoding/json"
	"time"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/db"
)

// Fact is what insights keep of one task: where it went, when each step of
// its life happened and the durations between them, in milliseconds.
type Fact struct {
	TaskSid         string `gorm:"primaryKey"`
	WorkspaceSid    string
	TaskChannelSid  string
	TaskQueueSid    string
	WorkflowSid     string
	CreatedAt       time.Time `gorm:"autoCreateTime:false"`
	EnteredAt       *time.Time
	AcceptedAt      *time.Time
	WorkerSid       string // the worker who accepted it
	FirstResponseAt *time.Time
	WrapupAt        *time.Time
	CompletedAt     *time.Time
	CanceledAt      *time.Time
	Abandoned       bool   // canceled while waiting
	Transfers       int    // transfers made from this task
	TransferredFrom string // the task this one was transferred from
	Disposition     string
	FinalWorkerSid  string // the worker holding it when it completed
	WaitMs          *int64 // created → accepted, or → canceled
	HandleMs        *int64 // accepted → completed
	WrapMs          *int64 // wrap-up → completed
	FirstResponseMs *int64 // accepted → the agent's first message
}

// TableName names the fact table.
func (Fact) TableName() string { return "insights_tasks" }

// observe keeps a task's fact row in step with the event ev, inside the
// event's transaction.
func observe(tx *db.Tx, ev taskrouter.Event, _ map[string]any) error {
	switch ev.EventType {
	case "task.created":
		return created(tx, ev)
	case "task-queue.entered", "reservation.accepted", "task.wrapup", "task.completed", "task.canceled":
	default:
		return nil
	}
	var f Fact
	res := tx.Where("task_sid = ?", ev.TaskSid).Limit(1).Find(&f)
	if res.Error != nil || res.RowsAffected == 0 {
		// A task's queue entry is recorded before its creation; the
		// creation reads the queue from the task.
		return res.Error
	}
	at := ev.EventDate.UTC()
	switch ev.EventType {
	case "task-queue.entered":
		f.TaskQueueSid = ev.TaskQueueSid
		if f.EnteredAt == nil {
			f.EnteredAt = &at
		}
	case "reservation.accepted":
		if f.AcceptedAt != nil {
			return nil
		}
		f.AcceptedAt, f.WorkerSid, f.WaitMs = &at, ev.WorkerSid, millis(f.CreatedAt, at)
	case "task.wrapup":
		if f.WrapupAt == nil {
			f.WrapupAt = &at
		}
		if err := firstResponse(tx, &f, at); err != nil {
			return err
		}
	case "task.completed":
		var t taskrouter.Task
		if err := tx.Where("sid = ?", ev.TaskSid).First(&t).Error; err != nil {
			return err
		}
		f.CompletedAt, f.FinalWorkerSid, f.Disposition = &at, t.WorkerSid, disposition(t.Attributes)
		if f.AcceptedAt != nil {
			f.HandleMs = millis(*f.AcceptedAt, at)
		}
		if f.WrapupAt != nil {
			f.WrapMs = millis(*f.WrapupAt, at)
		}
		if err := firstResponse(tx, &f, at); err != nil {
			return err
		}
	case "task.canceled":
		// A task whose work moved on to a new one (a supervisor's
		// reassignment) was neither abandoned nor withdrawn.
		var successors int64
		if err := tx.Model(&Fact{}).Where("transferred_from = ?", f.TaskSid).Count(&successors).Error; err != nil {
			return err
		}
		if f.TransferredFrom != "" && f.AcceptedAt == nil && successors == 0 {
			// A transfer withdrawn before anyone took it: no task of its
			// own, and no transfer either.
			if err := tx.Delete(&f).Error; err != nil {
				return err
			}
			return countTransfers(tx, f.TransferredFrom)
		}
		f.CanceledAt = &at
		if f.AcceptedAt == nil && successors == 0 {
			f.Abandoned, f.WaitMs = true, millis(f.CreatedAt, at)
		}
	}
	return tx.Select("*").Save(&f).Error
}

// created inserts a new task's fact row; a task made by a transfer counts
// on the task it came from.
func created(tx *db.Tx, ev taskrouter.Event) error {
	var t taskrouter.Task
	if err := tx.Where("sid = ?", ev.TaskSid).First(&t).Error; err != nil {
		return err
	}
	var attrs struct {
		TransferringTaskSid string `json:"transferringTaskSid"`
	}
	_ = json.Unmarshal([]byte(t.Attributes), &attrs)
	at := ev.EventDate.UTC()
	f := Fact{TaskSid: t.Sid, WorkspaceSid: t.WorkspaceSid, TaskChannelSid: t.TaskChannelSid, TaskQueueSid: t.TaskQueueSid,
		WorkflowSid: t.WorkflowSid, CreatedAt: at, EnteredAt: t.TaskQueueEnteredDate, TransferredFrom: attrs.TransferringTaskSid}
	if f.EnteredAt != nil {
		entered := f.EnteredAt.UTC()
		f.EnteredAt = &entered
	}
	if f.TransferredFrom == "" {
		return tx.Create(&f).Error
	}
	if f.TaskQueueSid == "" {
		// Transferred to an agent: the work stays the origin's queue's.
		var from Fact
		if err := tx.Where("task_sid = ?", f.TransferredFrom).Limit(1).Find(&from).Error; err != nil {
			return err
		}
		f.TaskQueueSid = from.TaskQueueSid
	}
	if err := tx.Create(&f).Error; err != nil {
		return err
	}
	return countTransfers(tx, f.TransferredFrom)
}

// countTransfers sets a task's transfers: the tasks transferred from it.
// Counted, not incremented, so the figure stays right however often it
// runs.
func countTransfers(tx *db.Tx, taskSid string) error {
	return tx.Exec(`UPDATE insights_tasks SET transfers = (SELECT COUNT(*) FROM insights_tasks WHERE transferred_from = ?)
		WHERE task_sid = ?`, taskSid, taskSid).Error
}

// firstResponse finds, once, the agent's first message in the task's
// conversation between acceptance and until: the agent is the interaction
// participant the acceptance made for this task.
func firstResponse(tx *db.Tx, f *Fact, until time.Time) error {
	if f.AcceptedAt == nil || f.FirstResponseAt != nil {
		return nil
	}
	var first []time.Time
	err := tx.Raw(`SELECT m.date_created FROM interaction_invites i
JOIN interaction_channels ch ON ch.sid = i.channel_sid
JOIN interaction_participants p ON p.channel_sid = i.channel_sid AND p.type = 'agent' AND p.routing_properties LIKE ?
JOIN messages m ON m.conversation_sid = ch.media_channel_sid AND m.participant_sid = p.conversation_participant_sid
WHERE i.task_sid = ? AND m.date_created >= ? AND m.date_created <= ?
ORDER BY m.date_created LIMIT 1`, `%"task_sid":"`+f.TaskSid+`"%`, f.TaskSid, *f.AcceptedAt, until).Scan(&first).Error
	if err != nil || len(first) == 0 {
		return err
	}
	at := first[0].UTC()
	f.FirstResponseAt, f.FirstResponseMs = &at, millis(*f.AcceptedAt, at)
	return nil
}

// disposition is the code the desk writes into a completed task's attributes.
func disposition(attributes string) string {
	var attrs struct {
		Disposition string `json:"disposition"`
	}
	_ = json.Unmarshal([]byte(attributes), &attrs)
	return attrs.Disposition
}

func millis(from, to time.Time) *int64 {
	ms := to.Sub(from).Milliseconds()
	return &ms
}
