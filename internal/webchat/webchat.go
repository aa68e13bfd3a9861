// Package webchat runs webchat deployments and the sessions of customers
// who chat through them. A deployment (WD…) is a widget on a customer's
// site: a public, rotatable key, the origins allowed to embed it, the chat
// address configuration whose service and webhook settings its
// conversations get, a pre-engagement form, a welcome message and looks. A
// session is a guest chat participant in a conversation of its own, with a
// short-lived access token that only reaches that conversation.
package webchat

import (
	"context"
	"io"
	"time"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
)

// Conversations is what webchat needs of the conversations engine.
type Conversations interface {
	AddressConfiguration(ctx context.Context, key string) (conversations.AddressConfiguration, error)
	Open(ctx context.Context, p conversations.OpenParams) (conversations.Conversation, conversations.Participant, []conversations.Message, error)
	Conversation(ctx context.Context, serviceSid, key string) (conversations.Conversation, error)
	Messages(ctx context.Context, serviceSid, conversationKey string, desc bool, p conversations.Page) ([]conversations.Message, bool, error)
	Participants(ctx context.Context, serviceSid, conversationKey string, p conversations.Page) ([]conversations.Participant, bool, error)
	User(ctx context.Context, serviceSid, key string) (conversations.User, error)
}

// MediaStore keeps the files guests upload.
type MediaStore interface {
	Save(ctx context.Context, serviceSid, contentType, filename, author string, body io.Reader) (conversations.Media, error)
}

// Tokens mints and verifies access tokens.
type Tokens interface {
	Mint(ctx context.Context, identity, chatServiceSid string, ttl time.Duration) (string, auth.AccessToken, error)
	Verify(ctx context.Context, token string) (auth.AccessToken, error)
}

// TokenTTL is how long a session's access token lives, as Twilio's webchat
// tokens do; the widget renews it before it runs out.
const TokenTTL = 6 * time.Hour

// Service runs deployments and sessions.
type Service struct {
	db     *db.DB
	conv   Conversations
	media  MediaStore
	tokens Tokens
	limits *Limits
	now    func() time.Time
}

// New returns the webchat service over d. opts.Now, when set, is the clock
// of the rate limits and of the rows written.
func New(d *db.DB, conv Conversations, media MediaStore, tokens Tokens, opts Options) *Service {
	opts = opts.withDefaults()
	now := opts.Now
	return &Service{db: d, conv: conv, media: media, tokens: tokens, limits: newLimits(opts),
		now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

// Limits are the service's abuse limits; the chat protocol's handler asks
// them about every message a client sends.
func (s *Service) Limits() *Limits { return s.limits }
