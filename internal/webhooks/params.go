package webhooks

import (
	"encoding/json"
	"net/url"
	"strconv"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversations"
)

// The form parameters below are the ones Twilio's Conversations webhooks
// send (docs: conversations/conversations-webhooks, and the same names in
// the Event Streams samples): the common ones on every event, then each
// resource's fields. Unset optional fields are left out, as Twilio does.

// stamp formats a time as the webhooks do: ISO 8601 in UTC with milliseconds.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func setIf(v url.Values, name, value string) {
	if value != "" {
		v.Set(name, value)
	}
}

func setPtr(v url.Values, name string, value *string) {
	if value != nil {
		v.Set(name, *value)
	}
}

// common are the parameters of every event. RetryCount is added when the
// request is sent.
func common(accountSid, eventType, serviceSid, source string, o conversations.Origin) url.Values {
	v := url.Values{}
	v.Set("AccountSid", accountSid)
	v.Set("EventType", eventType)
	setIf(v, "ChatServiceSid", serviceSid)
	setIf(v, "Source", source)
	setIf(v, "ClientIdentity", o.ClientIdentity)
	return v
}

// messageMedia renders a message's media as Twilio's Media parameter: a
// JSON list of {Sid, Filename, ContentType, Size}.
func messageMedia(raw *string) string {
	if raw == nil {
		return ""
	}
	var media []conversations.Media
	if json.Unmarshal([]byte(*raw), &media) != nil || len(media) == 0 {
		return ""
	}
	type item struct {
		Sid         string `json:"Sid"`
		Filename    string `json:"Filename,omitempty"`
		ContentType string `json:"ContentType,omitempty"`
		Size        int64  `json:"Size,omitempty"`
	}
	out := make([]item, len(media))
	for i, m := range media {
		out[i] = item{Sid: m.Sid, Filename: m.Filename, ContentType: m.ContentType, Size: m.Size}
	}
	b, _ := json.Marshal(out) // plain structs always encode
	return string(b)
}

// addMessage sets a message's fields. A message not yet written (the
// onMessageAdd pre-event) has no SID or index.
func addMessage(v url.Values, m conversations.Message, c conversations.Conversation, removed *time.Time) {
	v.Set("ConversationSid", m.ConversationSid)
	if m.Sid != "" {
		v.Set("MessageSid", m.Sid)
		v.Set("Index", strconv.FormatInt(m.Index, 10))
	}
	setIf(v, "MessagingServiceSid", c.MessagingServiceSid)
	v.Set("Author", m.Author)
	setPtr(v, "Body", m.Body)
	v.Set("Attributes", m.Attributes)
	if m.ParticipantSid != nil {
		v.Set("ParticipantSid", *m.ParticipantSid)
	}
	setIf(v, "Media", messageMedia(m.Media))
	setPtr(v, "Subject", m.Subject)
	setPtr(v, "ContentSid", m.ContentSid)
	v.Set("DateCreated", stamp(m.DateCreated))
	if m.DateUpdated != nil {
		v.Set("DateUpdated", stamp(*m.DateUpdated))
	}
	if removed != nil {
		v.Set("DateRemoved", stamp(*removed))
	}
}

// addConversation sets a conversation's fields. One not yet created (the
// onConversationAdd pre-event) has no SID.
func addConversation(v url.Values, c conversations.Conversation, removed *time.Time) {
	setIf(v, "ConversationSid", c.Sid)
	setIf(v, "FriendlyName", c.FriendlyName)
	setPtr(v, "UniqueName", c.UniqueName)
	v.Set("Attributes", c.Attributes)
	setIf(v, "State", c.State)
	setIf(v, "MessagingServiceSid", c.MessagingServiceSid)
	v.Set("DateCreated", stamp(c.DateCreated))
	if c.Sid != "" {
		v.Set("DateUpdated", stamp(c.DateUpdated))
	}
	if removed != nil {
		v.Set("DateRemoved", stamp(*removed))
	}
}

// addState sets the fields of onConversationStateUpdated.
func addState(v url.Values, c conversations.Conversation, from, to, reason string) {
	v.Set("ConversationSid", c.Sid)
	setIf(v, "MessagingServiceSid", c.MessagingServiceSid)
	v.Set("StateFrom", from)
	v.Set("StateTo", to)
	v.Set("StateUpdated", stamp(c.DateUpdated))
	setIf(v, "Reason", reason)
}

// addParticipant sets a participant's fields. One not yet added (the
// onParticipantAdd pre-event) has no SID.
func addParticipant(v url.Values, p conversations.Participant, removed *time.Time) {
	v.Set("ConversationSid", p.ConversationSid)
	setIf(v, "ParticipantSid", p.Sid)
	setPtr(v, "Identity", p.Identity)
	setIf(v, "RoleSid", p.RoleSid)
	v.Set("Attributes", p.Attributes)
	setPtr(v, "MessagingBinding.Address", p.Address)
	setPtr(v, "MessagingBinding.ProxyAddress", p.ProxyAddress)
	setPtr(v, "MessagingBinding.ProjectedAddress", p.ProjectedAddress)
	if p.LastReadMessageIndex != nil {
		v.Set("LastReadMessageIndex", strconv.FormatInt(*p.LastReadMessageIndex, 10))
	}
	v.Set("DateCreated", stamp(p.DateCreated))
	if p.Sid != "" {
		v.Set("DateUpdated", stamp(p.DateUpdated))
	}
	if removed != nil {
		v.Set("DateRemoved", stamp(*removed))
	}
}

// addUser sets a user's fields.
func addUser(v url.Values, u conversations.User) {
	v.Set("UserSid", u.Sid)
	v.Set("Identity", u.Identity)
	setIf(v, "FriendlyName", u.FriendlyName)
	v.Set("Attributes", u.Attributes)
	setIf(v, "RoleSid", u.RoleSid)
	v.Set("DateCreated", stamp(u.DateCreated))
	v.Set("DateUpdated", stamp(u.DateUpdated))
}

// addReceipt sets the fields of onDeliveryUpdated.
func addReceipt(v url.Values, r conversations.DeliveryReceipt) {
	v.Set("ConversationSid", r.ConversationSid)
	v.Set("MessageSid", r.MessageSid)
	v.Set("DeliveryReceiptSid", r.Sid)
	setIf(v, "ChannelMessageSid", r.ChannelMessageSid)
	v.Set("ParticipantSid", r.ParticipantSid)
	v.Set("Status", r.Status)
	v.Set("ErrorCode", strconv.Itoa(r.ErrorCode))
	v.Set("DateCreated", stamp(r.DateCreated))
	v.Set("DateUpdated", stamp(r.DateUpdated))
}

// preParams are the parameters of a pre-event about a.
func preParams(accountSid string, a conversations.Action, now time.Time) url.Values {
	v := common(accountSid, string(a.Type), a.ServiceSid, a.Source, a.Origin)
	var removed *time.Time
	switch a.Type {
	case conversations.PreMessageRemove, conversations.PreConversationRemove, conversations.PreParticipantRemove:
		removed = &now
	}
	switch a.Type {
	case conversations.PreMessageAdd, conversations.PreMessageUpdate, conversations.PreMessageRemove:
		addMessage(v, a.Message, a.Conversation, removed)
	case conversations.PreConversationAdd, conversations.PreConversationUpdate, conversations.PreConversationRemove:
		addConversation(v, a.Conversation, removed)
	case conversations.PreParticipantAdd, conversations.PreParticipantUpdate, conversations.PreParticipantRemove:
		addParticipant(v, a.Participant, removed)
	case conversations.PreUserUpdate:
		addUser(v, a.User)
	}
	return v
}
