package web

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// scoped registers routes that act inside a conversation service: each is
// mounted under /v1 for the default service and under /v1/Services/{IS}.
type scoped struct {
	g fiber.Router
	a *restAPI
}

func (s scoped) get(path string, h fiber.Handler)  { s.g.Get(path, s.a.withService, h) }
func (s scoped) post(path string, h fiber.Handler) { s.g.Post(path, s.a.withService, h) }
func (s scoped) del(path string, h fiber.Handler)  { s.g.Delete(path, s.a.withService, h) }

// addConversationRoutes mounts the service-scoped resources twice: under
// /v1 for the default service and under /v1/Services/{IS} for any service.
func (a *restAPI) addConversationRoutes(v1 fiber.Router) {
	for _, g := range []fiber.Router{v1, v1.Group("/Services/:ServiceSid")} {
		s := scoped{g: g, a: a}
		s.post("/Conversations", a.createConversation)
		s.get("/Conversations", a.listConversations)
		s.get("/Conversations/:Sid", a.fetchConversation)
		s.post("/Conversations/:Sid", a.updateConversation)
		s.del("/Conversations/:Sid", a.deleteConversation)

		s.post("/Conversations/:Sid/Participants", a.createParticipant)
		s.get("/Conversations/:Sid/Participants", a.listParticipants)
		s.get("/Conversations/:Sid/Participants/:Participant", a.fetchParticipant)
		s.post("/Conversations/:Sid/Participants/:Participant", a.updateParticipant)
		s.del("/Conversations/:Sid/Participants/:Participant", a.deleteParticipant)

		s.post("/Conversations/:Sid/Messages", a.createMessage)
		s.get("/Conversations/:Sid/Messages", a.listMessages)
		s.get("/Conversations/:Sid/Messages/:Message", a.fetchMessage)
		s.post("/Conversations/:Sid/Messages/:Message", a.updateMessage)
		s.del("/Conversations/:Sid/Messages/:Message", a.deleteMessage)
		s.get("/Conversations/:Sid/Messages/:Message/Receipts", a.listReceipts)
		s.get("/Conversations/:Sid/Messages/:Message/Receipts/:Receipt", a.fetchReceipt)
		s.post("/ConversationWithParticipants", a.createConversationWithParticipants)

		a.addServiceAdminRoutes(s)
		a.addConversationWebhookRoutes(s)
		a.addParticipantConversationRoutes(s)
	}
}

// withService resolves the path's service (or the default one) and the URL
// prefix its resources' links use.
func (a *restAPI) withService(c *fiber.Ctx) error {
	key := param(c, "ServiceSid")
	svc, err := a.conv.ResolveService(c.UserContext(), key)
	if err != nil {
		return err
	}
	prefix := "/v1"
	if key != "" {
		prefix = "/v1/Services/" + svc.Sid
	}
	c.Locals(localService, svc.Sid)
	c.Locals(localPrefix, prefix)
	// Twilio fires service and global webhooks for REST actions only when
	// asked to; the engine's hooks read the request's Origin.
	if strings.EqualFold(c.Get("X-Twilio-Webhook-Enabled"), "true") {
		c.SetUserContext(conversations.WithOrigin(c.UserContext(), conversations.Origin{WebhooksEnabled: true}))
	}
	return c.Next()
}

func serviceOf(c *fiber.Ctx) string { return c.Locals(localService).(string) }

// scopeURL is the absolute URL of a path under the request's service scope.
func (a *restAPI) scopeURL(c *fiber.Ctx, path string) string {
	return a.base(c) + c.Locals(localPrefix).(string) + path
}

// source is the Source reported in events for REST actions.
const sourceAPI = "API"

type conversationJSON struct {
	AccountSid          string            `json:"account_sid"`
	ChatServiceSid      string            `json:"chat_service_sid"`
	MessagingServiceSid *string           `json:"messaging_service_sid"`
	Sid                 string            `json:"sid"`
	FriendlyName        *string           `json:"friendly_name"`
	UniqueName          *string           `json:"unique_name"`
	Attributes          string            `json:"attributes"`
	State               string            `json:"state"`
	DateCreated         string            `json:"date_created"`
	DateUpdated         string            `json:"date_updated"`
	Timers              map[string]string `json:"timers"`
	URL                 string            `json:"url"`
	Links               map[string]string `json:"links"`
	Bindings            json.RawMessage   `json:"bindings"`
}

func (a *restAPI) conversationJSON(c *fiber.Ctx, v conversations.Conversation) conversationJSON {
	u := a.scopeURL(c, "/Conversations/"+v.Sid)
	timers := map[string]string{}
	if v.DateInactive != nil {
		timers["date_inactive"] = isoTime(*v.DateInactive)
	}
	if v.DateClosed != nil {
		timers["date_closed"] = isoTime(*v.DateClosed)
	}
	return conversationJSON{
		AccountSid: a.conv.AccountSid(), ChatServiceSid: v.ServiceSid, MessagingServiceSid: nullable(v.MessagingServiceSid),
		Sid: v.Sid, FriendlyName: nullable(v.FriendlyName), UniqueName: v.UniqueName, Attributes: v.Attributes,
		State: v.State, DateCreated: isoTime(v.DateCreated), DateUpdated: isoTime(v.DateUpdated), Timers: timers, URL: u,
		Links:    map[string]string{"participants": u + "/Participants", "messages": u + "/Messages", "webhooks": u + "/Webhooks"},
		Bindings: json.RawMessage(v.Bindings),
	}
}

// nullable renders "" as JSON null, as Twilio does for unset strings.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func conversationParams(c *fiber.Ctx) (conversations.ConversationParams, error) {
	f := form{c}
	p := conversations.ConversationParams{
		FriendlyName: f.str("FriendlyName"), UniqueName: f.str("UniqueName"), Attributes: f.str("Attributes"),
		MessagingServiceSid: f.str("MessagingServiceSid"), State: f.str("State"),
		TimerInactive: f.str("Timers.Inactive"), TimerClosed: f.str("Timers.Closed"),
		BindingsEmailAddress: f.str("Bindings.Email.Address"), BindingsEmailName: f.str("Bindings.Email.Name"),
		Source: sourceAPI,
	}
	var err error
	p.DateCreated, p.DateUpdated, err = f.dates()
	return p, err
}

func (a *restAPI) createConversation(c *fiber.Ctx) error {
	p, err := conversationParams(c)
	if err != nil {
		return err
	}
	v, err := a.conv.CreateConversation(c.UserContext(), serviceOf(c), p)
	if err != nil {
		return err
	}
	return created(c, a.conversationJSON(c, v))
}

func (a *restAPI) fetchConversation(c *fiber.Ctx) error {
	v, err := a.conv.Conversation(c.UserContext(), serviceOf(c), param(c, "Sid"))
	if err != nil {
		return err
	}
	return c.JSON(a.conversationJSON(c, v))
}

func (a *restAPI) updateConversation(c *fiber.Ctx) error {
	p, err := conversationParams(c)
	if err != nil {
		return err
	}
	v, err := a.conv.UpdateConversation(c.UserContext(), serviceOf(c), param(c, "Sid"), p)
	if err != nil {
		return err
	}
	return c.JSON(a.conversationJSON(c, v))
}

func (a *restAPI) deleteConversation(c *fiber.Ctx) error {
	if err := a.conv.DeleteConversation(c.UserContext(), serviceOf(c), param(c, "Sid"), sourceAPI); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// dayParam reads a YYYY-MM-DD (or full ISO-8601) date filter.
func dayParam(f form, name string) (*time.Time, error) {
	s := f.str(name)
	if s == nil || *s == "" {
		return nil, nil
	}
	if t, err := time.Parse("2006-01-02", *s); err == nil {
		return &t, nil
	}
	return f.date(name)
}

func (a *restAPI) listConversations(c *fiber.Ctx) error {
	pg, err := pageParams(c, 50, 100)
	if err != nil {
		return err
	}
	f := form{c}
	filter := conversations.ConversationFilter{}
	if s := f.str("State"); s != nil {
		filter.State = *s
	}
	if filter.StartDate, err = dayParam(f, "StartDate"); err != nil {
		return err
	}
	if filter.EndDate, err = dayParam(f, "EndDate"); err != nil {
		return err
	}
	if filter.EndDate != nil && len(*f.str("EndDate")) == len("2006-01-02") {
		end := filter.EndDate.AddDate(0, 0, 1) // a day filter includes that whole day
		filter.EndDate = &end
	}
	rows, more, err := a.conv.Conversations(c.UserContext(), serviceOf(c), filter, pg.Page)
	if err != nil {
		return err
	}
	out := make([]conversationJSON, len(rows))
	for i, v := range rows {
		out[i] = a.conversationJSON(c, v)
	}
	return c.JSON(fiber.Map{"conversations": out, "meta": meta(c, a.scopeURL(c, "/Conversations"), "conversations", pg, more)})
}

type participantJSON struct {
	AccountSid           string            `json:"account_sid"`
	ChatServiceSid       string            `json:"chat_service_sid"`
	ConversationSid      string            `json:"conversation_sid"`
	Sid                  string            `json:"sid"`
	Identity             *string           `json:"identity"`
	Attributes           string            `json:"attributes"`
	MessagingBinding     map[string]string `json:"messaging_binding"`
	RoleSid              *string           `json:"role_sid"`
	DateCreated          string            `json:"date_created"`
	DateUpdated          string            `json:"date_updated"`
	URL                  string            `json:"url"`
	LastReadMessageIndex *int64            `json:"last_read_message_index"`
	LastReadTimestamp    *string           `json:"last_read_timestamp"`
}

// messagingBinding renders a participant's binding: null for a plain chat
// participant, the projected address for a group-MMS chat participant.
func messagingBinding(p conversations.Participant) map[string]string {
	switch {
	case p.Address != nil:
		return map[string]string{"type": p.ChannelType, "address": *p.Address, "proxy_address": *p.ProxyAddress}
	case p.ProjectedAddress != nil:
		return map[string]string{"type": "sms", "projected_address": *p.ProjectedAddress}
	}
	return nil
}

func (a *restAPI) participantJSON(c *fiber.Ctx, p conversations.Participant) participantJSON {
	return participantJSON{
		AccountSid: a.conv.AccountSid(), ChatServiceSid: p.ServiceSid, ConversationSid: p.ConversationSid, Sid: p.Sid,
		Identity: p.Identity, Attributes: p.Attributes, MessagingBinding: messagingBinding(p), RoleSid: nullable(p.RoleSid),
		DateCreated: isoTime(p.DateCreated), DateUpdated: isoTime(p.DateUpdated),
		URL:                  a.scopeURL(c, "/Conversations/"+p.ConversationSid+"/Participants/"+p.Sid),
		LastReadMessageIndex: p.LastReadMessageIndex, LastReadTimestamp: isoTimePtr(p.LastReadTimestamp),
	}
}

func participantParams(c *fiber.Ctx) (conversations.ParticipantParams, error) {
	f := form{c}
	p := conversations.ParticipantParams{
		Identity: f.str("Identity"), Address: f.str("MessagingBinding.Address"),
		ProxyAddress: f.str("MessagingBinding.ProxyAddress"), ProjectedAddress: f.str("MessagingBinding.ProjectedAddress"),
		Attributes: f.str("Attributes"), RoleSid: f.str("RoleSid"), Source: sourceAPI,
	}
	var err error
	if p.LastReadMessageIndex, err = f.integer("LastReadMessageIndex"); err != nil {
		return p, err
	}
	if s := f.str("LastReadTimestamp"); s != nil && *s != "" {
		if p.LastReadTimestamp, err = f.date("LastReadTimestamp"); err != nil {
			return p, err
		}
	}
	p.DateCreated, p.DateUpdated, err = f.dates()
	return p, err
}

func (a *restAPI) createParticipant(c *fiber.Ctx) error {
	p, err := participantParams(c)
	if err != nil {
		return err
	}
	v, err := a.conv.AddParticipant(c.UserContext(), serviceOf(c), param(c, "Sid"), p)
	if err != nil {
		return err
	}
	return created(c, a.participantJSON(c, v))
}

func (a *restAPI) fetchParticipant(c *fiber.Ctx) error {
	v, err := a.conv.Participant(c.UserContext(), serviceOf(c), param(c, "Sid"), param(c, "Participant"))
	if err != nil {
		return err
	}
	return c.JSON(a.participantJSON(c, v))
}

func (a *restAPI) updateParticipant(c *fiber.Ctx) error {
	p, err := participantParams(c)
	if err != nil {
		return err
	}
	v, err := a.conv.UpdateParticipant(c.UserContext(), serviceOf(c), param(c, "Sid"), param(c, "Participant"), p)
	if err != nil {
		return err
	}
	return c.JSON(a.participantJSON(c, v))
}

func (a *restAPI) deleteParticipant(c *fiber.Ctx) error {
	if err := a.conv.RemoveParticipant(c.UserContext(), serviceOf(c), param(c, "Sid"), param(c, "Participant"), sourceAPI); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *restAPI) listParticipants(c *fiber.Ctx) error {
	pg, err := pageParams(c, 50, 100)
	if err != nil {
		return err
	}
	rows, more, err := a.conv.Participants(c.UserContext(), serviceOf(c), param(c, "Sid"), pg.Page)
	if err != nil {
		return err
	}
	out := make([]participantJSON, len(rows))
	for i, v := range rows {
		out[i] = a.participantJSON(c, v)
	}
	list := a.scopeURL(c, "/Conversations/"+param(c, "Sid")+"/Participants")
	return c.JSON(fiber.Map{"participants": out, "meta": meta(c, list, "participants", pg, more)})
}

type deliveryJSON struct {
	Total       int    `json:"total"`
	Sent        string `json:"sent"`
	Delivered   string `json:"delivered"`
	Read        string `json:"read"`
	Failed      string `json:"failed"`
	Undelivered string `json:"undelivered"`
}

type messageJSON struct {
	AccountSid      string                `json:"account_sid"`
	ChatServiceSid  string                `json:"chat_service_sid"`
	ConversationSid string                `json:"conversation_sid"`
	Sid             string                `json:"sid"`
	Index           int64                 `json:"index"`
	Author          string                `json:"author"`
	Body            *string               `json:"body"`
	Media           []conversations.Media `json:"media"`
	Attributes      string                `json:"attributes"`
	ParticipantSid  *string               `json:"participant_sid"`
	DateCreated     string                `json:"date_created"`
	DateUpdated     *string               `json:"date_updated"`
	Delivery        *deliveryJSON         `json:"delivery"`
	ContentSid      *string               `json:"content_sid"`
	URL             string                `json:"url"`
	Links           map[string]string     `json:"links"`
}

func (a *restAPI) messageJSON(c *fiber.Ctx, m conversations.Message, d *conversations.Delivery) messageJSON {
	u := a.scopeURL(c, "/Conversations/"+m.ConversationSid+"/Messages/"+m.Sid)
	out := messageJSON{
		AccountSid: a.conv.AccountSid(), ChatServiceSid: m.ServiceSid, ConversationSid: m.ConversationSid, Sid: m.Sid,
		Index: m.Index, Author: m.Author, Body: m.Body, Attributes: m.Attributes, ParticipantSid: m.ParticipantSid,
		DateCreated: isoTime(m.DateCreated), DateUpdated: isoTimePtr(m.DateUpdated), ContentSid: m.ContentSid, URL: u,
		Links: map[string]string{"delivery_receipts": u + "/Receipts", "channel_metadata": u + "/ChannelMetadata"},
	}
	if m.Media != nil {
		_ = json.Unmarshal([]byte(*m.Media), &out.Media) // written by us; a bad row renders as no media
	}
	if d != nil {
		out.Delivery = &deliveryJSON{Total: d.Total, Sent: d.Sent, Delivered: d.Delivered, Read: d.Read, Failed: d.Failed, Undelivered: d.Undelivered}
	}
	return out
}

// messagesJSON renders messages with their delivery summaries, loaded in one query.
func (a *restAPI) messagesJSON(c *fiber.Ctx, rows []conversations.Message) ([]messageJSON, error) {
	sids := make([]string, len(rows))
	for i, m := range rows {
		sids[i] = m.Sid
	}
	deliveries, err := a.conv.Deliveries(c.UserContext(), sids)
	if err != nil {
		return nil, err
	}
	out := make([]messageJSON, len(rows))
	for i, m := range rows {
		var d *conversations.Delivery
		if v, ok := deliveries[m.Sid]; ok {
			d = &v
		}
		out[i] = a.messageJSON(c, m, d)
	}
	return out, nil
}

func (a *restAPI) renderMessage(c *fiber.Ctx, status int, m conversations.Message) error {
	out, err := a.messagesJSON(c, []conversations.Message{m})
	if err != nil {
		return err
	}
	return c.Status(status).JSON(out[0])
}

func messageParams(c *fiber.Ctx) (conversations.MessageParams, error) {
	f := form{c}
	p := conversations.MessageParams{
		Author: f.str("Author"), Body: f.str("Body"), Attributes: f.str("Attributes"),
		ContentSid: f.str("ContentSid"), ContentVariables: f.str("ContentVariables"), Subject: f.str("Subject"),
		Source: sourceAPI,
	}
	if m := f.str("MediaSid"); m != nil {
		p.MediaSids = []string{*m}
	}
	var err error
	p.DateCreated, p.DateUpdated, err = f.dates()
	return p, err
}

func (a *restAPI) createMessage(c *fiber.Ctx) error {
	p, err := messageParams(c)
	if err != nil {
		return err
	}
	m, err := a.conv.AddMessage(c.UserContext(), serviceOf(c), param(c, "Sid"), p)
	if err != nil {
		return err
	}
	return a.renderMessage(c, fiber.StatusCreated, m)
}

func (a *restAPI) fetchMessage(c *fiber.Ctx) error {
	m, err := a.conv.Message(c.UserContext(), serviceOf(c), param(c, "Sid"), param(c, "Message"))
	if err != nil {
		return err
	}
	return a.renderMessage(c, fiber.StatusOK, m)
}

func (a *restAPI) updateMessage(c *fiber.Ctx) error {
	p, err := messageParams(c)
	if err != nil {
		return err
	}
	m, err := a.conv.UpdateMessage(c.UserContext(), serviceOf(c), param(c, "Sid"), param(c, "Message"), p)
	if err != nil {
		return err
	}
	return a.renderMessage(c, fiber.StatusOK, m)
}

func (a *restAPI) deleteMessage(c *fiber.Ctx) error {
	if err := a.conv.DeleteMessage(c.UserContext(), serviceOf(c), param(c, "Sid"), param(c, "Message"), sourceAPI); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *restAPI) listMessages(c *fiber.Ctx) error {
	pg, err := pageParams(c, 50, 100)
	if err != nil {
		return err
	}
	desc := false
	if o := (form{c}).str("Order"); o != nil {
		switch strings.ToLower(*o) {
		case "asc":
		case "desc":
			desc = true
		default:
			return errs.Invalidf("Order must be asc or desc")
		}
	}
	rows, more, err := a.conv.Messages(c.UserContext(), serviceOf(c), param(c, "Sid"), desc, pg.Page)
	if err != nil {
		return err
	}
	out, err := a.messagesJSON(c, rows)
	if err != nil {
		return err
	}
	list := a.scopeURL(c, "/Conversations/"+param(c, "Sid")+"/Messages")
	return c.JSON(fiber.Map{"messages": out, "meta": meta(c, list, "messages", pg, more)})
}

type receiptJSON struct {
	AccountSid        string  `json:"account_sid"`
	ChatServiceSid    string  `json:"chat_service_sid"`
	ConversationSid   string  `json:"conversation_sid"`
	MessageSid        string  `json:"message_sid"`
	Sid               string  `json:"sid"`
	ChannelMessageSid *string `json:"channel_message_sid"`
	ParticipantSid    string  `json:"participant_sid"`
	Status            string  `json:"status"`
	ErrorCode         *int    `json:"error_code"`
	DateCreated       string  `json:"date_created"`
	DateUpdated       string  `json:"date_updated"`
	URL               string  `json:"url"`
}

func (a *restAPI) receiptJSON(c *fiber.Ctx, r conversations.DeliveryReceipt) receiptJSON {
	var code *int
	if r.ErrorCode != 0 {
		code = &r.ErrorCode
	}
	return receiptJSON{
		AccountSid: a.conv.AccountSid(), ChatServiceSid: r.ServiceSid, ConversationSid: r.ConversationSid,
		MessageSid: r.MessageSid, Sid: r.Sid, ChannelMessageSid: nullable(r.ChannelMessageSid), ParticipantSid: r.ParticipantSid,
		Status: r.Status, ErrorCode: code, DateCreated: isoTime(r.DateCreated), DateUpdated: isoTime(r.DateUpdated),
		URL: a.scopeURL(c, "/Conversations/"+r.ConversationSid+"/Messages/"+r.MessageSid+"/Receipts/"+r.Sid),
	}
}

func (a *restAPI) listReceipts(c *fiber.Ctx) error {
	pg, err := pageParams(c, 50, 50)
	if err != nil {
		return err
	}
	rows, more, err := a.conv.Receipts(c.UserContext(), serviceOf(c), param(c, "Sid"), param(c, "Message"), pg.Page)
	if err != nil {
		return err
	}
	out := make([]receiptJSON, len(rows))
	for i, r := range rows {
		out[i] = a.receiptJSON(c, r)
	}
	list := a.scopeURL(c, "/Conversations/"+param(c, "Sid")+"/Messages/"+param(c, "Message")+"/Receipts")
	return c.JSON(fiber.Map{"delivery_receipts": out, "meta": meta(c, list, "delivery_receipts", pg, more)})
}

func (a *restAPI) fetchReceipt(c *fiber.Ctx) error {
	r, err := a.conv.Receipt(c.UserContext(), serviceOf(c), param(c, "Sid"), param(c, "Message"), param(c, "Receipt"))
	if err != nil {
		return err
	}
	return c.JSON(a.receiptJSON(c, r))
}
