package interactions

import (
	"context"
	"encoding/json"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// ReassignSpec is a supervisor's order to move a channel's live task.
type ReassignSpec struct {
	TaskSid string // the live task, one of the channel's invites'
	To      string // a worker (WK…) or a queue (WQ…) of the task's workspace
	Note    string // travels in the new task's attributes (transferNote)
}

// ReassignedReason is the reason a task replaced by a supervisor's
// reassignment ends with: its work moved on, nobody abandoned it.
const ReassignedReason = "reassigned by a supervisor"

// Reassign moves a channel's live task to a worker (who is offered it) or a
// queue (where it waits), at once: the task it replaces ends in the same
// transaction. A task nobody accepted yet is canceled (an offer on it is
// withdrawn); an assigned one is handed over as a cold transfer whose
// agent leaves now rather than when the target accepts, their task
// completed. A task wrapping up has no live work to move.
func (s *Service) Reassign(ctx context.Context, interactionSid, channelSid string, spec ReassignSpec) (Invite, error) {
	if !sid.Is(spec.To, sid.Worker) && !sid.Is(spec.To, sid.TaskQueue) {
		return Invite{}, errs.Invalidf("Choose an agent (WK…) or a queue (WQ…) to reassign to")
	}
	var inv Invite
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		ch, c, err := s.openChannel(tx, interactionSid, channelSid)
		if err != nil {
			return err
		}
		var old Invite
		res := tx.Where("channel_sid = ? AND task_sid = ?", ch.Sid, spec.TaskSid).Limit(1).Find(&old)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return notFound("Interactions/"+interactionSid+"/Channels/"+channelSid+"/Tasks", spec.TaskSid)
		}
		var routing Routing
		_ = json.Unmarshal([]byte(old.Routing), &routing)
		ws := routing.Properties.WorkspaceSid
		t, err := s.tr.TaskTx(tx, ws, old.TaskSid)
		if err != nil {
			return err
		}
		if t.AssignmentStatus != taskrouter.TaskPending && t.AssignmentStatus != taskrouter.TaskReserved &&
			t.AssignmentStatus != taskrouter.TaskAssigned {
			return errs.E(errs.Conflict, errs.CodeInvalidParam, "Task %s is %s: only live work can be reassigned", t.Sid, t.AssignmentStatus)
		}
		var attrs map[string]any
		_ = json.Unmarshal([]byte(t.Attributes), &attrs)
		delete(attrs, "flexChannelInviteSid")
		target, props := "worker", RoutingProperties{WorkspaceSid: ws, TaskChannelSid: t.TaskChannelSid, Attributes: attrs, Priority: &t.Priority}
		if sid.Is(spec.To, sid.TaskQueue) {
			target, props.QueueSid = "queue", spec.To
		} else {
			props.WorkerSid = spec.To
		}
		extra := map[string]any{"transferTargetType": target, "transferTargetSid": spec.To, "transferNote": spec.Note,
			"transferType": TransferCold, "transferringTaskSid": t.Sid}
		cust, err := s.customerOf(tx, c)
		if err != nil {
			return err
		}
		// The new invite first: the channel stays busy while the old work ends.
		if inv, _, err = s.invite(tx, ch, c, cust, props, extra); err != nil {
			return err
		}
		if t.AssignmentStatus != taskrouter.TaskAssigned {
			if _, err := s.tr.MoveTaskTx(tx, ws, t.Sid, taskrouter.TaskCanceled, ReassignedReason); err != nil {
				return err
			}
			return tx.Model(&old).Updates(map[string]any{"status": "ended", "date_updated": s.now()}).Error
		}
		return s.handOver(tx, ch, t, inv, spec)
	})
	return inv, err
}

// handOver records an assigned task's reassignment as a cold transfer from
// its agent and takes the agent out now, their task completed.
func (s *Service) handOver(tx *db.Tx, ch Channel, t taskrouter.Task, inv Invite, spec ReassignSpec) error {
	var agents []Participant
	if err := tx.Where("channel_sid = ? AND type = ? AND status = ?", ch.Sid, TypeAgent, ParticipantActive).
		Order("date_created").Find(&agents).Error; err != nil {
		return err
	}
	for i := range agents {
		var at agentTask
		_ = json.Unmarshal([]byte(agents[i].RoutingProperties), &at)
		if at.TaskSid != t.Sid {
			continue
		}
		now := s.now()
		tr := Transfer{Sid: sid.New(sid.InteractionTransfer), InteractionSid: ch.InteractionSid, ChannelSid: ch.Sid, Type: TransferCold,
			Status: "active", FromSid: agents[i].Sid, ToSid: spec.To, Note: spec.Note, InviteSid: inv.Sid, DateCreated: now, DateUpdated: now}
		if err := tx.Create(&tr).Error; err != nil {
			return err
		}
		return s.leave(tx, &agents[i], ParticipantClosed)
	}
	// Assigned over the REST API without anyone joining: nobody to take out.
	_, err := s.tr.MoveTaskTx(tx, t.WorkspaceSid, t.Sid, taskrouter.TaskCompleted, ReassignedReason)
	return err
}
