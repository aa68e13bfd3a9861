// Package conversations is the conversations engine: services, conversations,
// participants, messages, users, roles, address configurations and webhook
// configuration, with the rules and limits of Twilio's Conversations v1.
// Every change publishes an event after commit; timers run as durable jobs.
package conversations

import (
	"context"
	"encoding/json"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// Twilio error codes raised by the engine's rules.
const (
	CodeBadAddress          = 50407
	CodeBadProxyAddress     = 50408
	CodeAddressIsProxy      = 50409
	CodePairInUse           = 50416
	CodeParticipantLimit    = 50417
	CodeBindingInvalid      = 50420
	CodeNonChatLimit        = 50422
	CodePairsInUse          = 50425
	CodeTooManyParticipants = 50426
	CodeNotAMember          = 50430
	CodeParticipantNotFound = 50432
	CodeIdentityTaken       = 50433
	CodeDuplicateRequest    = 50437
	CodeUniqueNameTaken     = 50353
	CodeBadWebhookFilter    = 50365
	CodeClosed              = 50377
	CodeTimersWithoutState  = 50382
	CodeUserExists          = 50201
)

// Limits from Twilio's Conversations limits page.
const (
	MaxParticipants         = 1000
	MaxNonChatParticipants  = 50
	MaxOpenPerIdentity      = 1000
	MaxCreateParticipants   = 10
	MaxFriendlyName         = 256
	MaxConversationAttrs    = 16 * 1024
	MaxMessageAttrs         = 4 * 1024
	MaxParticipantAttrs     = 4 * 1024
	MaxUserAttrs            = 16 * 1024
	MaxBody                 = 32 * 1024
	MaxIdentity             = 256
	MaxAddress              = 256
	MaxSubject              = 256
	MaxConversationWebhooks = 5
)

// Engine is the conversations engine for one account.
type Engine struct {
	db           *db.DB
	accountSid   string
	now          func() time.Time
	messageHooks []MessageHook
	stateHooks   []StateHook
	eventHooks   []EventHook
	preHook      PreEventHook
	media        MediaLinker
}

// MediaLinker attaches uploaded media to a new message. The media service
// implements it; without one, messages cannot carry media.
type MediaLinker interface {
	// LinkMedia claims the media for the message inside its transaction and
	// describes them, or fails (not found, already used, over a limit).
	LinkMedia(tx *db.Tx, serviceSid, conversationSid, messageSid string, mediaSids []string) ([]Media, error)
}

// SetMediaLinker gives the engine its media service. Call before serving.
func (e *Engine) SetMediaLinker(m MediaLinker) { e.media = m }

// StateHook runs inside the transaction that changes a conversation's state
// (from is the previous one), so a layer above can end its own work on a
// closed conversation in the same step.
type StateHook func(tx *db.Tx, c Conversation, from string) error

// OnStateChanged registers a hook for every state change. Register hooks
// before serving.
func (e *Engine) OnStateChanged(h StateHook) { e.stateHooks = append(e.stateHooks, h) }

// MessageHook runs inside the transaction that adds a message, so what it
// writes (typically a durable job) commits or rolls back with the message.
// It lets layers above the engine react to messages without the engine
// knowing them.
type MessageHook func(tx *db.Tx, c Conversation, m Message) error

// OnMessageAdded registers a hook for every new message. Register hooks
// before serving; they are not safe to add concurrently with writes.
func (e *Engine) OnMessageAdded(h MessageHook) { e.messageHooks = append(e.messageHooks, h) }

// New returns the engine over d for the given account.
func New(d *db.DB, accountSid string) *Engine {
	return &Engine{db: d, accountSid: accountSid, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// SetClock replaces the engine's clock (tests of timers).
func (e *Engine) SetClock(now func() time.Time) { e.now = now }

// AccountSid is the account the engine serves.
func (e *Engine) AccountSid() string { return e.accountSid }

// Page selects a slice of a list: Limit items starting at Offset.
type Page struct {
	Offset int
	Limit  int
}

// write runs fn in a transaction.
func (e *Engine) write(ctx context.Context, fn func(tx *db.Tx) error) error {
	return e.db.InTx(ctx, fn)
}

// inConversation runs fn in a write transaction on the service's
// conversation named by key (SID or unique name).
func inConversation[T any](e *Engine, ctx context.Context, serviceSid, key string, fn func(tx *db.Tx, c Conversation) (T, error)) (T, error) {
	var out T
	err := e.write(ctx, func(tx *db.Tx) error {
		c, err := e.findConversation(tx.Locked("UPDATE"), serviceSid, key)
		if err != nil {
			return err
		}
		out, err = fn(tx, c)
		return err
	})
	return out, err
}

// read returns a GORM handle for queries outside a transaction.
func (e *Engine) read(ctx context.Context) *gorm.DB { return e.db.Gorm.WithContext(ctx) }

// listPage runs an ordered list query for one page: it fetches one row more
// than the page holds to learn whether another page follows.
func listPage[T any](q *gorm.DB, p Page, what string) ([]T, bool, error) {
	var rows []T
	if err := q.Offset(p.Offset).Limit(p.Limit + 1).Find(&rows).Error; err != nil {
		return nil, false, errs.Wrap(err, what)
	}
	if len(rows) > p.Limit {
		return rows[:p.Limit], true, nil
	}
	return rows, false, nil
}

// checkAttributes validates an Attributes parameter: valid JSON within max bytes.
// An empty string means "{}".
func checkAttributes(attrs *string, max int) error {
	if attrs == nil {
		return nil
	}
	if *attrs == "" {
		*attrs = "{}"
		return nil
	}
	if len(*attrs) > max {
		return errs.E(errs.TooLarge, errs.CodeInvalidParam, "Attributes must be at most %d bytes", max)
	}
	if !json.Valid([]byte(*attrs)) {
		return errs.Invalidf("Attributes must be a valid JSON string")
	}
	return nil
}

// checkLength rejects a text parameter longer than max characters.
func checkLength(name string, v *string, max int) error {
	if v != nil && utf8.RuneCountInString(*v) > max {
		return errs.Invalidf("%s must be at most %d characters", name, max)
	}
	return nil
}

// notFound reports a missing resource the Twilio way.
func notFound(kind, key string) error {
	return errs.NotFoundf("The requested resource /%s/%s was not found", kind, key)
}
