package desk

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// MaxTransferNote bounds a transfer's note: a hand-over, not a transcript.
const MaxTransferNote = 1000

// TransferChoices is what the transfer dialog offers: the workspace's other
// agents and its queues.
type TransferChoices struct {
	ConversationSid string
	Channel         string // the task channel's name, e.g. "Programmable Chat"
	Agents          []TransferAgent
	Queues          []TransferQueue
	// Pending is a transfer of this conversation the agent made that nobody
	// has accepted yet; while there is one, another cannot start.
	Pending *PendingTransfer
}

// TransferAgent is a colleague the conversation could go to.
type TransferAgent struct {
	WorkerSid string
	Name      string
	Activity  string // their activity's name: Available, Break…
	Available bool   // in an available activity
	// Free is their unused capacity on the task's channel, of Capacity.
	Free, Capacity int
	// CanTake says whether an offer could reach them now: available, the
	// channel switched on and capacity free. Transfers go only to them.
	CanTake bool
}

// TransferQueue is a queue the conversation could go to.
type TransferQueue struct {
	QueueSid        string
	Name            string
	Waiting         int // tasks pending or reserved in it
	AvailableAgents int // of its agents, those in an available activity
}

// PendingTransfer is a transfer waiting for its target to accept.
type PendingTransfer struct {
	TransferSid string
	Type        string // cold or warm
	To          string // the target's name
}

// TransferRequest is what the agent asked for.
type TransferRequest struct {
	To   string // a worker (WK…) or a queue (WQ…) of the agent's workspace
	Type string // cold (the default: the agent leaves when the target accepts) or warm (both stay)
	Note string // shown to whoever receives it, in the new task's attributes (transferNote)
}

// TransferChoices lists where the agent can transfer a conversation they are
// working: agents who can take it first, then the rest, by name; queues by
// name.
func (s *Service) TransferChoices(ctx context.Context, a Agent, conversationSid string) (TransferChoices, error) {
	w, err := s.workOn(ctx, a, conversationSid)
	if err != nil {
		return TransferChoices{}, err
	}
	if err := w.inConversation(); err != nil {
		return TransferChoices{}, err
	}
	out := TransferChoices{ConversationSid: conversationSid}
	ws := w.task.WorkspaceSid
	tc, err := s.tr.TaskChannel(ctx, ws, w.task.TaskChannelSid)
	if err != nil {
		return out, err
	}
	out.Channel = tc.FriendlyName
	if out.Agents, err = s.transferAgents(ctx, ws, a.WorkerSid, tc.Sid); err != nil {
		return out, err
	}
	if out.Queues, err = s.transferQueues(ctx, ws); err != nil {
		return out, err
	}
	out.Pending, err = s.pendingTransfer(ctx, w)
	return out, err
}

// maxListed bounds the workers and queues the dialog lists: far more than
// a person could scroll through.
const maxListed = 10000

func (s *Service) transferAgents(ctx context.Context, workspaceSid, self, taskChannelSid string) ([]TransferAgent, error) {
	workers, _, err := s.tr.Workers(ctx, workspaceSid, taskrouter.WorkerFilter{}, taskrouter.Page{Limit: maxListed})
	if err != nil {
		return nil, err
	}
	activities, _, err := s.tr.Activities(ctx, workspaceSid, taskrouter.ActivityFilter{}, taskrouter.Page{Limit: maxListed})
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, act := range activities {
		names[act.Sid] = act.FriendlyName
	}
	var out []TransferAgent
	for _, wk := range workers {
		if wk.Sid == self {
			continue
		}
		ag, err := s.transferAgent(ctx, wk, names[wk.ActivitySid], taskChannelSid)
		if err != nil {
			return nil, err
		}
		out = append(out, ag)
	}
	slices.SortStableFunc(out, func(x, y TransferAgent) int {
		if x.CanTake != y.CanTake {
			if x.CanTake {
				return -1
			}
			return 1
		}
		return cmp.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name))
	})
	return out, nil
}

// transferAgent describes one worker's room for the task's channel.
func (s *Service) transferAgent(ctx context.Context, wk taskrouter.Worker, activity, taskChannelSid string) (TransferAgent, error) {
	ag := TransferAgent{WorkerSid: wk.Sid, Name: displayName(wk), Activity: activity, Available: wk.Available}
	wc, err := s.tr.WorkerChannel(ctx, wk.WorkspaceSid, wk.Sid, taskChannelSid)
	switch {
	case errs.KindOf(err) == errs.NotFound:
		return ag, nil // no capacity on the channel at all
	case err != nil:
		return ag, err
	}
	ag.Capacity, ag.Free = wc.Capacity, max(0, wc.Capacity-wc.Used)
	ag.CanTake = wk.Available && wc.Available && ag.Free > 0
	return ag, nil
}

func (s *Service) transferQueues(ctx context.Context, workspaceSid string) ([]TransferQueue, error) {
	queues, _, err := s.tr.TaskQueues(ctx, workspaceSid, taskrouter.TaskQueueFilter{}, taskrouter.Page{Limit: maxListed})
	if err != nil {
		return nil, err
	}
	out := make([]TransferQueue, 0, len(queues))
	for chunk := range slices.Chunk(queues, taskrouter.MaxBulkTaskQueues) {
		sids := make([]string, len(chunk))
		for i, q := range chunk {
			sids[i] = q.Sid
		}
		stats, err := s.tr.TaskQueuesRealTimeStatistics(ctx, workspaceSid, sids)
		if err != nil {
			return nil, err
		}
		for i, q := range chunk {
			rt := stats[i].RealTime
			out = append(out, TransferQueue{QueueSid: q.Sid, Name: q.FriendlyName,
				Waiting:         rt.TasksByStatus[taskrouter.TaskPending] + rt.TasksByStatus[taskrouter.TaskReserved],
				AvailableAgents: rt.TotalAvailableWorkers})
		}
	}
	slices.SortStableFunc(out, func(x, y TransferQueue) int { return cmp.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)) })
	return out, nil
}

// pendingTransfer finds a transfer the agent made of this task that is
// still waiting for its target.
func (s *Service) pendingTransfer(ctx context.Context, w work) (*PendingTransfer, error) {
	if w.participant == nil {
		return nil, nil
	}
	var active []interactions.Transfer
	if err := s.read(ctx).Where("from_sid = ? AND status = ?", w.participant.Sid, "active").
		Order("date_created DESC").Find(&active).Error; err != nil {
		return nil, errs.Wrap(err, "pending transfers")
	}
	for _, t := range active {
		// Transfer reads a declined or timed-out transfer as failed.
		cur, err := s.ix.Transfer(ctx, t.InteractionSid, t.ChannelSid, t.Sid)
		if err != nil {
			return nil, err
		}
		if cur.Status == "active" {
			return &PendingTransfer{TransferSid: cur.Sid, Type: cur.Type, To: s.targetName(ctx, w.task.WorkspaceSid, cur.ToSid)}, nil
		}
	}
	return nil, nil
}

// targetName names a transfer's target for people; its SID if it is gone.
func (s *Service) targetName(ctx context.Context, workspaceSid, target string) string {
	if sid.Is(target, sid.Worker) {
		if wk, err := s.tr.Worker(ctx, workspaceSid, target); err == nil {
			return displayName(wk)
		}
	} else if q, err := s.tr.TaskQueue(ctx, workspaceSid, target); err == nil {
		return q.FriendlyName
	}
	return target
}

// displayName names a worker for people: the full_name attribute Flex and
// staff provisioning set, else its friendly name (an identity, often).
func displayName(wk taskrouter.Worker) string {
	var attrs struct {
		FullName string `json:"full_name"`
	}
	_ = json.Unmarshal([]byte(wk.Attributes), &attrs) // any JSON object; only this field is read
	if attrs.FullName != "" {
		return attrs.FullName
	}
	return wk.FriendlyName
}

// Transfer hands a conversation the agent is working to a colleague who can
// take it now, or to a queue, through the interaction's transfer: cold (the
// agent leaves when the target accepts) or warm (both stay until one
// leaves). The note travels in the new task's attributes as transferNote.
// Bad input changes nothing.
func (s *Service) Transfer(ctx context.Context, a Agent, conversationSid string, r TransferRequest) (interactions.Transfer, error) {
	w, err := s.workOn(ctx, a, conversationSid)
	if err != nil {
		return interactions.Transfer{}, err
	}
	if err := w.inConversation(); err != nil {
		return interactions.Transfer{}, err
	}
	r.Type = strings.ToLower(strings.TrimSpace(r.Type))
	if r.Type == "" {
		r.Type = interactions.TransferCold
	}
	if r.Type != interactions.TransferCold && r.Type != interactions.TransferWarm {
		return interactions.Transfer{}, errs.Invalidf("Transfer type must be cold or warm, got %q", r.Type)
	}
	r.Note = strings.TrimSpace(r.Note)
	if n := utf8.RuneCountInString(r.Note); n > MaxTransferNote {
		return interactions.Transfer{}, errs.Invalidf("The transfer note is %d characters; at most %d fit", n, MaxTransferNote)
	}
	if err := s.checkTransferTarget(ctx, a, w, r.To); err != nil {
		return interactions.Transfer{}, err
	}
	pending, err := s.pendingTransfer(ctx, w)
	if err != nil {
		return interactions.Transfer{}, err
	}
	if pending != nil {
		return interactions.Transfer{}, errs.E(errs.Conflict, errs.CodeInvalidParam,
			"This conversation is already being transferred to %s: cancel that transfer first", pending.To)
	}
	return s.ix.CreateTransfer(ctx, w.channel.InteractionSid, w.channel.Sid,
		interactions.TransferSpec{From: w.participant.Sid, To: r.To, Type: r.Type, Note: r.Note})
}

// checkTransferTarget refuses a target outside the agent's workspace, the
// agent themselves, and a colleague who could not be offered the task now:
// the transfer would wait for them with nobody told.
func (s *Service) checkTransferTarget(ctx context.Context, a Agent, w work, to string) error {
	switch {
	case to == a.WorkerSid:
		return errs.Invalidf("You cannot transfer a conversation to yourself")
	case !sid.Is(to, sid.TaskQueue) && !sid.Is(to, sid.Worker):
		return errs.Invalidf("Choose an agent (WK…) or a queue (WQ…) to transfer to")
	}
	return s.CheckTarget(ctx, w.task.WorkspaceSid, w.task.TaskChannelSid, to)
}

// CheckTarget refuses a queue (WQ…) or agent (WK…) to hand a task on
// taskChannelSid to — by a transfer or a supervisor's reassignment — that
// is not of the workspace, or an agent an offer could not reach now.
func (s *Service) CheckTarget(ctx context.Context, workspaceSid, taskChannelSid, to string) error {
	if sid.Is(to, sid.TaskQueue) {
		if _, err := s.tr.TaskQueue(ctx, workspaceSid, to); err != nil {
			if errs.KindOf(err) == errs.NotFound {
				return errs.Invalidf("Queue %s is not a queue of your workspace", to)
			}
			return err
		}
		return nil
	}
	wk, err := s.tr.Worker(ctx, workspaceSid, to)
	if errs.KindOf(err) == errs.NotFound {
		return errs.Invalidf("Agent %s is not an agent of your workspace", to)
	}
	if err != nil {
		return err
	}
	act, err := s.tr.Activity(ctx, workspaceSid, wk.ActivitySid)
	if err != nil {
		return err
	}
	ag, err := s.transferAgent(ctx, wk, act.FriendlyName, taskChannelSid)
	if err != nil {
		return err
	}
	if !ag.CanTake {
		why := ag.Activity
		if ag.Available {
			why = "at full capacity on this channel"
		}
		return errs.E(errs.Conflict, errs.CodeInvalidParam, "%s cannot take this conversation now (%s): choose another agent or a queue",
			ag.Name, why)
	}
	return nil
}

// CancelTransfer withdraws the agent's transfer of a conversation that
// nobody accepted yet; the agent keeps working it.
func (s *Service) CancelTransfer(ctx context.Context, a Agent, conversationSid string) error {
	w, err := s.workOn(ctx, a, conversationSid)
	if err != nil {
		return err
	}
	if err := w.inConversation(); err != nil {
		return err
	}
	pending, err := s.pendingTransfer(ctx, w)
	if err != nil {
		return err
	}
	if pending == nil {
		return errs.E(errs.Conflict, errs.CodeInvalidParam, "No transfer of this conversation is waiting to be accepted")
	}
	_, err = s.ix.CancelTransfer(ctx, w.channel.InteractionSid, w.channel.Sid, pending.TransferSid)
	return err
}
