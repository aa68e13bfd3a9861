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
