package web

import (
	"encoding/json"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// Flex lists page 50 rows by default and up to 1000.
const (
	flexPageSize    = 50
	flexMaxPageSize = 1000
)

// addInteractionRoutes mounts the Flex Interactions API under /v1/Interactions.
func (a *restAPI) addInteractionRoutes(v1 fiber.Router) {
	v1.Post("/Interactions", a.createInteraction)
	v1.Get("/Interactions/:Interaction", a.fetchInteraction)
	v1.Post("/Interactions/:Interaction", a.updateInteraction)
	v1.Get("/Interactions/:Interaction/Channels", a.listInteractionChannels)
	v1.Get("/Interactions/:Interaction/Channels/:Channel", a.fetchInteractionChannel)
	v1.Post("/Interactions/:Interaction/Channels/:Channel", a.updateInteractionChannel)
	v1.Post("/Interactions/:Interaction/Channels/:Channel/Participants", a.createInteractionParticipant)
	v1.Get("/Interactions/:Interaction/Channels/:Channel/Participants", a.listInteractionParticipants)
	v1.Post("/Interactions/:Interaction/Channels/:Channel/Participants/:Participant", a.updateInteractionParticipant)
	v1.Post("/Interactions/:Interaction/Channels/:Channel/Invites", a.createInteractionInvite)
	v1.Get("/Interactions/:Interaction/Channels/:Channel/Invites", a.listInteractionInvites)
	v1.Post("/Interactions/:Interaction/Channels/:Channel/Invites/:Invite", a.answerInteractionInvite)
	v1.Post("/Interactions/:Interaction/Channels/:Channel/Transfers", a.createInteractionTransfer)
	v1.Get("/Interactions/:Interaction/Channels/:Channel/Transfers/:Transfer", a.fetchInteractionTransfer)
	v1.Post("/Interactions/:Interaction/Channels/:Channel/Transfers/:Transfer", a.updateInteractionTransfer)
}

// rawJSON renders a stored JSON document as itself (an object, not a string).
func rawJSON(s string) json.RawMessage {
	if !json.Valid([]byte(s)) || strings.TrimSpace(s) == "" {
		return json.RawMessage("{}")
	}
	return json.RawMessage(s)
}

type interactionJSON struct {
	Sid                   string            `json:"sid"`
	Channel               json.RawMessage   `json:"channel"`
	Routing               any               `json:"routing"`
	URL                   string            `json:"url"`
	Links                 map[string]string `json:"links"`
	InteractionContextSid *string           `json:"interaction_context_sid"`
	WebhookTtid           *string           `json:"webhook_ttid"`
}

func (a *restAPI) interactionURL(c *fiber.Ctx, sid string) string {
	return a.base(c) + "/v1/Interactions/" + sid
}

// interactionJSON renders an interaction. Its channel is the Channel it was
// created with plus the channel's sid, which clients read as channel.sid to
// reach /Channels/{UO}.
func (a *restAPI) interactionJSON(c *fiber.Ctx, in interactions.Interaction, ch interactions.Channel, task *taskrouter.Task) interactionJSON {
	u := a.interactionURL(c, in.Sid)
	var routing any = rawJSON(in.Routing)
	if task != nil {
		routing = map[string]any{"reservation": nil, "properties": taskProperties(*task)}
	}
	channel := map[string]any{}
	_ = json.Unmarshal(rawJSON(in.Channel), &channel)
	if ch.Sid != "" {
		channel["sid"] = ch.Sid
		if _, ok := channel["type"]; !ok {
			channel["type"] = ch.Type
		}
	}
	rendered, err := json.Marshal(channel)
	if err != nil {
		rendered = rawJSON(in.Channel)
	}
	return interactionJSON{Sid: in.Sid, Channel: rendered, Routing: routing, URL: u,
		Links: map[string]string{"channels": u + "/Channels"}, InteractionContextSid: nullable(in.InteractionContextSid),
		WebhookTtid: nullable(in.WebhookTtid)}
}

// taskProperties is a task as an interaction's routing shows it.
func taskProperties(t taskrouter.Task) map[string]any {
	return map[string]any{"sid": t.Sid, "workspace_sid": t.WorkspaceSid, "workflow_sid": nullable(t.WorkflowSid),
		"queue_sid": nullable(t.TaskQueueSid), "task_channel_sid": t.TaskChannelSid, "assignment_status": t.AssignmentStatus,
		"priority": t.Priority, "timeout": t.Timeout, "attributes": rawJSON(t.Attributes), "date_created": isoTime(t.DateCreated)}
}

func (a *restAPI) createInteraction(c *fiber.Ctx) error {
	f := form{c}
	channel, routing := f.str("Channel"), f.str("Routing")
	if channel == nil {
		return errs.Invalidf("Channel is required")
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	out, err := a.ix.CreateInteraction(c.UserContext(), *channel, str(routing), str(f.str("InteractionContextSid")), str(f.str("WebhookTtid")))
	if err != nil {
		return err
	}
	return created(c, a.interactionJSON(c, out.Interaction, out.Channel, &out.Task))
}

// interactionChannel is an interaction's channel (it has one), for its rendering.
func (a *restAPI) interactionChannel(c *fiber.Ctx, interactionSid string) (interactions.Channel, error) {
	rows, _, err := a.ix.Channels(c.UserContext(), interactionSid, 0, 1)
	if err != nil || len(rows) == 0 {
		return interactions.Channel{}, err
	}
	return rows[0], nil
}

func (a *restAPI) fetchInteraction(c *fiber.Ctx) error {
	in, err := a.ix.Interaction(c.UserContext(), param(c, "Interaction"))
	if err != nil {
		return err
	}
	ch, err := a.interactionChannel(c, in.Sid)
	if err != nil {
		return err
	}
	return c.JSON(a.interactionJSON(c, in, ch, nil))
}

func (a *restAPI) updateInteraction(c *fiber.Ctx) error {
	ttid := form{c}.str("WebhookTtid")
	if ttid == nil {
		return errs.Invalidf("WebhookTtid is required")
	}
	in, err := a.ix.UpdateInteraction(c.UserContext(), param(c, "Interaction"), *ttid)
	if err != nil {
		return err
	}
	ch, err := a.interactionChannel(c, in.Sid)
	if err != nil {
		return err
	}
	return c.JSON(a.interactionJSON(c, in, ch, nil))
}

type interactionChannelJSON struct {
	Sid            string            `json:"sid"`
	InteractionSid string            `json:"interaction_sid"`
	Type           string            `json:"type"`
	Status         string            `json:"status"`
	ErrorCode      *int              `json:"error_code"`
	ErrorMessage   *string           `json:"error_message"`
	URL            string            `json:"url"`
	Links          map[string]string `json:"links"`
}

func (a *restAPI) channelURL(c *fiber.Ctx, interactionSid, channelSid string) string {
	return a.interactionURL(c, interactionSid) + "/Channels/" + channelSid
}

func (a *restAPI) interactionChannelJSON(c *fiber.Ctx, ch interactions.Channel) interactionChannelJSON {
	u := a.channelURL(c, ch.InteractionSid, ch.Sid)
	return interactionChannelJSON{Sid: ch.Sid, InteractionSid: ch.InteractionSid, Type: ch.Type, Status: ch.Status,
		ErrorCode: ch.ErrorCode, ErrorMessage: ch.ErrorMessage, URL: u,
		Links: map[string]string{"participants": u + "/Participants", "invites": u + "/Invites", "transfers": u + "/Transfers"}}
}

func (a *restAPI) listInteractionChannels(c *fiber.Ctx) error {
	pg, err := pageParams(c, flexPageSize, flexMaxPageSize)
	if err != nil {
		return err
	}
	rows, more, err := a.ix.Channels(c.UserContext(), param(c, "Interaction"), pg.Offset, pg.Limit)
	if err != nil {
		return err
	}
	out := make([]interactionChannelJSON, len(rows))
	for i, ch := range rows {
		out[i] = a.interactionChannelJSON(c, ch)
	}
	list := a.interactionURL(c, param(c, "Interaction")) + "/Channels"
	return c.JSON(fiber.Map{"channels": out, "meta": meta(c, list, "channels", pg, more)})
}

func (a *restAPI) fetchInteractionChannel(c *fiber.Ctx) error {
	ch, err := a.ix.Channel(c.UserContext(), param(c, "Interaction"), param(c, "Channel"))
	if err != nil {
		return err
	}
	return c.JSON(a.interactionChannelJSON(c, ch))
}

func (a *restAPI) updateInteractionChannel(c *fiber.Ctx) error {
	f := form{c}
	status := f.str("Status")
	if status == nil {
		return errs.Invalidf("Status is required: closed or inactive")
	}
	routing := ""
	if r := f.str("Routing"); r != nil {
		routing = *r
	}
	ch, err := a.ix.UpdateChannel(c.UserContext(), param(c, "Interaction"), param(c, "Channel"), *status, routing)
	if err != nil {
		return err
	}
	return c.JSON(a.interactionChannelJSON(c, ch))
}

type interactionParticipantJSON struct {
	Sid               string          `json:"sid"`
	Type              string          `json:"type"`
	InteractionSid    string          `json:"interaction_sid"`
	ChannelSid        string          `json:"channel_sid"`
	URL               string          `json:"url"`
	RoutingProperties json.RawMessage `json:"routing_properties"`
}

func (a *restAPI) interactionParticipantJSON(c *fiber.Ctx, p interactions.Participant) interactionParticipantJSON {
	return interactionParticipantJSON{Sid: p.Sid, Type: p.Type, InteractionSid: p.InteractionSid, ChannelSid: p.ChannelSid,
		URL: a.channelURL(c, p.InteractionSid, p.ChannelSid) + "/Participants/" + p.Sid, RoutingProperties: rawJSON(p.RoutingProperties)}
}

func (a *restAPI) createInteractionParticipant(c *fiber.Ctx) error {
	f := form{c}
	p := interactions.ParticipantParams{}
	if v := f.str("Type"); v != nil {
		p.Type = *v
	}
	if v := f.str("MediaProperties"); v != nil {
		p.MediaProperties = *v
	}
	if v := f.str("RoutingProperties"); v != nil {
		p.RoutingProperties = *v
	}
	out, err := a.ix.AddParticipant(c.UserContext(), param(c, "Interaction"), param(c, "Channel"), p)
	if err != nil {
		return err
	}
	return created(c, a.interactionParticipantJSON(c, out))
}

func (a *restAPI) listInteractionParticipants(c *fiber.Ctx) error {
	pg, err := pageParams(c, flexPageSize, flexMaxPageSize)
	if err != nil {
		return err
	}
	rows, more, err := a.ix.Participants(c.UserContext(), param(c, "Interaction"), param(c, "Channel"), pg.Offset, pg.Limit)
	if err != nil {
		return err
	}
	out := make([]interactionParticipantJSON, len(rows))
	for i, p := range rows {
		out[i] = a.interactionParticipantJSON(c, p)
	}
	list := a.channelURL(c, param(c, "Interaction"), param(c, "Channel")) + "/Participants"
	return c.JSON(fiber.Map{"participants": out, "meta": meta(c, list, "participants", pg, more)})
}

func (a *restAPI) updateInteractionParticipant(c *fiber.Ctx) error {
	status := form{c}.str("Status")
	if status == nil {
		return errs.Invalidf("Status is required: closed or wrapup")
	}
	p, err := a.ix.UpdateParticipant(c.UserContext(), param(c, "Interaction"), param(c, "Channel"), param(c, "Participant"), *status)
	if err != nil {
		return err
	}
	return c.JSON(a.interactionParticipantJSON(c, p))
}

type interactionInviteJSON struct {
	Sid            string         `json:"sid"`
	InteractionSid string         `json:"interaction_sid"`
	ChannelSid     string         `json:"channel_sid"`
	Routing        map[string]any `json:"routing"`
	URL            string         `json:"url"`
}

func (a *restAPI) interactionInviteJSON(c *fiber.Ctx, inv interactions.Invite) interactionInviteJSON {
	var routing map[string]any
	_ = json.Unmarshal([]byte(inv.Routing), &routing)
	if routing == nil {
		routing = map[string]any{}
	}
	props, _ := routing["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	props["sid"] = inv.TaskSid // Flex reads the task SID here
	routing["properties"] = props
	return interactionInviteJSON{Sid: inv.Sid, InteractionSid: inv.InteractionSid, ChannelSid: inv.ChannelSid, Routing: routing,
		URL: a.channelURL(c, inv.InteractionSid, inv.ChannelSid) + "/Invites/" + inv.Sid}
}

func (a *restAPI) createInteractionInvite(c *fiber.Ctx) error {
	routing := form{c}.str("Routing")
	if routing == nil {
		return errs.Invalidf("Routing is required")
	}
	inv, err := a.ix.CreateInvite(c.UserContext(), param(c, "Interaction"), param(c, "Channel"), *routing)
	if err != nil {
		return err
	}
	return c.JSON(a.interactionInviteJSON(c, inv)) // Twilio answers an invite with 200
}

func (a *restAPI) listInteractionInvites(c *fiber.Ctx) error {
	pg, err := pageParams(c, flexPageSize, flexMaxPageSize)
	if err != nil {
		return err
	}
	rows, more, err := a.ix.Invites(c.UserContext(), param(c, "Interaction"), param(c, "Channel"), pg.Offset, pg.Limit)
	if err != nil {
		return err
	}
	out := make([]interactionInviteJSON, len(rows))
	for i, inv := range rows {
		out[i] = a.interactionInviteJSON(c, inv)
	}
	list := a.channelURL(c, param(c, "Interaction"), param(c, "Channel")) + "/Invites"
	return c.JSON(fiber.Map{"invites": out, "meta": meta(c, list, "invites", pg, more)})
}

// answerInteractionInvite accepts or declines an invite's reservation, as
// Flex UI does: action=accept|decline with routing={"reservation":{"sid":"WR…"}},
// form-encoded or as a JSON body.
func (a *restAPI) answerInteractionInvite(c *fiber.Ctx) error {
	var body struct {
		Action  string          `json:"action"`
		Routing json.RawMessage `json:"routing"`
	}
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationJSON) {
		if err := json.Unmarshal(c.Body(), &body); err != nil {
			return errs.Invalidf("the body must be JSON: %v", err)
		}
	} else {
		f := form{c}
		for _, name := range []string{"action", "Action"} {
			if v := f.str(name); v != nil {
				body.Action = *v
			}
		}
		for _, name := range []string{"routing", "Routing"} {
			if v := f.str(name); v != nil {
				body.Routing = json.RawMessage(*v)
			}
		}
	}
	inv, err := a.ix.AnswerInvite(c.UserContext(), param(c, "Interaction"), param(c, "Channel"), param(c, "Invite"), body.Action, string(body.Routing))
	if err != nil {
		return err
	}
	return c.JSON(a.interactionInviteJSON(c, inv))
}

type interactionTransferJSON struct {
	Sid            string  `json:"sid"`
	InstanceSid    *string `json:"instance_sid"`
	AccountSid     string  `json:"account_sid"`
	InteractionSid string  `json:"interaction_sid"`
	ChannelSid     string  `json:"channel_sid"`
	ExecutionSid   *string `json:"execution_sid"`
	Type           string  `json:"type"`
	Status         string  `json:"status"`
	From           string  `json:"from"`
	To             string  `json:"to"`
	NoteSid        *string `json:"note_sid"`
	SummarySid     *string `json:"summary_sid"`
	DateCreated    string  `json:"date_created"`
	DateUpdated    string  `json:"date_updated"`
	URL            string  `json:"url"`
}

func (a *restAPI) interactionTransferJSON(c *fiber.Ctx, t interactions.Transfer) interactionTransferJSON {
	return interactionTransferJSON{Sid: t.Sid, AccountSid: a.conv.AccountSid(), InteractionSid: t.InteractionSid, ChannelSid: t.ChannelSid,
		Type: t.Type, Status: t.Status, From: t.FromSid, To: t.ToSid, DateCreated: isoTime(t.DateCreated), DateUpdated: isoTime(t.DateUpdated),
		URL: a.channelURL(c, t.InteractionSid, t.ChannelSid) + "/Transfers/" + t.Sid}
}

// createInteractionTransfer takes a JSON body, as twilio-go sends it:
// {"from":"UT…","to":"WK…|WQ…","type":"cold|warm","note":"…"}.
func (a *restAPI) createInteractionTransfer(c *fiber.Ctx) error {
	var spec interactions.TransferSpec
	if err := json.Unmarshal(c.Body(), &spec); err != nil {
		return errs.Invalidf("the body must be a JSON object such as {\"from\":\"UT…\",\"to\":\"WK…\",\"type\":\"cold\"}: %v", err)
	}
	t, err := a.ix.CreateTransfer(c.UserContext(), param(c, "Interaction"), param(c, "Channel"), spec)
	if err != nil {
		return err
	}
	return created(c, a.interactionTransferJSON(c, t))
}

func (a *restAPI) fetchInteractionTransfer(c *fiber.Ctx) error {
	t, err := a.ix.Transfer(c.UserContext(), param(c, "Interaction"), param(c, "Channel"), param(c, "Transfer"))
	if err != nil {
		return err
	}
	return c.JSON(a.interactionTransferJSON(c, t))
}

// updateInteractionTransfer cancels a pending transfer: {"status":"canceled"}.
func (a *restAPI) updateInteractionTransfer(c *fiber.Ctx) error {
	var body struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(c.Body(), &body); err != nil || body.Status != "canceled" {
		return errs.Invalidf("the only change to a transfer is {\"status\":\"canceled\"}")
	}
	t, err := a.ix.CancelTransfer(c.UserContext(), param(c, "Interaction"), param(c, "Channel"), param(c, "Transfer"))
	if err != nil {
		return err
	}
	return c.JSON(a.interactionTransferJSON(c, t))
}
