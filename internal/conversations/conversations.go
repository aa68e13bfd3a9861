package conversations

import (
	"context"
	"encoding/json"
	"net/mail"
	"time"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// Conversation states. Closed is final.
const (
	StateInitializing = "initializing"
	StateActive       = "active"
	StateInactive     = "inactive"
	StateClosed       = "closed"
)

// Conversation is a thread (CH…) in a service.
type Conversation struct {
	Sid                 string `gorm:"primaryKey"`
	ServiceSid          string
	UniqueName          *string
	FriendlyName        string
	Attributes          string
	State               string
	MessagingServiceSid string
	TimerInactive       string // ISO-8601 duration, "" when unset
	TimerClosed         string
	DateInactive        *time.Time
	DateClosed          *time.Time
	Bindings            string
	NextIndex           int64 // the index the next message gets
	DateCreated         time.Time
	DateUpdated         time.Time
}

// ConversationParams are the settable fields; nil leaves a field as is.
type ConversationParams struct {
	FriendlyName        *string
	UniqueName          *string
	Attributes          *string
	MessagingServiceSid *string
	State               *string
	TimerInactive       *string
	TimerClosed         *string
	DateCreated         *time.Time
	DateUpdated         *time.Time
	// BindingsEmailAddress and BindingsEmailName are Bindings.Email.*: the
	// conversation's email binding.
	BindingsEmailAddress *string
	BindingsEmailName    *string
	// Source says who made the change (API, SDK, SMS…), for events.
	Source string
}

// ConversationFilter narrows a conversation list.
type ConversationFilter struct {
	State     string
	StartDate *time.Time // created on or after
	EndDate   *time.Time // created before
}

func (p *ConversationParams) validate(creating bool) error {
	if err := checkLength("FriendlyName", p.FriendlyName, MaxFriendlyName); err != nil {
		return err
	}
	if err := checkLength("UniqueName", p.UniqueName, MaxFriendlyName); err != nil {
		return err
	}
	if p.UniqueName != nil && sid.Looks(*p.UniqueName) {
		return errs.Invalidf("UniqueName must not look like a SID")
	}
	if err := checkAttributes(p.Attributes, MaxConversationAttrs); err != nil {
		return err
	}
	if p.MessagingServiceSid != nil && *p.MessagingServiceSid != "" && !sid.Is(*p.MessagingServiceSid, sid.MessagingService) {
		return errs.Invalidf("MessagingServiceSid must be a Messaging Service SID (MG…)")
	}
	if p.State != nil {
		switch *p.State {
		case StateActive, StateInactive, StateClosed:
		default:
			return errs.Invalidf("State must be active, inactive or closed")
		}
	}
	if creating && p.State == nil && (p.TimerInactive != nil || p.TimerClosed != nil) {
		return errs.E(errs.Invalid, CodeTimersWithoutState, "Conversation timers cannot be set without a State")
	}
	if p.BindingsEmailAddress != nil && *p.BindingsEmailAddress != "" {
		if _, err := mail.ParseAddress(*p.BindingsEmailAddress); err != nil {
			return errs.Invalidf("Bindings.Email.Address %q is not an email address", *p.BindingsEmailAddress)
		}
	}
	if err := checkLength("Bindings.Email.Name", p.BindingsEmailName, MaxFriendlyName); err != nil {
		return err
	}
	if p.TimerInactive != nil {
		if _, err := parseTimer("Timers.Inactive", *p.TimerInactive, minInactiveTimer); err != nil {
			return err
		}
	}
	if p.TimerClosed != nil {
		if _, err := parseTimer("Timers.Closed", *p.TimerClosed, minClosedTimer); err != nil {
			return err
		}
	}
	return nil
}

// CreateConversation creates a conversation in the service.
func (e *Engine) CreateConversation(ctx context.Context, serviceSid string, p ConversationParams) (Conversation, error) {
	if err := e.preConversationAdd(ctx, serviceSid, &p); err != nil {
		return Conversation{}, err
	}
	var c Conversation
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		c, err = e.createConversation(tx, serviceSid, p)
		return err
	})
	return c, e.mapConversationErr(err, p)
}

func (e *Engine) createConversation(tx *db.Tx, serviceSid string, p ConversationParams) (Conversation, error) {
	if err := p.validate(true); err != nil {
		return Conversation{}, err
	}
	now := e.now()
	c := Conversation{Sid: sid.New(sid.Conversation), ServiceSid: serviceSid, Attributes: "{}", State: StateActive,
		Bindings: "{}", DateCreated: now, DateUpdated: now}
	var cfg Configuration
	if err := tx.Where("account_sid = ?", e.accountSid).Limit(1).Find(&cfg).Error; err != nil {
		return c, err
	}
	c.TimerInactive, c.TimerClosed = cfg.DefaultInactiveTimer, cfg.DefaultClosedTimer
	c.MessagingServiceSid = cfg.DefaultMessagingServiceSid
	p.apply(&c)
	if c.State == StateClosed {
		return c, errs.Invalidf("A conversation cannot be created closed")
	}
	if err := e.armTimers(tx, &c); err != nil {
		return c, err
	}
	if err := tx.Create(&c).Error; err != nil {
		return c, err
	}
	return c, e.publish(tx, events.Event{Type: events.ConversationAdded, ServiceSid: serviceSid, ConversationSid: c.Sid,
		Sid: c.Sid, Source: p.Source})
}

// preConversationAdd asks about creating a conversation and applies the
// answer to p.
func (e *Engine) preConversationAdd(ctx context.Context, serviceSid string, p *ConversationParams) error {
	if err := p.validate(true); err != nil {
		return err
	}
	am, err := e.ask(ctx, PreConversationAdd, serviceSid, p.Source, func(a *Action) error {
		now := e.now()
		a.Conversation = Conversation{ServiceSid: serviceSid, Attributes: "{}", State: StateActive, Bindings: "{}",
			DateCreated: now, DateUpdated: now}
		p.apply(&a.Conversation)
		return nil
	})
	if err != nil {
		return err
	}
	am.applyToConversation(p)
	return p.validate(true)
}

// apply copies the given params onto c.
func (p *ConversationParams) apply(c *Conversation) {
	if p.FriendlyName != nil {
		c.FriendlyName = *p.FriendlyName
	}
	if p.UniqueName != nil {
		if *p.UniqueName == "" {
			c.UniqueName = nil
		} else {
			u := *p.UniqueName
			c.UniqueName = &u
		}
	}
	if p.Attributes != nil {
		c.Attributes = *p.Attributes
	}
	if p.MessagingServiceSid != nil {
		c.MessagingServiceSid = *p.MessagingServiceSid
	}
	if p.State != nil {
		c.State = *p.State
	}
	if p.TimerInactive != nil {
		c.TimerInactive = *p.TimerInactive
	}
	if p.TimerClosed != nil {
		c.TimerClosed = *p.TimerClosed
	}
	if p.DateCreated != nil {
		c.DateCreated = *p.DateCreated
	}
	if p.DateUpdated != nil {
		c.DateUpdated = *p.DateUpdated
	}
	if p.BindingsEmailAddress != nil || p.BindingsEmailName != nil {
		var b map[string]map[string]string
		if json.Unmarshal([]byte(c.Bindings), &b) != nil || b == nil {
			b = map[string]map[string]string{}
		}
		email := b["email"]
		if email == nil {
			email = map[string]string{}
		}
		if p.BindingsEmailAddress != nil {
			email["address"] = *p.BindingsEmailAddress
		}
		if p.BindingsEmailName != nil {
			email["name"] = *p.BindingsEmailName
		}
		b["email"] = email
		raw, _ := json.Marshal(b)
		c.Bindings = string(raw)
	}
}

func (e *Engine) mapConversationErr(err error, p ConversationParams) error {
	if db.IsUniqueViolation(err) && p.UniqueName != nil {
		return errs.E(errs.Conflict, CodeUniqueNameTaken, "A conversation with UniqueName %q already exists", *p.UniqueName)
	}
	return errs.Wrap(err, "conversation")
}

// Conversation fetches a conversation by SID or unique name.
func (e *Engine) Conversation(ctx context.Context, serviceSid, key string) (Conversation, error) {
	return e.findConversation(e.read(ctx), serviceSid, key)
}

func (e *Engine) findConversation(q *gorm.DB, serviceSid, key string) (Conversation, error) {
	var c Conversation
	col := "unique_name"
	if sid.Is(key, sid.Conversation) {
		col = "sid"
	}
	res := q.Where("service_sid = ? AND "+col+" = ?", serviceSid, key).Limit(1).Find(&c)
	if res.Error != nil {
		return c, errs.Wrap(res.Error, "conversation")
	}
	if res.RowsAffected == 0 {
		return c, notFound("Conversations", key)
	}
	return c, nil
}

// UpdateConversation changes a conversation. A closed conversation is final.
func (e *Engine) UpdateConversation(ctx context.Context, serviceSid, key string, p ConversationParams) (Conversation, error) {
	if err := p.validate(false); err != nil {
		return Conversation{}, err
	}
	am, err := e.ask(ctx, PreConversationUpdate, serviceSid, p.Source, func(a *Action) error {
		c, err := e.Conversation(ctx, serviceSid, key)
		if err != nil {
			return err
		}
		p.apply(&c)
		a.Conversation = c
		return nil
	})
	if err != nil {
		return Conversation{}, err
	}
	am.applyToConversation(&p)
	if err := p.validate(false); err != nil {
		return Conversation{}, err
	}
	var c Conversation
	err = e.write(ctx, func(tx *db.Tx) error {
		var err error
		if c, err = e.findConversation(tx.Locked("UPDATE"), serviceSid, key); err != nil {
			return err
		}
		if c.State == StateClosed {
			return errClosed(c.Sid)
		}
		from := c.State
		timersChanged := p.TimerInactive != nil || p.TimerClosed != nil
		p.apply(&c)
		if p.DateUpdated == nil {
			c.DateUpdated = e.now()
		}
		if err := tx.Model(&c).Select("unique_name", "friendly_name", "attributes", "state", "messaging_service_sid",
			"timer_inactive", "timer_closed", "bindings", "date_created", "date_updated").Updates(&c).Error; err != nil {
			return err
		}
		if err := e.publish(tx, events.Event{Type: events.ConversationUpdated, ServiceSid: serviceSid,
			ConversationSid: c.Sid, Sid: c.Sid, Source: p.Source}); err != nil {
			return err
		}
		if from != c.State {
			if c.State == StateActive || timersChanged {
				if err := e.armTimers(tx, &c); err != nil {
					return err
				}
			}
			return e.applyState(tx, &c, from, "API")
		}
		if timersChanged {
			if err := e.armTimers(tx, &c); err != nil {
				return err
			}
			return tx.Model(&c).Select("date_inactive", "date_closed").Updates(&c).Error
		}
		return nil
	})
	return c, e.mapConversationErr(err, p)
}

// DeleteConversation removes a conversation with its participants and messages.
func (e *Engine) DeleteConversation(ctx context.Context, serviceSid, key, source string) error {
	if _, err := e.ask(ctx, PreConversationRemove, serviceSid, source, func(a *Action) error {
		var err error
		a.Conversation, err = e.Conversation(ctx, serviceSid, key)
		return err
	}); err != nil {
		return err
	}
	return e.write(ctx, func(tx *db.Tx) error {
		c, err := e.findConversation(tx.Locked("UPDATE"), serviceSid, key)
		if err != nil {
			return err
		}
		// Published first, so that event hooks still see the conversation
		// and its webhooks.
		if err := e.publish(tx, events.Event{Type: events.ConversationRemoved, ServiceSid: serviceSid,
			ConversationSid: c.Sid, Sid: c.Sid, Source: source}); err != nil {
			return err
		}
		// Children first: SQLite enforces the foreign keys, and one statement
		// per table beats a cascade walk on Postgres anyway.
		for _, m := range []any{&binding{}, &DeliveryReceipt{}, &Message{}, &ConversationWebhook{}, &Participant{}} {
			if err := tx.Where("conversation_sid = ?", c.Sid).Delete(m).Error; err != nil {
				return err
			}
		}
		return tx.Delete(&c).Error
	})
}

// Conversations lists a service's conversations, oldest first.
func (e *Engine) Conversations(ctx context.Context, serviceSid string, f ConversationFilter, p Page) ([]Conversation, bool, error) {
	q := e.read(ctx).Where("service_sid = ?", serviceSid)
	if f.State != "" {
		switch f.State {
		case StateActive, StateInactive, StateClosed, StateInitializing:
		default:
			return nil, false, errs.Invalidf("State must be active, inactive or closed")
		}
		q = q.Where("state = ?", f.State)
	}
	if f.StartDate != nil {
		q = q.Where("date_created >= ?", *f.StartDate)
	}
	if f.EndDate != nil {
		q = q.Where("date_created < ?", *f.EndDate)
	}
	return listPage[Conversation](q.Order("date_created, sid"), p, "conversations")
}

func errClosed(conversationSid string) error {
	return errs.E(errs.Invalid, CodeClosed, "Conversation %s is closed and cannot be changed", conversationSid)
}

// CreateConversationWithParticipants creates a conversation and up to ten
// participants in one transaction: all of it happens, or none of it.
func (e *Engine) CreateConversationWithParticipants(ctx context.Context, serviceSid string, p ConversationParams, members []ParticipantParams) (Conversation, error) {
	if len(members) > MaxCreateParticipants {
		return Conversation{}, errs.E(errs.Invalid, CodeTooManyParticipants, "At most %d participants can be added in one request, got %d", MaxCreateParticipants, len(members))
	}
	seen := map[string]bool{}
	for i := range members {
		if err := members[i].validate(); err != nil {
			return Conversation{}, err
		}
		key := ""
		switch {
		case members[i].Identity != nil && *members[i].Identity != "":
			key = "identity:" + *members[i].Identity
		case members[i].Address != nil && members[i].ProxyAddress != nil:
			key = "binding:" + *members[i].Address + "|" + *members[i].ProxyAddress
		}
		if key != "" && seen[key] {
			return Conversation{}, errs.E(errs.Invalid, CodeDuplicateRequest, "Participant %d duplicates an earlier one in the request", i+1)
		}
		seen[key] = true
	}
	if err := e.preConversationAdd(ctx, serviceSid, &p); err != nil {
		return Conversation{}, err
	}
	var c Conversation
	err := e.write(ctx, func(tx *db.Tx) error {
		for i := range members {
			members[i].Source = p.Source
		}
		var err error
		c, err = e.CreateConversationTx(tx, serviceSid, p, members)
		if e := errs.As(err); e.Code == CodePairInUse {
			return errs.E(errs.Conflict, CodePairsInUse, "%s", e.Message)
		}
		return err
	})
	return c, e.mapConversationErr(err, p)
}

// ConversationTx loads and row-locks a conversation by SID, in any service,
// inside a caller's transaction: the task layer knows conversations by SID
// only, and checks then acts on them (one interaction per conversation).
func (e *Engine) ConversationTx(tx *db.Tx, conversationSid string) (Conversation, error) {
	var c Conversation
	res := tx.Locked("UPDATE").Where("sid = ?", conversationSid).Limit(1).Find(&c)
	if res.Error != nil {
		return c, errs.Wrap(res.Error, "conversation")
	}
	if res.RowsAffected == 0 {
		return c, notFound("Conversations", conversationSid)
	}
	return c, nil
}

// SetStateTx moves a conversation to a new state inside a caller's
// transaction (the task layer parks a conversation as inactive when its
// work is done, so its timers close it). Closed stays final.
func (e *Engine) SetStateTx(tx *db.Tx, conversationSid, state, reason string) error {
	c, err := e.ConversationTx(tx, conversationSid)
	if err != nil {
		return err
	}
	if c.State == state {
		return nil
	}
	if c.State == StateClosed {
		return errClosed(c.Sid)
	}
	from := c.State
	c.State = state
	if err := e.armTimers(tx, &c); err != nil {
		return err
	}
	return e.applyState(tx, &c, from, reason)
}

// CreateConversationTx creates a conversation with participants inside a
// caller's transaction (an agent-initiated interaction opens one).
func (e *Engine) CreateConversationTx(tx *db.Tx, serviceSid string, p ConversationParams, members []ParticipantParams) (Conversation, error) {
	c, err := e.createConversation(tx, serviceSid, p)
	if err != nil {
		return c, e.mapConversationErr(err, p)
	}
	for _, m := range members {
		if err := m.validate(); err != nil {
			return c, err
		}
		if _, err := e.addParticipant(tx, c, m); err != nil {
			return c, err
		}
	}
	return c, nil
}

// DefaultServiceSid is the account's default conversation service.
func (e *Engine) DefaultServiceSid(tx *db.Tx) (string, error) {
	var cfg Configuration
	if err := tx.Where("account_sid = ?", e.accountSid).First(&cfg).Error; err != nil {
		return "", errs.Wrap(err, "configuration")
	}
	return cfg.DefaultChatServiceSid, nil
}
