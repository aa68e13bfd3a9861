package conversations

import (
	"context"
	"encoding/json"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
)

// Origin says who asked for a change beyond its Source: the chat identity of
// an SDK client, and whether a REST caller asked for webhooks with
// X-Twilio-Webhook-Enabled: true. It travels in the request's context so
// that every write path, deletes included, carries it without a parameter.
type Origin struct {
	ClientIdentity  string
	WebhooksEnabled bool
}

type originKey struct{}

// WithOrigin returns ctx carrying o for the engine's hooks.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginOf returns the Origin ctx carries (the zero Origin if none).
func OriginOf(ctx context.Context) Origin {
	o, _ := ctx.Value(originKey{}).(Origin)
	return o
}

// Change is an event as the engine's event hooks see it, inside the
// transaction that publishes it.
type Change struct {
	events.Event
	Origin Origin
	// Receipt is the delivery receipt an onDeliveryUpdated event is about.
	Receipt *DeliveryReceipt
}

// EventHook runs inside the transaction that publishes an event, before the
// event is queued for subscribers: what it writes (durable jobs) commits or
// rolls back with the change. The rows the event names are visible in tx;
// for a removal they still exist, the event being published first.
type EventHook func(tx *db.Tx, c Change) error

// OnEvent registers a hook for every event the engine publishes. Register
// hooks before serving; they are not safe to add concurrently with writes.
func (e *Engine) OnEvent(h EventHook) { e.eventHooks = append(e.eventHooks, h) }

// publish runs the event hooks on ev, then queues it for subscribers.
func (e *Engine) publish(tx *db.Tx, ev events.Event) error {
	return e.publishChange(tx, Change{Event: ev})
}

func (e *Engine) publishChange(tx *db.Tx, c Change) error {
	if len(e.eventHooks) > 0 {
		c.Origin = OriginOf(tx.Statement.Context)
		for _, h := range e.eventHooks {
			if err := h(tx, c); err != nil {
				return err
			}
		}
	}
	return events.Publish(tx, c.Event)
}

// PreEvent names an action that outside code may allow, amend or refuse
// before it happens: Twilio's pre-event webhooks.
type PreEvent string

// The pre-events, named as Twilio's webhook filters name them.
const (
	PreConversationAdd    PreEvent = "onConversationAdd"
	PreConversationUpdate PreEvent = "onConversationUpdate"
	PreConversationRemove PreEvent = "onConversationRemove"
	PreMessageAdd         PreEvent = "onMessageAdd"
	PreMessageUpdate      PreEvent = "onMessageUpdate"
	PreMessageRemove      PreEvent = "onMessageRemove"
	PreParticipantAdd     PreEvent = "onParticipantAdd"
	PreParticipantUpdate  PreEvent = "onParticipantUpdate"
	PreParticipantRemove  PreEvent = "onParticipantRemove"
	PreUserUpdate         PreEvent = "onUserUpdate"
)

// Action is an action about to happen. The rows are as they would be after
// it (as they are, for a removal); a row not yet created has no SID.
type Action struct {
	Type         PreEvent
	ServiceSid   string
	Source       string
	Origin       Origin
	Conversation Conversation
	Message      Message
	Participant  Participant
	User         User
}

// Amendment is what a pre-event's answer changes in the action; nil fields
// stay as asked. Messages take Body, Author and Attributes; conversations
// FriendlyName, UniqueName, Attributes, State and timers.
type Amendment struct {
	Body, Author, Attributes        *string
	FriendlyName, UniqueName, State *string
	TimerInactive, TimerClosed      *string
}

// PreEventHook is asked about actions before their transaction starts, so
// that no lock is held while it waits. Wants must be cheap: it runs on every
// write, and the engine loads the rows an Action describes only when it says
// yes. Ask returns the amendment to apply, or an error that refuses the
// action (nothing is written).
type PreEventHook interface {
	Wants(ctx context.Context, a Action) bool
	Ask(ctx context.Context, a Action) (Amendment, error)
}

// SetPreEventHook gives the engine its pre-event hook. Call before serving.
func (e *Engine) SetPreEventHook(h PreEventHook) { e.preHook = h }

// ask consults the pre-event hook about an action of type t, if it wants
// to hear of it; describe loads the rows the action concerns only then.
// Actions inside a caller's transaction (the task layer's) are never asked:
// they would hold the caller's locks while waiting.
func (e *Engine) ask(ctx context.Context, t PreEvent, serviceSid, source string, describe func(a *Action) error) (Amendment, error) {
	if e.preHook == nil {
		return Amendment{}, nil
	}
	a := Action{Type: t, ServiceSid: serviceSid, Source: source, Origin: OriginOf(ctx)}
	if !e.preHook.Wants(ctx, a) {
		return Amendment{}, nil
	}
	if err := describe(&a); err != nil {
		return Amendment{}, err
	}
	return e.preHook.Ask(ctx, a)
}

// applyToMessage copies a pre-event's amendment of a message onto p.
func (am Amendment) applyToMessage(p *MessageParams) {
	if am.Body != nil {
		p.Body = am.Body
	}
	if am.Author != nil {
		p.Author = am.Author
	}
	if am.Attributes != nil {
		p.Attributes = am.Attributes
	}
}

// applyToConversation copies a pre-event's amendment of a conversation onto p.
func (am Amendment) applyToConversation(p *ConversationParams) {
	for _, f := range []struct{ in, out **string }{
		{&am.FriendlyName, &p.FriendlyName}, {&am.UniqueName, &p.UniqueName}, {&am.Attributes, &p.Attributes},
		{&am.State, &p.State}, {&am.TimerInactive, &p.TimerInactive}, {&am.TimerClosed, &p.TimerClosed},
	} {
		if *f.in != nil {
			*f.out = *f.in
		}
	}
}

// proposedMessage is m with p applied: the message an add or update would write.
func proposedMessage(m Message, p MessageParams) Message {
	if p.Author != nil && (*p.Author != "" || m.Sid != "") {
		m.Author = *p.Author
	}
	if p.Body != nil {
		m.Body = p.Body
	}
	if p.Attributes != nil {
		m.Attributes = *p.Attributes
	}
	if p.Subject != nil {
		m.Subject = p.Subject
	}
	if p.ContentSid != nil && *p.ContentSid != "" {
		m.ContentSid, m.ContentVariables, m.Body = p.ContentSid, p.ContentVariables, nil
	}
	return m
}

// preMessage asks about adding (messageSid "") or changing a message of the
// conversation and applies the answer to p, which is validated again.
func (e *Engine) preMessage(ctx context.Context, t PreEvent, serviceSid, conversationKey, messageSid string, p *MessageParams) error {
	am, err := e.ask(ctx, t, serviceSid, p.Source, func(a *Action) error {
		c, err := e.Conversation(ctx, serviceSid, conversationKey)
		if err != nil {
			return err
		}
		a.Conversation = c
		m := Message{ServiceSid: serviceSid, ConversationSid: c.Sid, Author: "system", Attributes: "{}", DateCreated: e.now()}
		if messageSid != "" {
			if m, err = e.findMessage(e.read(ctx), c, messageSid); err != nil {
				return err
			}
		}
		m = proposedMessage(m, *p)
		if m.ParticipantSid == nil {
			var author Participant
			res := e.read(ctx).Where("conversation_sid = ? AND (identity = ? OR address = ?)", c.Sid, m.Author, m.Author).Limit(1).Find(&author)
			if res.Error != nil {
				return errs.Wrap(res.Error, "participant")
			}
			if res.RowsAffected == 1 {
				m.ParticipantSid = &author.Sid
			}
		}
		if len(p.MediaSids) > 0 {
			// Not linked yet: the answer can only know the media by SID.
			media := make([]Media, len(p.MediaSids))
			for i, s := range p.MediaSids {
				media[i].Sid = s
			}
			raw, err := json.Marshal(media)
			if err != nil {
				return err
			}
			s := string(raw)
			m.Media = &s
		}
		a.Message = m
		return nil
	})
	if err != nil {
		return err
	}
	am.applyToMessage(p)
	return p.validate()
}
