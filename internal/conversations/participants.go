package conversations

import (
	"context"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// Participant is a member of a conversation (MB…): a chat participant with
// an identity, or a non-chat one reached at an address through a proxy address.
type Participant struct {
	Sid                  string `gorm:"primaryKey"`
	ServiceSid           string
	ConversationSid      string
	Identity             *string
	ChannelType          string // "" for chat; sms, whatsapp, …
	Address              *string
	ProxyAddress         *string
	ProjectedAddress     *string
	Attributes           string
	RoleSid              string
	LastReadMessageIndex *int64
	LastReadTimestamp    *time.Time
	NotificationLevel    string
	DateCreated          time.Time
	DateUpdated          time.Time
}

// IsChat reports whether p is a chat (identity) participant.
func (p Participant) IsChat() bool { return p.Address == nil }

// binding holds an (address, proxy address) pair for the one non-closed
// conversation allowed to use it.
type binding struct {
	Address         string
	ProxyAddress    string
	ConversationSid string
	ParticipantSid  string
}

// ParticipantParams are the settable fields; nil leaves a field as is.
type ParticipantParams struct {
	Identity             *string
	Address              *string // MessagingBinding.Address
	ProxyAddress         *string // MessagingBinding.ProxyAddress
	ProjectedAddress     *string // MessagingBinding.ProjectedAddress (group MMS)
	Attributes           *string
	RoleSid              *string
	LastReadMessageIndex *int64
	LastReadTimestamp    *time.Time
	DateCreated          *time.Time
	DateUpdated          *time.Time
	Source               string
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// addressChannel returns the channel of a messaging address and whether the
// address is well formed: +E164 is sms, whatsapp:+E164 is whatsapp, and the
// other Twilio channels use a "type:" prefix with an opaque id.
func addressChannel(addr string) (string, bool) {
	if e164.MatchString(addr) {
		return "sms", true
	}
	kind, rest, ok := strings.Cut(addr, ":")
	if !ok || rest == "" {
		return "", false
	}
	switch kind {
	case "whatsapp":
		return kind, e164.MatchString(rest)
	case "messenger", "gbm", "rcs", "apple", "email":
		return kind, true
	}
	return "", false
}

func (p *ParticipantParams) validate() error {
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"Identity", p.Identity, MaxIdentity}, {"MessagingBinding.Address", p.Address, MaxAddress},
		{"MessagingBinding.ProxyAddress", p.ProxyAddress, MaxAddress}, {"MessagingBinding.ProjectedAddress", p.ProjectedAddress, MaxAddress}} {
		if err := checkLength(f.name, f.v, f.max); err != nil {
			return err
		}
	}
	if p.LastReadMessageIndex != nil && *p.LastReadMessageIndex < 0 {
		return errs.Invalidf("LastReadMessageIndex must not be negative")
	}
	return checkAttributes(p.Attributes, MaxParticipantAttrs)
}

// AddParticipant adds a participant to a conversation, enforcing identity
// and binding uniqueness and the participant limits.
func (e *Engine) AddParticipant(ctx context.Context, serviceSid, conversationKey string, p ParticipantParams) (Participant, error) {
	if err := p.validate(); err != nil {
		return Participant{}, err
	}
	if _, err := e.ask(ctx, PreParticipantAdd, serviceSid, p.Source, func(a *Action) error {
		c, err := e.Conversation(ctx, serviceSid, conversationKey)
		if err != nil {
			return err
		}
		a.Conversation = c
		a.Participant = Participant{ServiceSid: serviceSid, ConversationSid: c.Sid, Identity: p.Identity, Address: p.Address,
			ProxyAddress: p.ProxyAddress, ProjectedAddress: p.ProjectedAddress, Attributes: "{}", DateCreated: e.now()}
		if p.Attributes != nil {
			a.Participant.Attributes = *p.Attributes
		}
		if p.RoleSid != nil {
			a.Participant.RoleSid = *p.RoleSid
		}
		return nil
	}); err != nil {
		return Participant{}, err
	}
	var out Participant
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		out, err = e.AddParticipantTx(tx, serviceSid, conversationKey, p)
		return err
	})
	return out, err
}

// AddParticipantTx adds a participant inside a caller's transaction, for a
// layer that must join someone to a conversation in the same step as its
// own change (the task layer, when an agent accepts).
func (e *Engine) AddParticipantTx(tx *db.Tx, serviceSid, conversationKey string, p ParticipantParams) (Participant, error) {
	if err := p.validate(); err != nil {
		return Participant{}, err
	}
	c, err := e.findConversation(tx.Locked("UPDATE"), serviceSid, conversationKey)
	if err != nil {
		return Participant{}, err
	}
	return e.addParticipant(tx, c, p)
}

func (e *Engine) addParticipant(tx *db.Tx, c Conversation, p ParticipantParams) (Participant, error) {
	if c.State == StateClosed {
		return Participant{}, errClosed(c.Sid)
	}
	now := e.now()
	m := Participant{Sid: sid.New(sid.Participant), ServiceSid: c.ServiceSid, ConversationSid: c.Sid, Attributes: "{}",
		NotificationLevel: "default", DateCreated: now, DateUpdated: now}
	hasIdentity := p.Identity != nil && *p.Identity != ""
	hasAddress := p.Address != nil && *p.Address != ""
	switch {
	case hasIdentity && hasAddress:
		return m, errs.E(errs.Invalid, CodeBindingInvalid, "A participant has either an Identity or a MessagingBinding.Address, not both")
	case !hasIdentity && !hasAddress:
		return m, errs.Invalidf("Either Identity or MessagingBinding.Address is required")
	case hasIdentity:
		if p.ProxyAddress != nil && *p.ProxyAddress != "" {
			return m, errs.E(errs.Invalid, CodeBindingInvalid, "MessagingBinding.ProxyAddress is only for participants with an Address")
		}
		id := *p.Identity
		m.Identity = &id
		if p.ProjectedAddress != nil && *p.ProjectedAddress != "" {
			if ch, ok := addressChannel(*p.ProjectedAddress); !ok || ch != "sms" {
				return m, errs.E(errs.Invalid, CodeBindingInvalid, "MessagingBinding.ProjectedAddress must be an E.164 phone number")
			}
			pa := *p.ProjectedAddress
			m.ProjectedAddress = &pa
		}
	default:
		ch, ok := addressChannel(*p.Address)
		if !ok {
			return m, errs.E(errs.Invalid, CodeBadAddress, "MessagingBinding.Address %q is not a valid address", *p.Address)
		}
		if p.ProxyAddress == nil || *p.ProxyAddress == "" {
			return m, errs.E(errs.Invalid, CodeBadProxyAddress, "MessagingBinding.ProxyAddress is required with MessagingBinding.Address")
		}
		pch, ok := addressChannel(*p.ProxyAddress)
		if !ok {
			return m, errs.E(errs.Invalid, CodeBadProxyAddress, "MessagingBinding.ProxyAddress %q is not a valid address", *p.ProxyAddress)
		}
		if pch != ch {
			return m, errs.E(errs.Invalid, CodeBindingInvalid, "MessagingBinding.Address and ProxyAddress must be of the same channel (%s, %s)", ch, pch)
		}
		if *p.Address == *p.ProxyAddress {
			return m, errs.E(errs.Invalid, CodeAddressIsProxy, "MessagingBinding.Address and ProxyAddress must differ")
		}
		addr, proxy := *p.Address, *p.ProxyAddress
		m.Address, m.ProxyAddress, m.ChannelType = &addr, &proxy, ch
	}
	if err := e.checkParticipantLimits(tx, c, m); err != nil {
		return m, err
	}
	if err := e.resolveParticipantRole(tx, c.ServiceSid, &m, p.RoleSid); err != nil {
		return m, err
	}
	if p.Attributes != nil {
		m.Attributes = *p.Attributes
	}
	if p.LastReadMessageIndex != nil {
		m.LastReadMessageIndex = p.LastReadMessageIndex
		m.LastReadTimestamp = &now
	}
	if p.LastReadTimestamp != nil {
		m.LastReadTimestamp = p.LastReadTimestamp
	}
	if p.DateCreated != nil {
		m.DateCreated = *p.DateCreated
	}
	if p.DateUpdated != nil {
		m.DateUpdated = *p.DateUpdated
	}
	if err := tx.Create(&m).Error; err != nil {
		if db.IsUniqueViolation(err) {
			return m, errIdentityTaken(*m.Identity)
		}
		return m, err
	}
	if !m.IsChat() {
		err := tx.Create(&binding{Address: *m.Address, ProxyAddress: *m.ProxyAddress, ConversationSid: c.Sid, ParticipantSid: m.Sid}).Error
		if db.IsUniqueViolation(err) {
			return m, errs.E(errs.Conflict, CodePairInUse,
				"A binding for this participant and proxy address already exists in another open conversation")
		}
		if err != nil {
			return m, err
		}
	} else if err := e.ensureUser(tx, c.ServiceSid, *m.Identity); err != nil {
		return m, err
	}
	return m, e.publish(tx, events.Event{Type: events.ParticipantAdded, ServiceSid: c.ServiceSid, ConversationSid: c.Sid,
		Sid: m.Sid, Source: p.Source})
}

func errIdentityTaken(identity string) error {
	return errs.E(errs.Conflict, CodeIdentityTaken, "Participant with identity %q already exists in this conversation", identity)
}

// checkParticipantLimits enforces the per-conversation and per-identity caps
// before m joins c.
func (e *Engine) checkParticipantLimits(tx *db.Tx, c Conversation, m Participant) error {
	var counts struct{ Total, NonChat int64 }
	if err := tx.Raw(`SELECT COUNT(*) AS total, COUNT(address) AS non_chat FROM participants WHERE conversation_sid = ?`,
		c.Sid).Scan(&counts).Error; err != nil {
		return err
	}
	if counts.Total >= MaxParticipants {
		return errs.E(errs.Invalid, CodeParticipantLimit, "Conversation %s already has the maximum of %d participants", c.Sid, MaxParticipants)
	}
	if !m.IsChat() && counts.NonChat >= MaxNonChatParticipants {
		return errs.E(errs.Invalid, CodeNonChatLimit, "Conversation %s already has the maximum of %d non-chat participants", c.Sid, MaxNonChatParticipants)
	}
	if m.Identity != nil {
		var open int64
		if err := tx.Raw(`SELECT COUNT(*) FROM participants p JOIN conversations c ON c.sid = p.conversation_sid
			WHERE p.service_sid = ? AND p.identity = ? AND c.state <> ?`, c.ServiceSid, *m.Identity, StateClosed).
			Scan(&open).Error; err != nil {
			return err
		}
		if open >= MaxOpenPerIdentity {
			return errs.E(errs.Invalid, CodeParticipantLimit, "Identity %q is already in %d open conversations, the maximum", *m.Identity, MaxOpenPerIdentity)
		}
	}
	return nil
}

// resolveParticipantRole sets m's role: the given conversation role, or the
// service's default conversation role.
func (e *Engine) resolveParticipantRole(tx *db.Tx, serviceSid string, m *Participant, roleSid *string) error {
	if roleSid == nil || *roleSid == "" {
		var svc Service
		if err := tx.Where("sid = ?", serviceSid).First(&svc).Error; err != nil {
			return err
		}
		m.RoleSid = svc.DefaultConversationRoleSid
		return nil
	}
	r, err := e.findRole(tx.DB, serviceSid, *roleSid)
	if err != nil {
		return err
	}
	if r.Type != RoleTypeConversation {
		return errs.Invalidf("RoleSid %s is a %s role; participants take conversation roles", r.Sid, r.Type)
	}
	m.RoleSid = r.Sid
	return nil
}

// findRole loads a role of the service.
func (e *Engine) findRole(q *gorm.DB, serviceSid, roleSid string) (Role, error) {
	var r Role
	res := q.Where("service_sid = ? AND sid = ?", serviceSid, roleSid).Limit(1).Find(&r)
	if res.Error != nil {
		return r, errs.Wrap(res.Error, "role")
	}
	if res.RowsAffected == 0 {
		return r, notFound("Roles", roleSid)
	}
	return r, nil
}

// findParticipant loads a participant of c by SID or identity.
func (e *Engine) findParticipant(q *gorm.DB, c Conversation, key string) (Participant, error) {
	var m Participant
	col := "identity"
	if sid.Is(key, sid.Participant) {
		col = "sid"
	}
	res := q.Where("conversation_sid = ? AND "+col+" = ?", c.Sid, key).Limit(1).Find(&m)
	if res.Error != nil {
		return m, errs.Wrap(res.Error, "participant")
	}
	if res.RowsAffected == 0 {
		return m, errs.E(errs.NotFound, errs.CodeNotFound, "The requested resource /Conversations/%s/Participants/%s was not found", c.Sid, key)
	}
	return m, nil
}

// Participant fetches a participant by SID or identity.
func (e *Engine) Participant(ctx context.Context, serviceSid, conversationKey, key string) (Participant, error) {
	c, err := e.Conversation(ctx, serviceSid, conversationKey)
	if err != nil {
		return Participant{}, err
	}
	return e.findParticipant(e.read(ctx), c, key)
}

// Participants lists a conversation's participants in joining order.
func (e *Engine) Participants(ctx context.Context, serviceSid, conversationKey string, p Page) ([]Participant, bool, error) {
	c, err := e.Conversation(ctx, serviceSid, conversationKey)
	if err != nil {
		return nil, false, err
	}
	return listPage[Participant](e.read(ctx).Where("conversation_sid = ?", c.Sid).Order("date_created, sid"), p, "participants")
}

// UpdateParticipant changes a participant: attributes, role, read horizon,
// proxy or projected address. Identity and Address cannot change.
func (e *Engine) UpdateParticipant(ctx context.Context, serviceSid, conversationKey, key string, p ParticipantParams) (Participant, error) {
	if err := p.validate(); err != nil {
		return Participant{}, err
	}
	if _, err := e.ask(ctx, PreParticipantUpdate, serviceSid, p.Source, func(a *Action) error {
		c, err := e.Conversation(ctx, serviceSid, conversationKey)
		if err != nil {
			return err
		}
		a.Conversation = c
		if a.Participant, err = e.findParticipant(e.read(ctx), c, key); err != nil {
			return err
		}
		if p.Attributes != nil {
			a.Participant.Attributes = *p.Attributes
		}
		if p.RoleSid != nil {
			a.Participant.RoleSid = *p.RoleSid
		}
		if p.LastReadMessageIndex != nil {
			a.Participant.LastReadMessageIndex = p.LastReadMessageIndex
		}
		return nil
	}); err != nil {
		return Participant{}, err
	}
	return inConversation(e, ctx, serviceSid, conversationKey, func(tx *db.Tx, c Conversation) (Participant, error) {
		if c.State == StateClosed {
			return Participant{}, errClosed(c.Sid)
		}
		m, err := e.findParticipant(tx.DB, c, key)
		if err != nil {
			return m, err
		}
		if p.Identity != nil && (m.Identity == nil || *p.Identity != *m.Identity) {
			return m, errs.Invalidf("Identity cannot be changed")
		}
		if p.Address != nil && (m.Address == nil || *p.Address != *m.Address) {
			return m, errs.E(errs.Invalid, CodeBindingInvalid, "MessagingBinding.Address cannot be changed")
		}
		if p.RoleSid != nil {
			if err := e.resolveParticipantRole(tx, c.ServiceSid, &m, p.RoleSid); err != nil {
				return m, err
			}
		}
		if p.Attributes != nil {
			m.Attributes = *p.Attributes
		}
		if p.LastReadMessageIndex != nil {
			if *p.LastReadMessageIndex >= c.NextIndex {
				return m, errs.Invalidf("LastReadMessageIndex %d is beyond the conversation's last message", *p.LastReadMessageIndex)
			}
			m.LastReadMessageIndex = p.LastReadMessageIndex
			now := e.now()
			m.LastReadTimestamp = &now
		}
		if p.LastReadTimestamp != nil {
			m.LastReadTimestamp = p.LastReadTimestamp
		}
		if p.ProxyAddress != nil && !m.IsChat() && (*p.ProxyAddress != *m.ProxyAddress) {
			if err := e.moveBinding(tx, &m, *p.ProxyAddress); err != nil {
				return m, err
			}
		}
		if p.ProjectedAddress != nil && m.IsChat() {
			if *p.ProjectedAddress == "" {
				m.ProjectedAddress = nil
			} else if ch, ok := addressChannel(*p.ProjectedAddress); !ok || ch != "sms" {
				return m, errs.E(errs.Invalid, CodeBindingInvalid, "MessagingBinding.ProjectedAddress must be an E.164 phone number")
			} else {
				pa := *p.ProjectedAddress
				m.ProjectedAddress = &pa
			}
		}
		if p.DateCreated != nil {
			m.DateCreated = *p.DateCreated
		}
		m.DateUpdated = e.now()
		if p.DateUpdated != nil {
			m.DateUpdated = *p.DateUpdated
		}
		if err := tx.Model(&m).Select("*").Omit("sid").Updates(&m).Error; err != nil {
			return m, err
		}
		return m, e.publish(tx, events.Event{Type: events.ParticipantUpdated, ServiceSid: c.ServiceSid, ConversationSid: c.Sid,
			Sid: m.Sid, Source: p.Source})
	})
}

// moveBinding points a non-chat participant at a new proxy address, keeping
// the pair unique among open conversations.
func (e *Engine) moveBinding(tx *db.Tx, m *Participant, proxy string) error {
	ch, ok := addressChannel(proxy)
	if !ok || ch != m.ChannelType {
		return errs.E(errs.Invalid, CodeBadProxyAddress, "MessagingBinding.ProxyAddress %q is not a valid %s address", proxy, m.ChannelType)
	}
	if proxy == *m.Address {
		return errs.E(errs.Invalid, CodeAddressIsProxy, "MessagingBinding.Address and ProxyAddress must differ")
	}
	if err := tx.Where("participant_sid = ?", m.Sid).Delete(&binding{}).Error; err != nil {
		return err
	}
	err := tx.Create(&binding{Address: *m.Address, ProxyAddress: proxy, ConversationSid: m.ConversationSid, ParticipantSid: m.Sid}).Error
	if db.IsUniqueViolation(err) {
		return errs.E(errs.Conflict, CodePairInUse, "A binding for this participant and proxy address already exists in another open conversation")
	}
	m.ProxyAddress = &proxy
	return err
}

// RemoveParticipant removes a participant, freeing its binding.
func (e *Engine) RemoveParticipant(ctx context.Context, serviceSid, conversationKey, key, source string) error {
	if _, err := e.ask(ctx, PreParticipantRemove, serviceSid, source, func(a *Action) error {
		c, err := e.Conversation(ctx, serviceSid, conversationKey)
		if err != nil {
			return err
		}
		a.Conversation = c
		a.Participant, err = e.findParticipant(e.read(ctx), c, key)
		return err
	}); err != nil {
		return err
	}
	return e.write(ctx, func(tx *db.Tx) error { return e.RemoveParticipantTx(tx, serviceSid, conversationKey, key, source) })
}

// RemoveParticipantTx removes a participant inside a caller's transaction.
func (e *Engine) RemoveParticipantTx(tx *db.Tx, serviceSid, conversationKey, key, source string) error {
	c, err := e.findConversation(tx.Locked("UPDATE"), serviceSid, conversationKey)
	if err != nil {
		return err
	}
	m, err := e.findParticipant(tx.DB, c, key)
	if err != nil {
		return err
	}
	return e.removeParticipant(tx, m, source)
}

func (e *Engine) removeParticipant(tx *db.Tx, m Participant, source string) error {
	// Published first, so that event hooks still see the participant.
	if err := e.publish(tx, events.Event{Type: events.ParticipantRemoved, ServiceSid: m.ServiceSid, ConversationSid: m.ConversationSid,
		Sid: m.Sid, Source: source}); err != nil {
		return err
	}
	if err := tx.Where("participant_sid = ?", m.Sid).Delete(&binding{}).Error; err != nil {
		return err
	}
	return tx.Delete(&m).Error
}

// ParticipantTx loads a participant of a conversation by SID or identity
// inside a caller's transaction.
func (e *Engine) ParticipantTx(tx *db.Tx, conversationSid, key string) (Participant, error) {
	c, err := e.ConversationTx(tx, conversationSid)
	if err != nil {
		return Participant{}, err
	}
	return e.findParticipant(tx.DB, c, key)
}

// ParticipantsTx lists all participants of a conversation, in joining
// order, inside a caller's transaction.
func (e *Engine) ParticipantsTx(tx *db.Tx, conversationSid string) ([]Participant, error) {
	var rows []Participant
	err := tx.Where("conversation_sid = ?", conversationSid).Order("date_created, sid").Find(&rows).Error
	return rows, errs.Wrap(err, "participants")
}
