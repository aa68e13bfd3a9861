package interactions

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// RoutingProperties are the "properties" of a Routing parameter: where and
// how the task that an invite makes is routed.
type RoutingProperties struct {
	WorkspaceSid          string         `json:"workspace_sid,omitempty"`
	WorkflowSid           string         `json:"workflow_sid,omitempty"`
	QueueSid              string         `json:"queue_sid,omitempty"`
	WorkerSid             string         `json:"worker_sid,omitempty"`
	TaskChannelUniqueName string         `json:"task_channel_unique_name,omitempty"`
	TaskChannelSid        string         `json:"task_channel_sid,omitempty"`
	Attributes            map[string]any `json:"attributes,omitempty"`
	Priority              *int64         `json:"priority,omitempty"`
	Timeout               *int           `json:"timeout,omitempty"`
}

// Routing is the Routing parameter of interactions and invites.
type Routing struct {
	Type       string            `json:"type,omitempty"`
	Properties RoutingProperties `json:"properties"`
}

// ParseRouting reads a Routing parameter; empty means default routing.
func ParseRouting(raw string) (Routing, error) {
	var r Routing
	if strings.TrimSpace(raw) == "" {
		return r, nil
	}
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return r, errs.Invalidf("Routing must be a JSON object such as {\"properties\":{\"workspace_sid\":\"WS…\"}}: %v", err)
	}
	return r, nil
}

// taskChannelFor maps a conversation channel type to a task channel.
func taskChannelFor(channelType string) string {
	switch channelType {
	case "sms", "whatsapp":
		return channelType
	case "web", "chat", "":
		return "chat"
	}
	return "default"
}

// customerParticipant describes the customer of a conversation for task
// attributes: their participant, name and address.
type customerParticipant struct {
	participant conversations.Participant
	name        string
	address     string
	channelType string
	outbound    bool // an agent started the contact: the task is outbound, initiated by the agent
}

func describeCustomer(p conversations.Participant) customerParticipant {
	cp := customerParticipant{participant: p, channelType: p.ChannelType}
	switch {
	case p.Address != nil:
		cp.address = *p.Address
	case p.Identity != nil:
		cp.address = *p.Identity
		cp.channelType = "web"
	}
	var attrs map[string]any
	_ = json.Unmarshal([]byte(p.Attributes), &attrs)
	for _, k := range []string{"friendlyName", "friendly_name", "name"} {
		if v, ok := attrs[k].(string); ok && v != "" {
			cp.name = v
			break
		}
	}
	if cp.name == "" {
		cp.name = cp.address
	}
	return cp
}

// inboundPayload is the job payload of jobInbound.
type inboundPayload struct {
	ConversationSid string `json:"conversation_sid"`
	ParticipantSid  string `json:"participant_sid"`
}

// runInbound makes sure a customer's message will be answered: with a new
// interaction when the conversation has none open, or a new task on the
// interaction it has when nobody is working it any more.
func (s *Service) runInbound(ctx context.Context, payload string) error {
	var in inboundPayload
	if err := json.Unmarshal([]byte(payload), &in); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		// ConversationTx locks the row: one interaction per conversation,
		// however many nodes run this job.
		c, err := s.conv.ConversationTx(tx, in.ConversationSid)
		if errs.KindOf(err) == errs.NotFound || err == nil && c.State == conversations.StateClosed {
			return nil // deleted or closed meanwhile: nothing to route
		}
		if err != nil {
			return err
		}
		author, err := s.conv.ParticipantTx(tx, c.Sid, in.ParticipantSid)
		if errs.KindOf(err) == errs.NotFound {
			return nil // the customer left already
		}
		if err != nil {
			return err
		}
		var ch Channel
		res := tx.Where("media_channel_sid = ? AND status IN ?", c.Sid, []string{ChannelSetup, ChannelActive, ChannelInactive}).
			Order("date_created DESC").Limit(1).Find(&ch)
		if res.Error != nil {
			return res.Error
		}
		cust := describeCustomer(author)
		if res.RowsAffected == 0 {
			_, _, _, err := s.open(tx, c, cust, RoutingProperties{}, jsonString(map[string]any{
				"type": cust.channelType, "initiated_by": "customer", "properties": map[string]any{"media_channel_sid": c.Sid}}))
			return err
		}
		busy, err := s.channelBusy(tx, ch.Sid)
		if err != nil || busy {
			return err
		}
		ch.Status, ch.DateUpdated = ChannelActive, s.now()
		if err := tx.Model(&ch).Select("status", "date_updated").Updates(&ch).Error; err != nil {
			return err
		}
		_, _, err = s.invite(tx, ch, c, cust, RoutingProperties{}, nil)
		return err
	})
}

// busyChannel is the condition, on a channel ch.sid, that someone is
// answering it: a task waiting or assigned, or an agent still in it.
// Wrapping work does not count: that agent has left the conversation, so
// a new customer message needs new work. Its parameters are busyArgs.
const busyChannel = `(EXISTS (SELECT 1 FROM interaction_invites i JOIN tasks t ON t.sid = i.task_sid
		WHERE i.channel_sid = ch.sid AND t.assignment_status IN ?)
	OR EXISTS (SELECT 1 FROM interaction_participants p WHERE p.channel_sid = ch.sid AND p.type = ? AND p.status = ?))`

func busyArgs() []any {
	return []any{[]string{taskrouter.TaskPending, taskrouter.TaskReserved, taskrouter.TaskAssigned}, TypeAgent, ParticipantActive}
}

// channelBusy reports whether someone is answering the channel.
func (s *Service) channelBusy(tx *db.Tx, channelSid string) (bool, error) {
	var busy bool
	err := tx.Raw(`SELECT `+busyChannel+` FROM (SELECT ? AS sid) ch`, append(busyArgs(), channelSid)...).Scan(&busy).Error
	return busy, err
}

// open creates an interaction on a conversation: the interaction, its
// channel, the customer participant, and an invite with its task.
func (s *Service) open(tx *db.Tx, c conversations.Conversation, cust customerParticipant, props RoutingProperties, channelJSON string) (Interaction, Channel, taskrouter.Task, error) {
	now := s.now()
	in := Interaction{Sid: sid.New(sid.Interaction), Channel: channelJSON, Routing: jsonString(Routing{Properties: props}),
		DateCreated: now, DateUpdated: now}
	ch := Channel{Sid: sid.New(sid.InteractionChannel), InteractionSid: in.Sid, Type: cust.channelType, Status: ChannelActive,
		MediaChannelSid: c.Sid, DateCreated: now, DateUpdated: now}
	if ch.Type == "" {
		ch.Type = "chat"
	}
	if err := tx.Create(&in).Error; err != nil {
		return in, ch, taskrouter.Task{}, err
	}
	if err := tx.Create(&ch).Error; err != nil {
		return in, ch, taskrouter.Task{}, err
	}
	if cust.participant.Sid != "" {
		p := Participant{Sid: sid.New(sid.InteractionParticipant), InteractionSid: in.Sid, ChannelSid: ch.Sid, Type: TypeCustomer,
			Status: ParticipantActive, MediaProperties: jsonString(map[string]any{"sid": cust.participant.Sid,
				"address": cust.address, "name": cust.name}), RoutingProperties: "{}",
			ConversationParticipantSid: cust.participant.Sid, DateCreated: now, DateUpdated: now}
		if err := tx.Create(&p).Error; err != nil {
			return in, ch, taskrouter.Task{}, err
		}
	}
	_, t, err := s.invite(tx, ch, c, cust, props, nil)
	return in, ch, t, err
}

// invite asks TaskRouter for someone to work the channel: a task routed by
// props (the default workspace and its workflow when empty), with the
// attributes Flex puts on conversation tasks.
func (s *Service) invite(tx *db.Tx, ch Channel, c conversations.Conversation, cust customerParticipant, props RoutingProperties, extra map[string]any) (Invite, taskrouter.Task, error) {
	now := s.now()
	inv := Invite{Sid: sid.New(sid.InteractionInvite), InteractionSid: ch.InteractionSid, ChannelSid: ch.Sid, Status: "pending",
		DateCreated: now, DateUpdated: now}
	ws := props.WorkspaceSid
	if ws == "" {
		def, err := s.tr.DefaultWorkspaceTx(tx)
		if err != nil {
			return inv, taskrouter.Task{}, err
		}
		ws = def.Sid
	}
	attrs := map[string]any{}
	for k, v := range props.Attributes {
		attrs[k] = v
	}
	for k, v := range extra {
		attrs[k] = v
	}
	direction, initiatedBy := "inbound", "customer"
	if cust.outbound {
		direction, initiatedBy = "outbound", "agent"
	}
	for k, v := range map[string]any{
		"conversationSid": c.Sid, "channelType": ch.Type, "direction": direction, "initiatedBy": initiatedBy,
		"customerName": cust.name, "customerAddress": cust.address,
		"flexInteractionSid": ch.InteractionSid, "flexInteractionChannelSid": ch.Sid, "flexChannelInviteSid": inv.Sid,
		"customers":     map[string]any{"name": cust.name, "phone": cust.address},
		"conversations": map[string]any{"initiated_by": initiatedBy, "conversation_id": ch.InteractionSid, "media": []any{map[string]any{"type": "ChatTranscript", "sid": c.Sid}}},
	} {
		if _, set := attrs[k]; !set {
			attrs[k] = v
		}
	}
	channel := props.TaskChannelUniqueName
	if props.TaskChannelSid != "" {
		channel = props.TaskChannelSid
	}
	if channel == "" {
		channel = taskChannelFor(ch.Type)
	}
	p := taskrouter.TaskParams{Attributes: ptr(jsonString(attrs)), TaskChannel: &channel, Priority: props.Priority, Timeout: props.Timeout}
	switch {
	case props.WorkerSid != "":
		p.RoutingTarget = &props.WorkerSid
		if props.QueueSid != "" {
			p.TaskQueueSid = &props.QueueSid
		}
	case props.QueueSid != "":
		p.RoutingTarget = &props.QueueSid
	case props.WorkflowSid != "":
		p.WorkflowSid = &props.WorkflowSid
	}
	t, err := s.tr.CreateTaskTx(tx, ws, p)
	if err != nil {
		return inv, t, err
	}
	inv.TaskSid = t.Sid
	inv.Routing = jsonString(Routing{Type: "taskrouter", Properties: RoutingProperties{WorkspaceSid: ws, WorkflowSid: t.WorkflowSid,
		QueueSid: props.QueueSid, WorkerSid: props.WorkerSid, TaskChannelUniqueName: channel, Attributes: attrs}})
	return inv, t, tx.Create(&inv).Error
}

func ptr[T any](v T) *T { return &v }

// workerIdentity is the conversations identity of a worker: its Flex
// contact_uri without "client:", or an explicit identity attribute, or its name.
func workerIdentity(w taskrouter.Worker) string {
	var attrs map[string]any
	_ = json.Unmarshal([]byte(w.Attributes), &attrs)
	if v, ok := attrs["identity"].(string); ok && v != "" {
		return v
	}
	if v, ok := attrs["contact_uri"].(string); ok && v != "" {
		return strings.TrimPrefix(v, "client:")
	}
	return w.FriendlyName
}

// workerName is how customers see an agent: the worker's full_name
// attribute (staff provisioning sets it; the worker's own name is their
// identity, often an email address), else the worker's name.
func workerName(w taskrouter.Worker) string {
	var attrs map[string]any
	_ = json.Unmarshal([]byte(w.Attributes), &attrs)
	if v, ok := attrs["full_name"].(string); ok && v != "" {
		return v
	}
	return w.FriendlyName
}

// onAccepted joins the accepting agent to the conversation, inside the
// transaction that accepts the reservation: both happen or neither does. A
// cold transfer's first agent leaves at the same moment.
func (s *Service) onAccepted(tx *db.Tx, r taskrouter.Reservation, t taskrouter.Task) error {
	var inv Invite
	res := tx.Where("task_sid = ?", t.Sid).Limit(1).Find(&inv)
	if res.Error != nil || res.RowsAffected == 0 {
		return res.Error // a task of its own, not an interaction's
	}
	var ch Channel
	if err := tx.Where("sid = ?", inv.ChannelSid).First(&ch).Error; err != nil {
		return err
	}
	if ch.Status == ChannelClosed {
		return errs.E(errs.Conflict, errs.CodeInvalidParam, "Interaction channel %s is closed", ch.Sid)
	}
	c, err := s.conv.ConversationTx(tx, ch.MediaChannelSid)
	if err != nil {
		return err
	}
	w, err := s.tr.WorkerTx(tx, r.WorkspaceSid, r.WorkerSid)
	if err != nil {
		return err
	}
	identity := workerIdentity(w)
	member, err := s.conv.ParticipantTx(tx, c.Sid, identity)
	if errs.KindOf(err) == errs.NotFound {
		member, err = s.conv.AddParticipantTx(tx, c.ServiceSid, c.Sid, conversations.ParticipantParams{
			Identity: &identity, Attributes: ptr(jsonString(map[string]any{"friendlyName": workerName(w), "worker_sid": w.Sid})),
			Source: "TASKROUTER"})
	}
	if err != nil {
		return err
	}
	now := s.now()
	agent := Participant{Sid: sid.New(sid.InteractionParticipant), InteractionSid: ch.InteractionSid, ChannelSid: ch.Sid, Type: TypeAgent,
		Status: ParticipantActive, MediaProperties: jsonString(map[string]any{"sid": member.Sid, "identity": identity, "name": workerName(w)}),
		RoutingProperties: jsonString(map[string]any{"task_sid": t.Sid, "worker_sid": w.Sid, "reservation_sid": r.Sid,
			"workspace_sid": r.WorkspaceSid}), ConversationParticipantSid: member.Sid, DateCreated: now, DateUpdated: now}
	if err := tx.Create(&agent).Error; err != nil {
		return err
	}
	if err := tx.Model(&inv).Updates(map[string]any{"status": "accepted", "date_updated": now}).Error; err != nil {
		return err
	}
	if c.State == conversations.StateInactive {
		if err := s.conv.SetStateTx(tx, c.Sid, conversations.StateActive, "TASKROUTER"); err != nil {
			return err
		}
	}
	// An agent joining a parked channel (Flex unparks with an invite) makes
	// it active again, so their leaving parks it once more.
	if ch.Status == ChannelInactive {
		if err := tx.Model(&ch).Updates(map[string]any{"status": ChannelActive, "date_updated": now}).Error; err != nil {
			return err
		}
	}
	var tr Transfer
	res = tx.Where("invite_sid = ?", inv.Sid).Limit(1).Find(&tr)
	if res.Error != nil || res.RowsAffected == 0 {
		return res.Error
	}
	if tr.Type == TransferCold {
		var from Participant
		if err := tx.Where("sid = ?", tr.FromSid).First(&from).Error; err != nil {
			return err
		}
		if from.Status == ParticipantActive {
			if err := s.leave(tx, &from, ParticipantClosed); err != nil {
				return err
			}
		}
	}
	return tx.Model(&tr).Updates(map[string]any{"status": "completed", "date_updated": now}).Error
}

// lockChannelTasks takes the row locks of every task a channel made, in SID
// order, before anything else of the change: acceptances lock their task
// and then the conversation, so every path takes tasks before the
// conversation and none waits on the other in reverse.
func lockChannelTasks(tx *db.Tx, channelSid string) error {
	var sids []string
	return tx.Locked("UPDATE").Model(&taskrouter.Task{}).
		Where("sid IN (?)", tx.Model(&Invite{}).Select("task_sid").Where("channel_sid = ?", channelSid)).
		Order("sid").Pluck("sid", &sids).Error
}

// agentTask is the task an agent participant works, from its routing properties.
type agentTask struct {
	TaskSid      string `json:"task_sid"`
	WorkspaceSid string `json:"workspace_sid"`
}

// leave takes an agent (or supervisor) out of a channel: out of the
// conversation, and their task to wrapping (wrapup) or completed (closed).
// The last one out parks the channel and the conversation as inactive, so
// the customer's next message reopens work on the same interaction.
func (s *Service) leave(tx *db.Tx, p *Participant, status string) error {
	if p.Status == ParticipantClosed || p.Status == status {
		return nil
	}
	var ch Channel
	if err := tx.Where("sid = ?", p.ChannelSid).First(&ch).Error; err != nil {
		return err
	}
	var at agentTask
	_ = json.Unmarshal([]byte(p.RoutingProperties), &at)
	if at.TaskSid != "" {
		t, err := s.tr.TaskTx(tx, at.WorkspaceSid, at.TaskSid)
		if err != nil {
			return err
		}
		switch {
		case status == ParticipantWrapup && t.AssignmentStatus == taskrouter.TaskAssigned:
			_, err = s.tr.MoveTaskTx(tx, at.WorkspaceSid, t.Sid, taskrouter.TaskWrapping, "agent wrapping up")
		case status == ParticipantClosed && (t.AssignmentStatus == taskrouter.TaskAssigned || t.AssignmentStatus == taskrouter.TaskWrapping):
			_, err = s.tr.MoveTaskTx(tx, at.WorkspaceSid, t.Sid, taskrouter.TaskCompleted, "agent left the conversation")
		}
		if err != nil {
			return err
		}
	}
	// The conversation's lock comes after the task's, as in an acceptance.
	c, err := s.conv.ConversationTx(tx, ch.MediaChannelSid)
	if err != nil {
		return err
	}
	if p.Status == ParticipantActive && p.ConversationParticipantSid != "" && p.Type != TypeCustomer {
		// The same person may hold another active part in this channel (she
		// took back her own transfer): then she stays in the conversation.
		var shared int64
		if err := tx.Model(&Participant{}).Where("conversation_participant_sid = ? AND sid <> ? AND status = ?",
			p.ConversationParticipantSid, p.Sid, ParticipantActive).Count(&shared).Error; err != nil {
			return err
		}
		if shared == 0 {
			err := s.conv.RemoveParticipantTx(tx, c.ServiceSid, c.Sid, p.ConversationParticipantSid, "TASKROUTER")
			if err != nil && errs.KindOf(err) != errs.NotFound {
				return err
			}
		}
	}
	p.Status, p.DateUpdated = status, s.now()
	if err := tx.Model(p).Select("status", "date_updated").Updates(p).Error; err != nil {
		return err
	}
	busy, err := s.channelBusy(tx, ch.Sid)
	if err != nil || busy || ch.Status != ChannelActive {
		return err
	}
	if err := tx.Model(&ch).Updates(map[string]any{"status": ChannelInactive, "date_updated": s.now()}).Error; err != nil {
		return err
	}
	if c.State == conversations.StateActive {
		return s.conv.SetStateTx(tx, c.Sid, conversations.StateInactive, "TASKROUTER")
	}
	return nil
}
