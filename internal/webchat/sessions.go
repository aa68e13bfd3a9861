package webchat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// Session is one customer's chat through a deployment: a guest identity
// that belongs to one conversation.
type Session struct {
	Identity        string `gorm:"primaryKey"`
	DeploymentSid   string
	ServiceSid      string
	ConversationSid string
	ParticipantSid  string
	DateCreated     time.Time
}

// TableName is the sessions table.
func (Session) TableName() string { return "webchat_sessions" }

// IdentityPrefix starts every guest identity; the rest is 128 random bits,
// so an identity cannot be guessed.
const IdentityPrefix = "webchat_"

// AnonymousName is the customer's name when the form does not ask it.
const AnonymousName = "Anonymous"

// Source is the Source of the customer's actions in a session, as the
// engine's events and webhooks see them: a client SDK's, which fire the
// service's webhooks as Twilio's webchat does by sending its first message
// with X-Twilio-Webhook-Enabled.
const Source = "SDK"

// Lengths of what the form takes.
const (
	MaxName  = 256
	MaxEmail = 254 // RFC 5321's longest path
)

// SessionParams are what a widget sends to start a session, with where it
// came from.
type SessionParams struct {
	DeploymentKey string
	FriendlyName  string
	Email         string
	Query         string
	// Origin is the request's Origin header; OwnOrigin is Switchboard's
	// own origin, from which its widget page calls.
	Origin, OwnOrigin string
	ClientIP          string
}

// Started is a new session, or a renewed token for one.
type Started struct {
	Session
	Token     string
	ExpiresAt time.Time
}

// form is the cleaned pre-engagement answers.
type form struct{ name, email, query string }

// checkForm applies the deployment's pre-engagement form to the answers:
// required fields must be there, and what the form does not ask is ignored.
func checkForm(d Deployment, p SessionParams) (form, error) {
	var f form
	answers := []struct {
		name  string
		value string
		dst   *string
		max   int
	}{{FieldName, p.FriendlyName, &f.name, MaxName}, {FieldEmail, p.Email, &f.email, MaxEmail}, {FieldQuery, p.Query, &f.query, conversations.MaxBody}}
	for _, a := range answers {
		field, asked := d.PreEngagement.field(a.name)
		if !asked {
			continue
		}
		v := strings.TrimSpace(a.value)
		if v == "" && field.Required {
			return f, errs.Invalidf("%s is required: fill in %q", a.name, field.Label)
		}
		if a.name == FieldQuery && len(v) > a.max || a.name != FieldQuery && utf8.RuneCountInString(v) > a.max {
			return f, errs.Invalidf("%s must be at most %d characters", a.name, a.max)
		}
		*a.dst = v
	}
	if f.email != "" {
		if addr, err := mail.ParseAddress(f.email); err != nil || addr.Address != f.email {
			return f, errs.Invalidf("email %q is not an email address such as ada@example.com", f.email)
		}
	}
	if f.name == "" {
		f.name = AnonymousName
	}
	return f, nil
}

// StartSession starts a chat: it checks where the request came from, the
// form and the client IP's allowance, then opens a conversation the way
// the deployment's address configuration says, with the guest as its
// participant, the question as the guest's first message (which routes
// the chat to an agent) and the welcome message after it. It answers with
// an access token for the guest. A refused request creates nothing.
func (s *Service) StartSession(ctx context.Context, p SessionParams) (Started, error) {
	if strings.TrimSpace(p.DeploymentKey) == "" {
		return Started{}, errs.Invalidf("deployment_key is required")
	}
	d, err := s.DeploymentByKey(ctx, p.DeploymentKey)
	if err != nil {
		return Started{}, err
	}
	if err := checkOrigin(d, p.Origin, p.OwnOrigin); err != nil {
		return Started{}, err
	}
	f, err := checkForm(d, p)
	if err != nil {
		return Started{}, err
	}
	if err := s.limits.allowSession(p.ClientIP); err != nil {
		return Started{}, err
	}
	if err := s.checkOpenable(ctx, d); err != nil {
		return Started{}, err
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	identity := IdentityPrefix + hex.EncodeToString(b[:])
	// The guest acts as a client SDK would, so the engine's webhooks name
	// it as ClientIdentity.
	ctx = conversations.WithOrigin(ctx, conversations.Origin{ClientIdentity: identity})
	sess := Session{Identity: identity, DeploymentSid: d.Sid}
	_, _, _, err = s.conv.Open(ctx, s.openParams(d, f, identity, func(tx *db.Tx, c conversations.Conversation, guest conversations.Participant, _ []conversations.Message) error {
		sess.ServiceSid, sess.ConversationSid, sess.ParticipantSid, sess.DateCreated = c.ServiceSid, c.Sid, guest.Sid, s.now()
		return tx.Create(&sess).Error
	}))
	if err != nil {
		return Started{}, errs.Wrap(err, "start webchat session")
	}
	// Minted after the commit: minting reads the account, and a
	// transaction must not wait for a second connection.
	return s.mint(ctx, sess)
}

// openParams describes the session's conversation to the engine.
func (s *Service) openParams(d Deployment, f form, identity string, within func(*db.Tx, conversations.Conversation, conversations.Participant, []conversations.Message) error) conversations.OpenParams {
	pre := map[string]string{"friendly_name": f.name}
	guest := map[string]string{"friendlyName": f.name}
	if f.email != "" {
		pre["email"], guest["email"] = f.email, f.email
	}
	if f.query != "" {
		pre["query"] = f.query
	}
	title := "Webchat: " + f.name
	if utf8.RuneCountInString(title) > conversations.MaxFriendlyName {
		title = string([]rune(title)[:conversations.MaxFriendlyName])
	}
	attrs := compactJSON(map[string]any{"pre_engagement_data": pre, "from": f.name, "webchat_deployment_sid": d.Sid})
	guestAttrs := compactJSON(guest)
	p := conversations.OpenParams{
		Address:      d.AddressConfigurationSid,
		Conversation: conversations.ConversationParams{FriendlyName: &title, Attributes: &attrs, Source: Source},
		Customer:     conversations.ParticipantParams{Identity: &identity, Attributes: &guestAttrs, Source: Source},
		Within:       within,
	}
	if f.query != "" {
		p.Messages = append(p.Messages, conversations.MessageParams{Author: &identity, Body: &f.query, Source: Source})
	}
	if d.WelcomeMessage != "" {
		author, body := WelcomeAuthor, d.WelcomeMessage
		// Posted as the back end's, like Twilio's webchat server does over
		// REST without X-Twilio-Webhook-Enabled: only the conversation's
		// own webhooks hear of it.
		p.Messages = append(p.Messages, conversations.MessageParams{Author: &author, Body: &body, Source: "API"})
	}
	return p
}

// checkOrigin requires the request to come from a page on one of the
// deployment's allowed origins, or from Switchboard's own widget page.
func checkOrigin(d Deployment, origin, own string) error {
	if origin == "" {
		return errs.E(errs.Forbidden, errs.CodeForbidden,
			"The request has no Origin header: webchat sessions start from a browser page on one of the deployment's allowed origins")
	}
	if d.Allows(origin) || sameOrigin(origin, own) {
		return nil
	}
	return errs.E(errs.Forbidden, errs.CodeForbidden,
		"Origin %s may not use this webchat deployment; add it to the deployment's AllowedOrigins", origin)
}

// sameOrigin reports whether two origins are the same once normalised.
func sameOrigin(a, b string) bool {
	na, errA := normalizeOrigin(a)
	nb, errB := normalizeOrigin(b)
	return errA == nil && errB == nil && na == nb
}

// checkOpenable tells the customer plainly when the deployment's address
// configuration can no longer start chats (removed or changed since).
func (s *Service) checkOpenable(ctx context.Context, d Deployment) error {
	a, err := s.conv.AddressConfiguration(ctx, d.AddressConfigurationSid)
	if errs.KindOf(err) == errs.NotFound || err == nil && (a.Type != "chat" || !a.AutoCreationEnabled) {
		return errs.E(errs.Unavailable, errs.CodeUnavailable,
			"This webchat cannot start chats at the moment: its address configuration %s is missing or no longer auto-creates conversations", d.AddressConfigurationSid)
	}
	return err
}

// mint issues a session's token.
func (s *Service) mint(ctx context.Context, sess Session) (Started, error) {
	tok, at, err := s.tokens.Mint(ctx, sess.Identity, sess.ServiceSid, TokenTTL)
	if err != nil {
		return Started{}, err
	}
	return Started{Session: sess, Token: tok, ExpiresAt: at.ExpiresAt}, nil
}

// Authorize verifies a session's access token and returns its session. A
// valid token of another identity (an agent's, a custom app's) is not a
// webchat session's and is refused.
func (s *Service) Authorize(ctx context.Context, token string) (Session, error) {
	if token == "" {
		return Session{}, errs.E(errs.Unauthorized, auth.CodeInvalidToken, "An access token is required: send Authorization: Bearer <token>")
	}
	at, err := s.tokens.Verify(ctx, token)
	if err != nil {
		return Session{}, err
	}
	sess, err := s.Session(ctx, at.Identity, at.ChatServiceSid)
	if errs.KindOf(err) == errs.NotFound {
		return sess, errs.E(errs.Forbidden, errs.CodeForbidden, "This access token is not a webchat session's")
	}
	return sess, err
}

// Session returns the webchat session of a chat identity in a service;
// identities that are not webchat guests have none (NotFound). The chat
// protocol's handler asks it to apply MediaLimits to guests.
func (s *Service) Session(ctx context.Context, identity, serviceSid string) (Session, error) {
	var sess Session
	res := s.db.Gorm.WithContext(ctx).Where("identity = ? AND service_sid = ?", identity, serviceSid).Limit(1).Find(&sess)
	if res.Error != nil {
		return sess, errs.Wrap(res.Error, "webchat session")
	}
	if res.RowsAffected == 0 {
		return sess, errs.NotFoundf("%s has no webchat session in service %s", identity, serviceSid)
	}
	return sess, nil
}

// Renew issues a fresh token for an authorized session while its
// conversation is open: a closed chat cannot be resumed.
func (s *Service) Renew(ctx context.Context, sess Session) (Started, error) {
	if err := s.checkOpen(ctx, sess); err != nil {
		return Started{}, err
	}
	return s.mint(ctx, sess)
}

// checkOpen refuses a session whose conversation is closed or gone.
func (s *Service) checkOpen(ctx context.Context, sess Session) error {
	c, err := s.conv.Conversation(ctx, sess.ServiceSid, sess.ConversationSid)
	if errs.KindOf(err) == errs.NotFound || err == nil && c.State == conversations.StateClosed {
		return errs.E(errs.Forbidden, errs.CodeForbidden, "This chat has ended; start a new one")
	}
	return err
}

// compactJSON renders maps of strings as JSON text.
func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "{}" // maps of strings and string maps always encode
	}
	return string(b)
}
