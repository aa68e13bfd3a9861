package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/channels/simulator"
)

// Demo traffic (make run): simulated customers text the demo numbers and
// two bot agents work alongside the people signed in, so the supervisor's
// queues, teams, monitoring and insights have live work to show. Everything
// goes through the real paths: the simulated carrier's webhook for
// customers, the desk for the bots.
const (
	// demoPhonePrefix marks the simulated customers' numbers; only their
	// tasks are ever abandoned by the traffic.
	demoPhonePrefix = "+1555030"
	// demoMaxLive bounds the demo's live tasks: a demo left running for a
	// day does not pile up work.
	demoMaxLive = 6
)

// demoBots are the bot agents: both take sales and support.
var demoBots = []struct{ email, name string }{
	{"chris.bot@example.com", "Chris (demo bot)"},
	{"dana.bot@example.com", "Dana (demo bot)"},
}

var (
	demoNames     = []string{"Maya Lopez", "Tom Becker", "Priya Shah", "Ola Nordmann", "Kenji Sato", "Fatima Diallo", "Lucas Moreau", "Zoe Carter"}
	demoQuestions = []string{
		"Hi, my order hasn't arrived yet. Can you check?",
		"Can I change the delivery address on my order?",
		"Do you have the blue one in size M?",
		"I was charged twice this month.",
		"How do I reset my password?",
		"What are your opening hours on Sunday?",
		"I'd like to upgrade my plan.",
		"The app keeps logging me out.",
	}
	demoFollowUps = []string{"Thanks! It's order 4471.", "Sure, the email is on the account.", "Great, thank you.", "OK, I'll wait."}
	demoReplies   = []string{"Hi! Thanks for reaching out, let me take a look.", "Hello, happy to help. One moment please.", "Hi there, I'm checking that for you now."}
	demoClosings  = []string{"All sorted. Anything else I can help with?", "Done. Have a great day!", "I've noted that; you'll get an update by email."}
	demoOutcomes  = []string{"resolved", "resolved", "resolved", "follow_up", "escalated", "no_response"}
)

// demoTraffic plays the customers and the bot agents.
type demoTraffic struct {
	tr          *taskrouter.Engine
	desk        *desk.Service
	sim         *simulator.Network
	providerSid string
	workspace   string
	bots        []desk.Agent
	log         *slog.Logger
	rnd         *rand.Rand
	// work is what each bot is doing, by conversation.
	work map[string]*botWork
	// patience is how long each waiting demo task's customer waits before
	// giving up (zero: they never do).
	patience  map[string]time.Duration
	nextTexts time.Time
}

// botWork is a conversation a bot holds and when its next step is due.
type botWork struct {
	bot desk.Agent
	// customer is the simulated phone's thread; zero for a customer the
	// traffic does not play (a person on /dev/phone or the webchat demo).
	customer simulator.Key
	step     int // 0 greet, 1 close, 2 complete
	due      time.Time
}

// startDemoTraffic provisions the bots (as a first sign-in would) and plays
// until ctx ends.
func startDemoTraffic(ctx context.Context, tr *taskrouter.Engine, dk *desk.Service, staff *auth.Directory,
	ch *channels.Service, sim *simulator.Network, log *slog.Logger) error {
	t, err := newDemoTraffic(ctx, tr, dk, staff, ch, sim, log, rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7)))
	if err != nil {
		return err
	}
	go t.run(ctx)
	return nil
}

// newDemoTraffic provisions the bots and readies the traffic, drawing its
// choices from rnd.
func newDemoTraffic(ctx context.Context, tr *taskrouter.Engine, dk *desk.Service, staff *auth.Directory,
	ch *channels.Service, sim *simulator.Network, log *slog.Logger, rnd *rand.Rand) (*demoTraffic, error) {
	account, err := devSimulatorAccount(ctx, ch)
	if err != nil {
		return nil, err
	}
	var members []devMember
	for _, b := range demoBots {
		s, err := staff.Provision(ctx, b.email, b.name, auth.RoleAgent)
		if err != nil {
			return nil, err
		}
		members = append(members, devMember{staff: s, skills: []string{"sales", "support"}})
	}
	if err := seedDevSkills(ctx, tr, members); err != nil {
		return nil, err
	}
	t := &demoTraffic{tr: tr, desk: dk, sim: sim, providerSid: account, workspace: members[0].staff.WorkspaceSid, log: log,
		rnd: rnd, work: map[string]*botWork{}, patience: map[string]time.Duration{}}
	for _, m := range members {
		s := m.staff
		t.bots = append(t.bots, desk.Agent{WorkspaceSid: s.WorkspaceSid, WorkerSid: s.WorkerSid, Identity: s.Identity, Name: s.Name})
	}
	return t, nil
}

// devSimulatorAccount is the SID of the simulator's provider account.
func devSimulatorAccount(ctx context.Context, ch *channels.Service) (string, error) {
	providers, err := ch.Providers(ctx)
	if err != nil {
		return "", err
	}
	for _, p := range providers {
		if p.Kind == channels.KindSimulator && p.FriendlyName == devSimulatorName {
			return p.Sid, nil
		}
	}
	return "", fmt.Errorf("the simulator's account is missing")
}

func (t *demoTraffic) run(ctx context.Context) {
	if err := t.botsAvailable(ctx); err != nil {
		t.log.Warn("demo traffic: bot activity", "err", err)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if err := t.step(ctx, now); err != nil && ctx.Err() == nil {
				t.log.Warn("demo traffic", "err", err)
			}
		}
	}
}

// botsAvailable puts the bots in the Available activity.
func (t *demoTraffic) botsAvailable(ctx context.Context) error {
	available := t.activity(ctx, "Available")
	for _, b := range t.bots {
		if err := t.desk.SetActivity(ctx, b, available); err != nil {
			return err
		}
	}
	return nil
}

// step moves the demo on by one tick: a new customer now and then, bots
// accepting, replying and completing, impatient customers leaving.
func (t *demoTraffic) step(ctx context.Context, now time.Time) error {
	live, _, err := t.tr.Tasks(ctx, t.workspace, taskrouter.TaskFilter{AssignmentStatus: []string{"pending", "reserved", "assigned", "wrapping"}},
		taskrouter.Page{Limit: 100})
	if err != nil {
		return err
	}
	if now.After(t.nextTexts) {
		t.nextTexts = now.Add(time.Duration(15+t.rnd.IntN(25)) * time.Second)
		if len(live) < demoMaxLive {
			if err := t.customerWrites(ctx); err != nil {
				return err
			}
		}
	}
	if err := t.abandon(ctx, live, now); err != nil {
		return err
	}
	for _, b := range t.bots {
		if err := t.answerOffers(ctx, b, now); err != nil {
			return err
		}
	}
	return t.advance(ctx, now)
}

// customerWrites has a new simulated customer text one of the demo
// numbers: SMS reaches Sales, WhatsApp Support.
func (t *demoTraffic) customerWrites(ctx context.Context) error {
	sender := devSMSSender
	if t.rnd.IntN(2) == 0 {
		sender = devWhatsAppSender
	}
	phone := fmt.Sprintf("%s%04d", demoPhonePrefix, t.rnd.IntN(10000))
	key, err := simulator.NewKey(phone, sender)
	if err != nil {
		return err
	}
	_, err = t.sim.Text(ctx, t.providerSid, simulator.Text{Key: key, ProfileName: pick(t.rnd, demoNames), Body: pick(t.rnd, demoQuestions)})
	return err
}

// abandon cancels the waiting task of a demo customer whose patience has
// run out; about a third of them have some.
func (t *demoTraffic) abandon(ctx context.Context, live []taskrouter.Task, now time.Time) error {
	for _, task := range live {
		if task.AssignmentStatus != "pending" && task.AssignmentStatus != "reserved" {
			delete(t.patience, task.Sid)
			continue
		}
		if !strings.Contains(task.Attributes, demoPhonePrefix) {
			continue
		}
		p, seen := t.patience[task.Sid]
		if !seen {
			p = 0
			if t.rnd.IntN(3) == 0 {
				p = time.Duration(5+t.rnd.IntN(90)) * time.Second
			}
			t.patience[task.Sid] = p
		}
		if p == 0 || now.Sub(task.DateCreated) < p {
			continue
		}
		canceled, reason := "canceled", "The customer left before an agent answered (demo traffic)"
		if _, err := t.tr.UpdateTask(ctx, t.workspace, task.Sid, taskrouter.TaskParams{AssignmentStatus: &canceled, Reason: &reason}); err != nil {
			t.log.Debug("demo traffic: abandon", "task", task.Sid, "err", err)
		}
		delete(t.patience, task.Sid)
	}
	return nil
}

// answerOffers has a bot accept its offers after a few seconds (now and
// then it rejects one), leaving people signed in time to get theirs.
func (t *demoTraffic) answerOffers(ctx context.Context, b desk.Agent, now time.Time) error {
	offers, _, err := t.tr.Reservations(ctx, t.workspace, taskrouter.ReservationFilter{WorkerSid: b.WorkerSid, ReservationStatus: "pending"}, taskrouter.Page{Limit: 10})
	if err != nil {
		return err
	}
	for _, r := range offers {
		if now.Sub(r.DateCreated) < time.Duration(6+len(r.Sid)%5)*time.Second {
			continue
		}
		if t.rnd.IntN(10) == 0 {
			if err := t.desk.Reject(ctx, b, r.Sid); err != nil {
				t.log.Debug("demo traffic: reject", "err", err)
			}
			continue
		}
		conversation, err := t.desk.Accept(ctx, b, r.Sid)
		if err != nil {
			t.log.Debug("demo traffic: accept", "err", err)
			continue
		}
		t.work[conversation] = &botWork{bot: b, customer: t.demoCustomer(ctx, r.TaskSid), due: now.Add(3 * time.Second)}
	}
	return nil
}

// advance takes each bot's conversations one step on when due: greet (and
// the customer answers), close after a while, then complete with an
// outcome.
func (t *demoTraffic) advance(ctx context.Context, now time.Time) error {
	for conversation, w := range t.work {
		if now.Before(w.due) {
			continue
		}
		var err error
		switch w.step {
		case 0:
			err = t.desk.Send(ctx, w.bot, conversation, pick(t.rnd, demoReplies), nil)
			t.customerAnswers(ctx, w.customer)
			w.due = now.Add(time.Duration(30+t.rnd.IntN(90)) * time.Second)
		case 1:
			err = t.desk.Send(ctx, w.bot, conversation, pick(t.rnd, demoClosings), nil)
			if err == nil {
				err = t.desk.EndChat(ctx, w.bot, conversation)
			}
			w.due = now.Add(time.Duration(5+t.rnd.IntN(15)) * time.Second)
		default:
			err = t.desk.Complete(ctx, w.bot, conversation, desk.CompleteRequest{Disposition: pick(t.rnd, demoOutcomes)})
			delete(t.work, conversation)
		}
		w.step++
		if err != nil {
			// A supervisor may have moved the task on, or the customer
			// left: the bot lets the conversation go.
			t.log.Debug("demo traffic: bot", "conversation", conversation, "err", err)
			delete(t.work, conversation)
		}
	}
	return nil
}

// demoCustomer is the simulated phone's thread of a task's customer, or
// the zero Key when the customer is not one the traffic plays.
func (t *demoTraffic) demoCustomer(ctx context.Context, taskSid string) simulator.Key {
	task, err := t.tr.Task(ctx, t.workspace, taskSid)
	if err != nil {
		return simulator.Key{}
	}
	var attrs struct {
		CustomerAddress string `json:"customerAddress"`
	}
	_ = json.Unmarshal([]byte(task.Attributes), &attrs) // the engine stores a JSON object
	phone := strings.TrimPrefix(attrs.CustomerAddress, "whatsapp:")
	if !strings.HasPrefix(phone, demoPhonePrefix) {
		return simulator.Key{}
	}
	sender := devSMSSender
	if strings.HasPrefix(attrs.CustomerAddress, "whatsapp:") {
		sender = devWhatsAppSender
	}
	k, err := simulator.NewKey(phone, sender)
	if err != nil {
		return simulator.Key{}
	}
	return k
}

// customerAnswers has a demo customer write back a few seconds later,
// through the carrier as they would.
func (t *demoTraffic) customerAnswers(ctx context.Context, k simulator.Key) {
	if k == (simulator.Key{}) {
		return
	}
	body := pick(t.rnd, demoFollowUps)
	go func() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(4 * time.Second):
		}
		if _, err := t.sim.Text(ctx, t.providerSid, simulator.Text{Key: k, Body: body}); err != nil && ctx.Err() == nil {
			t.log.Debug("demo traffic: follow-up", "err", err)
		}
	}()
}

// activity is the SID of the demo workspace's activity of that name.
func (t *demoTraffic) activity(ctx context.Context, name string) string {
	found, _, err := t.tr.Activities(ctx, t.workspace, taskrouter.ActivityFilter{FriendlyName: name}, taskrouter.Page{Limit: 1})
	if err != nil || len(found) == 0 {
		return ""
	}
	return found[0].Sid
}

func pick[T any](r *rand.Rand, from []T) T { return from[r.IntN(len(from))] }
