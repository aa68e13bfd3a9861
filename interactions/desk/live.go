package desk

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
)

// Live is one open desktop's view of what changed. Fed the events of its
// worker's topic and of the conversations it follows (Follow and Unfollow
// say which), it answers with what the page must re-render. The open
// thread gets its messages in index order exactly once: like a chat
// session, Live remembers the last index the page was sent, drops events
// for indexes sent already and fills gaps from the database. A Live is
// used by one goroutine.
type Live struct {
	s      *Service
	a      Agent
	follow map[string]bool // conversations whose events the page needs
	open   *openThread
	// cards are the page's cards as last listed whole, kept up to date
	// since, so a message event re-reads only its conversation's cards;
	// listed says whether they were listed (no cards is a listing too).
	cards  []TaskCard
	listed bool
}

// openThread is the canvas the page shows.
type openThread struct {
	c          conversations.Conversation
	sent       int64 // the highest index the page has
	self       string
	readUpTo   int64 // the others' read horizon the page's ticks show
	lastTyping time.Time
	// view renders new messages: names and read horizons, kept between
	// messages and dropped on any change of the participants.
	view *threadView
}

// Update is what the page must re-render; nil and empty parts are unchanged.
type Update struct {
	Header *Header
	// Tasks replaces every card when TasksChanged.
	Tasks        []TaskCard
	TasksChanged bool
	// Canvas replaces the open canvas whole, thread included; Chrome only
	// its header and composer (its Thread is empty).
	Canvas *Canvas
	Chrome *Canvas
	// Append goes at the end of the open thread; Replace re-renders
	// bubbles the page has; Removed deletes them by index.
	Append  []Item
	Replace []Message
	Removed []int64
	Typing  *Typing
	// Follow and Unfollow are conversations to subscribe to and leave.
	Follow, Unfollow []string
}

// Empty reports whether nothing changed.
func (u Update) Empty() bool {
	return u.Header == nil && !u.TasksChanged && u.Canvas == nil && u.Chrome == nil && len(u.Append) == 0 &&
		len(u.Replace) == 0 && len(u.Removed) == 0 && u.Typing == nil && len(u.Follow) == 0 && len(u.Unfollow) == 0
}

// Resync limits: a page that missed more than resyncLimit messages gets
// its canvas re-rendered instead.
const (
	resyncLimit = 100
	typingEvery = time.Second
)

// NewLive starts following an agent's desktop.
func (s *Service) NewLive(a Agent) *Live {
	return &Live{s: s, a: a, follow: map[string]bool{}}
}

// OpenSid is the conversation of the open canvas, "" when none is.
func (l *Live) OpenSid() string {
	if l.open == nil {
		return ""
	}
	return l.open.c.Sid
}

// Snapshot is the whole desktop but the canvas: what a page that just
// (re)connected must re-render, since anything may have changed while it
// was away.
func (l *Live) Snapshot(ctx context.Context) (Update, error) {
	h, err := l.s.Header(ctx, l.a)
	if err != nil {
		return Update{}, err
	}
	u := Update{Header: &h}
	return u, l.refreshTasks(ctx, &u)
}

// refreshTasks re-lists the cards into u and follows their conversations.
func (l *Live) refreshTasks(ctx context.Context, u *Update) error {
	cards, err := l.s.Tasks(ctx, l.a)
	if err != nil {
		l.cards, l.listed = nil, false
		return err
	}
	l.cards, l.listed = cards, true
	l.showCards(u)
	return nil
}

// refreshCardsOf re-reads what a conversation's messages say on its cards
// (preview and unread count), the rest of the cards being as last listed:
// its messages and its participants' read horizons change nothing else.
// Without such a card it lists them all.
func (l *Live) refreshCardsOf(ctx context.Context, u *Update, conversationSid string) error {
	var its []*TaskCard
	for i := range l.cards {
		if l.cards[i].ConversationSid == conversationSid {
			its = append(its, &l.cards[i])
		}
	}
	if !l.listed || len(its) == 0 {
		return l.refreshTasks(ctx, u)
	}
	if err := l.s.previews(ctx, l.a, its); err != nil {
		l.cards, l.listed = nil, false
		return err
	}
	l.showCards(u)
	return nil
}

// showCards puts the cards into u and follows their conversations.
func (l *Live) showCards(u *Update) {
	// A copy: the page renders u while Live goes on changing its cards.
	u.Tasks, u.TasksChanged = slices.Clone(l.cards), true
	want := map[string]bool{}
	for _, c := range l.cards {
		if c.ConversationSid != "" && c.State != StateOffered {
			want[c.ConversationSid] = true
		}
	}
	if l.open != nil {
		want[l.open.c.Sid] = true
	}
	l.reconcile(u, want)
}

// reconcile follows exactly the conversations in want.
func (l *Live) reconcile(u *Update, want map[string]bool) {
	for sid := range want {
		if !l.follow[sid] {
			l.follow[sid] = true
			u.Follow = append(u.Follow, sid)
		}
	}
	for sid := range l.follow {
		if !want[sid] {
			delete(l.follow, sid)
			u.Unfollow = append(u.Unfollow, sid)
		}
	}
}

// Open makes a conversation the page's canvas, the page having shown its
// thread up to index `after` (-1: nothing of it). It answers with the
// canvas's chrome and the thread the page missed, or the whole canvas
// when it missed too much. Subscribe to the conversation's events before
// calling it, so none falls between the two.
func (l *Live) Open(ctx context.Context, conversationSid string, after int64) (Update, error) {
	c, err := l.s.conversation(ctx, l.a, conversationSid)
	if err != nil {
		return Update{}, err
	}
	var u Update
	if l.open != nil && l.open.c.Sid != c.Sid && !l.cardHas(ctx, l.open.c.Sid) {
		delete(l.follow, l.open.c.Sid)
		u.Unfollow = append(u.Unfollow, l.open.c.Sid)
	}
	o := &openThread{c: c, sent: after, readUpTo: -1}
	if p, ok, err := l.s.self(ctx, l.a, c.Sid); err != nil {
		return Update{}, err
	} else if ok {
		o.self = p.Sid
	}
	tv, err := l.s.newThreadView(ctx, l.a, c)
	if err != nil {
		return Update{}, err
	}
	o.readUpTo = tv.readUpTo
	l.open = o
	if !l.follow[c.Sid] {
		l.follow[c.Sid] = true
		u.Follow = append(u.Follow, c.Sid)
	}
	if c.NextIndex-1-after > resyncLimit || after >= c.NextIndex {
		cv, err := l.s.Canvas(ctx, l.a, c.Sid)
		if err != nil {
			return Update{}, err
		}
		o.sent = cv.Thread.Last
		u.Canvas = &cv
		return u, nil
	}
	cv, err := l.s.chrome(ctx, l.a, c)
	if err != nil {
		return Update{}, err
	}
	u.Chrome = &cv
	th, err := l.s.after(ctx, l.a, c, after, resyncLimit)
	if err != nil {
		return Update{}, err
	}
	u.Append = th.Items
	if th.Last > o.sent {
		o.sent = th.Last
	}
	return u, nil
}

// cardHas reports whether a conversation is one of the agent's cards.
func (l *Live) cardHas(ctx context.Context, conversationSid string) bool {
	cards, err := l.s.Tasks(ctx, l.a)
	if err != nil {
		return true // keep following: a stray event costs less than a missed one
	}
	for _, c := range cards {
		if c.ConversationSid == conversationSid && c.State != StateOffered {
			return true
		}
	}
	return false
}

// Read moves the agent's read horizon in the open conversation to index.
func (l *Live) Read(ctx context.Context, index int64) error {
	if l.open == nil {
		return errs.E(errs.Conflict, errs.CodeInvalidParam, "No conversation is open")
	}
	return l.s.MarkRead(ctx, l.a, l.open.c.Sid, min(index, l.open.sent))
}

// Typing passes on the agent's typing in the open conversation; starts
// closer together than a second are not passed on, since the page repeats
// them while the agent types.
func (l *Live) Typing(ctx context.Context, on bool) error {
	if l.open == nil || l.open.self == "" {
		return nil
	}
	now := time.Now()
	if on && now.Sub(l.open.lastTyping) < typingEvery {
		return nil
	}
	l.open.lastTyping = now
	if !on {
		l.open.lastTyping = time.Time{}
	}
	return l.s.Typing(ctx, l.a, l.open.c.Sid, on)
}

// Event turns a committed or signalled event into what the page must
// re-render.
func (l *Live) Event(ctx context.Context, ev events.Event) (Update, error) {
	var u Update
	if strings.HasPrefix(string(ev.Type), events.TaskRouterPrefix) {
		if ev.WorkerSid != l.a.WorkerSid {
			return u, nil
		}
		h, err := l.s.Header(ctx, l.a)
		if err != nil {
			return u, err
		}
		u.Header = &h
		if err := l.refreshTasks(ctx, &u); err != nil {
			return u, err
		}
		return u, l.refreshChrome(ctx, &u)
	}
	cs := ev.ConversationSid
	if cs == "" || !l.follow[cs] {
		return u, nil
	}
	if l.open != nil && l.open.c.Sid == cs {
		if err := l.openEvent(ctx, ev, &u); err != nil {
			return u, err
		}
	}
	switch ev.Type {
	case events.MessageAdded, events.MessageRemoved, events.ParticipantUpdated:
		// Previews and unread counts on the conversation's cards.
		if err := l.refreshCardsOf(ctx, &u, cs); err != nil {
			return u, err
		}
	case events.ParticipantAdded, events.ParticipantRemoved, events.ConversationStateUpdated:
		// States on the cards.
		if err := l.refreshTasks(ctx, &u); err != nil {
			return u, err
		}
	}
	return u, nil
}

// refreshChrome re-renders the open canvas's chrome into u.
func (l *Live) refreshChrome(ctx context.Context, u *Update) error {
	if l.open == nil {
		return nil
	}
	cv, err := l.s.chrome(ctx, l.a, l.open.c)
	if err != nil {
		return err
	}
	u.Chrome = &cv
	return nil
}

// openEvent handles an event of the open conversation.
func (l *Live) openEvent(ctx context.Context, ev events.Event, u *Update) error {
	o := l.open
	switch ev.Type {
	case events.MessageAdded:
		if ev.Index == nil || *ev.Index <= o.sent {
			return nil // sent already, in a resync or an earlier fill
		}
		// Everything up to this index, in order: fills any gap left by
		// events this node's listener lost.
		if o.view == nil {
			tv, err := l.s.newThreadView(ctx, l.a, o.c)
			if err != nil {
				return err
			}
			o.view = &tv
		}
		for o.sent < *ev.Index {
			th, err := l.s.afterWith(ctx, l.a, o.c, o.sent, int(min(*ev.Index-o.sent, resyncLimit)), o.view)
			if err != nil {
				return err
			}
			if th.Last < 0 {
				return nil
			}
			u.Append = append(u.Append, th.Items...)
			o.sent = th.Last
		}
	case events.MessageUpdated, events.DeliveryUpdated:
		if ev.Index != nil && *ev.Index > o.sent {
			return nil // its message, still to come, carries the change
		}
		var m conversations.Message
		res := l.s.read(ctx).Where("conversation_sid = ? AND sid = ?", o.c.Sid, ev.Sid).Limit(1).Find(&m)
		if res.Error != nil || res.RowsAffected == 0 || m.Index > o.sent {
			return errs.Wrap(res.Error, "desk message")
		}
		return l.replace(ctx, u, []conversations.Message{m})
	case events.MessageRemoved:
		if ev.Index != nil && *ev.Index <= o.sent {
			u.Removed = append(u.Removed, *ev.Index)
		}
	case events.ParticipantAdded, events.ParticipantRemoved:
		o.view = nil
		e, ok, err := l.s.participantEvent(ctx, ev.Sid, ev.Type == events.ParticipantAdded)
		if err != nil {
			return err
		}
		if ok {
			u.Append = append(u.Append, Item{Event: &e})
		}
		if p, in, err := l.s.self(ctx, l.a, o.c.Sid); err != nil {
			return err
		} else if in {
			o.self = p.Sid
		} else {
			o.self = ""
		}
		return l.refreshChrome(ctx, u)
	case events.ParticipantUpdated:
		o.view = nil
		if ev.Sid == o.self {
			return nil
		}
		return l.readTicks(ctx, u)
	case events.TypingStarted, events.TypingEnded:
		if ev.Sid == o.self {
			return nil
		}
		var p conversations.Participant
		res := l.s.read(ctx).Where("sid = ? AND conversation_sid = ?", ev.Sid, o.c.Sid).Limit(1).Find(&p)
		if res.Error != nil || res.RowsAffected == 0 {
			return errs.Wrap(res.Error, "typing participant")
		}
		key, name := participantName(p)
		if name == key && p.Identity != nil {
			users, err := l.s.userNames(ctx, o.c.ServiceSid, []string{key})
			if err != nil {
				return err
			}
			if users[key] != "" {
				name = users[key]
			}
		}
		u.Typing = &Typing{Name: name, On: ev.Type == events.TypingStarted}
	case events.ConversationStateUpdated, events.ConversationUpdated:
		o.view = nil
		return l.refreshChrome(ctx, u)
	}
	return nil
}

// readTicks re-renders the agent's bubbles the others have read since the
// page last heard.
func (l *Live) readTicks(ctx context.Context, u *Update) error {
	o := l.open
	tv, err := l.s.newThreadView(ctx, l.a, o.c)
	if err != nil {
		return err
	}
	from, to := o.readUpTo, min(tv.readUpTo, o.sent)
	if to <= from {
		return nil
	}
	o.readUpTo = to
	var ms []conversations.Message
	if err := l.s.read(ctx).Where("conversation_sid = ? AND idx > ? AND idx <= ? AND author = ?", o.c.Sid, max(from, to-resyncLimit),
		to, l.a.Identity).Order("idx").Find(&ms).Error; err != nil {
		return errs.Wrap(err, "read messages")
	}
	return l.replace(ctx, u, ms)
}

// replace re-renders messages the page has into u.
func (l *Live) replace(ctx context.Context, u *Update, ms []conversations.Message) error {
	if len(ms) == 0 {
		return nil
	}
	tv, err := l.s.newThreadView(ctx, l.a, l.open.c)
	if err != nil {
		return err
	}
	views, err := tv.messages(ctx, ms)
	if err != nil {
		return err
	}
	u.Replace = append(u.Replace, views...)
	return nil
}

// Follows reports whether the page needs a conversation's events.
func (l *Live) Follows(conversationSid string) bool { return l.follow[conversationSid] }
