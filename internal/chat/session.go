package chat

import (
	"context"
	"slices"
	"time"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
)

// Frame is one JSON frame for the client.
type Frame map[string]any

// Session is one connection's state: its token and, per subscribed
// conversation, the last message index it was sent. Pushing messages only
// in index order from that point is what makes delivery exactly once: an
// event for an index already sent is dropped, and a gap (an event lost by
// a slow listener) is filled from the database. A Session is used by one
// goroutine.
type Session struct {
	s      *Service
	base   string
	tok    auth.AccessToken
	subs   map[string]*subscription
	typing map[string]typingState // per conversation typed in
}

// typingState is what a session last passed on of its typing in a
// conversation.
type typingState struct {
	started time.Time // the last start passed on
	on      bool      // a start was passed on and no stop since
}

type subscription struct {
	self  string // the identity's participant
	sent  int64  // the highest message index sent; -1 for none
	names map[string]ParticipantView
}

// NewSession starts a session for a verified token. base prefixes the media
// links it sends ("" keeps them relative to the server).
func (s *Service) NewSession(tok auth.AccessToken, base string) *Session {
	return &Session{s: s, base: base, tok: tok, subs: map[string]*subscription{}, typing: map[string]typingState{}}
}

// Token is the session's current token.
func (ss *Session) Token() auth.AccessToken { return ss.tok }

// Refresh replaces the session's token with a newer one for the same
// identity and service.
func (ss *Session) Refresh(ctx context.Context, token string) error {
	tok, err := ss.s.Authenticate(ctx, token)
	if err != nil {
		return err
	}
	if tok.Identity != ss.tok.Identity || tok.ChatServiceSid != ss.tok.ChatServiceSid {
		return errs.E(errs.Unauthorized, CodeTokenIdentity, "A refreshed token must be for the same identity and service")
	}
	ss.tok = tok
	return nil
}

// Ready is the frame that greets an authenticated client.
func (ss *Session) Ready(ctx context.Context) (Frame, error) {
	cs, err := ss.s.Conversations(ctx, ss.tok)
	if err != nil {
		return nil, err
	}
	return Frame{"type": "ready", "identity": ss.tok.Identity, "expires_at": ss.tok.ExpiresAt, "conversations": cs}, nil
}

// Subscribe starts following a conversation the identity is in and returns
// the subscribed and history frames. The caller subscribes to the
// conversation's live events first, so nothing between the two is missed.
func (ss *Session) Subscribe(ctx context.Context, conversationSid string, after *int64) ([]Frame, error) {
	self, err := ss.s.member(ctx, ss.tok, conversationSid)
	if err != nil {
		return nil, err
	}
	c, err := ss.s.conv.Conversation(ctx, ss.tok.ChatServiceSid, conversationSid)
	if err != nil {
		return nil, err
	}
	ps, _, err := ss.s.conv.Participants(ctx, ss.tok.ChatServiceSid, conversationSid, conversations.Page{Limit: 1000})
	if err != nil {
		return nil, err
	}
	sub := &subscription{self: self.Sid, sent: -1, names: map[string]ParticipantView{}}
	views := make([]ParticipantView, 0, len(ps))
	for _, p := range ps {
		v := participantView(p, ss.s.userName(ctx, ss.tok.ChatServiceSid))
		sub.names[p.Sid] = v
		views = append(views, v)
	}
	ss.subs[c.Sid] = sub
	var history Frame
	if after != nil {
		// The client holds everything up to after (as far as it exists):
		// with nothing newer the history is empty, and the next push must
		// not start again from the first message.
		sub.sent = max(sub.sent, min(*after, c.NextIndex-1))
		history, err = ss.history(ctx, c.Sid, sub, *after)
	} else {
		var recent []conversations.Message
		recent, _, err = ss.s.conv.Messages(ctx, ss.tok.ChatServiceSid, c.Sid, true, conversations.Page{Limit: RecentMessages})
		slices.Reverse(recent)
		if err == nil {
			history, err = ss.historyFrame(ctx, c.Sid, sub, recent, true)
		}
	}
	if err != nil {
		delete(ss.subs, c.Sid)
		return nil, err
	}
	return []Frame{{"type": "subscribed", "conversation": conversationView(c), "participants": views}, history}, nil
}

// Subscribed reports whether the session follows a conversation.
func (ss *Session) Subscribed(conversationSid string) bool { return ss.subs[conversationSid] != nil }

// Subscriptions counts the conversations the session follows.
func (ss *Session) Subscriptions() int { return len(ss.subs) }

// Unsubscribe stops following a conversation.
func (ss *Session) Unsubscribe(conversationSid string) { delete(ss.subs, conversationSid) }

// Resync returns the messages after index in a history frame.
func (ss *Session) Resync(ctx context.Context, conversationSid string, after int64) (Frame, error) {
	sub, err := ss.subscription(conversationSid)
	if err != nil {
		return nil, err
	}
	return ss.history(ctx, conversationSid, sub, after)
}

func (ss *Session) subscription(conversationSid string) (*subscription, error) {
	sub := ss.subs[conversationSid]
	if sub == nil {
		return nil, errs.E(errs.Conflict, errs.CodeInvalidParam, "Subscribe to conversation %s first", conversationSid)
	}
	return sub, nil
}

func (ss *Session) history(ctx context.Context, conversationSid string, sub *subscription, after int64) (Frame, error) {
	ms, err := ss.s.conv.MessagesAfter(ctx, conversationSid, after, HistoryPage+1)
	if err != nil {
		return nil, err
	}
	complete := len(ms) <= HistoryPage
	if !complete {
		ms = ms[:HistoryPage]
	}
	return ss.historyFrame(ctx, conversationSid, sub, ms, complete)
}

func (ss *Session) historyFrame(ctx context.Context, conversationSid string, sub *subscription, ms []conversations.Message, complete bool) (Frame, error) {
	views, err := ss.messageViews(ctx, sub, ms)
	if err != nil {
		return nil, err
	}
	if n := len(ms); n > 0 {
		sub.sent = max(sub.sent, ms[n-1].Index)
	}
	return Frame{"type": "history", "conversation_sid": conversationSid, "messages": views, "complete": complete}, nil
}

// messageViews renders messages with their authors' names and deliveries.
func (ss *Session) messageViews(ctx context.Context, sub *subscription, ms []conversations.Message) ([]MessageView, error) {
	sids := make([]string, len(ms))
	for i, m := range ms {
		sids[i] = m.Sid
	}
	ds, err := ss.s.conv.Deliveries(ctx, sids)
	if err != nil {
		return nil, err
	}
	out := make([]MessageView, len(ms))
	for i, m := range ms {
		if m.ParticipantSid != nil {
			ss.name(ctx, m.ConversationSid, sub, *m.ParticipantSid)
		}
		var d *conversations.Delivery
		if v, ok := ds[m.Sid]; ok {
			d = &v
		}
		out[i] = ss.messageView(m, sub.names, d)
	}
	return out, nil
}

func (ss *Session) messageView(m conversations.Message, names map[string]ParticipantView, d *conversations.Delivery) MessageView {
	v := ss.s.messageView(m, names, d)
	for i := range v.Media {
		v.Media[i].URL = ss.base + v.Media[i].URL
	}
	return v
}

// name returns a participant's view, loading it when the session has not
// seen it yet.
func (ss *Session) name(ctx context.Context, conversationSid string, sub *subscription, participantSid string) (ParticipantView, bool) {
	if v, ok := sub.names[participantSid]; ok {
		return v, true
	}
	p, err := ss.s.conv.Participant(ctx, ss.tok.ChatServiceSid, conversationSid, participantSid)
	if err != nil {
		return ParticipantView{Sid: participantSid}, false
	}
	v := participantView(p, ss.s.userName(ctx, ss.tok.ChatServiceSid))
	sub.names[p.Sid] = v
	return v, true
}

// Send appends a message and returns the ack frame carrying it.
func (ss *Session) Send(ctx context.Context, conversationSid string, body *string, mediaSids []string, attributes *string) (Frame, error) {
	m, err := ss.s.Send(ctx, ss.tok, conversationSid, body, mediaSids, attributes)
	if err != nil {
		return nil, err
	}
	for i := range m.Media {
		m.Media[i].URL = ss.base + m.Media[i].URL
	}
	return Frame{"type": "ack", "message": m}, nil
}

// Read moves the identity's read horizon.
func (ss *Session) Read(ctx context.Context, conversationSid string, index int64) error {
	return ss.s.Read(ctx, ss.tok, conversationSid, index)
}

// Typing tells the conversation's other subscribers that the identity
// started or stopped typing. Starts closer together than typingEvery are
// not passed on (clients repeat them while the user types), nor is a stop
// without a start before it, so that stops between starts do not get round
// the limit: each signal is a notification to every node.
func (ss *Session) Typing(ctx context.Context, conversationSid string, typing bool) error {
	sub, err := ss.subscription(conversationSid)
	if err != nil {
		return err
	}
	now := time.Now()
	st := ss.typing[conversationSid]
	if typing && now.Sub(st.started) < typingEvery || !typing && !st.on {
		return nil
	}
	if typing {
		st.started = now
	}
	st.on = typing
	ss.typing[conversationSid] = st
	t := events.TypingStarted
	if !typing {
		t = events.TypingEnded
	}
	return ss.s.signal.Signal(ctx, events.Event{Type: t, ServiceSid: ss.tok.ChatServiceSid, ConversationSid: conversationSid, Sid: sub.self})
}

// Event turns a committed or signalled event into the frames this session
// is sent. leave reports that the session no longer follows the
// conversation (its participant left, or the conversation was deleted).
func (ss *Session) Event(ctx context.Context, ev events.Event) (frames []Frame, leave bool, err error) {
	sub := ss.subs[ev.ConversationSid]
	if sub == nil {
		return nil, false, nil
	}
	cs := ev.ConversationSid
	switch ev.Type {
	case events.MessageAdded:
		if ev.Index == nil || *ev.Index <= sub.sent {
			return nil, false, nil // sent already, in a history or an earlier fill
		}
		// Everything up to this index, in order: fills any gap left by
		// events this node's listener lost.
		for sub.sent < *ev.Index {
			ms, err := ss.s.conv.MessagesAfter(ctx, cs, sub.sent, int(min(*ev.Index-sub.sent, HistoryPage)))
			if err != nil || len(ms) == 0 {
				return frames, false, err
			}
			views, err := ss.messageViews(ctx, sub, ms)
			if err != nil {
				return frames, false, err
			}
			for _, v := range views {
				frames = append(frames, Frame{"type": "message_added", "conversation_sid": cs, "message": v})
			}
			sub.sent = ms[len(ms)-1].Index
		}
		return frames, false, nil
	case events.MessageUpdated:
		if ev.Index != nil && *ev.Index > sub.sent {
			return nil, false, nil // its message_added, still to come, carries the edit
		}
		m, err := ss.s.conv.Message(ctx, ss.tok.ChatServiceSid, cs, ev.Sid)
		if errs.KindOf(err) == errs.NotFound {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		views, err := ss.messageViews(ctx, sub, []conversations.Message{m})
		if err != nil {
			return nil, false, err
		}
		return []Frame{{"type": "message_updated", "conversation_sid": cs, "message": views[0]}}, false, nil
	case events.MessageRemoved:
		return []Frame{{"type": "message_removed", "conversation_sid": cs, "message_sid": ev.Sid, "index": ev.Index}}, false, nil
	case events.ParticipantAdded, events.ParticipantUpdated:
		p, err := ss.s.conv.Participant(ctx, ss.tok.ChatServiceSid, cs, ev.Sid)
		if errs.KindOf(err) == errs.NotFound {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		v := participantView(p, ss.s.userName(ctx, ss.tok.ChatServiceSid))
		_, known := sub.names[p.Sid]
		sub.names[p.Sid] = v
		t := "participant_updated"
		if ev.Type == events.ParticipantAdded && !known {
			t = "participant_joined"
		}
		return []Frame{{"type": t, "conversation_sid": cs, "participant": v}}, false, nil
	case events.ParticipantRemoved:
		v, ok := sub.names[ev.Sid]
		if !ok {
			v = ParticipantView{Sid: ev.Sid}
		}
		delete(sub.names, ev.Sid)
		f := Frame{"type": "participant_left", "conversation_sid": cs, "participant": v}
		if ev.Sid == sub.self {
			delete(ss.subs, cs)
			return []Frame{f}, true, nil
		}
		return []Frame{f}, false, nil
	case events.TypingStarted, events.TypingEnded:
		if ev.Sid == sub.self {
			return nil, false, nil
		}
		v, _ := ss.name(ctx, cs, sub, ev.Sid)
		return []Frame{{"type": "typing", "conversation_sid": cs, "participant_sid": ev.Sid, "display_name": v.DisplayName,
			"typing": ev.Type == events.TypingStarted}}, false, nil
	case events.DeliveryUpdated:
		ds, err := ss.s.conv.Deliveries(ctx, []string{ev.Sid})
		if err != nil {
			return nil, false, err
		}
		d, ok := ds[ev.Sid]
		if !ok {
			return nil, false, nil
		}
		return []Frame{{"type": "delivery", "conversation_sid": cs, "message_sid": ev.Sid, "index": ev.Index, "delivery": d}}, false, nil
	case events.ConversationUpdated, events.ConversationStateUpdated:
		c, err := ss.s.conv.Conversation(ctx, ss.tok.ChatServiceSid, cs)
		if errs.KindOf(err) == errs.NotFound {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		return []Frame{{"type": "conversation_updated", "conversation": conversationView(c)}}, false, nil
	case events.ConversationRemoved:
		delete(ss.subs, cs)
		return []Frame{{"type": "conversation_removed", "conversation_sid": cs}}, true, nil
	}
	return nil, false, nil
}
