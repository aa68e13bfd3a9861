package desk_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/jobs"
	"github.com/switchboardhq/switchboard/internal/media"
)

// deskFixture is a workspace with the interactions layer, its jobs and
// router driven by hand, and the desk over them.
type deskFixture struct {
	t       *testing.T
	ctx     context.Context
	d       *db.DB
	conv    *conversations.Engine
	tr      *taskrouter.Engine
	desk    *desk.Service
	runner  *jobs.Runner
	router  *taskrouter.Router
	ws      taskrouter.Workspace
	service string
	signals *signals
}

// signals records what the desk signals (typing).
type signals struct{ got []events.Event }

func (s *signals) Signal(_ context.Context, ev events.Event) error {
	s.got = append(s.got, ev)
	return nil
}

func newDeskFixture(t *testing.T, d *db.DB) *deskFixture {
	t.Helper()
	ctx := context.Background()
	acct, err := auth.NewStore(d).EnsureAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conversations.Bootstrap(ctx, d, acct.Sid); err != nil {
		t.Fatal(err)
	}
	if err := taskrouter.Bootstrap(ctx, d, acct.Sid); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	f := &deskFixture{t: t, ctx: ctx, d: d, conv: conversations.New(d, acct.Sid), tr: taskrouter.New(d, acct.Sid), signals: &signals{}}
	ix := interactions.New(d, f.conv, f.tr)
	store, err := media.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := media.New(d, store, []byte("0123456789abcdef0123456789abcdef"), nil)
	f.conv.SetMediaLinker(m)
	f.desk = desk.New(d, f.conv, f.tr, ix)
	f.desk.SetMedia(m)
	f.desk.SetSignaller(f.signals)
	f.runner = jobs.NewRunner(d, log)
	f.router = taskrouter.NewRouter(f.tr, log)
	f.conv.RegisterJobs(f.runner)
	f.tr.RegisterJobs(f.runner)
	ix.RegisterJobs(f.runner)
	if f.ws, err = f.tr.DefaultWorkspace(ctx); err != nil {
		t.Fatal(err)
	}
	svc, err := f.conv.ResolveService(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	f.service = svc.Sid
	return f
}

func (f *deskFixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *deskFixture) activity(name string) string {
	f.t.Helper()
	acts, _, err := f.tr.Activities(f.ctx, f.ws.Sid, taskrouter.ActivityFilter{FriendlyName: name}, taskrouter.Page{Limit: 1})
	f.must(err)
	if len(acts) != 1 {
		f.t.Fatalf("no activity %s", name)
	}
	return acts[0].Sid
}

// agent adds a worker whose conversations identity is identity, in activity.
func (f *deskFixture) agent(name, identity, activity string) desk.Agent {
	f.t.Helper()
	act := f.activity(activity)
	w, err := f.tr.CreateWorker(f.ctx, f.ws.Sid, taskrouter.WorkerParams{FriendlyName: &name,
		Attributes: ptr(`{"identity":"` + identity + `"}`), ActivitySid: &act})
	f.must(err)
	return desk.Agent{WorkspaceSid: f.ws.Sid, WorkerSid: w.Sid, Identity: identity, Name: name}
}

func ptr[T any](v T) *T { return &v }

// settle runs due jobs and routes until nothing more happens.
func (f *deskFixture) settle() {
	f.t.Helper()
	for range 5 {
		n, err := f.runner.RunDue(f.ctx)
		f.must(err)
		m, err := f.router.RouteWorkspace(f.ctx, f.ws.Sid)
		f.must(err)
		if n == 0 && m == 0 {
			return
		}
	}
}

// smsCustomer opens a conversation with a customer texting from phone.
func (f *deskFixture) smsCustomer(phone, name string) string {
	f.t.Helper()
	c, err := f.conv.CreateConversation(f.ctx, f.service, conversations.ConversationParams{})
	f.must(err)
	_, err = f.conv.AddParticipant(f.ctx, f.service, c.Sid, conversations.ParticipantParams{Address: &phone,
		ProxyAddress: ptr("+15550001000"), Attributes: ptr(`{"friendlyName":"` + name + `"}`)})
	f.must(err)
	return c.Sid
}

// chatCustomer opens a conversation with a webchat guest.
func (f *deskFixture) chatCustomer(identity, name string) string {
	f.t.Helper()
	c, err := f.conv.CreateConversation(f.ctx, f.service, conversations.ConversationParams{})
	f.must(err)
	_, err = f.conv.AddParticipant(f.ctx, f.service, c.Sid, conversations.ParticipantParams{Identity: &identity,
		Attributes: ptr(`{"friendlyName":"` + name + `"}`)})
	f.must(err)
	return c.Sid
}

func (f *deskFixture) say(conversationSid, author, body string) int64 {
	f.t.Helper()
	m, err := f.conv.AddMessage(f.ctx, f.service, conversationSid, conversations.MessageParams{Author: &author, Body: &body})
	f.must(err)
	return m.Index
}

// offer is the agent's one card, which must be an offer.
func (f *deskFixture) offer(a desk.Agent) desk.TaskCard {
	f.t.Helper()
	cards, err := f.desk.Tasks(f.ctx, a)
	f.must(err)
	if len(cards) != 1 || cards[0].State != desk.StateOffered {
		f.t.Fatalf("cards = %+v, want one offer", cards)
	}
	return cards[0]
}

// held gives the agent the customer's conversation: the customer writes,
// the agent is offered it and accepts.
func (f *deskFixture) held(a desk.Agent, conversationSid, customer string) {
	f.t.Helper()
	f.say(conversationSid, customer, "Hello?")
	f.settle()
	sid, err := f.desk.Accept(f.ctx, a, f.offer(a).ReservationSid)
	f.must(err)
	if sid != conversationSid {
		f.t.Fatalf("accepting opened %s, want %s", sid, conversationSid)
	}
}

func wantKind(t *testing.T, what string, err error, kind errs.Kind) {
	t.Helper()
	if errs.KindOf(err) != kind {
		t.Fatalf("%s: error %v (kind %d), want kind %d", what, err, errs.KindOf(err), kind)
	}
}

func TestACustomersMessageBecomesAnOfferCardWithTheCustomerAndItsDeadline(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newDeskFixture(t, d)
		ana := f.agent("Ana", "ana", "Available")
		c := f.smsCustomer("+34600111222", "Lucía")
		f.say(c, "+34600111222", "Where is my order?")
		f.settle()

		card := f.offer(ana)
		if card.ConversationSid != c || card.Channel != desk.ChannelSMS || card.CustomerName != "Lucía" ||
			card.CustomerAddress != "+34600111222" || card.Preview != "Where is my order?" {
			t.Fatalf("offer card %+v", card)
		}
		r, err := f.tr.Reservation(f.ctx, f.ws.Sid, card.ReservationSid)
		f.must(err)
		if !card.ExpiresAt.Equal(r.TimeoutAt) || card.Since.IsZero() || card.Since.After(time.Now()) {
			t.Fatalf("offer timer: since %v, expires %v; the reservation times out at %v", card.Since, card.ExpiresAt, r.TimeoutAt)
		}
		// An offer is not a held task: its conversation stays closed to the agent.
		_, err = f.desk.Canvas(f.ctx, ana, c)
		wantKind(t, "the canvas of an offer", err, errs.NotFound)
	})
}

func TestAcceptingJoinsTheAgentAndTheCardTurnsAssigned(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newDeskFixture(t, d)
		ana := f.agent("Ana", "ana", "Available")
		c := f.smsCustomer("+34600111222", "Lucía")
		f.held(ana, c, "+34600111222")

		cards, err := f.desk.Tasks(f.ctx, ana)
		f.must(err)
		if len(cards) != 1 || cards[0].State != desk.StateAssigned || !cards[0].ExpiresAt.IsZero() {
			t.Fatalf("after accepting: %+v", cards)
		}
		// Nothing read yet: the customer's message counts.
		if cards[0].Unread != 1 {
			t.Fatalf("unread = %d, want 1", cards[0].Unread)
		}
		cv, err := f.desk.Canvas(f.ctx, ana, c)
		f.must(err)
		if !cv.Writable || cv.State != desk.StateAssigned || cv.CustomerName != "Lucía" || cv.Channel != desk.ChannelSMS ||
			cv.TaskSid != cards[0].TaskSid {
			t.Fatalf("canvas %+v", cv)
		}
		var texts []string
		for _, it := range cv.Thread.Items {
			if it.Message != nil {
				texts = append(texts, it.Message.Author+": "+it.Message.Body)
			} else {
				texts = append(texts, "· "+it.Event.Text)
			}
		}
		if want := []string{"Lucía: Hello?", "· Ana joined"}; !slices.Equal(texts, want) {
			t.Fatalf("thread %q, want %q", texts, want)
		}
		h, err := f.desk.Header(f.ctx, ana)
		f.must(err)
		used := map[string]int{}
		for _, c := range h.Capacity {
			used[c.Channel] = c.Used
		}
		if used["sms"] != 1 || used["chat"] != 0 {
			t.Fatalf("capacity %+v, want sms 1 in use", h.Capacity)
		}
	})
}

func TestRejectingAnOfferTakesItOffTheDeskAndOthersOffersAreNotFound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newDeskFixture(t, d)
		ana := f.agent("Ana", "ana", "Available")
		ben := f.agent("Ben", "ben", "Offline")
		c := f.smsCustomer("+34600111222", "Lucía")
		f.say(c, "+34600111222", "Hi")
		f.settle()
		card := f.offer(ana)

		_, err := f.desk.Accept(f.ctx, ben, card.ReservationSid)
		wantKind(t, "accepting another agent's offer", err, errs.NotFound)
		wantKind(t, "rejecting another agent's offer", f.desk.Reject(f.ctx, ben, card.ReservationSid), errs.NotFound)
		_, err = f.desk.Accept(f.ctx, ana, "WR00000000000000000000000000000000")
		wantKind(t, "accepting a guessed offer", err, errs.NotFound)

		f.must(f.desk.Reject(f.ctx, ana, card.ReservationSid))
		cards, err := f.desk.Tasks(f.ctx, ana)
		f.must(err)
		if len(cards) != 0 {
			t.Fatalf("after rejecting: %+v", cards)
		}
		_, err = f.desk.Accept(f.ctx, ana, card.ReservationSid)
		wantKind(t, "accepting a rejected offer", err, errs.Conflict)
	})
}

func TestGoingAvailableBringsOffersAndGoingAwayRejectsThem(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newDeskFixture(t, d)
		ana := f.agent("Ana", "ana", "Offline")
		h, err := f.desk.Header(f.ctx, ana)
		f.must(err)
		var names []string
		for _, a := range h.Activities {
			names = append(names, a.Name)
		}
		slices.Sort(names)
		if h.AgentName != "Ana" || h.Activity.Name != "Offline" || !slices.Equal(names, []string{"Available", "Break", "Offline", "Unavailable"}) {
			t.Fatalf("header %+v", h)
		}
		c := f.smsCustomer("+34600111222", "Lucía")
		f.say(c, "+34600111222", "Hi")
		f.settle()
		if cards, _ := f.desk.Tasks(f.ctx, ana); len(cards) != 0 {
			t.Fatalf("an offline agent got %+v", cards)
		}

		f.must(f.desk.SetActivity(f.ctx, ana, f.activity("Available")))
		f.settle()
		f.offer(ana)
		if h, _ := f.desk.Header(f.ctx, ana); h.Activity.Name != "Available" || !h.Activity.Available {
			t.Fatalf("after going available: %+v", h.Activity)
		}

		f.must(f.desk.SetActivity(f.ctx, ana, f.activity("Break")))
		if cards, _ := f.desk.Tasks(f.ctx, ana); len(cards) != 0 {
			t.Fatalf("the offer still rings on a break: %+v", cards)
		}
		wantKind(t, "an activity of no workspace", f.desk.SetActivity(f.ctx, ana, "WA00000000000000000000000000000000"), errs.Invalid)
	})
}

func TestAGuessedOrForeignConversationIsNotFoundEverywhere(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newDeskFixture(t, d)
		ana := f.agent("Ana", "ana", "Available")
		mine := f.smsCustomer("+34600111222", "Lucía")
		f.held(ana, mine, "+34600111222")
		ben := f.agent("Ben", "ben", "Available")
		theirs := f.smsCustomer("+34600333444", "Marco")
		f.held(ben, theirs, "+34600333444")

		for _, sid := range []string{"CH00000000000000000000000000000000", theirs, "not-a-sid"} {
			calls := map[string]error{}
			_, calls["canvas"] = f.desk.Canvas(f.ctx, ana, sid)
			_, calls["older"] = f.desk.Older(f.ctx, ana, sid, 10)
			_, calls["after"] = f.desk.After(f.ctx, ana, sid, -1, 10)
			calls["send"] = f.desk.Send(f.ctx, ana, sid, "hi", nil)
			_, calls["upload"] = f.desk.Upload(f.ctx, ana, sid, "image/png", "a.png", 3, strings.NewReader("png"))
			calls["read"] = f.desk.MarkRead(f.ctx, ana, sid, 0)
			calls["typing"] = f.desk.Typing(f.ctx, ana, sid, true)
			_, calls["live open"] = f.desk.NewLive(ana).Open(f.ctx, sid, -1)
			for call, err := range calls {
				wantKind(t, call+" "+sid, err, errs.NotFound)
			}
		}
		ms, _, err := f.conv.Messages(f.ctx, f.service, theirs, false, conversations.Page{Limit: 10})
		f.must(err)
		if len(ms) != 1 || len(f.signals.got) != 0 {
			t.Fatalf("a refused call changed something: %d messages, %d signals", len(ms), len(f.signals.got))
		}
	})
}

func TestRepliesAreTheAgentsAndTheReadHorizonClearsTheUnreadCount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newDeskFixture(t, d)
		ana := f.agent("Ana", "ana", "Available")
		c := f.chatCustomer("guest-1", "Ada")
		f.held(ana, c, "guest-1")

		f.must(f.desk.Send(f.ctx, ana, c, "Hi Ada, how can I help?", nil))
		wantKind(t, "an empty reply", f.desk.Send(f.ctx, ana, c, "  \n", nil), errs.Invalid)
		ms, _, err := f.conv.Messages(f.ctx, f.service, c, false, conversations.Page{Limit: 10})
		f.must(err)
		if len(ms) != 2 || ms[1].Author != "ana" || ms[1].ParticipantSid == nil {
			t.Fatalf("messages %+v, want the reply authored by ana's participant", ms)
		}
		f.say(c, "guest-1", "My parcel is late")
		f.say(c, "guest-1", "Order 42")
		card := func() desk.TaskCard {
			cards, err := f.desk.Tasks(f.ctx, ana)
			f.must(err)
			return cards[0]
		}
		if got := card(); got.Unread != 3 || got.Preview != "Order 42" || got.Channel != desk.ChannelChat {
			t.Fatalf("card %+v, want 3 unread (the agent's own reply does not count)", got)
		}
		f.must(f.desk.MarkRead(f.ctx, ana, c, 2))
		if got := card().Unread; got != 1 {
			t.Fatalf("unread after reading to 2 = %d, want 1", got)
		}
		f.must(f.desk.MarkRead(f.ctx, ana, c, 99)) // past the end: up to the last message
		f.must(f.desk.MarkRead(f.ctx, ana, c, 0))  // never back
		if got := card().Unread; got != 0 {
			t.Fatalf("unread after reading everything = %d", got)
		}

		// Typing goes out as the agent's participant.
		f.must(f.desk.Typing(f.ctx, ana, c, true))
		p, err := f.conv.Participant(f.ctx, f.service, c, "ana")
		f.must(err)
		if n := len(f.signals.got); n != 1 || f.signals.got[0].Type != events.TypingStarted || f.signals.got[0].Sid != p.Sid {
			t.Fatalf("signals %+v", f.signals.got)
		}
	})
}

func TestTheAgentsTicksFollowTheCustomersReadHorizonOnChat(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newDeskFixture(t, d)
		ana := f.agent("Ana", "ana", "Available")
		c := f.chatCustomer("guest-1", "Ada")
		f.held(ana, c, "guest-1")
		f.must(f.desk.Send(f.ctx, ana, c, "one", nil))
		f.must(f.desk.Send(f.ctx, ana, c, "two", nil))
		status := func() []string {
			cv, err := f.desk.Canvas(f.ctx, ana, c)
			f.must(err)
			var out []string
			for _, it := range cv.Thread.Items {
				if it.Message != nil && it.Message.Mine {
					out = append(out, it.Message.Status)
				}
			}
			return out
		}
		if got := status(); !slices.Equal(got, []string{desk.StatusSent, desk.StatusSent}) {
			t.Fatalf("before the customer reads: %v", got)
		}
		guest, err := f.conv.Participant(f.ctx, f.service, c, "guest-1")
		f.must(err)
		_, err = f.conv.UpdateParticipant(f.ctx, f.service, c, guest.Sid, conversations.ParticipantParams{LastReadMessageIndex: ptr(int64(1))})
		f.must(err)
		if got := status(); !slices.Equal(got, []string{desk.StatusRead, desk.StatusSent}) {
			t.Fatalf("after the customer read to 1: %v", got)
		}
	})
}

func TestTheThreadPagesBackByIndexWithEventsWhereTheyHappened(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newDeskFixture(t, d)
		ana := f.agent("Ana", "ana", "Available")
		c := f.chatCustomer("guest-1", "Ada")
		for i := range 60 {
			f.say(c, "guest-1", fmt.Sprint("early ", i))
		}
		f.held(ana, c, "guest-1") // message 60, then Ana joins
		for i := range 60 {
			f.say(c, "guest-1", fmt.Sprint("late ", i))
		}

		cv, err := f.desk.Canvas(f.ctx, ana, c)
		f.must(err)
		th := cv.Thread
		if th.First != 71 || th.Last != 120 || !th.More || len(th.Items) != 50 {
			t.Fatalf("first page: %d..%d more=%v, %d items", th.First, th.Last, th.More, len(th.Items))
		}
		page := func(before int64) desk.Thread {
			th, err := f.desk.Older(f.ctx, ana, c, before)
			f.must(err)
			return th
		}
		mid := page(71)
		if mid.First != 21 || mid.Last != 70 || !mid.More || len(mid.Items) != 51 {
			t.Fatalf("second page: %d..%d more=%v, %d items", mid.First, mid.Last, mid.More, len(mid.Items))
		}
		for i, it := range mid.Items {
			if it.Event != nil {
				prev := mid.Items[i-1].Message
				if it.Event.Text != "Ana joined" || prev == nil || prev.Index != 60 {
					t.Fatalf("the join shows after %+v, want after message 60", prev)
				}
			}
		}
		last := page(21)
		if last.First != 0 || last.Last != 20 || last.More || len(last.Items) != 21 {
			t.Fatalf("last page: %d..%d more=%v, %d items", last.First, last.Last, last.More, len(last.Items))
		}
	})
}

func TestAttachmentsStayWithinTheChannelsLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newDeskFixture(t, d)
		ana := f.agent("Ana", "ana", "Available")
		c := f.smsCustomer("+34600111222", "Lucía")
		f.held(ana, c, "+34600111222")

		_, err := f.desk.Upload(f.ctx, ana, c, "application/zip", "a.zip", 10, strings.NewReader("zipzipzip"))
		wantKind(t, "a zip over SMS", err, errs.Invalid)
		big := bytes.Repeat([]byte("x"), 5*media.MB+1)
		_, err = f.desk.Upload(f.ctx, ana, c, "image/png", "big.png", int64(len(big)), bytes.NewReader(big))
		wantKind(t, "a declared 5 MB + 1 picture over SMS", err, errs.TooLarge)
		_, err = f.desk.Upload(f.ctx, ana, c, "image/png", "big.png", -1, bytes.NewReader(big))
		wantKind(t, "an undeclared 5 MB + 1 picture over SMS", err, errs.TooLarge)

		att, err := f.desk.Upload(f.ctx, ana, c, "image/png", "receipt.png", 3, strings.NewReader("png"))
		f.must(err)
		if !att.Image || att.Name != "receipt.png" {
			t.Fatalf("attachment %+v", att)
		}
		f.must(f.desk.Send(f.ctx, ana, c, "", []string{att.Sid}))
		cv, err := f.desk.Canvas(f.ctx, ana, c)
		f.must(err)
		lastItem := cv.Thread.Items[len(cv.Thread.Items)-1].Message
		if lastItem == nil || len(lastItem.Media) != 1 || !strings.HasPrefix(lastItem.Media[0].URL, "/media/"+att.Sid) ||
			lastItem.Status != desk.StatusSending {
			t.Fatalf("the sent picture: %+v", lastItem)
		}
		if cv.Attach.MaxFiles != 10 || cv.Attach.MaxBytes != 5*media.MB || !strings.Contains(cv.Attach.Accept, "image/png") {
			t.Fatalf("SMS limits %+v", cv.Attach)
		}
		eleven := make([]string, 11)
		wantKind(t, "eleven attachments over SMS", f.desk.Send(f.ctx, ana, c, "", eleven), errs.Invalid)
	})
}

// messageIndexes lists the indexes of the messages among items.
func messageIndexes(items []desk.Item) []int64 {
	var out []int64
	for _, it := range items {
		if it.Message != nil {
			out = append(out, it.Message.Index)
		}
	}
	return out
}

func TestALiveDesktopGetsTheOpenThreadInIndexOrderExactlyOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newDeskFixture(t, d)
		ana := f.agent("Ana", "ana", "Available")
		c := f.chatCustomer("guest-1", "Ada")
		f.held(ana, c, "guest-1")
		live := f.desk.NewLive(ana)

		u, err := live.Snapshot(f.ctx)
		f.must(err)
		if u.Header == nil || !u.TasksChanged || len(u.Tasks) != 1 || !slices.Equal(u.Follow, []string{c}) {
			t.Fatalf("snapshot %+v", u)
		}
		u, err = live.Open(f.ctx, c, -1)
		f.must(err)
		if u.Chrome == nil || !slices.Equal(messageIndexes(u.Append), []int64{0}) || len(u.Append) != 2 {
			t.Fatalf("opening with nothing shown: %+v", u)
		}

		idx := []int64{f.say(c, "guest-1", "one"), f.say(c, "guest-1", "two"), f.say(c, "guest-1", "three")}
		added := func(i int64) events.Event {
			return events.Event{Type: events.MessageAdded, ConversationSid: c, Index: &i}
		}
		// The last event first (the others were lost or are late): the gap is filled.
		u, err = live.Event(f.ctx, added(idx[2]))
		f.must(err)
		if got := messageIndexes(u.Append); !slices.Equal(got, idx) || !u.TasksChanged {
			t.Fatalf("appended %v, want %v", got, idx)
		}
		for _, i := range idx[:2] {
			u, err = live.Event(f.ctx, added(i))
			f.must(err)
			if len(u.Append) != 0 {
				t.Fatalf("message %d was sent twice", i)
			}
		}

		guest, err := f.conv.Participant(f.ctx, f.service, c, "guest-1")
		f.must(err)
		self, err := f.conv.Participant(f.ctx, f.service, c, "ana")
		f.must(err)
		u, err = live.Event(f.ctx, events.Event{Type: events.TypingStarted, ConversationSid: c, Sid: guest.Sid})
		f.must(err)
		if u.Typing == nil || u.Typing.Name != "Ada" || !u.Typing.On {
			t.Fatalf("the customer's typing: %+v", u.Typing)
		}
		u, err = live.Event(f.ctx, events.Event{Type: events.TypingStarted, ConversationSid: c, Sid: self.Sid})
		f.must(err)
		if u.Typing != nil {
			t.Fatal("the agent sees their own typing")
		}

		// The customer reads the agent's reply: its bubble is re-rendered read.
		f.must(f.desk.Send(f.ctx, ana, c, "reply", nil))
		u, err = live.Event(f.ctx, added(4))
		f.must(err)
		if len(u.Append) != 1 || u.Append[0].Message.Status != desk.StatusSent {
			t.Fatalf("the reply: %+v", u.Append)
		}
		_, err = f.conv.UpdateParticipant(f.ctx, f.service, c, guest.Sid, conversations.ParticipantParams{LastReadMessageIndex: ptr(int64(4))})
		f.must(err)
		u, err = live.Event(f.ctx, events.Event{Type: events.ParticipantUpdated, ConversationSid: c, Sid: guest.Sid})
		f.must(err)
		if len(u.Replace) != 1 || u.Replace[0].Index != 4 || u.Replace[0].Status != desk.StatusRead {
			t.Fatalf("read ticks: %+v", u.Replace)
		}

		// Events of a conversation the desktop does not follow are not its business.
		other := f.chatCustomer("guest-2", "Bo")
		if u2, err := live.Event(f.ctx, events.Event{Type: events.MessageAdded, ConversationSid: other, Index: ptr(int64(0))}); err != nil || !u2.Empty() {
			t.Fatalf("an unfollowed conversation's event: %+v %v", u2, err)
		}

		// A desktop that reconnects having shown up to 1 gets the rest.
		again := f.desk.NewLive(ana)
		u, err = again.Open(f.ctx, c, 1)
		f.must(err)
		if got := messageIndexes(u.Append); !slices.Equal(got, []int64{2, 3, 4}) || u.Canvas != nil {
			t.Fatalf("resync after 1: %v", got)
		}
		// One that shows more than the conversation has gets the canvas whole.
		u, err = f.desk.NewLive(ana).Open(f.ctx, c, 99)
		f.must(err)
		if u.Canvas == nil || u.Canvas.Thread.Last != 4 {
			t.Fatalf("resync from beyond the end: %+v", u)
		}
	})
}

func TestALiveDesktopHearsItsOffersAndItsAgentLeaving(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newDeskFixture(t, d)
		ana := f.agent("Ana", "ana", "Available")
		live := f.desk.NewLive(ana)
		_, err := live.Snapshot(f.ctx)
		f.must(err)
		c := f.chatCustomer("guest-1", "Ada")
		f.say(c, "guest-1", "Hi")
		f.settle()
		card := f.offer(ana)
		u, err := live.Event(f.ctx, events.Event{Type: events.TaskRouterPrefix + "reservation.created", WorkspaceSid: f.ws.Sid,
			WorkerSid: ana.WorkerSid, ReservationSid: card.ReservationSid})
		f.must(err)
		if u.Header == nil || len(u.Tasks) != 1 || u.Tasks[0].State != desk.StateOffered || len(u.Follow) != 0 {
			t.Fatalf("an offer: %+v", u)
		}
		_, err = f.desk.Accept(f.ctx, ana, card.ReservationSid)
		f.must(err)
		u, err = live.Event(f.ctx, events.Event{Type: events.TaskRouterPrefix + "reservation.accepted", WorkspaceSid: f.ws.Sid,
			WorkerSid: ana.WorkerSid, ReservationSid: card.ReservationSid})
		f.must(err)
		if len(u.Tasks) != 1 || u.Tasks[0].State != desk.StateAssigned || !slices.Equal(u.Follow, []string{c}) {
			t.Fatalf("accepted: %+v", u)
		}
		_, err = live.Open(f.ctx, c, 0)
		f.must(err)
		self, err := f.conv.Participant(f.ctx, f.service, c, "ana")
		f.must(err)

		// Ana leaves the conversation (wrap-up): the canvas turns read-only
		// and says so in the thread.
		f.must(f.conv.RemoveParticipant(f.ctx, f.service, c, self.Sid, "API"))
		u, err = live.Event(f.ctx, events.Event{Type: events.ParticipantRemoved, ConversationSid: c, Sid: self.Sid})
		f.must(err)
		if u.Chrome == nil || u.Chrome.Writable {
			t.Fatalf("after leaving the canvas is still writable: %+v", u.Chrome)
		}
		wantKind(t, "a reply after leaving", f.desk.Send(f.ctx, ana, c, "still here?", nil), errs.Conflict)
	})
}

func TestStaffAreNamedByTheirUserWhenTheirWorkerCarriesOnlyTheirIdentity(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newDeskFixture(t, d)
		// As staff provisioning makes them: the worker is named after the identity.
		ana := f.agent("ana@example.com", "ana@example.com", "Available")
		_, err := f.conv.CreateUser(f.ctx, f.service, conversations.UserParams{Identity: ptr("ana@example.com"), FriendlyName: ptr("Ana Lima")})
		f.must(err)
		c := f.chatCustomer("guest-1", "Ada")
		f.held(ana, c, "guest-1")
		f.must(f.desk.Send(f.ctx, ana, c, "Hi!", nil))
		cv, err := f.desk.Canvas(f.ctx, ana, c)
		f.must(err)
		var lines []string
		for _, it := range cv.Thread.Items {
			if it.Message != nil {
				lines = append(lines, it.Message.Author+": "+it.Message.Body)
			} else {
				lines = append(lines, "· "+it.Event.Text)
			}
		}
		if want := []string{"Ada: Hello?", "· Ana Lima joined", "Ana Lima: Hi!"}; !slices.Equal(lines, want) {
			t.Fatalf("thread %q, want %q", lines, want)
		}
	})
}
