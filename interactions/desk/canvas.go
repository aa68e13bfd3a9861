package desk

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/media"
)

// Canvas is a conversation the agent holds or held a task on, as the
// desktop shows it: who the customer is, the latest page of the thread, and
// whether the agent can still write in it.
type Canvas struct {
	ConversationSid string
	Channel         string // ChannelSMS, ChannelWhatsApp or ChannelChat
	CustomerName    string
	CustomerAddress string
	// Writable says the agent is in the conversation: they can reply,
	// attach and type. After wrap-up the canvas is read-only.
	Writable bool
	// The agent's latest task on the conversation and its state
	// (StateAssigned, StateWrapping, or "completed").
	TaskSid        string
	ReservationSid string
	State          string
	Thread         Thread
	Attach         AttachLimits
}

// AttachLimits are what the conversation's channel carries in one message.
type AttachLimits struct {
	Accept   string // the file picker's accept list; "" takes any type
	MaxFiles int    // 0: no limit
	MaxBytes int64  // per file
}

// Thread is a run of a conversation's messages in index order, with the
// system events (joins, departures, transfers) that happened among them.
type Thread struct {
	Items []Item
	// More says older messages exist before First.
	More  bool
	First int64 // the lowest index shown; -1 when no message is
	Last  int64 // the highest index shown; -1 when no message is
}

// Item is a message or a system event; exactly one is set.
type Item struct {
	Message *Message
	Event   *Event
}

// Message is one bubble.
type Message struct {
	Sid    string
	Index  int64
	Mine   bool   // written by the agent
	Author string // the author's display name
	// AuthorKey is who wrote it (an identity or address): consecutive
	// bubbles with one key group together.
	AuthorKey string
	Body      string
	Media     []Attachment
	Time      time.Time
	// Status is the agent's own messages' delivery: StatusSending,
	// StatusSent, StatusDelivered, StatusRead or StatusFailed.
	Status string
}

// Delivery states of the agent's messages, as ticks.
const (
	StatusSending   = "sending" // a carrier has not reported yet
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
	StatusFailed    = "failed"
)

// Attachment is one medium of a message; URL is a signed, expiring link.
type Attachment struct {
	Sid         string
	Name        string
	ContentType string
	Size        int64
	URL         string
	// Image says the browser may show it inline; SVG never is, since it can
	// carry script.
	Image bool
}

// Event is a system line in the thread.
type Event struct {
	ID   string // stable across renders, so a resync never shows it twice
	Text string
	Time time.Time
}

// Typing is another participant starting or stopping to type.
type Typing struct {
	Name string
	On   bool
}

// Paging of the thread.
const (
	// PageSize is how many messages a canvas or an older page shows.
	PageSize = 50
	// maxEvents bounds the system events a thread looks at.
	maxEvents = 500
	// mediaLinkTTL is how long a shown attachment's link works.
	mediaLinkTTL = time.Hour
)

// sourceDesk is the Source the engine's events report for an agent's
// actions in the desktop, as for any SDK client.
const sourceDesk = "SDK"

// conversation loads a conversation the agent may see.
func (s *Service) conversation(ctx context.Context, a Agent, conversationSid string) (conversations.Conversation, error) {
	var c conversations.Conversation
	if err := s.Allowed(ctx, a, conversationSid); err != nil {
		return c, err
	}
	res := s.read(ctx).Where("sid = ?", conversationSid).Limit(1).Find(&c)
	if res.Error != nil {
		return c, errs.Wrap(res.Error, "desk conversation")
	}
	if res.RowsAffected == 0 {
		return c, errs.NotFoundf("Conversation %s was not found", conversationSid)
	}
	return c, nil
}

// Canvas opens a conversation the agent holds or held a task on, with the
// latest page of its thread.
func (s *Service) Canvas(ctx context.Context, a Agent, conversationSid string) (Canvas, error) {
	c, err := s.conversation(ctx, a, conversationSid)
	if err != nil {
		return Canvas{}, err
	}
	cv, err := s.chrome(ctx, a, c)
	if err != nil {
		return cv, err
	}
	cv.Thread, err = s.older(ctx, a, c, c.NextIndex)
	return cv, err
}

// Chrome is a conversation's canvas without its thread: who, what state,
// what the agent may do (the composer and the actions need no more).
func (s *Service) Chrome(ctx context.Context, a Agent, conversationSid string) (Canvas, error) {
	c, err := s.conversation(ctx, a, conversationSid)
	if err != nil {
		return Canvas{}, err
	}
	return s.chrome(ctx, a, c)
}

// chrome is a canvas without its thread: who, what state, what the agent
// may do.
func (s *Service) chrome(ctx context.Context, a Agent, c conversations.Conversation) (Canvas, error) {
	cv := Canvas{ConversationSid: c.Sid, Thread: Thread{First: -1, Last: -1}}
	var chans []interactions.Channel
	if err := s.read(ctx).Where("media_channel_sid = ?", c.Sid).Order("date_created").Find(&chans).Error; err != nil {
		return cv, errs.Wrap(err, "desk channels")
	}
	if n := len(chans); n > 0 {
		cv.Channel = deskChannel(chans[n-1].Type)
	} else {
		cv.Channel = ChannelChat
	}
	var customer interactions.Participant
	if err := s.read(ctx).Where("type = ? AND channel_sid IN (?)", interactions.TypeCustomer,
		s.read(ctx).Model(&interactions.Channel{}).Select("sid").Where("media_channel_sid = ?", c.Sid)).
		Order("date_created DESC").Limit(1).Find(&customer).Error; err != nil {
		return cv, errs.Wrap(err, "desk customer")
	}
	props := mediaProps(customer.MediaProperties)
	cv.CustomerName, cv.CustomerAddress = props.Name, props.Address
	if cv.CustomerName == "" {
		cv.CustomerName = cv.CustomerAddress
	}
	if cv.CustomerName == "" {
		cv.CustomerName = c.FriendlyName
	}
	var r taskrouter.Reservation
	if err := s.read(ctx).Raw(`SELECT r.* FROM reservations r
		JOIN interaction_invites i ON i.task_sid = r.task_sid
		JOIN interaction_channels c ON c.sid = i.channel_sid
		WHERE r.worker_sid = ? AND r.reservation_status IN ? AND c.media_channel_sid = ?
		ORDER BY r.date_created DESC LIMIT 1`, a.WorkerSid, heldStatuses, c.Sid).Scan(&r).Error; err != nil {
		return cv, errs.Wrap(err, "desk reservation")
	}
	cv.TaskSid, cv.ReservationSid = r.TaskSid, r.Sid
	switch r.ReservationStatus {
	case taskrouter.ReservationAccepted:
		cv.State = StateAssigned
	default:
		cv.State = r.ReservationStatus
	}
	var err error
	_, cv.Writable, err = s.self(ctx, a, c.Sid)
	l := media.LimitsFor(cv.Channel)
	cv.Attach = AttachLimits{Accept: strings.Join(l.Types, ","), MaxFiles: l.MaxFiles, MaxBytes: l.MaxFileSize}
	return cv, err
}

// Older is the page of the thread before index `before`, for a canvas
// scrolled to its top.
func (s *Service) Older(ctx context.Context, a Agent, conversationSid string, before int64) (Thread, error) {
	c, err := s.conversation(ctx, a, conversationSid)
	if err != nil {
		return Thread{}, err
	}
	return s.older(ctx, a, c, before)
}

func (s *Service) older(ctx context.Context, a Agent, c conversations.Conversation, before int64) (Thread, error) {
	var ms []conversations.Message
	if err := s.read(ctx).Where("conversation_sid = ? AND idx < ?", c.Sid, before).Order("idx DESC").Limit(PageSize + 1).
		Find(&ms).Error; err != nil {
		return Thread{}, errs.Wrap(err, "older messages")
	}
	more := len(ms) > PageSize
	if more {
		ms = ms[:PageSize]
	}
	slices.Reverse(ms)
	from := int64(-1)
	if more {
		from = ms[0].Index
	}
	return s.thread(ctx, a, c, ms, more, from)
}

// After is up to limit messages after index `after`, with the system events
// since that message: what a desktop that last showed `after` missed.
func (s *Service) After(ctx context.Context, a Agent, conversationSid string, after int64, limit int) (Thread, error) {
	c, err := s.conversation(ctx, a, conversationSid)
	if err != nil {
		return Thread{}, err
	}
	return s.after(ctx, a, c, after, limit)
}

func (s *Service) after(ctx context.Context, a Agent, c conversations.Conversation, after int64, limit int) (Thread, error) {
	return s.afterWith(ctx, a, c, after, limit, nil)
}

// afterWith is after with a thread view the caller keeps (nil: load one).
func (s *Service) afterWith(ctx context.Context, a Agent, c conversations.Conversation, after int64, limit int, tv *threadView) (Thread, error) {
	ms, err := s.conv.MessagesAfter(ctx, c.Sid, after, limit)
	if err != nil {
		return Thread{}, err
	}
	return s.threadWith(ctx, a, c, ms, false, max(after, -1), tv)
}

// threadView renders messages of one conversation for one agent: names,
// their delivery and what the others have read.
type threadView struct {
	s        *Service
	a        Agent
	names    map[string]string // author (identity or address) → display name
	chat     bool              // receipts come from read horizons, not carriers
	readUpTo int64             // the others' furthest read horizon
}

// newThreadView loads what rendering messages of c needs.
func (s *Service) newThreadView(ctx context.Context, a Agent, c conversations.Conversation) (threadView, error) {
	tv := threadView{s: s, a: a, names: map[string]string{}, readUpTo: -1}
	var ps []conversations.Participant
	if err := s.read(ctx).Where("conversation_sid = ?", c.Sid).Find(&ps).Error; err != nil {
		return tv, errs.Wrap(err, "desk participants")
	}
	// Past members first (agents who left, customers who changed channel),
	// then current ones, whose names win.
	var ips []interactions.Participant
	if err := s.read(ctx).Where("channel_sid IN (?)", s.read(ctx).Model(&interactions.Channel{}).Select("sid").
		Where("media_channel_sid = ?", c.Sid)).Order("date_created").Find(&ips).Error; err != nil {
		return tv, errs.Wrap(err, "desk interaction participants")
	}
	for _, ip := range ips {
		props := mediaProps(ip.MediaProperties)
		for _, key := range []string{props.Identity, props.Address} {
			if key != "" && props.Name != "" {
				tv.names[key] = props.Name
			}
		}
	}
	customers := 0
	for _, p := range ps {
		key, name := participantName(p)
		if key != "" && (name != key || tv.names[key] == "") {
			tv.names[key] = name
		}
		if p.Identity != nil && *p.Identity == a.Identity {
			continue
		}
		if p.Identity == nil {
			customers++ // reached through a carrier
		}
		if p.LastReadMessageIndex != nil && *p.LastReadMessageIndex > tv.readUpTo {
			tv.readUpTo = *p.LastReadMessageIndex
		}
	}
	tv.chat = customers == 0
	var plain []string
	for key, name := range tv.names {
		if name == key {
			plain = append(plain, key)
		}
	}
	users, err := s.userNames(ctx, c.ServiceSid, plain)
	if err != nil {
		return tv, err
	}
	maps.Copy(tv.names, users)
	return tv, nil
}

// userNames are the friendly names of the conversations users among
// identities (staff are users named as they signed in), for participants
// that carry no name of their own.
func (s *Service) userNames(ctx context.Context, serviceSid string, identities []string) (map[string]string, error) {
	out := map[string]string{}
	if len(identities) == 0 {
		return out, nil
	}
	var us []conversations.User
	if err := s.read(ctx).Where("service_sid = ? AND identity IN ? AND friendly_name <> ''", serviceSid, identities).
		Find(&us).Error; err != nil {
		return nil, errs.Wrap(err, "desk user names")
	}
	for _, u := range us {
		out[u.Identity] = u.FriendlyName
	}
	return out, nil
}

// participantName is a participant's key (identity or address) and display
// name: a friendly name in its attributes, else the key.
func participantName(p conversations.Participant) (string, string) {
	key := ""
	switch {
	case p.Identity != nil:
		key = *p.Identity
	case p.Address != nil:
		key = *p.Address
	}
	var attrs map[string]any
	_ = json.Unmarshal([]byte(p.Attributes), &attrs)
	for _, k := range []string{"friendlyName", "friendly_name", "name"} {
		if v, ok := attrs[k].(string); ok && v != "" {
			return key, v
		}
	}
	return key, key
}

// mine reports whether the agent wrote m.
func (tv threadView) mine(m conversations.Message) bool {
	return m.Author == tv.a.Identity && tv.a.Identity != ""
}

// messages renders ms as bubbles. Only the agent's own carry a delivery,
// so a run of others' messages reads none.
func (tv threadView) messages(ctx context.Context, ms []conversations.Message) ([]Message, error) {
	var sids []string
	for _, m := range ms {
		if tv.mine(m) {
			sids = append(sids, m.Sid)
		}
	}
	ds := map[string]conversations.Delivery{}
	if len(sids) > 0 {
		var err error
		if ds, err = tv.s.conv.Deliveries(ctx, sids); err != nil {
			return nil, err
		}
	}
	out := make([]Message, len(ms))
	for i, m := range ms {
		v := Message{Sid: m.Sid, Index: m.Index, Mine: tv.mine(m), AuthorKey: m.Author,
			Author: tv.names[m.Author], Time: m.DateCreated}
		if v.Author == "" {
			v.Author = m.Author
		}
		if v.Author == "" {
			v.Author = "System"
		}
		if m.Body != nil {
			v.Body = *m.Body
		}
		if m.Media != nil {
			var media []conversations.Media
			_ = json.Unmarshal([]byte(*m.Media), &media)
			for _, md := range media {
				att := Attachment{Sid: md.Sid, Name: md.Filename, ContentType: md.ContentType, Size: md.Size,
					Image: strings.HasPrefix(md.ContentType, "image/") && md.ContentType != "image/svg+xml"}
				if att.Name == "" {
					att.Name = md.ContentType
				}
				if tv.s.media != nil {
					att.URL = tv.s.media.SignedURL(md.Sid, mediaLinkTTL)
				}
				v.Media = append(v.Media, att)
			}
		}
		if v.Mine {
			d, ok := ds[m.Sid]
			v.Status = tv.status(m.Index, d, ok)
		}
		out[i] = v
	}
	return out, nil
}

// status is the delivery of one of the agent's messages: a carrier's
// receipts where there are any, else the others' read horizons.
func (tv threadView) status(index int64, d conversations.Delivery, ok bool) string {
	switch {
	case ok && (d.Failed != "none" || d.Undelivered != "none"):
		return StatusFailed
	case ok && d.Read == "all":
		return StatusRead
	case ok && d.Delivered == "all":
		return StatusDelivered
	case ok:
		return StatusSent
	case index <= tv.readUpTo:
		return StatusRead
	case tv.chat:
		return StatusSent
	}
	return StatusSending
}

// thread renders a run of messages with the system events anchored from
// index `from` (-1: from the start) to the last message of the run; a run
// without messages gets those anchored at `from` itself.
func (s *Service) thread(ctx context.Context, a Agent, c conversations.Conversation, ms []conversations.Message, more bool, from int64) (Thread, error) {
	return s.threadWith(ctx, a, c, ms, more, from, nil)
}

// threadWith is thread with a thread view the caller keeps (nil: load one).
func (s *Service) threadWith(ctx context.Context, a Agent, c conversations.Conversation, ms []conversations.Message, more bool, from int64, tv *threadView) (Thread, error) {
	th := Thread{More: more, First: -1, Last: -1}
	if tv == nil {
		v, err := s.newThreadView(ctx, a, c)
		if err != nil {
			return th, err
		}
		tv = &v
	}
	views, err := tv.messages(ctx, ms)
	if err != nil {
		return th, err
	}
	var evs []anchoredEvent
	// A live append of new messages rarely has events among them: one
	// query says so before the several that would place them.
	if some, err := s.eventsSince(ctx, c.Sid, from, len(ms) > 0); err != nil {
		return th, err
	} else if some {
		if evs, err = s.events(ctx, c); err != nil {
			return th, err
		}
	}
	next := from + 1 // the first message of the run
	if len(ms) > 0 {
		th.First, th.Last = ms[0].Index, ms[len(ms)-1].Index
		next = th.First
	}
	for _, ev := range evs {
		if ev.anchor >= from && ev.anchor < next {
			th.Items = append(th.Items, Item{Event: &ev.Event})
		}
	}
	for i := range views {
		th.Items = append(th.Items, Item{Message: &views[i]})
		for _, ev := range evs {
			if ev.anchor == views[i].Index {
				th.Items = append(th.Items, Item{Event: &ev.Event})
			}
		}
	}
	return th, nil
}

// anchoredEvent is a system event with the index of the last message before
// it (-1 when none was).
type anchoredEvent struct {
	Event
	anchor int64
}

// mediaProperties are what the interactions layer records of a participant.
type mediaProperties struct {
	Sid      string `json:"sid"`
	Identity string `json:"identity"`
	Address  string `json:"address"`
	Name     string `json:"name"`
}

func mediaProps(raw string) mediaProperties {
	var p mediaProperties
	_ = json.Unmarshal([]byte(raw), &p)
	return p
}

// eventsSince reports whether any system event of the conversation may be
// anchored at index `from` or later: an event is anchored at the last
// message created at or before it, so only an event no older than the
// oldest message from `from` on can be. Without such messages (or from the
// start) it cannot tell, and says so.
func (s *Service) eventsSince(ctx context.Context, conversationSid string, from int64, messages bool) (bool, error) {
	if from < 0 || !messages {
		return true, nil
	}
	var some bool
	err := s.read(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM interaction_participants p JOIN interaction_channels ch ON ch.sid = p.channel_sid
			WHERE ch.media_channel_sid = ? AND p.type IN ? AND (p.date_created >= m.t OR p.date_updated >= m.t))
		OR EXISTS (SELECT 1 FROM interaction_transfers x JOIN interaction_channels ch ON ch.sid = x.channel_sid
			WHERE ch.media_channel_sid = ? AND x.date_created >= m.t)
		FROM (SELECT MIN(date_created) AS t FROM messages WHERE conversation_sid = ? AND idx >= ?) m`,
		conversationSid, []string{interactions.TypeAgent, interactions.TypeSupervisor}, conversationSid, conversationSid, from).
		Scan(&some).Error
	return some, errs.Wrap(err, "desk events since")
}

// events are a conversation's system events, oldest first: agents
// joining and leaving, and transfers.
func (s *Service) events(ctx context.Context, c conversations.Conversation) ([]anchoredEvent, error) {
	chans := s.read(ctx).Model(&interactions.Channel{}).Select("sid").Where("media_channel_sid = ?", c.Sid)
	var ips []interactions.Participant
	if err := s.read(ctx).Where("channel_sid IN (?) AND type IN ?", chans, []string{interactions.TypeAgent, interactions.TypeSupervisor}).
		Order("date_created").Limit(maxEvents).Find(&ips).Error; err != nil {
		return nil, errs.Wrap(err, "desk events")
	}
	var xs []interactions.Transfer
	if err := s.read(ctx).Where("channel_sid IN (?)", chans).Order("date_created").Limit(maxEvents).Find(&xs).Error; err != nil {
		return nil, errs.Wrap(err, "desk transfers")
	}
	var identities []string
	for _, ip := range ips {
		identities = append(identities, mediaProps(ip.MediaProperties).Identity)
	}
	users, err := s.userNames(ctx, c.ServiceSid, identities)
	if err != nil {
		return nil, err
	}
	byUT := map[string]string{}
	var evs []Event
	for _, ip := range ips {
		name := participantLabel(ip, users)
		byUT[ip.Sid] = name
		evs = append(evs, Event{ID: joinedID(ip.Sid), Text: name + " joined", Time: ip.DateCreated})
		if ip.Status != interactions.ParticipantActive {
			evs = append(evs, Event{ID: leftID(ip.Sid), Text: name + " left", Time: ip.DateUpdated})
		}
	}
	targets := make([]string, 0, len(xs))
	for _, x := range xs {
		targets = append(targets, x.ToSid)
	}
	labels, err := s.tr.Labels(ctx, targets...)
	if err != nil {
		return nil, err
	}
	if err := s.staffNames(ctx, labels, targets); err != nil {
		return nil, err
	}
	for _, x := range xs {
		evs = append(evs, Event{ID: "e-" + x.Sid, Text: transferText(byUT[x.FromSid], labels[x.ToSid], x), Time: x.DateCreated})
	}
	slices.SortStableFunc(evs, func(x, y Event) int { return x.Time.Compare(y.Time) })
	out := make([]anchoredEvent, len(evs))
	for i, ev := range evs {
		a, err := s.anchor(ctx, c.Sid, ev.Time)
		if err != nil {
			return nil, err
		}
		out[i] = anchoredEvent{Event: ev, anchor: a}
	}
	return out, nil
}

// staffNames relabels the workers among sids by the names their staff
// signed in with (the full_name attribute provisioning sets), where they
// have one: a worker's own name is often just their identity.
func (s *Service) staffNames(ctx context.Context, labels map[string]string, sids []string) error {
	var ws []taskrouter.Worker
	if err := s.read(ctx).Where("sid IN ?", sids).Find(&ws).Error; err != nil {
		return errs.Wrap(err, "desk worker names")
	}
	for _, w := range ws {
		var attrs struct {
			FullName string `json:"full_name"`
		}
		_ = json.Unmarshal([]byte(w.Attributes), &attrs)
		if attrs.FullName != "" {
			labels[w.Sid] = attrs.FullName
		}
	}
	return nil
}

// anchor is the index of the conversation's last message at t, -1 if none.
func (s *Service) anchor(ctx context.Context, conversationSid string, t time.Time) (int64, error) {
	var idx *int64
	err := s.read(ctx).Model(&conversations.Message{}).Select("MAX(idx)").Where("conversation_sid = ? AND date_created <= ?",
		conversationSid, t).Scan(&idx).Error
	if err != nil {
		return 0, errs.Wrap(err, "event anchor")
	}
	if idx == nil {
		return -1, nil
	}
	return *idx, nil
}

func joinedID(ut string) string { return "e-" + ut + "-joined" }
func leftID(ut string) string   { return "e-" + ut + "-left" }

// participantLabel names an agent or supervisor in system lines: their
// user's name, else the name or identity the interactions layer recorded.
func participantLabel(ip interactions.Participant, users map[string]string) string {
	p := mediaProps(ip.MediaProperties)
	switch {
	case users[p.Identity] != "":
		return users[p.Identity]
	case p.Name != "":
		return p.Name
	case p.Identity != "":
		return p.Identity
	}
	return "An agent"
}

func transferText(from, to string, x interactions.Transfer) string {
	if from == "" {
		from = "An agent"
	}
	if to == "" {
		to = x.ToSid
	}
	text := from + " transferred the conversation to " + to + " (" + x.Type + ")"
	if x.Note != "" {
		text += ": " + x.Note
	}
	return text
}

// participantEvent is the system line for a conversation participant who
// joined or left as an agent or supervisor, found by their conversation
// participant SID; ok is false for anyone else (a customer).
func (s *Service) participantEvent(ctx context.Context, participantSid string, joined bool) (Event, bool, error) {
	var ip interactions.Participant
	q := s.read(ctx).Where("conversation_participant_sid = ? AND type IN ?", participantSid,
		[]string{interactions.TypeAgent, interactions.TypeSupervisor})
	if joined {
		q = q.Order("date_created DESC")
	} else {
		q = q.Where("status <> ?", interactions.ParticipantActive).Order("date_updated DESC")
	}
	res := q.Limit(1).Find(&ip)
	if res.Error != nil || res.RowsAffected == 0 {
		return Event{}, false, errs.Wrap(res.Error, "desk participant event")
	}
	var ch interactions.Channel
	var c conversations.Conversation
	if err := s.read(ctx).Where("sid = ?", ip.ChannelSid).Limit(1).Find(&ch).Error; err != nil {
		return Event{}, false, errs.Wrap(err, "desk participant channel")
	}
	if err := s.read(ctx).Select("sid", "service_sid").Where("sid = ?", ch.MediaChannelSid).Limit(1).Find(&c).Error; err != nil {
		return Event{}, false, errs.Wrap(err, "desk participant conversation")
	}
	users, err := s.userNames(ctx, c.ServiceSid, []string{mediaProps(ip.MediaProperties).Identity})
	if err != nil {
		return Event{}, false, err
	}
	name := participantLabel(ip, users)
	if joined {
		return Event{ID: joinedID(ip.Sid), Text: name + " joined", Time: ip.DateCreated}, true, nil
	}
	return Event{ID: leftID(ip.Sid), Text: name + " left", Time: ip.DateUpdated}, true, nil
}

// member is the agent's participant in a conversation they may write in.
func (s *Service) member(ctx context.Context, a Agent, c conversations.Conversation) (conversations.Participant, error) {
	p, ok, err := s.self(ctx, a, c.Sid)
	if err != nil {
		return p, err
	}
	if !ok {
		return p, errs.E(errs.Conflict, errs.CodeInvalidParam, "You are no longer in this conversation")
	}
	return p, nil
}

// Send writes the agent's message, authored by their identity, with
// attachments they uploaded to the conversation.
func (s *Service) Send(ctx context.Context, a Agent, conversationSid, body string, mediaSids []string) error {
	c, err := s.conversation(ctx, a, conversationSid)
	if err != nil {
		return err
	}
	if _, err := s.member(ctx, a, c); err != nil {
		return err
	}
	if strings.TrimSpace(body) == "" && len(mediaSids) == 0 {
		return errs.Invalidf("Write a message or attach a file")
	}
	ch, err := s.channelOf(ctx, c.Sid)
	if err != nil {
		return err
	}
	if l := media.LimitsFor(ch); l.MaxFiles > 0 && len(mediaSids) > l.MaxFiles {
		return errs.E(errs.Invalid, media.CodeTooManyFiles, "A %s message carries at most %d attachments", ch, l.MaxFiles)
	}
	p := conversations.MessageParams{Author: &a.Identity, MediaSids: mediaSids, Source: sourceDesk}
	if strings.TrimSpace(body) != "" {
		p.Body = &body
	}
	_, err = s.conv.AddMessage(s.origin(ctx, a), c.ServiceSid, c.Sid, p)
	return err
}

// origin marks the engine's events as the agent's, as an SDK client's are.
func (s *Service) origin(ctx context.Context, a Agent) context.Context {
	return conversations.WithOrigin(ctx, conversations.Origin{ClientIdentity: a.Identity})
}

// channelOf is the desk channel of a conversation: its latest interaction
// channel's type.
func (s *Service) channelOf(ctx context.Context, conversationSid string) (string, error) {
	var ch interactions.Channel
	res := s.read(ctx).Where("media_channel_sid = ?", conversationSid).Order("date_created DESC").Limit(1).Find(&ch)
	if res.Error != nil {
		return "", errs.Wrap(res.Error, "desk channel")
	}
	return deskChannel(ch.Type), nil
}

// Upload stores an attachment for the agent's next message, within what
// the conversation's channel carries: its types and its size per file.
// length is the declared size, -1 when unknown.
func (s *Service) Upload(ctx context.Context, a Agent, conversationSid, contentType, filename string, length int64, body io.Reader) (Attachment, error) {
	if s.media == nil {
		return Attachment{}, errs.E(errs.Unavailable, errs.CodeUnavailable, "Attachments are not available on this server")
	}
	c, err := s.conversation(ctx, a, conversationSid)
	if err != nil {
		return Attachment{}, err
	}
	if _, err := s.member(ctx, a, c); err != nil {
		return Attachment{}, err
	}
	ch, err := s.channelOf(ctx, c.Sid)
	if err != nil {
		return Attachment{}, err
	}
	l := media.LimitsFor(ch)
	if !l.Allows(contentType) {
		return Attachment{}, errs.E(errs.Invalid, media.CodeInvalidContentType, "A %s conversation cannot carry %s files", ch, contentType)
	}
	tooLarge := errs.E(errs.TooLarge, media.CodeOverProviderLimit, "Attachments in a %s conversation are at most %d MB", ch, l.MaxFileSize/media.MB)
	if length > l.MaxFileSize {
		return Attachment{}, tooLarge
	}
	m, err := s.media.Save(ctx, c.ServiceSid, contentType, filename, a.Identity, io.LimitReader(body, l.MaxFileSize+1))
	if err != nil {
		return Attachment{}, err
	}
	if m.Size > l.MaxFileSize {
		if err := s.media.Delete(context.WithoutCancel(ctx), c.ServiceSid, m.Sid); err != nil {
			return Attachment{}, err
		}
		return Attachment{}, tooLarge
	}
	return Attachment{Sid: m.Sid, Name: m.Filename, ContentType: m.ContentType, Size: m.Size,
		Image: strings.HasPrefix(m.ContentType, "image/") && m.ContentType != "image/svg+xml"}, nil
}

// MarkRead moves the agent's read horizon forward to index (never back,
// never past the last message): they have seen the conversation to there.
func (s *Service) MarkRead(ctx context.Context, a Agent, conversationSid string, index int64) error {
	c, err := s.conversation(ctx, a, conversationSid)
	if err != nil {
		return err
	}
	p, ok, err := s.self(ctx, a, c.Sid)
	if err != nil || !ok {
		return err // after wrap-up there is no horizon to move
	}
	index = min(index, c.NextIndex-1)
	if index < 0 || p.LastReadMessageIndex != nil && *p.LastReadMessageIndex >= index {
		return nil
	}
	_, err = s.conv.UpdateParticipant(s.origin(ctx, a), c.ServiceSid, c.Sid, p.Sid,
		conversations.ParticipantParams{LastReadMessageIndex: &index, Source: sourceDesk})
	return err
}

// Typing tells the conversation's other participants that the agent
// started or stopped typing.
func (s *Service) Typing(ctx context.Context, a Agent, conversationSid string, on bool) error {
	c, err := s.conversation(ctx, a, conversationSid)
	if err != nil {
		return err
	}
	p, err := s.member(ctx, a, c)
	if err != nil || s.signal == nil {
		return err
	}
	t := events.TypingStarted
	if !on {
		t = events.TypingEnded
	}
	return s.signal.Signal(ctx, events.Event{Type: t, ServiceSid: c.ServiceSid, ConversationSid: c.Sid, Sid: p.Sid})
}
