// Package events carries typed change events. A service publishes inside its
// write transaction; subscribers hear the event only once it commits, on
// every node (pg_notify on Postgres, in-process on SQLite). Delivery is
// best-effort: anything that must happen is a durable job instead.
package events

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/switchboardhq/switchboard/internal/db"
)

// Type names what happened.
type Type string

// The conversations engine's event types, named after Twilio's post-event webhooks.
const (
	ConversationAdded        Type = "onConversationAdded"
	ConversationUpdated      Type = "onConversationUpdated"
	ConversationRemoved      Type = "onConversationRemoved"
	ConversationStateUpdated Type = "onConversationStateUpdated"
	MessageAdded             Type = "onMessageAdded"
	MessageUpdated           Type = "onMessageUpdated"
	MessageRemoved           Type = "onMessageRemoved"
	ParticipantAdded         Type = "onParticipantAdded"
	ParticipantUpdated       Type = "onParticipantUpdated"
	ParticipantRemoved       Type = "onParticipantRemoved"
	UserAdded                Type = "onUserAdded"
	UserUpdated              Type = "onUserUpdated"
	UserRemoved              Type = "onUserRemoved"
	DeliveryUpdated          Type = "onDeliveryUpdated"
)

// Administrative changes. No Twilio webhook carries them (hence no "on"
// prefix); they tell caches of roles, service settings and webhook targets to
// reload.
const (
	ServiceAdded         Type = "serviceAdded"
	ServiceUpdated       Type = "serviceUpdated" // its configuration, notifications or webhook settings
	ServiceRemoved       Type = "serviceRemoved"
	ConfigurationUpdated Type = "configurationUpdated" // account defaults or global webhook settings
	RoleAdded            Type = "roleAdded"
	RoleUpdated          Type = "roleUpdated"
	RoleRemoved          Type = "roleRemoved"

	AddressConfigurationAdded   Type = "addressConfigurationAdded"
	AddressConfigurationUpdated Type = "addressConfigurationUpdated"
	AddressConfigurationRemoved Type = "addressConfigurationRemoved"
	ConversationWebhookAdded    Type = "conversationWebhookAdded"
	ConversationWebhookUpdated  Type = "conversationWebhookUpdated"
	ConversationWebhookRemoved  Type = "conversationWebhookRemoved"
)

// Ephemeral signals: sent with Signal, never stored and never tied to a
// transaction. Sid is the participant and ConversationSid is set.
const (
	TypingStarted Type = "typingStarted"
	TypingEnded   Type = "typingEnded"
)

// Event is a small reference to a change; subscribers load what they need.
// It must stay well under Postgres's 8000-byte notification limit, so it
// never carries bodies or attributes.
type Event struct {
	Type            Type   `json:"type"`
	ServiceSid      string `json:"service_sid,omitempty"`
	ConversationSid string `json:"conversation_sid,omitempty"`
	Sid             string `json:"sid,omitempty"`   // the changed resource
	Index           *int64 `json:"index,omitempty"` // message index, for message events
	Source          string `json:"source,omitempty"`
	StateFrom       string `json:"state_from,omitempty"`
	StateTo         string `json:"state_to,omitempty"`
	Reason          string `json:"reason,omitempty"`
	// TaskRouter events name the workspace and, where one is involved, the
	// worker, task and reservation, so live views can follow a worker.
	WorkspaceSid   string `json:"workspace_sid,omitempty"`
	WorkerSid      string `json:"worker_sid,omitempty"`
	TaskSid        string `json:"task_sid,omitempty"`
	ReservationSid string `json:"reservation_sid,omitempty"`
}

// TaskRouterPrefix starts the Type of every TaskRouter event on the bus:
// "taskrouter:" + TaskRouter's own event type (reservation.created, …).
const TaskRouterPrefix = "taskrouter:"

// channel is the notification channel all events travel on.
const channel = "switchboard_events"

// Publish queues ev to be delivered when tx commits.
func Publish(tx *db.Tx, ev Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return tx.Notify(channel, string(b))
}

// Signal sends ev now, outside any transaction, to the Bus on every node,
// which delivers it like a committed event. It is for ephemeral signals
// (typing) that nothing stores; a change of state is published with Publish
// in its transaction instead.
func Signal(ctx context.Context, d *db.DB, ev Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return d.Notify(ctx, channel, string(b))
}

// Bus fans committed events out to in-process subscribers.
type Bus struct {
	log     *slog.Logger
	mu      sync.RWMutex
	subs    map[*subscription]struct{}
	dropped atomic.Int64
}

type subscription struct{ ch chan Event }

// NewBus starts listening on d for events until ctx ends.
func NewBus(ctx context.Context, d *db.DB, log *slog.Logger) *Bus {
	b := &Bus{log: log, subs: map[*subscription]struct{}{}}
	d.Listen(ctx, channel, b.dispatch)
	return b
}

func (b *Bus) dispatch(payload string) {
	var ev Event
	if err := json.Unmarshal([]byte(payload), &ev); err != nil {
		b.log.Warn("dropping malformed event", "err", err)
		return
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	for s := range b.subs {
		select {
		case s.ch <- ev:
		default:
			// A slow subscriber loses live events rather than stalling every
			// other one; it resyncs from the database.
			b.dropped.Add(1)
		}
	}
}

// Subscribe returns a channel receiving every committed event and every
// signal (buffered to size) and a function that ends the subscription.
func (b *Bus) Subscribe(size int) (<-chan Event, func()) {
	s := &subscription{ch: make(chan Event, size)}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, s)
			b.mu.Unlock()
		})
	}
}

// Dropped counts events lost to full subscriber buffers.
func (b *Bus) Dropped() int64 { return b.dropped.Load() }
