package chat

import (
	"encoding/json"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversations"
)

// ConversationView is a conversation as chat clients see it.
type ConversationView struct {
	Sid          string    `json:"sid"`
	ServiceSid   string    `json:"service_sid"`
	UniqueName   *string   `json:"unique_name"`
	FriendlyName string    `json:"friendly_name"`
	Attributes   string    `json:"attributes"`
	State        string    `json:"state"`
	DateCreated  time.Time `json:"date_created"`
	DateUpdated  time.Time `json:"date_updated"`
}

func conversationView(c conversations.Conversation) ConversationView {
	return ConversationView{Sid: c.Sid, ServiceSid: c.ServiceSid, UniqueName: c.UniqueName, FriendlyName: c.FriendlyName,
		Attributes: c.Attributes, State: c.State, DateCreated: c.DateCreated, DateUpdated: c.DateUpdated}
}

// Roles of a participant as chat clients see them.
const (
	RoleAgent    = "agent"
	RoleCustomer = "customer"
)

// ParticipantView is a participant as chat clients see it.
type ParticipantView struct {
	Sid                  string    `json:"sid"`
	Identity             *string   `json:"identity,omitempty"`
	DisplayName          string    `json:"display_name"`
	Role                 string    `json:"role"`
	LastReadMessageIndex *int64    `json:"last_read_message_index"`
	DateCreated          time.Time `json:"date_created"`
}

// participantView names a participant: the friendly name in its attributes
// (the task layer puts the agent's name there), else its user's friendly
// name (looked up by userName), else its identity or address. Agents are
// the participants the task layer joined for a worker.
func participantView(p conversations.Participant, userName func(identity string) string) ParticipantView {
	v := ParticipantView{Sid: p.Sid, Identity: p.Identity, Role: RoleCustomer, LastReadMessageIndex: p.LastReadMessageIndex,
		DateCreated: p.DateCreated}
	var attrs map[string]any
	_ = json.Unmarshal([]byte(p.Attributes), &attrs)
	if _, ok := attrs["worker_sid"].(string); ok {
		v.Role = RoleAgent
	}
	for _, k := range []string{"friendlyName", "friendly_name", "name"} {
		if s, ok := attrs[k].(string); ok && s != "" {
			v.DisplayName = s
			break
		}
	}
	switch {
	case v.DisplayName != "":
	case p.Identity != nil:
		if v.DisplayName = userName(*p.Identity); v.DisplayName == "" {
			v.DisplayName = *p.Identity
		}
	case p.Address != nil:
		v.DisplayName = *p.Address
	}
	return v
}

// MediaView is one attachment, with a signed link to its content.
type MediaView struct {
	Sid         string `json:"sid"`
	ContentType string `json:"content_type"`
	Filename    string `json:"filename"`
	Size        int64  `json:"size"`
	URL         string `json:"url"`
}

// MessageView is a message as chat clients see it.
type MessageView struct {
	Sid            string                  `json:"sid"`
	Index          int64                   `json:"index"`
	Author         string                  `json:"author"`
	AuthorName     string                  `json:"author_name"`
	ParticipantSid *string                 `json:"participant_sid"`
	Body           *string                 `json:"body"`
	Media          []MediaView             `json:"media"`
	Attributes     string                  `json:"attributes"`
	Delivery       *conversations.Delivery `json:"delivery"`
	DateCreated    time.Time               `json:"date_created"`
	DateUpdated    *time.Time              `json:"date_updated"`
}

// ConversationSummary is one of an identity's conversations in a ready frame.
type ConversationSummary struct {
	Sid                  string `json:"sid"`
	FriendlyName         string `json:"friendly_name"`
	State                string `json:"state"`
	ParticipantSid       string `json:"participant_sid"`
	LastMessageIndex     *int64 `json:"last_message_index"`
	LastReadMessageIndex *int64 `json:"last_read_message_index"`
}
