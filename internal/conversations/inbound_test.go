package conversations_test

import (
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// Regression: a customer's text racing the close of their conversation (its
// timer, an agent) found the binding, then the conversation closed under it,
// and was refused with 50377; the carrier (Twilio does not retry webhooks)
// took that as final and the text was lost, though closing had freed the
// binding for a new conversation. Postgres only: SQLite runs writers one at a
// time.
func TestATextRacingTheCloseOfItsConversationOpensANewOne(t *testing.T) {
	d := dbtest.Open(t, db.Postgres)
	f := newFixture(t, d)
	f.address(t, conversations.AddressConfigurationParams{Type: ptr("sms"), Address: ptr("+15550100"),
		AutoCreationEnabled: ptr(true), AutoCreationType: ptr("default")})
	text := func(body string) (conversations.Conversation, error) {
		c, _, err := f.e.Receive(f.ctx, conversations.InboundParams{Address: "+15557654321", ProxyAddress: "+15550100",
			Message: conversations.MessageParams{Body: ptr(body), Source: "SMS"}})
		return c, err
	}
	old, err := text("hello")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	closer := holdUpdate(t, d, release, `WITH freed AS (DELETE FROM bindings WHERE conversation_sid = ?)
		UPDATE conversations SET state = 'closed' WHERE sid = ?`, old.Sid, old.Sid)
	type result struct {
		c   conversations.Conversation
		err error
	}
	got := make(chan result, 1)
	go func() {
		c, err := text("are you still there?")
		got <- result{c, err}
	}()
	time.Sleep(300 * time.Millisecond) // the text found the binding and waits on the conversation's row
	close(release)
	if err := <-closer; err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil {
		t.Fatalf("the text was refused: %v", r.err)
	}
	if r.c.Sid == old.Sid {
		t.Fatal("the text was appended to the closed conversation")
	}
}

func TestOpeningAChatConversationFollowsItsAddressConfiguration(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		svc, err := f.e.CreateService(f.ctx, ptr("webchat"))
		if err != nil {
			t.Fatal(err)
		}
		f.address(t, conversations.AddressConfigurationParams{Type: ptr("chat"), Address: ptr("webchat-main"),
			AutoCreationEnabled: ptr(true), AutoCreationType: ptr("webhook"), AutoCreationServiceSid: ptr(svc.Sid),
			AutoCreationWebhookURL: ptr("https://example.com/hook"), AutoCreationWebhookFilters: []string{"onMessageAdded"}})
		c, customer, msgs, err := f.e.Open(f.ctx, conversations.OpenParams{Address: "webchat-main",
			Conversation: conversations.ConversationParams{FriendlyName: ptr("Webchat: Ada"), Source: "SDK"},
			Customer:     conversations.ParticipantParams{Identity: ptr("guest-1"), Source: "SDK"},
			Messages: []conversations.MessageParams{{Author: ptr("guest-1"), Body: ptr("hello"), Source: "SDK"},
				{Author: ptr("Concierge"), Body: ptr("welcome"), Source: "API"}}})
		if err != nil {
			t.Fatal(err)
		}
		if c.ServiceSid != svc.Sid || c.FriendlyName != "Webchat: Ada" || *customer.Identity != "guest-1" {
			t.Fatalf("opened %+v with customer %+v", c, customer)
		}
		if len(msgs) != 2 || msgs[0].Index != 0 || msgs[0].ParticipantSid == nil || *msgs[0].ParticipantSid != customer.Sid ||
			msgs[1].Index != 1 || msgs[1].ParticipantSid != nil {
			t.Fatalf("messages %+v: want the customer's first, then one from no participant", msgs)
		}
		hooks, _, err := f.e.ConversationWebhooks(f.ctx, svc.Sid, c.Sid, conversations.Page{Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if len(hooks) != 1 || hooks[0].URL != "https://example.com/hook" {
			t.Fatalf("webhooks %+v, want the configuration's", hooks)
		}
	})
}

func TestOpeningIsRefusedOnAddressesThatCannotOpenChatsAndLeavesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.address(t, conversations.AddressConfigurationParams{Type: ptr("chat"), Address: ptr("off"), AutoCreationEnabled: ptr(false)})
		f.address(t, conversations.AddressConfigurationParams{Type: ptr("sms"), Address: ptr("+15550100"), AutoCreationEnabled: ptr(true)})
		f.address(t, conversations.AddressConfigurationParams{Type: ptr("chat"), Address: ptr("on"), AutoCreationEnabled: ptr(true)})
		open := func(address string, m conversations.MessageParams) error {
			_, _, _, err := f.e.Open(f.ctx, conversations.OpenParams{Address: address,
				Customer: conversations.ParticipantParams{Identity: ptr("guest-1")}, Messages: []conversations.MessageParams{m}})
			return err
		}
		hello := conversations.MessageParams{Author: ptr("guest-1"), Body: ptr("hello")}
		for _, address := range []string{"off", "+15550100", "missing"} {
			if err := open(address, hello); err == nil {
				t.Fatalf("opened a conversation on %q", address)
			}
		}
		// Media this engine cannot link fail the message after the
		// conversation was created: it goes too.
		unlinkable := conversations.MessageParams{Author: ptr("guest-1"), MediaSids: []string{"ME00000000000000000000000000000000"}}
		if err := open("on", unlinkable); err == nil {
			t.Fatal("opened a conversation whose first message failed")
		}
		all, _, err := f.e.Conversations(f.ctx, f.service, conversations.ConversationFilter{}, conversations.Page{Limit: 5})
		if err != nil || len(all) != 0 {
			t.Fatalf("conversations %+v (%v), want none", all, err)
		}
	})
}
