package supervise

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
)

// Supervisor is the signed-in supervisor a monitoring call acts for.
type Supervisor struct {
	WorkspaceSid string
	WorkerSid    string // "" when they have no worker
	Identity     string // their conversations identity
	Name         string // the name they signed in with
}

// LiveConversation is a row of the monitor: a live task and its conversation.
type LiveConversation struct {
	ConversationSid string
	TaskSid         string
	Channel         string // desk.ChannelSMS, ChannelWhatsApp or ChannelChat
	CustomerName    string
	CustomerAddress string
	Agent           string // who holds or is offered the task; "" for nobody
	Queue           string
	Status          string // the task's: pending, reserved, assigned, wrapping
	Since           time.Time
}

// liveStatuses are the task states the monitor lists.
var liveStatuses = []string{taskrouter.TaskPending, taskrouter.TaskReserved, taskrouter.TaskAssigned, taskrouter.TaskWrapping}

// maxLive bounds the monitor's rows: far more than a supervisor reads.
const maxLive = 1000

// monTaskRow is a task on a conversation with its interaction channel.
type monTaskRow struct {
	taskrouter.Task
	ConversationSid string
	ChannelSid      string
	InteractionSid  string
	ChannelType     string
	ChannelStatus   string
}

const monTaskSelect = `SELECT t.*, c.media_channel_sid AS conversation_sid, c.sid AS channel_sid,
	c.interaction_sid, c.type AS channel_type, c.status AS channel_status
	FROM tasks t JOIN interaction_invites i ON i.task_sid = t.sid JOIN interaction_channels c ON c.sid = i.channel_sid`

func (s *Service) monRead(ctx context.Context) *gorm.DB { return s.db.Gorm.WithContext(ctx) }

// LiveConversations lists the workspace's live tasks on conversations,
// the longest waiting first.
func (s *Service) LiveConversations(ctx context.Context, sup Supervisor) ([]LiveConversation, error) {
	var rows []monTaskRow
	if err := s.monRead(ctx).Raw(monTaskSelect+` WHERE t.workspace_sid = ? AND t.assignment_status IN ?
		ORDER BY t.date_created, t.sid LIMIT ?`, sup.WorkspaceSid, liveStatuses, maxLive).Scan(&rows).Error; err != nil {
		return nil, errs.Wrap(err, "live conversations")
	}
	names, err := s.monNames(ctx, sup.WorkspaceSid)
	if err != nil {
		return nil, err
	}
	offered, err := s.monOffered(ctx, rows)
	if err != nil {
		return nil, err
	}
	out := make([]LiveConversation, 0, len(rows))
	for _, r := range rows {
		out = append(out, s.monRow(r, names, offered))
	}
	return out, nil
}

func (s *Service) monRow(r monTaskRow, names, offered map[string]string) LiveConversation {
	attrs := monAttrs(r.Attributes)
	lc := LiveConversation{ConversationSid: r.ConversationSid, TaskSid: r.Sid, Channel: desk.DeskChannel(r.ChannelType),
		CustomerName: attrs.CustomerName, CustomerAddress: attrs.CustomerAddress, Queue: names[r.TaskQueueSid],
		Status: r.AssignmentStatus, Since: r.DateCreated}
	if lc.CustomerName == "" {
		lc.CustomerName = lc.CustomerAddress
	}
	switch {
	case r.WorkerSid != "":
		lc.Agent = names[r.WorkerSid]
	case offered[r.Sid] != "":
		lc.Agent = names[offered[r.Sid]]
	}
	return lc
}

type monTaskAttrs struct {
	CustomerName    string `json:"customerName"`
	CustomerAddress string `json:"customerAddress"`
}

func monAttrs(raw string) monTaskAttrs {
	var a monTaskAttrs
	_ = json.Unmarshal([]byte(raw), &a) // a task's attributes are a JSON object; only these fields are read
	return a
}

// monNames names the workspace's workers and queues by SID.
func (s *Service) monNames(ctx context.Context, workspaceSid string) (map[string]string, error) {
	names := map[string]string{}
	workers, _, err := s.tr.Workers(ctx, workspaceSid, taskrouter.WorkerFilter{}, taskrouter.Page{Limit: maxLive * 10})
	if err != nil {
		return nil, err
	}
	for _, w := range workers {
		names[w.Sid] = desk.WorkerName(w)
	}
	queues, _, err := s.tr.TaskQueues(ctx, workspaceSid, taskrouter.TaskQueueFilter{}, taskrouter.Page{Limit: maxLive * 10})
	if err != nil {
		return nil, err
	}
	for _, q := range queues {
		names[q.Sid] = q.FriendlyName
	}
	return names, nil
}

// monOffered maps reserved tasks among rows to the worker offered each.
func (s *Service) monOffered(ctx context.Context, rows []monTaskRow) (map[string]string, error) {
	var sids []string
	for _, r := range rows {
		if r.AssignmentStatus == taskrouter.TaskReserved {
			sids = append(sids, r.Sid)
		}
	}
	out := map[string]string{}
	if len(sids) == 0 {
		return out, nil
	}
	var rs []taskrouter.Reservation
	if err := s.monRead(ctx).Where("task_sid IN ? AND reservation_status = ?", sids, taskrouter.ReservationPending).
		Find(&rs).Error; err != nil {
		return nil, errs.Wrap(err, "offered tasks")
	}
	for _, r := range rs {
		out[r.TaskSid] = r.WorkerSid
	}
	return out, nil
}

// monTask is the task a supervisor acts on in a conversation: its latest
// live task in their workspace, else its latest task there. A conversation
// without a task in the workspace is not found, so a guessed SID learns
// nothing.
func (s *Service) monTask(ctx context.Context, sup Supervisor, conversationSid string) (monTaskRow, error) {
	var rows []monTaskRow
	if err := s.monRead(ctx).Raw(monTaskSelect+` WHERE c.media_channel_sid = ? AND t.workspace_sid = ?
		ORDER BY t.date_created DESC, t.sid DESC LIMIT 50`, conversationSid, sup.WorkspaceSid).Scan(&rows).Error; err != nil {
		return monTaskRow{}, errs.Wrap(err, "monitored task")
	}
	if len(rows) == 0 {
		return monTaskRow{}, errs.NotFoundf("Conversation %s was not found", conversationSid)
	}
	for _, r := range rows {
		if r.AssignmentStatus != taskrouter.TaskCompleted && r.AssignmentStatus != taskrouter.TaskCanceled {
			return r, nil
		}
	}
	return rows[0], nil
}

// Monitor is a conversation as a supervisor watches it.
type Monitor struct {
	ConversationSid string
	Channel         string // desk.ChannelSMS, ChannelWhatsApp or ChannelChat
	ChannelName     string // for people
	CustomerName    string
	CustomerAddress string
	State           string // the conversation's: active, inactive, closed
	Task            MonitorTask
	People          []Person
	// Joined says the supervisor is in the conversation: they can write.
	Joined bool
	Thread desk.Thread
}

// MonitorTask is the conversation's task as the supervisor sees it.
type MonitorTask struct {
	Sid    string
	Status string // pending, reserved, assigned, wrapping, completed, canceled
	Agent  string // who holds or is offered it
	Queue  string
	Since  time.Time
	Fields []desk.Field
}

// Live says the task can still be reassigned.
func (t MonitorTask) Live() bool {
	return t.Status == taskrouter.TaskPending || t.Status == taskrouter.TaskReserved || t.Status == taskrouter.TaskAssigned
}

// Person is someone in the conversation now.
type Person struct {
	Name string
	Role string // customer, agent, supervisor, or participant
}

// Monitor opens a conversation with a task in the supervisor's workspace,
// read-only, with the latest page of its thread. It adds nobody to the
// conversation and moves no read horizon.
func (s *Service) Monitor(ctx context.Context, sup Supervisor, conversationSid string) (Monitor, error) {
	m, err := s.MonitorPanel(ctx, sup, conversationSid)
	if err != nil {
		return m, err
	}
	m.Thread, err = s.desk.ObservedThread(ctx, monViewer(sup), conversationSid, monLatest)
	return m, err
}

// MonitorPanel is Monitor without the thread: the task, the people and
// whether the supervisor is in it.
func (s *Service) MonitorPanel(ctx context.Context, sup Supervisor, conversationSid string) (Monitor, error) {
	t, err := s.monTask(ctx, sup, conversationSid)
	if err != nil {
		return Monitor{}, err
	}
	c, err := s.monConversation(ctx, conversationSid)
	if err != nil {
		return Monitor{}, err
	}
	names, err := s.monNames(ctx, sup.WorkspaceSid)
	if err != nil {
		return Monitor{}, err
	}
	offered, err := s.monOffered(ctx, []monTaskRow{t})
	if err != nil {
		return Monitor{}, err
	}
	row := s.monRow(t, names, offered)
	m := Monitor{ConversationSid: c.Sid, Channel: row.Channel, ChannelName: desk.ChannelName(t.ChannelType),
		CustomerName: row.CustomerName, CustomerAddress: row.CustomerAddress, State: c.State,
		Task: MonitorTask{Sid: t.Sid, Status: t.AssignmentStatus, Agent: row.Agent, Queue: row.Queue, Since: t.DateCreated,
			Fields: desk.TaskFields(t.Attributes, c)}}
	if m.CustomerName == "" {
		m.CustomerName = c.FriendlyName
	}
	if m.People, err = s.monPeople(ctx, c); err != nil {
		return m, err
	}
	_, m.Joined, err = s.monJoined(ctx, sup, c.Sid)
	return m, err
}

// monLatest is a "before" index past any message: the latest page.
const monLatest = int64(1) << 62

// monViewer is the supervisor as the desk's thread renders for them.
func monViewer(sup Supervisor) desk.Agent {
	return desk.Agent{WorkspaceSid: sup.WorkspaceSid, WorkerSid: sup.WorkerSid, Identity: sup.Identity, Name: sup.Name}
}

// monPeople are the conversation's participants, named and with their
// part: staff by the interactions layer's record of them.
func (s *Service) monPeople(ctx context.Context, c conversations.Conversation) ([]Person, error) {
	var ps []conversations.Participant
	if err := s.monRead(ctx).Where("conversation_sid = ?", c.Sid).Order("date_created, sid").Find(&ps).Error; err != nil {
		return nil, errs.Wrap(err, "monitored participants")
	}
	var ips []interactions.Participant
	if err := s.monRead(ctx).Where("channel_sid IN (?) AND status = ?", s.monRead(ctx).Model(&interactions.Channel{}).Select("sid").
		Where("media_channel_sid = ?", c.Sid), interactions.ParticipantActive).Find(&ips).Error; err != nil {
		return nil, errs.Wrap(err, "monitored roles")
	}
	roles := map[string]string{}
	for _, ip := range ips {
		roles[ip.ConversationParticipantSid] = ip.Type
	}
	out := make([]Person, 0, len(ps))
	for _, p := range ps {
		name, err := s.desk.ParticipantName(ctx, c.ServiceSid, p)
		if err != nil {
			return nil, err
		}
		role := roles[p.Sid]
		if role == "" {
			role = "participant"
		}
		out = append(out, Person{Name: name, Role: role})
	}
	order := map[string]int{interactions.TypeCustomer: 0, interactions.TypeAgent: 1, interactions.TypeSupervisor: 2}
	slices.SortStableFunc(out, func(x, y Person) int {
		ox, okx := order[x.Role]
		oy, oky := order[y.Role]
		if !okx {
			ox = 3
		}
		if !oky {
			oy = 3
		}
		return ox - oy
	})
	return out, nil
}

// monJoined finds the supervisor's own part in the conversation: an
// active supervisor participant of the interactions layer.
func (s *Service) monJoined(ctx context.Context, sup Supervisor, conversationSid string) (interactions.Participant, bool, error) {
	var ip interactions.Participant
	if strings.TrimSpace(sup.Identity) == "" {
		return ip, false, nil
	}
	res := s.monRead(ctx).Where(`type = ? AND status = ? AND conversation_participant_sid IN (?)`,
		interactions.TypeSupervisor, interactions.ParticipantActive,
		s.monRead(ctx).Model(&conversations.Participant{}).Select("sid").
			Where("conversation_sid = ? AND identity = ?", conversationSid, sup.Identity)).Limit(1).Find(&ip)
	if res.Error != nil {
		return ip, false, errs.Wrap(res.Error, "supervisor participant")
	}
	return ip, res.RowsAffected > 0, nil
}

// MonitorOlder is the page of the thread before index `before`.
func (s *Service) MonitorOlder(ctx context.Context, sup Supervisor, conversationSid string, before int64) (desk.Thread, error) {
	if _, err := s.monTask(ctx, sup, conversationSid); err != nil {
		return desk.Thread{}, err
	}
	return s.desk.ObservedThread(ctx, monViewer(sup), conversationSid, before)
}

// Join adds the supervisor to the conversation as a supervisor participant,
// named as agents are (their worker's full name, else the name they signed
// in with), so the customer sees their messages under it. Joining again
// changes nothing.
func (s *Service) Join(ctx context.Context, sup Supervisor, conversationSid string) error {
	t, err := s.monTask(ctx, sup, conversationSid)
	if err != nil {
		return err
	}
	if _, in, err := s.monJoined(ctx, sup, conversationSid); err != nil || in {
		return err
	}
	if sup.Identity == "" {
		return errs.E(errs.Conflict, errs.CodeInvalidParam, "Your account has no identity to join conversations with: sign out and in again")
	}
	if t.ChannelStatus == interactions.ChannelClosed {
		return errs.E(errs.Conflict, errs.CodeInvalidParam, "This conversation has ended: there is nobody to talk to")
	}
	name := sup.Name
	if sup.WorkerSid != "" {
		if wk, err := s.tr.Worker(ctx, sup.WorkspaceSid, sup.WorkerSid); err == nil {
			name = desk.WorkerName(wk)
		}
	}
	media, err := json.Marshal(map[string]string{"identity": sup.Identity, "name": name})
	if err != nil {
		return errs.Wrap(err, "supervisor media properties")
	}
	_, err = s.ix.AddParticipant(ctx, t.InteractionSid, t.ChannelSid, interactions.ParticipantParams{
		Type: interactions.TypeSupervisor, MediaProperties: string(media)})
	return err
}

// Leave takes the supervisor out of a conversation they joined.
func (s *Service) Leave(ctx context.Context, sup Supervisor, conversationSid string) error {
	if _, err := s.monTask(ctx, sup, conversationSid); err != nil {
		return err
	}
	ip, in, err := s.monJoined(ctx, sup, conversationSid)
	if err != nil {
		return err
	}
	if !in {
		return errs.E(errs.Conflict, errs.CodeInvalidParam, "You have not joined this conversation, so there is nothing to leave")
	}
	_, err = s.ix.UpdateParticipant(ctx, ip.InteractionSid, ip.ChannelSid, ip.Sid, interactions.ParticipantClosed)
	return err
}

// Send writes the supervisor's message in a conversation they joined: it
// reaches the customer as an agent's does.
func (s *Service) Send(ctx context.Context, sup Supervisor, conversationSid, body string) error {
	if _, err := s.monTask(ctx, sup, conversationSid); err != nil {
		return err
	}
	if strings.TrimSpace(body) == "" {
		return errs.Invalidf("Write a message first")
	}
	if _, in, err := s.monJoined(ctx, sup, conversationSid); err != nil {
		return err
	} else if !in {
		return errs.E(errs.Conflict, errs.CodeInvalidParam, "Join the conversation before writing in it")
	}
	c, err := s.monConversation(ctx, conversationSid)
	if err != nil {
		return err
	}
	origin := conversations.WithOrigin(ctx, conversations.Origin{ClientIdentity: sup.Identity})
	_, err = s.conv.AddMessage(origin, c.ServiceSid, c.Sid, conversations.MessageParams{Author: &sup.Identity, Body: &body, Source: "SDK"})
	return err
}

// Watch is one open monitor page's view of what changed in its
// conversation. Like the desk's Live it sends the thread in index order
// exactly once: it remembers the last index the page has, drops events for
// indexes sent already and fills gaps from the database. It never writes:
// no read horizon, no typing. A Watch is used by one goroutine.
type Watch struct {
	s      *Service
	sup    Supervisor
	sid    string
	sent   int64 // the highest index the page has
	joined bool  // what the page's controls last showed
}

// WatchUpdate is what the page must re-render; nil and empty parts are
// unchanged.
type WatchUpdate struct {
	// Thread replaces the page's thread whole: it missed too much.
	Thread *desk.Thread
	// Append goes at the end of the thread; Replace re-renders bubbles the
	// page has; Removed deletes them by index.
	Append  []desk.Item
	Replace []desk.Message
	Removed []int64
	Typing  *desk.Typing
	// Panel is the task and the people (its Thread is empty); Controls
	// says Panel.Joined changed, so the join, leave and composer change.
	Panel    *Monitor
	Controls bool
}

// Empty reports whether nothing changed.
func (u WatchUpdate) Empty() bool {
	return u.Thread == nil && len(u.Append) == 0 && len(u.Replace) == 0 && len(u.Removed) == 0 && u.Typing == nil && u.Panel == nil
}

// monResyncLimit is how many missed messages a page gets appended; beyond
// it the thread is re-rendered.
const monResyncLimit = 100

// Watch starts watching a conversation with a task in the supervisor's
// workspace. Subscribe to its events before calling Hello, so none falls
// between the two.
func (s *Service) Watch(ctx context.Context, sup Supervisor, conversationSid string) (*Watch, error) {
	if _, err := s.monTask(ctx, sup, conversationSid); err != nil {
		return nil, err
	}
	return &Watch{s: s, sup: sup, sid: conversationSid, sent: -1}, nil
}

// Hello brings a page that shows the thread up to index `after` (-1:
// nothing) up to date: what it missed, or the whole thread when it
// missed too much, with the panel.
func (w *Watch) Hello(ctx context.Context, after int64) (WatchUpdate, error) {
	var u WatchUpdate
	m, err := w.s.MonitorPanel(ctx, w.sup, w.sid)
	if err != nil {
		return u, err
	}
	u.Panel, u.Controls, w.joined = &m, true, m.Joined
	var next int64
	if err := w.s.monRead(ctx).Model(&conversations.Conversation{}).Select("next_index").Where("sid = ?", w.sid).
		Scan(&next).Error; err != nil {
		return u, errs.Wrap(err, "monitored conversation")
	}
	viewer := monViewer(w.sup)
	if next-1-after > monResyncLimit || after >= next {
		th, err := w.s.desk.ObservedThread(ctx, viewer, w.sid, monLatest)
		if err != nil {
			return u, err
		}
		u.Thread, w.sent = &th, th.Last
		return u, nil
	}
	th, err := w.s.desk.ObservedAfter(ctx, viewer, w.sid, after, monResyncLimit)
	if err != nil {
		return u, err
	}
	u.Append, w.sent = th.Items, max(after, th.Last)
	return u, nil
}

// Event turns a committed or signalled event into what the page must
// re-render: the conversation's own events, and TaskRouter events of its
// tasks.
func (w *Watch) Event(ctx context.Context, ev events.Event) (WatchUpdate, error) {
	var u WatchUpdate
	if strings.HasPrefix(string(ev.Type), events.TaskRouterPrefix) {
		if ev.TaskSid == "" {
			return u, nil
		}
		var n int64
		if err := w.s.monRead(ctx).Model(&interactions.Invite{}).Where("task_sid = ? AND channel_sid IN (?)", ev.TaskSid,
			w.s.monRead(ctx).Model(&interactions.Channel{}).Select("sid").Where("media_channel_sid = ?", w.sid)).
			Count(&n).Error; err != nil || n == 0 {
			return u, errs.Wrap(err, "monitored task event")
		}
		// A reassignment or transfer is a system line after the last message.
		if err := w.catchUp(ctx, &u); err != nil {
			return u, err
		}
		return u, w.panel(ctx, &u)
	}
	if ev.ConversationSid != w.sid {
		return u, nil
	}
	viewer := monViewer(w.sup)
	switch ev.Type {
	case events.MessageAdded:
		if ev.Index == nil || *ev.Index <= w.sent {
			return u, nil // sent already
		}
		// Everything up to this index, in order: fills any gap left by
		// events this node's listener lost.
		for w.sent < *ev.Index {
			th, err := w.s.desk.ObservedAfter(ctx, viewer, w.sid, w.sent, int(min(*ev.Index-w.sent, monResyncLimit)))
			if err != nil {
				return u, err
			}
			if th.Last < 0 {
				break
			}
			u.Append = append(u.Append, th.Items...)
			w.sent = th.Last
		}
	case events.MessageUpdated, events.DeliveryUpdated:
		if ev.Index != nil && *ev.Index > w.sent {
			return u, nil // its message, still to come, carries the change
		}
		var m conversations.Message
		res := w.s.monRead(ctx).Where("conversation_sid = ? AND sid = ?", w.sid, ev.Sid).Limit(1).Find(&m)
		if res.Error != nil || res.RowsAffected == 0 || m.Index > w.sent {
			return u, errs.Wrap(res.Error, "monitored message")
		}
		views, err := w.s.desk.ObservedMessages(ctx, viewer, w.sid, []conversations.Message{m})
		if err != nil {
			return u, err
		}
		u.Replace = views
	case events.MessageRemoved:
		if ev.Index != nil && *ev.Index <= w.sent {
			u.Removed = append(u.Removed, *ev.Index)
		}
	case events.ParticipantAdded, events.ParticipantRemoved:
		e, ok, err := w.s.desk.ParticipantEvent(ctx, ev.Sid, ev.Type == events.ParticipantAdded)
		if err != nil {
			return u, err
		}
		if ok {
			u.Append = append(u.Append, desk.Item{Event: &e})
		}
		return u, w.panel(ctx, &u)
	case events.TypingStarted, events.TypingEnded:
		var p conversations.Participant
		res := w.s.monRead(ctx).Where("sid = ? AND conversation_sid = ?", ev.Sid, w.sid).Limit(1).Find(&p)
		if res.Error != nil || res.RowsAffected == 0 {
			return u, errs.Wrap(res.Error, "typing participant")
		}
		if p.Identity != nil && *p.Identity == w.sup.Identity {
			return u, nil
		}
		c, err := w.s.monConversation(ctx, w.sid)
		if err != nil {
			return u, err
		}
		name, err := w.s.desk.ParticipantName(ctx, c.ServiceSid, p)
		if err != nil {
			return u, err
		}
		u.Typing = &desk.Typing{Name: name, On: ev.Type == events.TypingStarted}
	case events.ConversationStateUpdated, events.ConversationUpdated:
		return u, w.panel(ctx, &u)
	}
	return u, nil
}

// catchUp appends what the thread has after the page's last message: new
// messages, and system lines since it (the page keeps one of each line).
func (w *Watch) catchUp(ctx context.Context, u *WatchUpdate) error {
	th, err := w.s.desk.ObservedAfter(ctx, monViewer(w.sup), w.sid, w.sent, monResyncLimit)
	if err != nil {
		return err
	}
	u.Append = append(u.Append, th.Items...)
	w.sent = max(w.sent, th.Last)
	return nil
}

// panel re-renders the task and the people into u.
func (w *Watch) panel(ctx context.Context, u *WatchUpdate) error {
	m, err := w.s.MonitorPanel(ctx, w.sup, w.sid)
	if err != nil {
		return err
	}
	u.Panel = &m
	if m.Joined != w.joined {
		u.Controls, w.joined = true, m.Joined
	}
	return nil
}

// monConversation loads a monitored conversation; one removed while its
// task lives on is not found, as if it never was.
func (s *Service) monConversation(ctx context.Context, conversationSid string) (conversations.Conversation, error) {
	var c conversations.Conversation
	res := s.monRead(ctx).Where("sid = ?", conversationSid).Limit(1).Find(&c)
	if res.Error != nil {
		return c, errs.Wrap(res.Error, "monitored conversation")
	}
	if res.RowsAffected == 0 {
		return c, errs.NotFoundf("Conversation %s was not found", conversationSid)
	}
	return c, nil
}
