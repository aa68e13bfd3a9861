package conversations_test

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/jobs"
)

// fixture is an engine over a fresh database with its default service.
type fixture struct {
	d       *db.DB
	e       *conversations.Engine
	service string
	ctx     context.Context
}

func newFixture(t *testing.T, d *db.DB) fixture {
	t.Helper()
	ctx := context.Background()
	acct, err := auth.NewStore(d).EnsureAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conversations.Bootstrap(ctx, d, acct.Sid); err != nil {
		t.Fatal(err)
	}
	e := conversations.New(d, acct.Sid)
	svc, err := e.ResolveService(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	return fixture{d: d, e: e, service: svc.Sid, ctx: ctx}
}

func ptr[T any](v T) *T { return &v }

func (f fixture) conversation(t *testing.T, p conversations.ConversationParams) conversations.Conversation {
	t.Helper()
	c, err := f.e.CreateConversation(f.ctx, f.service, p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sms(address, proxy string) conversations.ParticipantParams {
	return conversations.ParticipantParams{Address: &address, ProxyAddress: &proxy}
}

func chat(identity string) conversations.ParticipantParams {
	return conversations.ParticipantParams{Identity: &identity}
}

// wantCode asserts err carries the Twilio code.
func wantCode(t *testing.T, err error, code int) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want code %d", code)
	}
	if got := errs.CodeOf(err); got != code {
		t.Fatalf("error %q has code %d, want %d", err, got, code)
	}
}

func TestMessageIndexesAreGapFreeUnderConcurrentWriters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		c := f.conversation(t, conversations.ConversationParams{})
		const writers = 50
		var wg sync.WaitGroup
		indexes := make([]int64, writers)
		errors := make([]error, writers)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, err := f.e.AddMessage(f.ctx, f.service, c.Sid, conversations.MessageParams{Body: ptr(fmt.Sprint("m", i))})
				indexes[i], errors[i] = m.Index, err
			}()
		}
		wg.Wait()
		for i, err := range errors {
			if err != nil {
				t.Fatalf("writer %d: %v", i, err)
			}
		}
		sort.Slice(indexes, func(a, b int) bool { return indexes[a] < indexes[b] })
		for i, idx := range indexes {
			if idx != int64(i) {
				t.Fatalf("indexes = %v, want 0..%d with no gap or duplicate", indexes, writers-1)
			}
		}
		stored, _, err := f.e.Messages(f.ctx, f.service, c.Sid, false, conversations.Page{Limit: 100})
		if err != nil || len(stored) != writers {
			t.Fatalf("stored %d messages (%v), want %d", len(stored), err, writers)
		}
	})
}

func TestAnAddressPairBelongsToOneOpenConversation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		a := f.conversation(t, conversations.ConversationParams{})
		b := f.conversation(t, conversations.ConversationParams{})
		if _, err := f.e.AddParticipant(f.ctx, f.service, a.Sid, sms("+15550001111", "+15559990000")); err != nil {
			t.Fatal(err)
		}
		_, err := f.e.AddParticipant(f.ctx, f.service, b.Sid, sms("+15550001111", "+15559990000"))
		wantCode(t, err, conversations.CodePairInUse)
		// Another proxy number is another pair.
		if _, err := f.e.AddParticipant(f.ctx, f.service, b.Sid, sms("+15550001111", "+15559990001")); err != nil {
			t.Fatal(err)
		}
		if _, err := f.e.UpdateConversation(f.ctx, f.service, a.Sid, conversations.ConversationParams{State: ptr("closed")}); err != nil {
			t.Fatal(err)
		}
		c := f.conversation(t, conversations.ConversationParams{})
		if _, err := f.e.AddParticipant(f.ctx, f.service, c.Sid, sms("+15550001111", "+15559990000")); err != nil {
			t.Fatalf("closing the first conversation should free the pair: %v", err)
		}
	})
}

func TestConcurrentJoinsOfOnePairLetExactlyOneWin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		const n = 10
		convs := make([]conversations.Conversation, n)
		for i := range convs {
			convs[i] = f.conversation(t, conversations.ConversationParams{})
		}
		var wg sync.WaitGroup
		results := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, results[i] = f.e.AddParticipant(f.ctx, f.service, convs[i].Sid, sms("+15550002222", "+15559990000"))
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range results {
			switch {
			case err == nil:
				wins++
			case errs.CodeOf(err) != conversations.CodePairInUse:
				t.Fatalf("unexpected error %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d conversations got the pair, want exactly 1", wins)
		}
	})
}

func TestParticipantRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		c := f.conversation(t, conversations.ConversationParams{})
		if _, err := f.e.AddParticipant(f.ctx, f.service, c.Sid, chat("alice")); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name string
			p    conversations.ParticipantParams
			code int
		}{
			{"identity already in the conversation", chat("alice"), conversations.CodeIdentityTaken},
			{"neither identity nor address", conversations.ParticipantParams{}, errs.CodeInvalidParam},
			{"address is not a phone number", sms("12345", "+15559990000"), conversations.CodeBadAddress},
			{"address without proxy", conversations.ParticipantParams{Address: ptr("+15550003333")}, conversations.CodeBadProxyAddress},
			{"address equals proxy", sms("+15550003333", "+15550003333"), conversations.CodeAddressIsProxy},
			{"sms address with whatsapp proxy", sms("+15550003333", "whatsapp:+15559990000"), conversations.CodeBindingInvalid},
			{"attributes not JSON", conversations.ParticipantParams{Identity: ptr("bob"), Attributes: ptr("{")}, errs.CodeInvalidParam},
			{"unknown role", conversations.ParticipantParams{Identity: ptr("bob"), RoleSid: ptr("RL00000000000000000000000000000000")}, errs.CodeNotFound},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.e.AddParticipant(f.ctx, f.service, c.Sid, tc.p)
				wantCode(t, err, tc.code)
			})
		}
		members, _, err := f.e.Participants(f.ctx, f.service, c.Sid, conversations.Page{Limit: 50})
		if err != nil || len(members) != 1 {
			t.Fatalf("after rejected joins: %d participants (%v), want only alice", len(members), err)
		}
	})
}

func TestNonChatParticipantsAreCappedAtFifty(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		c := f.conversation(t, conversations.ConversationParams{})
		for i := range conversations.MaxNonChatParticipants {
			if _, err := f.e.AddParticipant(f.ctx, f.service, c.Sid, sms(fmt.Sprintf("+1555100%04d", i), "+15559990000")); err != nil {
				t.Fatal(err)
			}
		}
		_, err := f.e.AddParticipant(f.ctx, f.service, c.Sid, sms("+15552000000", "+15559990000"))
		wantCode(t, err, conversations.CodeNonChatLimit)
		if _, err := f.e.AddParticipant(f.ctx, f.service, c.Sid, chat("agent")); err != nil {
			t.Fatalf("a chat participant still fits: %v", err)
		}
	})
}

func TestClosedConversationIsFinal(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		c := f.conversation(t, conversations.ConversationParams{})
		m, err := f.e.AddMessage(f.ctx, f.service, c.Sid, conversations.MessageParams{Body: ptr("hi")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.e.UpdateConversation(f.ctx, f.service, c.Sid, conversations.ConversationParams{State: ptr("closed")}); err != nil {
			t.Fatal(err)
		}
		_, err = f.e.AddMessage(f.ctx, f.service, c.Sid, conversations.MessageParams{Body: ptr("again")})
		wantCode(t, err, conversations.CodeClosed)
		_, err = f.e.AddParticipant(f.ctx, f.service, c.Sid, chat("late"))
		wantCode(t, err, conversations.CodeClosed)
		_, err = f.e.UpdateMessage(f.ctx, f.service, c.Sid, m.Sid, conversations.MessageParams{Body: ptr("edit")})
		wantCode(t, err, conversations.CodeClosed)
		_, err = f.e.UpdateConversation(f.ctx, f.service, c.Sid, conversations.ConversationParams{State: ptr("active")})
		wantCode(t, err, conversations.CodeClosed)
		if err := f.e.DeleteConversation(f.ctx, f.service, c.Sid, "API"); err != nil {
			t.Fatalf("a closed conversation can still be deleted: %v", err)
		}
	})
}

func TestTimersMoveAConversationToInactiveThenClosed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		now := time.Now().UTC().Truncate(time.Second)
		clock := func() time.Time { return now }
		f.e.SetClock(clock)
		runner := jobs.NewRunner(d, slog.New(slog.DiscardHandler))
		runner.Now = clock
		f.e.RegisterJobs(runner)
		step := func(d time.Duration) {
			t.Helper()
			now = now.Add(d)
			if _, err := runner.RunDue(f.ctx); err != nil {
				t.Fatal(err)
			}
		}
		state := func(sid string) string {
			t.Helper()
			c, err := f.e.Conversation(f.ctx, f.service, sid)
			if err != nil {
				t.Fatal(err)
			}
			return c.State
		}

		c := f.conversation(t, conversations.ConversationParams{State: ptr("active"), TimerInactive: ptr("PT5M"), TimerClosed: ptr("PT1H")})
		if c.DateInactive == nil || !c.DateInactive.Equal(now.Add(5*time.Minute)) || c.DateClosed == nil {
			t.Fatalf("timers = %v / %v, want absolute dates", c.DateInactive, c.DateClosed)
		}
		if _, err := f.e.AddParticipant(f.ctx, f.service, c.Sid, sms("+15550004444", "+15559990000")); err != nil {
			t.Fatal(err)
		}
		step(4 * time.Minute)
		if s := state(c.Sid); s != "active" {
			t.Fatalf("after 4m state = %s, want active", s)
		}
		// Activity restarts the timers.
		if _, err := f.e.AddMessage(f.ctx, f.service, c.Sid, conversations.MessageParams{Body: ptr("still here")}); err != nil {
			t.Fatal(err)
		}
		step(4 * time.Minute)
		if s := state(c.Sid); s != "active" {
			t.Fatalf("4m after a message state = %s, want active", s)
		}
		step(2 * time.Minute)
		if s := state(c.Sid); s != "inactive" {
			t.Fatalf("6m after the last message state = %s, want inactive", s)
		}
		// An inbound message wakes an inactive conversation.
		if _, err := f.e.AddMessage(f.ctx, f.service, c.Sid, conversations.MessageParams{Body: ptr("back")}); err != nil {
			t.Fatal(err)
		}
		if s := state(c.Sid); s != "active" {
			t.Fatalf("after a message state = %s, want active", s)
		}
		step(61 * time.Minute)
		if s := state(c.Sid); s != "closed" {
			t.Fatalf("after the closed timer state = %s, want closed", s)
		}
		other := f.conversation(t, conversations.ConversationParams{})
		if _, err := f.e.AddParticipant(f.ctx, f.service, other.Sid, sms("+15550004444", "+15559990000")); err != nil {
			t.Fatalf("closing by timer should free the binding: %v", err)
		}
	})
}

func TestReadHorizon(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		c := f.conversation(t, conversations.ConversationParams{})
		p, err := f.e.AddParticipant(f.ctx, f.service, c.Sid, chat("alice"))
		if err != nil {
			t.Fatal(err)
		}
		if p.LastReadMessageIndex != nil {
			t.Fatalf("a new participant has read nothing, got horizon %d", *p.LastReadMessageIndex)
		}
		for i := range 3 {
			if _, err := f.e.AddMessage(f.ctx, f.service, c.Sid, conversations.MessageParams{Body: ptr(fmt.Sprint(i)), Author: ptr("bob")}); err != nil {
				t.Fatal(err)
			}
		}
		p, err = f.e.UpdateParticipant(f.ctx, f.service, c.Sid, "alice", conversations.ParticipantParams{LastReadMessageIndex: ptr(int64(1))})
		if err != nil || p.LastReadMessageIndex == nil || *p.LastReadMessageIndex != 1 || p.LastReadTimestamp == nil {
			t.Fatalf("horizon = %+v, %v", p, err)
		}
		_, err = f.e.UpdateParticipant(f.ctx, f.service, c.Sid, "alice", conversations.ParticipantParams{LastReadMessageIndex: ptr(int64(3))})
		wantCode(t, err, errs.CodeInvalidParam)
		got, _ := f.e.Participant(f.ctx, f.service, c.Sid, p.Sid)
		if *got.LastReadMessageIndex != 1 {
			t.Fatalf("a rejected update changed the horizon to %d", *got.LastReadMessageIndex)
		}
	})
}

func TestMessageAuthorMapsToItsParticipant(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		c := f.conversation(t, conversations.ConversationParams{})
		alice, _ := f.e.AddParticipant(f.ctx, f.service, c.Sid, chat("alice"))
		customer, _ := f.e.AddParticipant(f.ctx, f.service, c.Sid, sms("+15550005555", "+15559990000"))
		for author, want := range map[string]*string{"alice": &alice.Sid, "+15550005555": &customer.Sid, "system": nil} {
			m, err := f.e.AddMessage(f.ctx, f.service, c.Sid, conversations.MessageParams{Author: ptr(author), Body: ptr("x")})
			if err != nil {
				t.Fatal(err)
			}
			if (want == nil) != (m.ParticipantSid == nil) || want != nil && *want != *m.ParticipantSid {
				t.Fatalf("author %s: participant_sid = %v, want %v", author, m.ParticipantSid, want)
			}
		}
	})
}

func TestDeliveryReceiptsAggregateIntoMessageDelivery(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		c := f.conversation(t, conversations.ConversationParams{})
		p1, _ := f.e.AddParticipant(f.ctx, f.service, c.Sid, sms("+15550006661", "+15559990000"))
		p2, _ := f.e.AddParticipant(f.ctx, f.service, c.Sid, sms("+15550006662", "+15559990000"))
		m, _ := f.e.AddMessage(f.ctx, f.service, c.Sid, conversations.MessageParams{Body: ptr("hello")})
		record := func(p conversations.Participant, status string) {
			t.Helper()
			if _, err := f.e.RecordReceipt(f.ctx, m.Sid, p.Sid, "SM"+p.Sid[2:], status, 0); err != nil {
				t.Fatal(err)
			}
		}
		record(p1, "sent")
		record(p2, "sent")
		record(p1, "delivered")
		record(p1, "sent") // a late callback never moves a receipt backwards
		got, err := f.e.Deliveries(f.ctx, []string{m.Sid})
		if err != nil {
			t.Fatal(err)
		}
		want := conversations.Delivery{Total: 2, Sent: "all", Delivered: "some", Read: "none", Failed: "none", Undelivered: "none"}
		if got[m.Sid] != want {
			t.Fatalf("delivery = %+v, want %+v", got[m.Sid], want)
		}
		record(p2, "failed")
		got, _ = f.e.Deliveries(f.ctx, []string{m.Sid})
		if d := got[m.Sid]; d.Failed != "some" || d.Sent != "some" {
			t.Fatalf("after a failure delivery = %+v", d)
		}
		receipts, _, err := f.e.Receipts(f.ctx, f.service, c.Sid, m.Sid, conversations.Page{Limit: 50})
		if err != nil || len(receipts) != 2 {
			t.Fatalf("receipts = %d (%v), want one per participant", len(receipts), err)
		}
	})
}

func TestALateSentCallbackDoesNotHideAFailure(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		c := f.conversation(t, conversations.ConversationParams{})
		p, _ := f.e.AddParticipant(f.ctx, f.service, c.Sid, sms("+15550006663", "+15559990000"))
		m, _ := f.e.AddMessage(f.ctx, f.service, c.Sid, conversations.MessageParams{Body: ptr("hello")})
		for _, status := range []string{"undelivered", "sent"} {
			if _, err := f.e.RecordReceipt(f.ctx, m.Sid, p.Sid, "SM1", status, 30003); err != nil {
				t.Fatal(err)
			}
		}
		rs, _, _ := f.e.Receipts(f.ctx, f.service, c.Sid, m.Sid, conversations.Page{Limit: 50})
		if len(rs) != 1 || rs[0].Status != "undelivered" {
			t.Fatalf("receipts %+v, want one, still undelivered", rs)
		}
	})
}

func TestConcurrentFirstCallbacksMakeOneReceipt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		c := f.conversation(t, conversations.ConversationParams{})
		p, _ := f.e.AddParticipant(f.ctx, f.service, c.Sid, sms("+15550006664", "+15559990000"))
		m, _ := f.e.AddMessage(f.ctx, f.service, c.Sid, conversations.MessageParams{Body: ptr("hello")})
		statuses := []string{"sent", "delivered", "sent", "read", "delivered", "sent", "delivered", "sent"}
		errc := make(chan error, len(statuses))
		for _, st := range statuses {
			go func() {
				_, err := f.e.RecordReceipt(f.ctx, m.Sid, p.Sid, "SM1", st, 0)
				errc <- err
			}()
		}
		for range statuses {
			if err := <-errc; err != nil {
				t.Fatalf("a concurrent callback failed: %v", err)
			}
		}
		rs, _, _ := f.e.Receipts(f.ctx, f.service, c.Sid, m.Sid, conversations.Page{Limit: 50})
		if len(rs) != 1 || rs[0].Status != "read" {
			t.Fatalf("receipts %+v, want one, read", rs)
		}
	})
}

func TestEventsArriveAfterCommitOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx, cancel := context.WithCancel(f.ctx)
		defer cancel()
		bus := events.NewBus(ctx, d, slog.New(slog.DiscardHandler))
		ch, stop := bus.Subscribe(16)
		defer stop()
		time.Sleep(100 * time.Millisecond) // a Postgres listener attaches asynchronously
		c := f.conversation(t, conversations.ConversationParams{})
		if _, err := f.e.AddMessage(f.ctx, f.service, c.Sid, conversations.MessageParams{}); err == nil {
			t.Fatal("an empty message was accepted")
		}
		m, err := f.e.AddMessage(f.ctx, f.service, c.Sid, conversations.MessageParams{Body: ptr("hi")})
		if err != nil {
			t.Fatal(err)
		}
		var got []events.Event
		timeout := time.After(5 * time.Second)
		for len(got) < 2 {
			select {
			case ev := <-ch:
				got = append(got, ev)
			case <-timeout:
				t.Fatalf("events so far %+v", got)
			}
		}
		if got[0].Type != events.ConversationAdded || got[1].Type != events.MessageAdded || got[1].Sid != m.Sid ||
			got[1].Index == nil || *got[1].Index != 0 {
			t.Fatalf("events = %+v", got)
		}
	})
}
