package desk

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// Channels as the desk names a conversation's medium: the icon on a card
// and the attachment limits of the composer.
const (
	ChannelSMS      = "sms"
	ChannelWhatsApp = "whatsapp"
	ChannelChat     = "chat"
)

// States of a task card.
const (
	StateOffered  = "offered"  // a pending reservation: accept or reject it
	StateAssigned = "assigned" // accepted: the agent is in the conversation
	StateWrapping = "wrapping" // the agent left; the task awaits completion
)

// Header is the top of the desktop: who is signed in, their activity and
// the activities they may switch to, and how much of their capacity is in use.
type Header struct {
	AgentName  string
	Activity   Activity // the current one
	Activities []Activity
	Capacity   []Capacity
}

// Activity is a worker state the agent can pick.
type Activity struct {
	Sid       string
	Name      string
	Available bool // offers reach the agent in it
}

// Capacity is the agent's use of one task channel.
type Capacity struct {
	Channel string // the task channel's unique name
	Used    int    // offers, assigned and wrapping tasks
	Of      int    // the worker channel's capacity
}

// TaskCard is one of the agent's offers or tasks.
type TaskCard struct {
	TaskSid         string
	ReservationSid  string
	ConversationSid string // "" for a task that is not a conversation's
	Channel         string // ChannelSMS, ChannelWhatsApp or ChannelChat
	CustomerName    string
	CustomerAddress string
	State           string // StateOffered, StateAssigned or StateWrapping
	// Since starts the card's timer: an offer counts the customer's wait
	// since the task was created, an assigned task the time since the
	// agent accepted, a wrapping one the time since wrap-up began.
	Since time.Time
	// ExpiresAt is when an offer times out (offers only).
	ExpiresAt time.Time
	Unread    int    // customer messages past the agent's read horizon
	Preview   string // the conversation's last message, shortened
	PreviewAt time.Time
}

// previewRunes bounds a card's last-message preview.
const previewRunes = 90

// liveReservations are the reservations that make cards: offers, and
// tasks the agent works or wraps up.
var liveReservations = []string{taskrouter.ReservationPending, taskrouter.ReservationAccepted, taskrouter.ReservationWrapping}

// Header is the agent's header: name, activity and capacity in use.
func (s *Service) Header(ctx context.Context, a Agent) (Header, error) {
	w, err := s.tr.Worker(ctx, a.WorkspaceSid, a.WorkerSid)
	if err != nil {
		return Header{}, err
	}
	h := Header{AgentName: a.Name}
	if h.AgentName == "" {
		h.AgentName = w.FriendlyName
	}
	acts, _, err := s.tr.Activities(ctx, a.WorkspaceSid, taskrouter.ActivityFilter{}, taskrouter.Page{Limit: 100})
	if err != nil {
		return Header{}, err
	}
	for _, act := range acts {
		v := Activity{Sid: act.Sid, Name: act.FriendlyName, Available: act.Available}
		h.Activities = append(h.Activities, v)
		if act.Sid == w.ActivitySid {
			h.Activity = v
		}
	}
	wcs, _, err := s.tr.WorkerChannels(ctx, a.WorkspaceSid, a.WorkerSid, taskrouter.Page{Limit: 100})
	if err != nil {
		return Header{}, err
	}
	tcs, _, err := s.tr.TaskChannels(ctx, a.WorkspaceSid, taskrouter.Page{Limit: 100})
	if err != nil {
		return Header{}, err
	}
	names := map[string]string{}
	for _, tc := range tcs {
		names[tc.Sid] = tc.UniqueName
	}
	for _, wc := range wcs {
		name := names[wc.TaskChannelSid]
		// A messaging desk: the catch-all and voice channels say nothing
		// about the agent's load here.
		if name == "default" || name == "voice" || wc.Capacity <= 0 || !wc.Available {
			continue
		}
		h.Capacity = append(h.Capacity, Capacity{Channel: name, Used: wc.Used, Of: wc.Capacity})
	}
	slices.SortFunc(h.Capacity, func(x, y Capacity) int { return strings.Compare(x.Channel, y.Channel) })
	return h, nil
}

// SetActivity moves the agent to another activity of their workspace. Going
// to an unavailable one rejects the offers still ringing, so they reach
// someone else at once.
func (s *Service) SetActivity(ctx context.Context, a Agent, activitySid string) error {
	if activitySid == "" {
		return errs.Invalidf("Pick an activity")
	}
	reject := true
	_, err := s.tr.UpdateWorker(ctx, a.WorkspaceSid, a.WorkerSid, taskrouter.WorkerParams{ActivitySid: &activitySid,
		RejectPendingReservations: &reject})
	return err
}

// Accept takes an offer: the task is assigned to the agent, who joins its
// conversation in the same transaction. It returns the conversation, ""
// for a task that is not a conversation's.
func (s *Service) Accept(ctx context.Context, a Agent, reservationSid string) (string, error) {
	return s.answer(ctx, a, reservationSid, taskrouter.ReservationAccepted)
}

// Reject declines an offer; the task is offered to someone else.
func (s *Service) Reject(ctx context.Context, a Agent, reservationSid string) error {
	_, err := s.answer(ctx, a, reservationSid, taskrouter.ReservationRejected)
	return err
}

// answer accepts or rejects one of the agent's own offers; another
// worker's reservation is not found.
func (s *Service) answer(ctx context.Context, a Agent, reservationSid, status string) (string, error) {
	r, err := s.tr.UpdateReservationOf(ctx, a.WorkspaceSid, taskrouter.ReservationFilter{WorkerSid: a.WorkerSid}, reservationSid,
		taskrouter.ReservationParams{ReservationStatus: &status})
	if errs.KindOf(err) == errs.Conflict {
		return "", errs.E(errs.Conflict, errs.CodeInvalidParam, "This offer is no longer open: it was answered, withdrawn or timed out")
	}
	if err != nil {
		return "", err
	}
	ch, err := s.channelOfTask(ctx, r.TaskSid)
	return ch.MediaChannelSid, err
}

// channelOfTask is the interaction channel a task was made for; the zero
// Channel for a task of its own.
func (s *Service) channelOfTask(ctx context.Context, taskSid string) (interactions.Channel, error) {
	var ch interactions.Channel
	err := s.read(ctx).Raw(`SELECT c.* FROM interaction_channels c JOIN interaction_invites i ON i.channel_sid = c.sid
		WHERE i.task_sid = ? LIMIT 1`, taskSid).Scan(&ch).Error
	return ch, errs.Wrap(err, "task channel")
}

// Tasks lists the agent's cards: offers first, oldest first, then the
// tasks they work or wrap up, oldest first. It costs at most five
// queries however many cards there are.
func (s *Service) Tasks(ctx context.Context, a Agent) ([]TaskCard, error) {
	var rs []taskrouter.Reservation
	if err := s.read(ctx).Where("workspace_sid = ? AND worker_sid = ? AND reservation_status IN ?", a.WorkspaceSid, a.WorkerSid,
		liveReservations).Order("date_created, sid").Find(&rs).Error; err != nil {
		return nil, errs.Wrap(err, "desk reservations")
	}
	if len(rs) == 0 {
		return nil, nil
	}
	taskSids := make([]string, len(rs))
	for i, r := range rs {
		taskSids[i] = r.TaskSid
	}
	var tasks []taskrouter.Task
	if err := s.read(ctx).Where("sid IN ?", taskSids).Find(&tasks).Error; err != nil {
		return nil, errs.Wrap(err, "desk tasks")
	}
	byTask := map[string]taskrouter.Task{}
	for _, t := range tasks {
		byTask[t.Sid] = t
	}
	chans, err := s.channelsOfTasks(ctx, taskSids)
	if err != nil {
		return nil, err
	}
	cards := make([]TaskCard, 0, len(rs))
	for _, r := range rs {
		cards = append(cards, card(r, byTask[r.TaskSid], chans[r.TaskSid]))
	}
	slices.SortStableFunc(cards, func(x, y TaskCard) int {
		return boolRank(x.State != StateOffered) - boolRank(y.State != StateOffered)
	})
	all := make([]*TaskCard, len(cards))
	for i := range cards {
		all[i] = &cards[i]
	}
	return cards, s.previews(ctx, a, all)
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// taskAttributes are what the interactions layer puts on a conversation's task.
type taskAttributes struct {
	ConversationSid string `json:"conversationSid"`
	ChannelType     string `json:"channelType"`
	CustomerName    string `json:"customerName"`
	CustomerAddress string `json:"customerAddress"`
}

// taskChannel is what a card needs of its task's interaction channel.
type taskChannel struct {
	TaskSid         string
	Sid             string
	Type            string
	MediaChannelSid string
}

// channelsOfTasks are the interaction channels the tasks were made for, by
// task; a task of its own has none.
func (s *Service) channelsOfTasks(ctx context.Context, taskSids []string) (map[string]taskChannel, error) {
	var rows []taskChannel
	if err := s.read(ctx).Raw(`SELECT i.task_sid, c.sid, c.type, c.media_channel_sid
		FROM interaction_invites i JOIN interaction_channels c ON c.sid = i.channel_sid
		WHERE i.task_sid IN ?`, taskSids).Scan(&rows).Error; err != nil {
		return nil, errs.Wrap(err, "task channels")
	}
	byTask := make(map[string]taskChannel, len(rows))
	for _, r := range rows {
		if _, ok := byTask[r.TaskSid]; !ok {
			byTask[r.TaskSid] = r
		}
	}
	return byTask, nil
}

// card describes one reservation and its task, all but what its
// conversation's messages say (previews fills that in).
func card(r taskrouter.Reservation, t taskrouter.Task, ch taskChannel) TaskCard {
	c := TaskCard{TaskSid: r.TaskSid, ReservationSid: r.Sid}
	switch r.ReservationStatus {
	case taskrouter.ReservationPending:
		c.State, c.Since, c.ExpiresAt = StateOffered, t.DateCreated, r.TimeoutAt
	case taskrouter.ReservationWrapping:
		c.State, c.Since = StateWrapping, r.DateUpdated
	default:
		c.State, c.Since = StateAssigned, r.DateUpdated
	}
	var attrs taskAttributes
	_ = json.Unmarshal([]byte(t.Attributes), &attrs)
	c.CustomerName, c.CustomerAddress = attrs.CustomerName, attrs.CustomerAddress
	c.ConversationSid, c.Channel = ch.MediaChannelSid, deskChannel(ch.Type)
	if ch.Sid == "" {
		c.Channel = deskChannel(attrs.ChannelType)
	}
	if c.CustomerName == "" {
		c.CustomerName = c.CustomerAddress
	}
	if c.CustomerName == "" {
		c.CustomerName = "Task " + t.Sid
	}
	return c
}

// previews sets what the cards' conversations' messages say: the preview
// of the last message and, on assigned cards, the unread count. Two
// queries for any number of cards, none when no card has a conversation.
func (s *Service) previews(ctx context.Context, a Agent, cards []*TaskCard) error {
	var sids, assigned []string
	for _, c := range cards {
		c.Preview, c.PreviewAt, c.Unread = "", time.Time{}, 0
		if c.ConversationSid == "" {
			continue
		}
		sids = append(sids, c.ConversationSid)
		if c.State == StateAssigned {
			assigned = append(assigned, c.ConversationSid)
		}
	}
	if len(sids) == 0 {
		return nil
	}
	last, err := s.lastMessages(ctx, sids)
	if err != nil {
		return err
	}
	unread, err := s.unread(ctx, a, assigned)
	if err != nil {
		return err
	}
	for _, c := range cards {
		m, ok := last[c.ConversationSid]
		if !ok {
			continue
		}
		c.Preview, c.PreviewAt = preview(m), m.DateCreated
		if c.State == StateAssigned {
			c.Unread = unread[c.ConversationSid]
		}
	}
	return nil
}

// deskChannel maps an interaction channel type to the desk's channels.
func deskChannel(t string) string {
	switch t {
	case ChannelSMS, ChannelWhatsApp:
		return t
	}
	return ChannelChat
}

// lastMessages are the conversations' last messages, by conversation; a
// conversation without messages has none. Each is one probe of the
// (conversation_sid, idx) index on both databases.
func (s *Service) lastMessages(ctx context.Context, conversationSids []string) (map[string]conversations.Message, error) {
	var ms []conversations.Message
	if err := s.read(ctx).Raw(`SELECT m.* FROM conversations c JOIN messages m ON m.conversation_sid = c.sid
		WHERE c.sid IN ? AND m.idx = (SELECT MAX(x.idx) FROM messages x WHERE x.conversation_sid = c.sid)`,
		conversationSids).Scan(&ms).Error; err != nil {
		return nil, errs.Wrap(err, "last messages")
	}
	byConv := make(map[string]conversations.Message, len(ms))
	for _, m := range ms {
		byConv[m.ConversationSid] = m
	}
	return byConv, nil
}

// unread counts, by conversation, the messages of others past the agent's
// read horizon; a conversation the agent is not in has none.
func (s *Service) unread(ctx context.Context, a Agent, conversationSids []string) (map[string]int, error) {
	if a.Identity == "" || len(conversationSids) == 0 {
		return nil, nil
	}
	var rows []struct {
		ConversationSid string
		Unread          int
	}
	if err := s.read(ctx).Raw(`SELECT p.conversation_sid, (SELECT COUNT(*) FROM messages m WHERE m.conversation_sid = p.conversation_sid
			AND m.idx > COALESCE(p.last_read_message_index, -1) AND m.author <> ?) AS unread
		FROM participants p WHERE p.conversation_sid IN ? AND p.identity = ?`,
		a.Identity, conversationSids, a.Identity).Scan(&rows).Error; err != nil {
		return nil, errs.Wrap(err, "unread")
	}
	n := make(map[string]int, len(rows))
	for _, r := range rows {
		n[r.ConversationSid] = r.Unread
	}
	return n, nil
}

// self is the agent's participant in a conversation, if they are in it.
func (s *Service) self(ctx context.Context, a Agent, conversationSid string) (conversations.Participant, bool, error) {
	var p conversations.Participant
	if a.Identity == "" {
		return p, false, nil
	}
	res := s.read(ctx).Where("conversation_sid = ? AND identity = ?", conversationSid, a.Identity).Limit(1).Find(&p)
	if res.Error != nil {
		return p, false, errs.Wrap(res.Error, "agent participant")
	}
	return p, res.RowsAffected > 0, nil
}

// preview shortens a message to a card's one line.
func preview(m conversations.Message) string {
	text := ""
	if m.Body != nil {
		text = strings.Join(strings.Fields(*m.Body), " ")
	}
	if text == "" && m.Media != nil {
		var media []conversations.Media
		_ = json.Unmarshal([]byte(*m.Media), &media)
		if len(media) > 0 {
			text = "📎 " + media[0].Filename
			if media[0].Filename == "" {
				text = "📎 Attachment"
			}
		}
	}
	if utf8.RuneCountInString(text) > previewRunes {
		r := []rune(text)
		text = string(r[:previewRunes-1]) + "…"
	}
	return text
}
