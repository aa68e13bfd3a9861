package desk

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// CustomerContext is the context panel beside a conversation: who the
// customer is, how they reached us, what the task says, what happened
// before, and what staff noted.
type CustomerContext struct {
	ConversationSid string
	CustomerName    string
	CustomerAddress string // a phone number, whatsapp:+…, or a chat identity
	ChannelType     string // sms, whatsapp, web…
	Channel         string // for people: SMS, WhatsApp, Web chat…
	TaskState       string // for people: Assigned, Wrapping…
	// TransferNote is the note of the transfer that brought the task to
	// this agent, if one did.
	TransferNote string
	// Fields are the task's attributes worth showing, labelled for people,
	// common ones first; Flex's bookkeeping is left out.
	Fields []Field
	// Previous are the customer's other conversations, newest first.
	Previous []PastConversation
	Notes    []Note
}

// Field is one labelled value.
type Field struct {
	Label, Value string
}

// PastConversation is one of the customer's other conversations.
type PastConversation struct {
	ConversationSid string
	Title           string // its friendly name, or the channel's name
	State           string // for people: Active, Inactive, Closed
	Outcome         string // the label of the disposition its last task was completed with
	DateCreated     time.Time
	// Openable says the agent holds or held a task on it, so may open it.
	Openable bool
}

// maxPrevious bounds the earlier conversations the panel lists.
const maxPrevious = 20

// CustomerContext builds the context panel for a conversation the agent
// holds or held.
func (s *Service) CustomerContext(ctx context.Context, a Agent, conversationSid string) (CustomerContext, error) {
	w, err := s.workOn(ctx, a, conversationSid)
	if err != nil {
		return CustomerContext{}, err
	}
	attrs := w.attributes()
	out := CustomerContext{ConversationSid: conversationSid, CustomerName: attrString(attrs["customerName"]),
		CustomerAddress: attrString(attrs["customerAddress"]), ChannelType: w.channel.Type, Channel: ChannelName(w.channel.Type),
		TaskState: capitalise(w.task.AssignmentStatus), TransferNote: attrString(attrs["transferNote"])}
	if out.CustomerName == "" {
		out.CustomerName = out.CustomerAddress
	}
	out.Fields = taskFields(attrs, conversationFields(w.conversation))
	if out.Previous, err = s.previousConversations(ctx, a, w, out.CustomerAddress); err != nil {
		return out, err
	}
	out.Notes, err = s.notesOf(ctx, conversationSid)
	return out, err
}

// ChannelName names a channel type for people.
func ChannelName(channelType string) string {
	switch channelType {
	case "sms":
		return "SMS"
	case "whatsapp":
		return "WhatsApp"
	case "web", "chat", "":
		return "Web chat"
	case "messenger":
		return "Messenger"
	case "gbm":
		return "Google Business Messages"
	case "email":
		return "Email"
	}
	return capitalise(channelType)
}

// knownFields are the task attributes the panel labels itself, in the
// order it shows them. The customer's name, address and channel head the
// panel already.
var knownFields = []struct{ path, label string }{
	{"direction", "Direction"},
	{"initiatedBy", "Started by"},
	{"customers.email", "Email"},
	{"transferType", "Transfer"},
	{"disposition", "Disposition"},
	{"conversations.outcome", "Outcome"},
}

// hiddenFields are bookkeeping: SIDs and copies of what the panel shows.
var hiddenFields = map[string]bool{
	"conversationSid": true, "channelType": true, "customerName": true, "customerAddress": true, "transferNote": true,
	"flexInteractionSid": true, "flexInteractionChannelSid": true, "flexChannelInviteSid": true,
	"transferTargetType": true, "transferTargetSid": true, "transferringTaskSid": true,
	"customers.name": true, "customers.phone": true,
	"conversations.initiated_by": true, "conversations.conversation_id": true, "conversations.media": true,
}

// taskFields turns task attributes into labelled values: the known ones
// first, then the conversation's own (pre-engagement data), then anything
// else a back end put there, by label. Only scalars and lists of scalars
// show; deeper structure is a back end's business.
func taskFields(attrs map[string]any, extra []Field) []Field {
	flat := map[string]string{}
	flattenAttrs("", attrs, flat)
	var out []Field
	seen := map[string]bool{}
	for _, k := range knownFields {
		if v := flat[k.path]; v != "" {
			out = append(out, Field{Label: k.label, Value: humanValue(k.path, v)})
		}
		seen[k.path] = true
	}
	for _, f := range extra {
		if !slices.ContainsFunc(out, func(o Field) bool { return o.Label == f.Label }) {
			out = append(out, f)
		}
	}
	var rest []Field
	for path, v := range flat {
		if seen[path] || hiddenFields[path] || v == "" {
			continue
		}
		rest = append(rest, Field{Label: fieldLabel(path), Value: v})
	}
	slices.SortFunc(rest, func(x, y Field) int { return strings.Compare(x.Label, y.Label) })
	return append(out, rest...)
}

// flattenAttrs writes scalars and lists of scalars under dotted paths; a
// hidden path is not descended into.
func flattenAttrs(prefix string, v any, into map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			path := k
			if prefix != "" {
				path = prefix + "." + k
			}
			if !hiddenFields[path] {
				flattenAttrs(path, sub, into)
			}
		}
	case []any:
		var parts []string
		for _, item := range v {
			s, ok := scalarText(item)
			if !ok {
				return
			}
			parts = append(parts, s)
		}
		into[prefix] = strings.Join(parts, ", ")
	default:
		if s, ok := scalarText(v); ok {
			into[prefix] = s
		}
	}
}

func scalarText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		if v {
			return "Yes", true
		}
		return "No", true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case nil:
		return "", true
	}
	return "", false
}

// humanValue reads the values Flex writes in lower case.
func humanValue(path, v string) string {
	switch path {
	case "direction", "initiatedBy", "transferType":
		return capitalise(v)
	}
	return v
}

// fieldLabel makes a dotted attribute path readable: "customers.account_id" is
// "Customers › Account id", "orderNumber" "Order number".
func fieldLabel(path string) string {
	parts := strings.Split(path, ".")
	for i, p := range parts {
		var b strings.Builder
		for j, r := range p {
			switch {
			case r == '_' || r == '-':
				b.WriteRune(' ')
			case j > 0 && unicode.IsUpper(r):
				b.WriteRune(' ')
				b.WriteRune(unicode.ToLower(r))
			default:
				b.WriteRune(r)
			}
		}
		parts[i] = capitalise(b.String())
	}
	return strings.Join(parts, " › ")
}

// capitalise capitalises the first letter.
func capitalise(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

func attrString(v any) string {
	s, _ := v.(string)
	return s
}

// conversationFields are what the customer told a webchat's
// pre-engagement form, from the conversation's attributes.
func conversationFields(c conversations.Conversation) []Field {
	var attrs struct {
		PreEngagement map[string]any `json:"pre_engagement_data"`
	}
	_ = json.Unmarshal([]byte(c.Attributes), &attrs) // any JSON; only this shape is ours to show
	var out []Field
	for _, k := range []struct{ key, label string }{{"email", "Email"}, {"query", "Question"}} {
		if v := attrString(attrs.PreEngagement[k.key]); v != "" {
			out = append(out, Field{Label: k.label, Value: v})
		}
	}
	return out
}

// previousConversations lists the customer's other conversations in the
// same service: by phone or WhatsApp address, or by chat identity. A
// webchat guest gets a new identity per session, so their list is short.
func (s *Service) previousConversations(ctx context.Context, a Agent, w work, customerAddress string) ([]PastConversation, error) {
	if customerAddress == "" {
		return nil, nil
	}
	key := conversations.ParticipantKey{Address: customerAddress}
	if w.channel.Type == "web" || w.channel.Type == "chat" {
		key = conversations.ParticipantKey{Identity: customerAddress}
	}
	var all []conversations.ParticipantConversation
	for offset := 0; ; offset += 100 {
		page, more, err := s.conv.ParticipantConversations(ctx, w.conversation.ServiceSid, key, conversations.Page{Offset: offset, Limit: 100})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if !more {
			break
		}
	}
	slices.Reverse(all) // newest first
	var out []PastConversation
	for _, pc := range all {
		if pc.Conversation.Sid == w.conversation.Sid || pc.Conversation.Sid == "" {
			continue
		}
		past := PastConversation{ConversationSid: pc.Conversation.Sid, Title: pc.Conversation.FriendlyName,
			State: capitalise(pc.Conversation.State), DateCreated: pc.Conversation.DateCreated}
		if past.Title == "" {
			past.Title = ChannelName(pc.Participant.ChannelType)
		}
		past.Openable = s.Allowed(ctx, a, past.ConversationSid) == nil
		var err error
		if past.Outcome, err = s.outcomeOf(ctx, past.ConversationSid); err != nil {
			return nil, err
		}
		out = append(out, past)
		if len(out) == maxPrevious {
			break
		}
	}
	return out, nil
}

// outcomeOf reads the outcome the conversation's last completed task was
// given, if any.
func (s *Service) outcomeOf(ctx context.Context, conversationSid string) (string, error) {
	var attrs []string
	err := s.read(ctx).Raw(`SELECT t.attributes FROM tasks t
		JOIN interaction_invites i ON i.task_sid = t.sid
		JOIN interaction_channels c ON c.sid = i.channel_sid
		WHERE c.media_channel_sid = ? AND t.assignment_status = ?
		ORDER BY t.date_updated DESC LIMIT 1`, conversationSid, taskrouter.TaskCompleted).Scan(&attrs).Error
	if err != nil {
		return "", errs.Wrap(err, "previous outcome")
	}
	if len(attrs) == 0 {
		return "", nil
	}
	var a struct {
		Conversations struct {
			Outcome any `json:"outcome"`
		} `json:"conversations"`
	}
	_ = json.Unmarshal([]byte(attrs[0]), &a) // a back end's attributes may not have this shape
	if a.Conversations.Outcome == nil {
		return "", nil
	}
	return fmt.Sprint(a.Conversations.Outcome), nil
}
