package desk_test

import (
	"reflect"
	"testing"

	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/events"
)

// The open canvas keeps what rendering a new message needs between
// messages; what it appends must still be what a fresh read of the thread
// gives — system events (a transfer, an agent joining) included.
func TestALiveCanvasAppendsWhatAFreshReadOfTheThreadGives(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newDeskFixture(t, d)
		ana := f.agent("Ana", "ana", "Available")
		ben := f.agent("Ben", "ben", "Unavailable")
		chat := f.chatCustomer("guest-1", "Ada")
		f.accepted(ana, chat, "guest-1")

		live := f.desk.NewLive(ana)
		_, err := live.Snapshot(f.ctx)
		f.must(err)
		_, err = live.Open(f.ctx, chat, -1)
		f.must(err)
		sent := f.say(chat, "guest-1", "Warming up") // the page has everything up to here
		_, err = live.Event(f.ctx, events.Event{Type: events.MessageAdded, ConversationSid: chat, Index: &sent})
		f.must(err)

		// Independently of how an append is built: the whole thread, as the
		// canvas shows it, after the bubble of message `sent`.
		tail := func(after int64) []desk.Item {
			t.Helper()
			cv, err := f.desk.Canvas(f.ctx, ana, chat)
			f.must(err)
			for i, it := range cv.Thread.Items {
				if it.Message != nil && it.Message.Index == after {
					return cv.Thread.Items[i+1:]
				}
			}
			t.Fatalf("message %d is not in the canvas", after)
			return nil
		}
		appends := func(what string, index int64) {
			t.Helper()
			u, err := live.Event(f.ctx, events.Event{Type: events.MessageAdded, ConversationSid: chat, Index: &index})
			f.must(err)
			if want := tail(sent); !reflect.DeepEqual(u.Append, want) {
				t.Fatalf("%s: appended\n%+v\nwant\n%+v", what, u.Append, want)
			}
			sent = index
		}
		appends("a customer's message", f.say(chat, "guest-1", "Where is my order?"))
		f.must(f.desk.Send(f.ctx, ana, chat, "Let me check", nil))
		appends("the agent's own message", sent+1)

		// A warm transfer brings Ben in: its events fall among the next messages.
		available := f.activity("Available")
		_, err = f.tr.UpdateWorker(f.ctx, f.ws.Sid, ben.WorkerSid, taskrouter.WorkerParams{ActivitySid: &available})
		f.must(err)
		_, err = f.desk.Transfer(f.ctx, ana, chat, desk.TransferRequest{To: ben.WorkerSid, Type: "warm"})
		f.must(err)
		f.settle()
		_, err = f.desk.Accept(f.ctx, ben, f.offer(ben).ReservationSid)
		f.must(err)
		appends("a message after the transfer", f.say(chat, "guest-1", "Hi Ben"))
		appends("and the next one", f.say(chat, "guest-1", "Thanks"))
	})
}
