package desk_test

import (
	"reflect"
	"testing"

	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/events"
)

// roomFor gives the agent capacity for n conversations on chat and SMS.
func (f *deskFixture) roomFor(a desk.Agent, n int) {
	f.t.Helper()
	for _, ch := range []string{"chat", "sms"} {
		_, err := f.tr.UpdateWorkerChannel(f.ctx, f.ws.Sid, a.WorkerSid, ch, taskrouter.WorkerChannelParams{Capacity: &n})
		f.must(err)
	}
}

// offered routes the customer's first message to the agent and returns
// the offer's card.
func (f *deskFixture) offered(a desk.Agent, conversationSid, customer string) desk.TaskCard {
	f.t.Helper()
	f.say(conversationSid, customer, "Hello?")
	f.settle()
	cards, err := f.desk.Tasks(f.ctx, a)
	f.must(err)
	for _, c := range cards {
		if c.ConversationSid == conversationSid && c.State == desk.StateOffered {
			return c
		}
	}
	f.t.Fatalf("no offer of %s among %+v", conversationSid, cards)
	return desk.TaskCard{}
}

// accepted gives the agent the customer's conversation.
func (f *deskFixture) accepted(a desk.Agent, conversationSid, customer string) {
	f.t.Helper()
	_, err := f.desk.Accept(f.ctx, a, f.offered(a, conversationSid, customer).ReservationSid)
	f.must(err)
}

func TestALiveDesktopsCardsAfterAnyEventAreTheCardsAFullListingGives(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newDeskFixture(t, d)
		ana := f.agent("Ana", "ana", "Available")
		f.roomFor(ana, 3)
		chat := f.chatCustomer("guest-1", "Ada")
		sms := f.smsCustomer("+34600111222", "Lucía")
		ringing := f.chatCustomer("guest-2", "Bo")
		f.accepted(ana, chat, "guest-1")
		f.accepted(ana, sms, "+34600111222")
		f.offered(ana, ringing, "guest-2")

		live := f.desk.NewLive(ana)
		_, err := live.Snapshot(f.ctx)
		f.must(err)
		_, err = live.Open(f.ctx, chat, -1)
		f.must(err)

		// same checks one event's update against a full listing: the same
		// cards in the same order, and nothing to follow or leave, since no
		// card came or went.
		same := func(what string, ev events.Event) {
			t.Helper()
			u, err := live.Event(f.ctx, ev)
			f.must(err)
			want, err := f.desk.Tasks(f.ctx, ana)
			f.must(err)
			if !u.TasksChanged || !reflect.DeepEqual(u.Tasks, want) {
				t.Fatalf("%s: cards\n%+v\nwant\n%+v", what, u.Tasks, want)
			}
			if len(u.Follow) != 0 || len(u.Unfollow) != 0 {
				t.Fatalf("%s: follow %v, unfollow %v, want no change", what, u.Follow, u.Unfollow)
			}
		}
		added := func(conversationSid string, index int64) events.Event {
			return events.Event{Type: events.MessageAdded, ConversationSid: conversationSid, Index: &index}
		}
		lastIndex := func(conversationSid string) int64 {
			c, err := f.conv.Conversation(f.ctx, f.service, conversationSid)
			f.must(err)
			return c.NextIndex - 1
		}
		participant := func(conversationSid, identity string) events.Event {
			p, err := f.conv.Participant(f.ctx, f.service, conversationSid, identity)
			f.must(err)
			return events.Event{Type: events.ParticipantUpdated, ConversationSid: conversationSid, Sid: p.Sid}
		}

		same("a message in the open conversation", added(chat, f.say(chat, "guest-1", "Where is my order?")))
		same("a message in another one", added(sms, f.say(sms, "+34600111222", "Any news?")))
		f.must(f.desk.Send(f.ctx, ana, sms, "Checking now", nil))
		same("the agent's own reply", added(sms, lastIndex(sms)))
		f.must(f.desk.MarkRead(f.ctx, ana, sms, 1))
		same("the agent reading", participant(sms, "ana"))

		ms, _, err := f.conv.Messages(f.ctx, f.service, chat, false, conversations.Page{Limit: 10})
		f.must(err)
		last := ms[len(ms)-1]
		f.must(f.conv.DeleteMessage(f.ctx, f.service, chat, last.Sid, "API"))
		same("a removed last message", events.Event{Type: events.MessageRemoved, ConversationSid: chat, Sid: last.Sid, Index: &last.Index})
		guest, err := f.conv.Participant(f.ctx, f.service, chat, "guest-1")
		f.must(err)
		_, err = f.conv.UpdateParticipant(f.ctx, f.service, chat, guest.Sid, conversations.ParticipantParams{LastReadMessageIndex: ptr(int64(1))})
		f.must(err)
		same("the customer reading", participant(chat, "guest-1"))

		// Wrapping up changes a card's state: the TaskRouter event lists
		// them all, and the wrapping card's previews follow its messages.
		f.must(f.desk.EndChat(f.ctx, ana, sms))
		f.settle()
		u, err := live.Event(f.ctx, events.Event{Type: events.TaskRouterPrefix + "reservation.wrapup", WorkspaceSid: f.ws.Sid,
			WorkerSid: ana.WorkerSid})
		f.must(err)
		if want, _ := f.desk.Tasks(f.ctx, ana); !reflect.DeepEqual(u.Tasks, want) {
			t.Fatalf("after wrap-up: cards %+v, want %+v", u.Tasks, want)
		}
		same("a message to a wrapping task", added(sms, f.say(sms, "+34600111222", "Thanks!")))

		// A desktop that has not listed its cards yet lists them whole.
		fresh := f.desk.NewLive(ana)
		_, err = fresh.Open(f.ctx, chat, -1)
		f.must(err)
		still := f.say(chat, "guest-1", "Still there?")
		u, err = fresh.Event(f.ctx, added(chat, still))
		f.must(err)
		if want, _ := f.desk.Tasks(f.ctx, ana); !reflect.DeepEqual(u.Tasks, want) {
			t.Fatalf("without a previous listing: cards %+v, want %+v", u.Tasks, want)
		}
		same("the same message on the first desktop", added(chat, still))
	})
}

func TestTheCardsPreviewTheLastMessageLeftAndCountOnlyAssignedUnread(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newDeskFixture(t, d)
		ana := f.agent("Ana", "ana", "Available")
		f.roomFor(ana, 2)
		chat := f.chatCustomer("guest-1", "Ada")
		ringing := f.chatCustomer("guest-2", "Bo")
		f.accepted(ana, chat, "guest-1")
		f.offered(ana, ringing, "guest-2")
		f.say(chat, "guest-1", "first")
		f.say(chat, "guest-1", "second")
		ms, _, err := f.conv.Messages(f.ctx, f.service, chat, false, conversations.Page{Limit: 10})
		f.must(err)
		f.must(f.conv.DeleteMessage(f.ctx, f.service, chat, ms[len(ms)-1].Sid, "API"))

		cards, err := f.desk.Tasks(f.ctx, ana)
		f.must(err)
		got := map[string]desk.TaskCard{}
		for _, c := range cards {
			got[c.ConversationSid] = c
		}
		if c := got[chat]; c.State != desk.StateAssigned || c.Preview != "first" || c.Unread != 2 {
			t.Fatalf("assigned card %+v, want the preview of the last message left and 2 unread", c)
		}
		if c := got[ringing]; c.State != desk.StateOffered || c.Preview != "Hello?" || c.Unread != 0 {
			t.Fatalf("offer card %+v, want its preview and no unread count", c)
		}
		if cards[0].State != desk.StateOffered {
			t.Fatalf("cards %+v, want the offer first", cards)
		}
	})
}
