package conversations

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// ConversationWebhook (WH…) is a webhook scoped to one conversation.
type ConversationWebhook struct {
	Sid             string `gorm:"primaryKey"`
	ServiceSid      string
	ConversationSid string
	Target          string // webhook, trigger or studio
	URL             string `gorm:"column:url"`
	Method          string
	Filters         string // JSON array
	Triggers        string // JSON array
	FlowSid         string
	ReplayAfter     *int
	DateCreated     time.Time
	DateUpdated     time.Time
}

// FilterList returns the events the webhook hears.
func (w ConversationWebhook) FilterList() []string { return decodeList(w.Filters) }

// TriggerList returns the keywords that fire a trigger webhook.
func (w ConversationWebhook) TriggerList() []string { return decodeList(w.Triggers) }

// Targets of a conversation-scoped webhook.
const (
	ScopedTargetWebhook = "webhook" // post-events to a URL
	ScopedTargetTrigger = "trigger" // messages containing a keyword, to a URL
	ScopedTargetStudio  = "studio"  // post-events to a Studio flow
)

// scopedWebhookEvents are the post-events a webhook tied to one conversation
// can hear. onConversationAdded has already happened when such a hook
// exists, and user events belong to no conversation, so neither is accepted.
var scopedWebhookEvents = []events.Type{
	events.ConversationUpdated, events.ConversationRemoved, events.ConversationStateUpdated,
	events.MessageAdded, events.MessageUpdated, events.MessageRemoved,
	events.ParticipantAdded, events.ParticipantUpdated, events.ParticipantRemoved,
	events.DeliveryUpdated,
}

// scopedWebhookFilters validates a Filters list of event names and returns
// it as the stored JSON array. Empty values are dropped, so a lone empty
// value clears the list.
func scopedWebhookFilters(param string, names []string) (string, error) {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n == "" {
			continue
		}
		if !slices.Contains(scopedWebhookEvents, events.Type(n)) {
			return "", errs.E(errs.Invalid, CodeBadWebhookFilter, "%s has an unknown event %q; allowed: %s", param, n, joinEvents(scopedWebhookEvents))
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return jsonList(out), nil
}

func joinEvents(ts []events.Type) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// jsonList encodes a string list the way list columns store it: never null.
func jsonList(vs []string) string {
	if vs == nil {
		vs = []string{}
	}
	b, _ := json.Marshal(vs) // a []string always encodes
	return string(b)
}

// decodeList reads a list column; the engine writes them, so a bad row reads
// as an empty list rather than failing a read.
func decodeList(raw string) []string {
	out := []string{}
	_ = json.Unmarshal([]byte(raw), &out)
	return out
}

// checkCallbackURL accepts only absolute http(s) URLs: anything else could
// never receive a webhook.
func checkCallbackURL(param, v string) error {
	if !isWebURL(v) {
		return errs.Invalidf("%s must be an absolute http or https URL, got %q", param, v)
	}
	return nil
}

// httpMethod normalises a webhook method given in either case to GET or POST.
func httpMethod(param, v string) (string, error) {
	switch m := strings.ToUpper(v); m {
	case "GET", "POST":
		return m, nil
	}
	return "", errs.Invalidf("%s must be GET or POST, got %q", param, v)
}

// checkFlowSid accepts a Studio flow SID.
func checkFlowSid(param, v string) error {
	if !sid.Is(v, sid.StudioFlow) {
		return errs.Invalidf("%s must be a Studio Flow SID (FW…), got %q", param, v)
	}
	return nil
}

// ConversationWebhookParams are the settable fields of a conversation
// webhook (the Configuration.* parameters); nil leaves a field as is.
type ConversationWebhookParams struct {
	Target      *string
	URL         *string
	Method      *string
	Filters     []string // nil leaves the filters as they are
	Triggers    []string // nil leaves the triggers as they are
	FlowSid     *string
	ReplayAfter *int64 // create only
}

// apply validates the Configuration.* params and copies them onto w.
func (p ConversationWebhookParams) apply(w *ConversationWebhook) error {
	if p.URL != nil {
		if *p.URL != "" {
			if err := checkCallbackURL("Configuration.Url", *p.URL); err != nil {
				return err
			}
		}
		w.URL = *p.URL
	}
	if p.Method != nil {
		m, err := httpMethod("Configuration.Method", *p.Method)
		if err != nil {
			return err
		}
		w.Method = m
	}
	if p.Filters != nil {
		f, err := scopedWebhookFilters("Configuration.Filters", p.Filters)
		if err != nil {
			return err
		}
		w.Filters = f
	}
	if p.Triggers != nil {
		w.Triggers = jsonList(slices.DeleteFunc(slices.Clone(p.Triggers), func(s string) bool { return s == "" }))
	}
	if p.FlowSid != nil {
		if *p.FlowSid != "" {
			if err := checkFlowSid("Configuration.FlowSid", *p.FlowSid); err != nil {
				return err
			}
		}
		w.FlowSid = *p.FlowSid
	}
	return w.checkTarget()
}

// checkTarget enforces what each target needs to be deliverable at all.
func (w *ConversationWebhook) checkTarget() error {
	switch w.Target {
	case ScopedTargetWebhook:
		if w.URL == "" {
			return errs.Invalidf("Configuration.Url is required for a webhook target")
		}
	case ScopedTargetTrigger:
		if w.URL == "" {
			return errs.Invalidf("Configuration.Url is required for a trigger target")
		}
		if w.Triggers == "[]" {
			return errs.Invalidf("Configuration.Triggers needs at least one keyword for a trigger target")
		}
	case ScopedTargetStudio:
		if w.FlowSid == "" {
			return errs.Invalidf("Configuration.FlowSid is required for a studio target")
		}
	}
	return nil
}

// CreateConversationWebhook attaches a webhook to an open conversation,
// which may hold at most MaxConversationWebhooks of them.
func (e *Engine) CreateConversationWebhook(ctx context.Context, serviceSid, conversationKey string, p ConversationWebhookParams) (ConversationWebhook, error) {
	w := ConversationWebhook{Sid: sid.New(sid.ConversationWebhook), ServiceSid: serviceSid, Method: "POST", Filters: "[]", Triggers: "[]"}
	if p.Target == nil || *p.Target == "" {
		return w, errs.Invalidf("Target is required: webhook, trigger or studio")
	}
	switch w.Target = strings.ToLower(*p.Target); w.Target {
	case ScopedTargetWebhook, ScopedTargetTrigger, ScopedTargetStudio:
	default:
		return w, errs.Invalidf("Target must be webhook, trigger or studio, got %q", *p.Target)
	}
	if p.ReplayAfter != nil {
		if *p.ReplayAfter < 0 {
			return w, errs.Invalidf("Configuration.ReplayAfter must be a message index, 0 or more")
		}
		n := int(*p.ReplayAfter)
		w.ReplayAfter = &n
	}
	if err := p.apply(&w); err != nil {
		return w, err
	}
	err := e.write(ctx, func(tx *db.Tx) error {
		c, err := e.findConversation(tx.Locked("UPDATE"), serviceSid, conversationKey)
		if err != nil {
			return err
		}
		if c.State == StateClosed {
			return errClosed(c.Sid)
		}
		var n int64
		if err := tx.Model(&ConversationWebhook{}).Where("conversation_sid = ?", c.Sid).Count(&n).Error; err != nil {
			return err
		}
		if n >= MaxConversationWebhooks {
			return errs.Invalidf("Conversation %s already has the maximum of %d webhooks; delete one first", c.Sid, MaxConversationWebhooks)
		}
		w.ConversationSid = c.Sid
		w.DateCreated = e.now()
		w.DateUpdated = w.DateCreated
		if err := tx.Create(&w).Error; err != nil {
			return err
		}
		return e.publish(tx, events.Event{Type: events.ConversationWebhookAdded, ServiceSid: c.ServiceSid, ConversationSid: c.Sid, Sid: w.Sid})
	})
	return w, errs.Wrap(err, "conversation webhook")
}

// findConversationWebhook loads a webhook of the conversation.
func (e *Engine) findConversationWebhook(q *gorm.DB, c Conversation, webhookSid string) (ConversationWebhook, error) {
	var w ConversationWebhook
	res := q.Where("conversation_sid = ? AND sid = ?", c.Sid, webhookSid).Limit(1).Find(&w)
	if res.Error != nil {
		return w, errs.Wrap(res.Error, "conversation webhook")
	}
	if res.RowsAffected == 0 {
		return w, errs.NotFoundf("The requested resource /Conversations/%s/Webhooks/%s was not found", c.Sid, webhookSid)
	}
	return w, nil
}

// ConversationWebhook fetches one webhook of a conversation.
func (e *Engine) ConversationWebhook(ctx context.Context, serviceSid, conversationKey, webhookSid string) (ConversationWebhook, error) {
	c, err := e.Conversation(ctx, serviceSid, conversationKey)
	if err != nil {
		return ConversationWebhook{}, err
	}
	return e.findConversationWebhook(e.read(ctx), c, webhookSid)
}

// ConversationWebhooks lists a conversation's webhooks, oldest first.
func (e *Engine) ConversationWebhooks(ctx context.Context, serviceSid, conversationKey string, p Page) ([]ConversationWebhook, bool, error) {
	c, err := e.Conversation(ctx, serviceSid, conversationKey)
	if err != nil {
		return nil, false, err
	}
	return listPage[ConversationWebhook](e.read(ctx).Where("conversation_sid = ?", c.Sid).Order("date_created, sid"), p, "conversation webhooks")
}

// UpdateConversationWebhook changes a webhook's configuration. Its target and
// ReplayAfter are fixed at creation, and a closed conversation's webhooks are
// as final as the conversation.
func (e *Engine) UpdateConversationWebhook(ctx context.Context, serviceSid, conversationKey, webhookSid string, p ConversationWebhookParams) (ConversationWebhook, error) {
	if p.ReplayAfter != nil {
		return ConversationWebhook{}, errs.Invalidf("Configuration.ReplayAfter can only be set when the webhook is created")
	}
	var w ConversationWebhook
	err := e.write(ctx, func(tx *db.Tx) error {
		c, err := e.findConversation(tx.Locked("UPDATE"), serviceSid, conversationKey)
		if err != nil {
			return err
		}
		if c.State == StateClosed {
			return errClosed(c.Sid)
		}
		if w, err = e.findConversationWebhook(tx.DB, c, webhookSid); err != nil {
			return err
		}
		if p.Target != nil && !strings.EqualFold(*p.Target, w.Target) {
			return errs.Invalidf("Target cannot be changed (it is %s); create a new webhook instead", w.Target)
		}
		if err := p.apply(&w); err != nil {
			return err
		}
		w.DateUpdated = e.now()
		if err := tx.Model(&w).Select("url", "method", "filters", "triggers", "flow_sid", "date_updated").Updates(&w).Error; err != nil {
			return err
		}
		return e.publish(tx, events.Event{Type: events.ConversationWebhookUpdated, ServiceSid: c.ServiceSid, ConversationSid: c.Sid, Sid: w.Sid})
	})
	return w, errs.Wrap(err, "conversation webhook")
}

// DeleteConversationWebhook removes a webhook from a conversation.
func (e *Engine) DeleteConversationWebhook(ctx context.Context, serviceSid, conversationKey, webhookSid string) error {
	return e.write(ctx, func(tx *db.Tx) error {
		c, err := e.findConversation(tx.Locked("UPDATE"), serviceSid, conversationKey)
		if err != nil {
			return err
		}
		w, err := e.findConversationWebhook(tx.DB, c, webhookSid)
		if err != nil {
			return err
		}
		if err := tx.Delete(&w).Error; err != nil {
			return err
		}
		return e.publish(tx, events.Event{Type: events.ConversationWebhookRemoved, ServiceSid: c.ServiceSid, ConversationSid: c.Sid, Sid: w.Sid})
	})
}
