package conversations_test

import (
	"testing"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

func (f fixture) join(t *testing.T, serviceSid, conversationSid string, p conversations.ParticipantParams) conversations.Participant {
	t.Helper()
	m, err := f.e.AddParticipant(f.ctx, serviceSid, conversationSid, p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParticipantConversationsListEveryConversationOfAnIdentityOrAddressInItsService(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		first := f.conversation(t, conversations.ConversationParams{FriendlyName: ptr("first")})
		second := f.conversation(t, conversations.ConversationParams{FriendlyName: ptr("second")})
		unrelated := f.conversation(t, conversations.ConversationParams{})
		alice1 := f.join(t, f.service, first.Sid, chat("alice"))
		f.join(t, f.service, second.Sid, chat("alice"))
		f.join(t, f.service, unrelated.Sid, chat("bob"))
		sms1 := f.join(t, f.service, first.Sid, sms("+15550001111", "+15559990000"))
		f.join(t, f.service, second.Sid, sms("+15550001111", "+15559990001"))
		if _, err := f.e.UpdateConversation(f.ctx, f.service, second.Sid, conversations.ConversationParams{State: ptr("closed")}); err != nil {
			t.Fatal(err)
		}
		// The same identity and address in another service stay there.
		svc := f.newService(t, "Elsewhere")
		elsewhere, err := f.e.CreateConversation(f.ctx, svc.Sid, conversations.ConversationParams{})
		if err != nil {
			t.Fatal(err)
		}
		f.join(t, svc.Sid, elsewhere.Sid, chat("alice"))
		f.join(t, svc.Sid, elsewhere.Sid, sms("+15550001111", "+15559990002"))

		user, err := f.e.User(f.ctx, f.service, "alice")
		if err != nil {
			t.Fatal(err)
		}
		byIdentity, more, err := f.e.ParticipantConversations(f.ctx, f.service, conversations.ParticipantKey{Identity: "alice"}, conversations.Page{Limit: 50})
		if err != nil || more || len(byIdentity) != 2 {
			t.Fatalf("alice's conversations = %d, more %v, %v; want first and the closed second", len(byIdentity), more, err)
		}
		if got := byIdentity[0]; got.Participant.Sid != alice1.Sid || got.Conversation.Sid != first.Sid ||
			got.Conversation.FriendlyName != "first" || got.UserSid != user.Sid {
			t.Fatalf("first entry = %+v, want alice in first with her user %s", got, user.Sid)
		}
		if got := byIdentity[1]; got.Conversation.Sid != second.Sid || got.Conversation.State != conversations.StateClosed {
			t.Fatalf("second entry = %+v", got)
		}
		byAddress, _, err := f.e.ParticipantConversations(f.ctx, f.service, conversations.ParticipantKey{Address: "+15550001111"}, conversations.Page{Limit: 50})
		if err != nil || len(byAddress) != 2 || byAddress[0].Participant.Sid != sms1.Sid || byAddress[0].UserSid != "" {
			t.Fatalf("the number's conversations = %+v, %v", byAddress, err)
		}
		page, more, err := f.e.ParticipantConversations(f.ctx, f.service, conversations.ParticipantKey{Identity: "alice"}, conversations.Page{Offset: 1, Limit: 1})
		if err != nil || more || len(page) != 1 || page[0].Conversation.Sid != second.Sid {
			t.Fatalf("second page of one = %+v, more %v, %v", page, more, err)
		}
		none, _, err := f.e.ParticipantConversations(f.ctx, f.service, conversations.ParticipantKey{Identity: "nobody"}, conversations.Page{Limit: 50})
		if err != nil || len(none) != 0 {
			t.Fatalf("an unknown identity listed %d conversations (%v)", len(none), err)
		}
	})
}

func TestParticipantConversationsNeedExactlyOneOfIdentityOrAddress(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		for _, k := range []conversations.ParticipantKey{{}, {Identity: "alice", Address: "+15550001111"}} {
			_, _, err := f.e.ParticipantConversations(f.ctx, f.service, k, conversations.Page{Limit: 50})
			wantKind(t, err, errs.Invalid, errs.CodeInvalidParam)
		}
	})
}
