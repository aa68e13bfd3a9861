// Package chat is the server side of the chat protocol (docs/chat-protocol.md):
// what a chat client authenticated by an access token may see and do in the
// conversations its identity takes part in, and how committed events become
// the frames it is sent. The WebSocket itself is the web layer's.
package chat

import (
	"context"
	"encoding/json"
	"time"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
)

// Tokens verifies access tokens.
type Tokens interface {
	Verify(ctx context.Context, token string) (auth.AccessToken, error)
}

// Signaller tells every node's subscribers of an ephemeral event (typing),
// which is never stored.
type Signaller interface {
	Signal(ctx context.Context, ev events.Event) error
}

// MediaLinks signs download links for media.
type MediaLinks interface {
	SignedURL(mediaSid string, ttl time.Duration) string
}

// Limits of the protocol.
const (
	// HistoryPage is the most messages one history frame carries.
	HistoryPage = 100
	// RecentMessages is the history a subscribe without after_index gets.
	RecentMessages = 50
	// MaxConversations is the most conversations a ready frame lists.
	MaxConversations = 100
	// mediaLinkTTL is how long the links in a message's media work.
	mediaLinkTTL = time.Hour
	// typingEvery is the most often one connection's typing is passed on.
	typingEvery = time.Second
)

// CodeTokenIdentity refuses a refreshed token for another identity or service.
const CodeTokenIdentity = 20103

// Service answers chat clients.
type Service struct {
	conv   *conversations.Engine
	tokens Tokens
	signal Signaller
	media  MediaLinks
}

// New returns the chat service.
func New(conv *conversations.Engine, tokens Tokens, signal Signaller, media MediaLinks) *Service {
	return &Service{conv: conv, tokens: tokens, signal: signal, media: media}
}

// Authenticate verifies a client's access token.
func (s *Service) Authenticate(ctx context.Context, token string) (auth.AccessToken, error) {
	if token == "" {
		return auth.AccessToken{}, errs.E(errs.Unauthorized, auth.CodeInvalidToken, "An access token is required")
	}
	return s.tokens.Verify(ctx, token)
}

// Conversations lists the identity's conversations in the token's service,
// newest first, for the ready frame.
func (s *Service) Conversations(ctx context.Context, tok auth.AccessToken) ([]ConversationSummary, error) {
	pcs, _, err := s.conv.ParticipantConversations(ctx, tok.ChatServiceSid, conversations.ParticipantKey{Identity: tok.Identity},
		conversations.Page{Limit: 1000})
	if err != nil {
		return nil, err
	}
	out := make([]ConversationSummary, 0, min(len(pcs), MaxConversations))
	for i := len(pcs) - 1; i >= 0 && len(out) < MaxConversations; i-- {
		pc := pcs[i]
		sum := ConversationSummary{Sid: pc.Conversation.Sid, FriendlyName: pc.Conversation.FriendlyName, State: pc.Conversation.State,
			ParticipantSid: pc.Participant.Sid, LastReadMessageIndex: pc.Participant.LastReadMessageIndex}
		if pc.Conversation.NextIndex > 0 {
			last := pc.Conversation.NextIndex - 1
			sum.LastMessageIndex = &last
		}
		out = append(out, sum)
	}
	return out, nil
}

// member returns the token identity's participant in a conversation of the
// token's service. Conversations it is not in do not exist for it. The
// engine looks a key shaped like a participant SID up as one, so the found
// participant's identity must be the token's own.
func (s *Service) member(ctx context.Context, tok auth.AccessToken, conversationSid string) (conversations.Participant, error) {
	p, err := s.conv.Participant(ctx, tok.ChatServiceSid, conversationSid, tok.Identity)
	if errs.KindOf(err) == errs.NotFound || err == nil && (p.Identity == nil || *p.Identity != tok.Identity) {
		return p, errs.NotFoundf("Conversation %s was not found", conversationSid)
	}
	return p, err
}

// Send appends a message authored by the token's identity.
func (s *Service) Send(ctx context.Context, tok auth.AccessToken, conversationSid string, body *string, mediaSids []string, attributes *string) (MessageView, error) {
	p, err := s.member(ctx, tok, conversationSid)
	if err != nil {
		return MessageView{}, err
	}
	if (body == nil || *body == "") && len(mediaSids) == 0 {
		return MessageView{}, errs.E(errs.Invalid, CodeMissingBody, "A message needs a body or media")
	}
	ctx = conversations.WithOrigin(ctx, conversations.Origin{ClientIdentity: tok.Identity})
	m, err := s.conv.AddMessage(ctx, tok.ChatServiceSid, conversationSid, conversations.MessageParams{Author: &tok.Identity,
		Body: body, MediaSids: mediaSids, Attributes: attributes, Source: sourceSDK})
	if err != nil {
		return MessageView{}, err
	}
	names := map[string]ParticipantView{p.Sid: participantView(p, s.userName(ctx, tok.ChatServiceSid))}
	return s.messageView(m, names, nil), nil
}

// CodeMissingBody is Twilio's "a message needs a body or media".
const CodeMissingBody = 21602

// sourceSDK is the Source events report for a chat client's actions.
const sourceSDK = "SDK"

// Read moves the identity's read horizon forward to index; it never moves
// back.
func (s *Service) Read(ctx context.Context, tok auth.AccessToken, conversationSid string, index int64) error {
	p, err := s.member(ctx, tok, conversationSid)
	if err != nil {
		return err
	}
	if p.LastReadMessageIndex != nil && *p.LastReadMessageIndex >= index {
		return nil
	}
	ctx = conversations.WithOrigin(ctx, conversations.Origin{ClientIdentity: tok.Identity})
	_, err = s.conv.UpdateParticipant(ctx, tok.ChatServiceSid, conversationSid, p.Sid,
		conversations.ParticipantParams{LastReadMessageIndex: &index, Source: sourceSDK})
	return err
}

// userName returns a lookup of a chat identity's user's friendly name.
func (s *Service) userName(ctx context.Context, serviceSid string) func(string) string {
	return func(identity string) string {
		u, err := s.conv.User(ctx, serviceSid, identity)
		if err != nil {
			return ""
		}
		return u.FriendlyName
	}
}

// messageView renders a message, its author named from names and its media
// linked for download.
func (s *Service) messageView(m conversations.Message, names map[string]ParticipantView, d *conversations.Delivery) MessageView {
	v := MessageView{Sid: m.Sid, Index: m.Index, Author: m.Author, AuthorName: m.Author, ParticipantSid: m.ParticipantSid,
		Body: m.Body, Media: []MediaView{}, Attributes: m.Attributes, Delivery: d, DateCreated: m.DateCreated, DateUpdated: m.DateUpdated}
	if m.ParticipantSid != nil {
		if p, ok := names[*m.ParticipantSid]; ok {
			v.AuthorName = p.DisplayName
		}
	}
	if m.Media != nil {
		var media []conversations.Media
		_ = json.Unmarshal([]byte(*m.Media), &media)
		for _, md := range media {
			v.Media = append(v.Media, MediaView{Sid: md.Sid, ContentType: md.ContentType, Filename: md.Filename, Size: md.Size,
				URL: s.media.SignedURL(md.Sid, mediaLinkTTL)})
		}
	}
	return v
}
