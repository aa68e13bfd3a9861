package conversations_test

import (
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// holdUpdate runs sql in a transaction and keeps it open until release is
// closed, as a concurrent writer (the timer job, a message) would.
func holdUpdate(t *testing.T, d *db.DB, release chan struct{}, sql string, args ...any) chan error {
	started, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- d.InTx(t.Context(), func(tx *db.Tx) error {
			if err := tx.Exec(sql, args...).Error; err != nil {
				return err
			}
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	return done
}

// Regression: inConversation reads the conversation without a row lock, so a
// message checks "not closed" against a stale row: racing the timer that
// closes the conversation, the message is appended to a closed one (and its
// inbound job then ignores it: the customer's message is lost).
func TestMessageIsNotAppendedToAConversationClosedConcurrently(t *testing.T) {
	d := dbtest.Open(t, db.Postgres)
	f := newFixture(t, d)
	c := f.conversation(t, conversations.ConversationParams{})
	release := make(chan struct{})
	closer := holdUpdate(t, d, release, "UPDATE conversations SET state = 'closed' WHERE sid = ?", c.Sid)
	added := make(chan error, 1)
	go func() {
		_, err := f.e.AddMessage(f.ctx, f.service, c.Sid, conversations.MessageParams{Author: ptr("x"), Body: ptr("hi")})
		added <- err
	}()
	time.Sleep(300 * time.Millisecond) // AddMessage has read the row and waits on next_index
	close(release)
	if err := <-closer; err != nil {
		t.Fatal(err)
	}
	err := <-added
	got, _ := f.e.Conversation(f.ctx, f.service, c.Sid)
	if err == nil && got.State == conversations.StateClosed {
		t.Fatal("a message was appended to a conversation that was closed concurrently")
	}
}

// Regression: UpdateConversation writes back every column of a row it read
// without a lock: a concurrent state change (a message reactivating the
// conversation, a timer) is overwritten.
func TestUpdateConversationDoesNotOverwriteAConcurrentStateChange(t *testing.T) {
	d := dbtest.Open(t, db.Postgres)
	f := newFixture(t, d)
	c := f.conversation(t, conversations.ConversationParams{State: ptr("inactive")})
	release := make(chan struct{})
	waker := holdUpdate(t, d, release, "UPDATE conversations SET state = 'active' WHERE sid = ?", c.Sid)
	updated := make(chan error, 1)
	go func() {
		_, err := f.e.UpdateConversation(f.ctx, f.service, c.Sid, conversations.ConversationParams{FriendlyName: ptr("renamed")})
		updated <- err
	}()
	time.Sleep(300 * time.Millisecond)
	close(release)
	if err := <-waker; err != nil {
		t.Fatal(err)
	}
	if err := <-updated; err != nil {
		t.Fatal(err)
	}
	got, _ := f.e.Conversation(f.ctx, f.service, c.Sid)
	if got.State != conversations.StateActive {
		t.Fatalf("state = %s after a rename raced a reactivation, want active", got.State)
	}
}
