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

// ChannelSpec is the Channel parameter of an interaction.
type ChannelSpec struct {
	Type        string `json:"type"`
	InitiatedBy string `json:"initiated_by"`
	Properties  struct {
		MediaChannelSid string `json:"media_channel_sid"`
	} `json:"properties"`
	Participants []struct {
		Address      string `json:"address"`
		ProxyAddress string `json:"proxy_address"`
		Name         string `json:"name"`
	} `json:"participants"`
}

// Created is an interaction with the channel and task it started.
type Created struct {
	Interaction Interaction
	Channel     Channel
	Task        taskrouter.Task
}

// CreateInteraction starts an interaction on an existing conversation
// (properties.media_channel_sid) or, initiated by an agent, on a new one
// with the given participants; routing says where its task goes.
func (s *Service) CreateInteraction(ctx context.Context, channelJSON, routingJSON, contextSid, webhookTtid string) (Created, error) {
	var spec ChannelSpec
	if err := json.Unmarshal([]byte(channelJSON), &spec); err != nil || spec.Type == "" {
		return Created{}, errs.Invalidf("Channel must be a JSON object with a type, such as {\"type\":\"sms\",\"initiated_by\":\"customer\",\"properties\":{\"media_channel_sid\":\"CH…\"}}")
	}
	spec.Type = strings.ToLower(spec.Type)
	routing, err := ParseRouting(routingJSON)
	if err != nil {
		return Created{}, err
	}
	var out Created
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		var c conversations.Conversation
		var cust customerParticipant
		switch {
		case spec.Properties.MediaChannelSid != "":
			var err error
			if c, err = s.conv.ConversationTx(tx, spec.Properties.MediaChannelSid); err != nil {
				return err
			}
			if c.State == conversations.StateClosed {
				// No agent could ever join it: its task would be offered for nothing.
				return errs.E(errs.Invalid, conversations.CodeClosed, "Conversation %s is closed and cannot take an interaction", c.Sid)
			}
			var open int64
			if err := tx.Model(&Channel{}).Where("media_channel_sid = ? AND status IN ?", c.Sid,
				[]string{ChannelSetup, ChannelActive, ChannelInactive}).Count(&open).Error; err != nil {
				return err
			}
			if open > 0 {
				return errs.E(errs.Conflict, errs.CodeInvalidParam, "Conversation %s already has an open interaction channel", c.Sid)
			}
			cust, err = s.customerOf(tx, c)
			if err != nil {
				return err
			}
			cust.channelType = spec.Type
		case len(spec.Participants) > 0:
			svc, err := s.conv.DefaultServiceSid(tx)
			if err != nil {
				return err
			}
			var members []conversations.ParticipantParams
			for _, p := range spec.Participants {
				members = append(members, conversations.ParticipantParams{Address: ptr(p.Address), ProxyAddress: ptr(p.ProxyAddress),
					Attributes: ptr(jsonString(map[string]any{"friendlyName": p.Name})), Source: "API"})
			}
			if c, err = s.conv.CreateConversationTx(tx, svc, conversations.ConversationParams{Source: "API"}, members); err != nil {
				return err
			}
			if cust, err = s.customerOf(tx, c); err != nil {
				return err
			}
			cust.channelType = spec.Type
		default:
			return errs.Invalidf("Channel needs properties.media_channel_sid (an existing conversation) or participants (a new one)")
		}
		cust.outbound = strings.EqualFold(spec.InitiatedBy, "agent")
		var err error
		out.Interaction, out.Channel, out.Task, err = s.open(tx, c, cust, routing.Properties, channelJSON)
		if err != nil {
			return err
		}
		if contextSid != "" || webhookTtid != "" {
			out.Interaction.InteractionContextSid, out.Interaction.WebhookTtid = contextSid, webhookTtid
			return tx.Model(&out.Interaction).Select("interaction_context_sid", "webhook_ttid").Updates(&out.Interaction).Error
		}
		return nil
	})
	return out, err
}

// customerOf finds the customer of a conversation: its first non-agent
// participant (a messaging address, or a chat guest).
func (s *Service) customerOf(tx *db.Tx, c conversations.Conversation) (customerParticipant, error) {
	members, err := s.conv.ParticipantsTx(tx, c.Sid)
	if err != nil {
		return customerParticipant{}, err
	}
	for _, m := range members {
		var staff int64
		if err := tx.Model(&Participant{}).Where("conversation_participant_sid = ? AND type IN ?", m.Sid,
			[]string{TypeAgent, TypeSupervisor}).Count(&staff).Error; err != nil {
			return customerParticipant{}, err
		}
		if staff == 0 {
			return describeCustomer(m), nil
		}
	}
	return customerParticipant{}, nil
}

// Interaction fetches an interaction.
func (s *Service) Interaction(ctx context.Context, interactionSid string) (Interaction, error) {
	var in Interaction
	res := s.read(ctx).Where("sid = ?", interactionSid).Limit(1).Find(&in)
	if res.Error != nil {
		return in, errs.Wrap(res.Error, "interaction")
	}
	if res.RowsAffected == 0 {
		return in, notFound("Interactions", interactionSid)
	}
	return in, nil
}

// UpdateInteraction sets an interaction's webhook TTID.
func (s *Service) UpdateInteraction(ctx context.Context, interactionSid, webhookTtid string) (Interaction, error) {
	in, err := s.Interaction(ctx, interactionSid)
	if err != nil {
		return in, err
	}
	in.WebhookTtid, in.DateUpdated = webhookTtid, s.now()
	return in, errs.Wrap(s.read(ctx).Model(&in).Select("webhook_ttid", "date_updated").Updates(&in).Error, "interaction")
}

// Channel fetches a channel of an interaction.
func (s *Service) Channel(ctx context.Context, interactionSid, channelSid string) (Channel, error) {
	var ch Channel
	res := s.read(ctx).Where("interaction_sid = ? AND sid = ?", interactionSid, channelSid).Limit(1).Find(&ch)
	if res.Error != nil {
		return ch, errs.Wrap(res.Error, "interaction channel")
	}
	if res.RowsAffected == 0 {
		return ch, notFound("Interactions/"+interactionSid+"/Channels", channelSid)
	}
	return ch, nil
}

// Channels lists an interaction's channels.
func (s *Service) Channels(ctx context.Context, interactionSid string, offset, limit int) ([]Channel, bool, error) {
	if _, err := s.Interaction(ctx, interactionSid); err != nil {
		return nil, false, err
	}
	var rows []Channel
	err := s.read(ctx).Where("interaction_sid = ?", interactionSid).Order("date_created, sid").Offset(offset).Limit(limit + 1).Find(&rows).Error
	return page(rows, limit), len(rows) > limit, errs.Wrap(err, "interaction channels")
}

func page[T any](rows []T, limit int) []T {
	if len(rows) > limit {
		return rows[:limit]
	}
	return rows
}

// ChannelRouting is the Routing parameter of a channel update.
type ChannelRouting struct {
	Status string `json:"status"`
}

// UpdateChannel closes or parks a channel. Closed (Routing status wrapup, the
// default, or closed) moves every agent's task along and closes the channel;
// inactive with Routing status closed parks it: agents leave, and the
// customer's next message brings new work. Pending invites are withdrawn.
// As Flex UI does, a closed channel can be closed again with Routing status
// closed to complete the tasks it left wrapping; "close" is read as "closed".
func (s *Service) UpdateChannel(ctx context.Context, interactionSid, channelSid, status, routingJSON string) (Channel, error) {
	var routing ChannelRouting
	if strings.TrimSpace(routingJSON) != "" {
		if err := json.Unmarshal([]byte(routingJSON), &routing); err != nil {
			return Channel{}, errs.Invalidf("Routing must be a JSON object such as {\"status\":\"wrapup\"}")
		}
	}
	if status == "close" {
		status = ChannelClosed
	}
	if routing.Status == "close" {
		routing.Status = ParticipantClosed
	}
	switch status {
	case ChannelClosed:
		if routing.Status == "" {
			routing.Status = "wrapup"
		}
	case ChannelInactive:
		if routing.Status == "" {
			return Channel{}, errs.Invalidf("Routing is required to park a channel: {\"status\":\"closed\"}")
		}
	default:
		return Channel{}, errs.Invalidf("Status must be closed or inactive")
	}
	if routing.Status != "wrapup" && routing.Status != ParticipantClosed {
		return Channel{}, errs.Invalidf("Routing status must be wrapup or closed")
	}
	var ch Channel
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		res := tx.Locked("UPDATE").Where("interaction_sid = ? AND sid = ?", interactionSid, channelSid).Limit(1).Find(&ch)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return notFound("Interactions/"+interactionSid+"/Channels", channelSid)
		}
		if ch.Status == ChannelClosed && (status != ChannelClosed || routing.Status != ParticipantClosed) {
			return errs.E(errs.Conflict, errs.CodeInvalidParam, "Interaction channel %s is already closed", ch.Sid)
		}
		if err := lockChannelTasks(tx, ch.Sid); err != nil {
			return err
		}
		if err := s.withdrawInvites(tx, ch.Sid); err != nil {
			return err
		}
		var agents []Participant
		if err := tx.Where("channel_sid = ? AND type IN ? AND status <> ?", ch.Sid, []string{TypeAgent, TypeSupervisor},
			ParticipantClosed).Order("date_created").Find(&agents).Error; err != nil {
			return err
		}
		for i := range agents {
			if err := s.leave(tx, &agents[i], map[string]string{"wrapup": ParticipantWrapup, "closed": ParticipantClosed}[routing.Status]); err != nil {
				return err
			}
		}
		ch.Status, ch.DateUpdated = status, s.now()
		if err := tx.Model(&ch).Select("status", "date_updated").Updates(&ch).Error; err != nil {
			return err
		}
		c, err := s.conv.ConversationTx(tx, ch.MediaChannelSid)
		if err != nil || c.State != conversations.StateActive {
			return err
		}
		return s.conv.SetStateTx(tx, c.Sid, conversations.StateInactive, "TASKROUTER")
	})
	return ch, err
}

// withdrawInvites cancels the tasks of a channel's pending invites.
func (s *Service) withdrawInvites(tx *db.Tx, channelSid string) error {
	var pending []Invite
	if err := tx.Where("channel_sid = ? AND status = ?", channelSid, "pending").Find(&pending).Error; err != nil {
		return err
	}
	for _, inv := range pending {
		var props Routing
		_ = json.Unmarshal([]byte(inv.Routing), &props)
		t, err := s.tr.TaskTx(tx, props.Properties.WorkspaceSid, inv.TaskSid)
		if err != nil {
			return err
		}
		if t.AssignmentStatus == taskrouter.TaskPending || t.AssignmentStatus == taskrouter.TaskReserved {
			if _, err := s.tr.MoveTaskTx(tx, props.Properties.WorkspaceSid, t.Sid, taskrouter.TaskCanceled, "interaction channel closed"); err != nil {
				return err
			}
		}
		if err := tx.Model(&inv).Updates(map[string]any{"status": "ended", "date_updated": s.now()}).Error; err != nil {
			return err
		}
	}
	return nil
}

// ParticipantParams are the fields of a new channel participant.
type ParticipantParams struct {
	Type              string
	MediaProperties   string // JSON: {identity} or {address, proxy_address}, plus name
	RoutingProperties string
}

// AddParticipant adds someone to a channel and its conversation: a
// customer or external party by address or identity, an agent or
// supervisor by identity.
func (s *Service) AddParticipant(ctx context.Context, interactionSid, channelSid string, p ParticipantParams) (Participant, error) {
	switch p.Type {
	case TypeAgent, TypeCustomer, TypeSupervisor, TypeExternal, "unknown":
	default:
		return Participant{}, errs.Invalidf("Type must be agent, customer, supervisor, external or unknown")
	}
	var media struct {
		Identity     string `json:"identity"`
		Address      string `json:"address"`
		ProxyAddress string `json:"proxy_address"`
		Name         string `json:"name"`
	}
	if err := json.Unmarshal([]byte(p.MediaProperties), &media); err != nil || media.Identity == "" && media.Address == "" {
		return Participant{}, errs.Invalidf("MediaProperties must be a JSON object with an identity or an address")
	}
	if p.RoutingProperties == "" {
		p.RoutingProperties = "{}"
	} else if !json.Valid([]byte(p.RoutingProperties)) {
		return Participant{}, errs.Invalidf("RoutingProperties must be a JSON object")
	}
	var out Participant
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		ch, c, err := s.openChannel(tx, interactionSid, channelSid)
		if err != nil {
			return err
		}
		cp := conversations.ParticipantParams{Attributes: ptr(jsonString(map[string]any{"friendlyName": media.Name})), Source: "API"}
		if media.Identity != "" {
			cp.Identity = &media.Identity
		} else {
			cp.Address, cp.ProxyAddress = &media.Address, &media.ProxyAddress
		}
		member, err := s.conv.AddParticipantTx(tx, c.ServiceSid, c.Sid, cp)
		if err != nil {
			return err
		}
		now := s.now()
		out = Participant{Sid: sid.New(sid.InteractionParticipant), InteractionSid: interactionSid, ChannelSid: ch.Sid, Type: p.Type,
			Status: ParticipantActive, MediaProperties: p.MediaProperties, RoutingProperties: p.RoutingProperties,
			ConversationParticipantSid: member.Sid, DateCreated: now, DateUpdated: now}
		return tx.Create(&out).Error
	})
	return out, err
}

// openChannel loads a channel that is not closed, with its conversation.
func (s *Service) openChannel(tx *db.Tx, interactionSid, channelSid string) (Channel, conversations.Conversation, error) {
	var ch Channel
	// Locked: a channel closing at the same moment either waits for this
	// change (and then withdraws what it made) or has closed it already.
	res := tx.Locked("UPDATE").Where("interaction_sid = ? AND sid = ?", interactionSid, channelSid).Limit(1).Find(&ch)
	if res.Error != nil {
		return ch, conversations.Conversation{}, res.Error
	}
	if res.RowsAffected == 0 {
		return ch, conversations.Conversation{}, notFound("Interactions/"+interactionSid+"/Channels", channelSid)
	}
	if ch.Status == ChannelClosed {
		return ch, conversations.Conversation{}, errs.E(errs.Conflict, errs.CodeInvalidParam, "Interaction channel %s is closed", ch.Sid)
	}
	if err := lockChannelTasks(tx, ch.Sid); err != nil {
		return ch, conversations.Conversation{}, err
	}
	c, err := s.conv.ConversationTx(tx, ch.MediaChannelSid)
	return ch, c, err
}

// Participants lists a channel's participants.
func (s *Service) Participants(ctx context.Context, interactionSid, channelSid string, offset, limit int) ([]Participant, bool, error) {
	if _, err := s.Channel(ctx, interactionSid, channelSid); err != nil {
		return nil, false, err
	}
	var rows []Participant
	err := s.read(ctx).Where("channel_sid = ?", channelSid).Order("date_created, sid").Offset(offset).Limit(limit + 1).Find(&rows).Error
	return page(rows, limit), len(rows) > limit, errs.Wrap(err, "interaction participants")
}

// UpdateParticipant ends a participant's part: wrapup (their task wraps up)
// or closed (their task completes). Either way they leave the conversation.
func (s *Service) UpdateParticipant(ctx context.Context, interactionSid, channelSid, participantSid, status string) (Participant, error) {
	if status != ParticipantWrapup && status != ParticipantClosed {
		return Participant{}, errs.Invalidf("Status must be wrapup or closed")
	}
	var p Participant
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := lockChannelTasks(tx, channelSid); err != nil {
			return err
		}
		res := tx.Where("interaction_sid = ? AND channel_sid = ? AND sid = ?", interactionSid, channelSid, participantSid).Limit(1).Find(&p)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return notFound("Interactions/"+interactionSid+"/Channels/"+channelSid+"/Participants", participantSid)
		}
		if p.Type == TypeCustomer || p.Type == TypeExternal {
			// A customer leaving is a conversation matter, not a task's.
			if p.Status == ParticipantActive {
				var ch Channel
				if err := tx.Where("sid = ?", p.ChannelSid).First(&ch).Error; err != nil {
					return err
				}
				c, err := s.conv.ConversationTx(tx, ch.MediaChannelSid)
				if err != nil {
					return err
				}
				if err := s.conv.RemoveParticipantTx(tx, c.ServiceSid, c.Sid, p.ConversationParticipantSid, "API"); err != nil &&
					errs.KindOf(err) != errs.NotFound {
					return err
				}
			}
			p.Status, p.DateUpdated = ParticipantClosed, s.now()
			return tx.Model(&p).Select("status", "date_updated").Updates(&p).Error
		}
		return s.leave(tx, &p, status)
	})
	return p, err
}

// CreateInvite asks for someone to join a channel: a new task routed by the
// Routing parameter (a worker, a queue, or a workflow).
func (s *Service) CreateInvite(ctx context.Context, interactionSid, channelSid, routingJSON string) (Invite, error) {
	routing, err := ParseRouting(routingJSON)
	if err != nil {
		return Invite{}, err
	}
	if strings.TrimSpace(routingJSON) == "" {
		return Invite{}, errs.Invalidf("Routing is required")
	}
	var inv Invite
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		ch, c, err := s.openChannel(tx, interactionSid, channelSid)
		if err != nil {
			return err
		}
		cust, err := s.customerOf(tx, c)
		if err != nil {
			return err
		}
		inv, _, err = s.invite(tx, ch, c, cust, routing.Properties, nil)
		return err
	})
	return inv, err
}

// Invites lists a channel's invites.
func (s *Service) Invites(ctx context.Context, interactionSid, channelSid string, offset, limit int) ([]Invite, bool, error) {
	if _, err := s.Channel(ctx, interactionSid, channelSid); err != nil {
		return nil, false, err
	}
	var rows []Invite
	err := s.read(ctx).Where("channel_sid = ?", channelSid).Order("date_created, sid").Offset(offset).Limit(limit + 1).Find(&rows).Error
	return page(rows, limit), len(rows) > limit, errs.Wrap(err, "interaction invites")
}

// AnswerInvite accepts or declines the reservation an invite's task made, as
// Flex does (action=accept|decline with routing.reservation.sid).
func (s *Service) AnswerInvite(ctx context.Context, interactionSid, channelSid, inviteSid, action, routingJSON string) (Invite, error) {
	var routing struct {
		Reservation struct {
			Sid string `json:"sid"`
		} `json:"reservation"`
	}
	if err := json.Unmarshal([]byte(routingJSON), &routing); err != nil || !sid.Is(routing.Reservation.Sid, sid.Reservation) {
		return Invite{}, errs.Invalidf("Routing must name the reservation: {\"reservation\":{\"sid\":\"WR…\"}}")
	}
	var inv Invite
	res := s.read(ctx).Where("interaction_sid = ? AND channel_sid = ? AND sid = ?", interactionSid, channelSid, inviteSid).Limit(1).Find(&inv)
	if res.Error != nil {
		return inv, errs.Wrap(res.Error, "invite")
	}
	if res.RowsAffected == 0 {
		return inv, notFound("Interactions/"+interactionSid+"/Channels/"+channelSid+"/Invites", inviteSid)
	}
	var props Routing
	_ = json.Unmarshal([]byte(inv.Routing), &props)
	r, err := s.tr.Reservation(ctx, props.Properties.WorkspaceSid, routing.Reservation.Sid)
	if err != nil {
		return inv, err
	}
	if r.TaskSid != inv.TaskSid {
		return inv, errs.Invalidf("Reservation %s is not for this invite's task", r.Sid)
	}
	status := map[string]string{"accept": taskrouter.ReservationAccepted, "decline": taskrouter.ReservationRejected}[action]
	if status == "" {
		return inv, errs.Invalidf("action must be accept or decline")
	}
	if _, err := s.tr.UpdateReservation(ctx, props.Properties.WorkspaceSid, r.Sid, taskrouter.ReservationParams{ReservationStatus: &status}); err != nil {
		return inv, err
	}
	return inv, s.read(ctx).Where("sid = ?", inv.Sid).First(&inv).Error
}

// TransferSpec is the JSON body of a transfer.
type TransferSpec struct {
	From string `json:"from"` // the transferring agent's participant (UT…)
	To   string `json:"to"`   // a worker (WK…) or a queue (WQ…)
	Type string `json:"type"` // cold (default) or warm
	Note string `json:"note"`
}

// CreateTransfer hands a channel's work from an agent to a worker or queue
// through a new invite. Cold: the first agent leaves when the second
// accepts. Warm: both stay until one leaves. The note travels in the new
// task's attributes.
func (s *Service) CreateTransfer(ctx context.Context, interactionSid, channelSid string, spec TransferSpec) (Transfer, error) {
	if spec.Type == "" {
		spec.Type = TransferCold
	}
	if spec.Type != TransferCold && spec.Type != TransferWarm {
		return Transfer{}, errs.Invalidf("type must be cold or warm")
	}
	if !sid.Is(spec.To, sid.Worker) && !sid.Is(spec.To, sid.TaskQueue) {
		return Transfer{}, errs.Invalidf("to must be a worker (WK…) or a queue (WQ…)")
	}
	var tr Transfer
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		ch, c, err := s.openChannel(tx, interactionSid, channelSid)
		if err != nil {
			return err
		}
		var from Participant
		res := tx.Where("channel_sid = ? AND sid = ? AND type = ? AND status = ?", ch.Sid, spec.From, TypeAgent, ParticipantActive).Limit(1).Find(&from)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errs.Invalidf("from must be an active agent participant (UT…) of this channel")
		}
		var at agentTask
		_ = json.Unmarshal([]byte(from.RoutingProperties), &at)
		t, err := s.tr.TaskTx(tx, at.WorkspaceSid, at.TaskSid)
		if err != nil {
			return err
		}
		var attrs map[string]any
		_ = json.Unmarshal([]byte(t.Attributes), &attrs)
		target := "worker"
		if sid.Is(spec.To, sid.TaskQueue) {
			target = "queue"
		}
		delete(attrs, "flexChannelInviteSid")
		extra := map[string]any{"transferTargetType": target, "transferTargetSid": spec.To, "transferNote": spec.Note,
			"transferType": spec.Type, "transferringTaskSid": t.Sid}
		props := RoutingProperties{WorkspaceSid: at.WorkspaceSid, Attributes: attrs}
		if target == "worker" {
			props.WorkerSid = spec.To
		} else {
			props.QueueSid = spec.To
		}
		cust, err := s.customerOf(tx, c)
		if err != nil {
			return err
		}
		inv, _, err := s.invite(tx, ch, c, cust, props, extra)
		if err != nil {
			return err
		}
		now := s.now()
		tr = Transfer{Sid: sid.New(sid.InteractionTransfer), InteractionSid: interactionSid, ChannelSid: ch.Sid, Type: spec.Type,
			Status: "active", FromSid: from.Sid, ToSid: spec.To, Note: spec.Note, InviteSid: inv.Sid, DateCreated: now, DateUpdated: now}
		return tx.Create(&tr).Error
	})
	return tr, err
}

// Transfer fetches a transfer; a transfer whose task was canceled (declined,
// timed out, withdrawn) reads as failed.
func (s *Service) Transfer(ctx context.Context, interactionSid, channelSid, transferSid string) (Transfer, error) {
	var tr Transfer
	res := s.read(ctx).Where("interaction_sid = ? AND channel_sid = ? AND sid = ?", interactionSid, channelSid, transferSid).Limit(1).Find(&tr)
	if res.Error != nil {
		return tr, errs.Wrap(res.Error, "transfer")
	}
	if res.RowsAffected == 0 {
		return tr, notFound("Interactions/"+interactionSid+"/Channels/"+channelSid+"/Transfers", transferSid)
	}
	if tr.Status == "active" {
		var status string
		if err := s.read(ctx).Raw(`SELECT t.assignment_status FROM interaction_invites i JOIN tasks t ON t.sid = i.task_sid
			WHERE i.sid = ?`, tr.InviteSid).Scan(&status).Error; err != nil {
			return tr, errs.Wrap(err, "transfer")
		}
		if status == taskrouter.TaskCanceled || status == "" {
			tr.Status = "failed"
		}
	}
	return tr, nil
}

// CancelTransfer withdraws a transfer that nobody accepted yet.
func (s *Service) CancelTransfer(ctx context.Context, interactionSid, channelSid, transferSid string) (Transfer, error) {
	tr, err := s.Transfer(ctx, interactionSid, channelSid, transferSid)
	if err != nil {
		return tr, err
	}
	if tr.Status != "active" {
		return tr, errs.E(errs.Conflict, errs.CodeInvalidParam, "Transfer %s is %s", tr.Sid, tr.Status)
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		var inv Invite
		if err := tx.Where("sid = ?", tr.InviteSid).First(&inv).Error; err != nil {
			return err
		}
		var props Routing
		_ = json.Unmarshal([]byte(inv.Routing), &props)
		if _, err := s.tr.MoveTaskTx(tx, props.Properties.WorkspaceSid, inv.TaskSid, taskrouter.TaskCanceled, "transfer canceled"); err != nil {
			return err
		}
		tr.Status, tr.DateUpdated = "failed", s.now()
		return tx.Model(&tr).Select("status", "date_updated").Updates(&tr).Error
	})
	return tr, err
}
