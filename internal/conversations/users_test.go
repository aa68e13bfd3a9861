package conversations_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
)

func (f fixture) user(t *testing.T, service, identity string) conversations.User {
	t.Helper()
	u, err := f.e.CreateUser(f.ctx, service, conversations.UserParams{Identity: &identity})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUserIdentitiesAreUniqueWithinAServiceOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.user(t, f.service, "alice")
		_, err := f.e.CreateUser(f.ctx, f.service, conversations.UserParams{Identity: ptr("alice")})
		wantKind(t, err, errs.Conflict, conversations.CodeUserExists)
		other := f.newService(t, "Other")
		u := f.user(t, other.Sid, "alice")
		if got, err := f.e.User(f.ctx, f.service, u.Sid); err == nil {
			t.Fatalf("a user of another service is visible: %+v", got)
		}
	})
}

func TestUserInputIsValidatedAndNothingIsWrittenOnError(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		svc, _ := f.e.ResolveService(f.ctx, f.service)
		for _, tc := range []struct {
			name string
			p    conversations.UserParams
			code int
		}{
			{"no identity", conversations.UserParams{}, 20001},
			{"identity over 256", conversations.UserParams{Identity: ptr(strings.Repeat("a", 257))}, 20001},
			{"identity shaped like a user SID", conversations.UserParams{Identity: ptr("US00000000000000000000000000000000")}, 20001},
			{"friendly name over 256", conversations.UserParams{Identity: ptr("a"), FriendlyName: ptr(strings.Repeat("a", 257))}, 20001},
			{"attributes not JSON", conversations.UserParams{Identity: ptr("a"), Attributes: ptr("{nope")}, 20001},
			{"attributes over 16 KB", conversations.UserParams{Identity: ptr("a"),
				Attributes: ptr(`"` + strings.Repeat("a", conversations.MaxUserAttrs) + `"`)}, 20001},
			{"conversation role", conversations.UserParams{Identity: ptr("a"), RoleSid: &svc.DefaultConversationRoleSid}, 20001},
			{"unknown role", conversations.UserParams{Identity: ptr("a"), RoleSid: ptr("RL00000000000000000000000000000000")}, 20404},
		} {
			_, err := f.e.CreateUser(f.ctx, f.service, tc.p)
			if err == nil {
				t.Fatalf("%s: accepted", tc.name)
			}
			wantCode(t, err, tc.code)
		}
		if n := count(t, d, "users", "1 = 1"); n != 0 {
			t.Fatalf("rejected creates wrote %d users", n)
		}
	})
}

func TestUserLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		svc, _ := f.e.ResolveService(f.ctx, f.service)
		u, err := f.e.CreateUser(f.ctx, f.service, conversations.UserParams{Identity: ptr("alice@example.com"),
			FriendlyName: ptr("Alice"), Attributes: ptr(`{"tier":1}`)})
		if err != nil || u.RoleSid != svc.DefaultChatServiceRoleSid || u.Attributes != `{"tier":1}` {
			t.Fatalf("created %+v, %v (a user defaults to the service's user role)", u, err)
		}
		byIdentity, err := f.e.User(f.ctx, f.service, "alice@example.com")
		if err != nil || byIdentity.Sid != u.Sid {
			t.Fatalf("fetch by identity = %+v, %v", byIdentity, err)
		}
		admin := svc.DefaultChatServiceRoleSid
		roles, _, _ := f.e.Roles(f.ctx, f.service, conversations.Page{Limit: 50})
		for _, r := range roles {
			if r.FriendlyName == "service admin" {
				admin = r.Sid
			}
		}
		up, err := f.e.UpdateUser(f.ctx, f.service, u.Sid, conversations.UserParams{FriendlyName: ptr("Alice A."), RoleSid: &admin})
		if err != nil || up.FriendlyName != "Alice A." || up.RoleSid != admin || up.Attributes != `{"tier":1}` {
			t.Fatalf("update = %+v, %v", up, err)
		}
		_, err = f.e.UpdateUser(f.ctx, f.service, u.Sid, conversations.UserParams{Identity: ptr("mallory")})
		wantCode(t, err, errs.CodeInvalidParam)
		_, err = f.e.UpdateUser(f.ctx, f.service, u.Sid, conversations.UserParams{Attributes: ptr("[")})
		wantCode(t, err, errs.CodeInvalidParam)
		if got, _ := f.e.User(f.ctx, f.service, u.Sid); got.Identity != "alice@example.com" || got.Attributes != `{"tier":1}` {
			t.Fatalf("rejected updates changed the user: %+v", got)
		}
		if err := f.e.DeleteUser(f.ctx, f.service, "alice@example.com", "API"); err != nil {
			t.Fatal(err)
		}
		_, err = f.e.User(f.ctx, f.service, u.Sid)
		wantKind(t, err, errs.NotFound, errs.CodeNotFound)
	})
}

func TestUsersPageInCreationOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		for i := range 5 {
			f.user(t, f.service, fmt.Sprintf("u%d", i))
		}
		var seen []string
		for off := 0; ; off += 2 {
			rows, more, err := f.e.Users(f.ctx, f.service, conversations.Page{Offset: off, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range rows {
				seen = append(seen, u.Identity)
			}
			if !more {
				break
			}
		}
		if strings.Join(seen, ",") != "u0,u1,u2,u3,u4" {
			t.Fatalf("paged users = %v", seen)
		}
	})
}

func TestAChatParticipantJoiningCreatesItsUserOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		for range 2 {
			c := f.conversation(t, conversations.ConversationParams{})
			if _, err := f.e.AddParticipant(f.ctx, f.service, c.Sid, chat("carol")); err != nil {
				t.Fatal(err)
			}
		}
		if n := count(t, d, "users", "identity = ?", "carol"); n != 1 {
			t.Fatalf("%d users for carol, want 1", n)
		}
	})
}

func TestUserConversationsFollowTheUsersParticipants(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		u := f.user(t, f.service, "alice")
		first := f.conversation(t, conversations.ConversationParams{UniqueName: ptr("first")})
		second := f.conversation(t, conversations.ConversationParams{})
		f.conversation(t, conversations.ConversationParams{}) // alice is not in this one
		for _, c := range []conversations.Conversation{first, second} {
			if _, err := f.e.AddParticipant(f.ctx, f.service, c.Sid, chat("alice")); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			if _, err := f.e.AddMessage(f.ctx, f.service, first.Sid, conversations.MessageParams{Body: ptr(fmt.Sprint(i))}); err != nil {
				t.Fatal(err)
			}
		}
		list, more, err := f.e.UserConversations(f.ctx, f.service, "alice", conversations.Page{Limit: 50})
		if err != nil || more || len(list) != 2 || list[0].Conversation.Sid != first.Sid || list[1].Conversation.Sid != second.Sid {
			t.Fatalf("list = %+v, %v", list, err)
		}
		if list[0].UnreadMessagesCount != nil || list[0].UserSid != u.Sid {
			t.Fatalf("without a read horizon the unread count is unknown: %+v", list[0])
		}

		uc, err := f.e.UpdateUserConversation(f.ctx, f.service, u.Sid, "first", conversations.UserConversationParams{
			LastReadMessageIndex: ptr(int64(0)), NotificationLevel: ptr("muted")})
		if err != nil || uc.UnreadMessagesCount == nil || *uc.UnreadMessagesCount != 2 || uc.Participant.NotificationLevel != "muted" ||
			uc.Participant.LastReadTimestamp == nil {
			t.Fatalf("update = %+v, %v", uc, err)
		}
		p, _ := f.e.Participant(f.ctx, f.service, first.Sid, "alice")
		if *p.LastReadMessageIndex != 0 {
			t.Fatalf("the user's horizon is the participant's: %+v", p)
		}
		at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
		uc, err = f.e.UpdateUserConversation(f.ctx, f.service, "alice", first.Sid, conversations.UserConversationParams{
			LastReadMessageIndex: ptr(int64(2)), LastReadTimestamp: &at})
		if err != nil || *uc.UnreadMessagesCount != 0 || !uc.Participant.LastReadTimestamp.Equal(at) {
			t.Fatalf("read all = %+v, %v", uc, err)
		}
		for _, tc := range []struct {
			p    conversations.UserConversationParams
			code int
		}{
			{conversations.UserConversationParams{NotificationLevel: ptr("loud")}, 20001},
			{conversations.UserConversationParams{LastReadMessageIndex: ptr(int64(3))}, 20001},
			{conversations.UserConversationParams{LastReadMessageIndex: ptr(int64(-1))}, 20001},
		} {
			_, err := f.e.UpdateUserConversation(f.ctx, f.service, "alice", first.Sid, tc.p)
			wantCode(t, err, tc.code)
		}
		if got, _ := f.e.UserConversation(f.ctx, f.service, "alice", "first"); *got.Participant.LastReadMessageIndex != 2 ||
			got.Participant.NotificationLevel != "muted" {
			t.Fatalf("rejected updates changed the membership: %+v", got.Participant)
		}
		other := f.conversation(t, conversations.ConversationParams{})
		_, err = f.e.UserConversation(f.ctx, f.service, "alice", other.Sid)
		wantKind(t, err, errs.NotFound, errs.CodeNotFound)

		if err := f.e.LeaveConversation(f.ctx, f.service, "alice", second.Sid, "API"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.e.Participant(f.ctx, f.service, second.Sid, "alice"); err == nil {
			t.Fatal("leaving kept the participant")
		}
		if _, err := f.e.User(f.ctx, f.service, "alice"); err != nil {
			t.Fatalf("leaving removed the user: %v", err)
		}
		if _, err := f.e.Conversation(f.ctx, f.service, second.Sid); err != nil {
			t.Fatalf("leaving removed the conversation: %v", err)
		}
		wantCode(t, f.e.LeaveConversation(f.ctx, f.service, "alice", second.Sid, "API"), errs.CodeNotFound)
	})
}

func TestAdministrativeWritesPublishEventsAfterCommit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx, cancel := context.WithCancel(f.ctx)
		defer cancel()
		bus := events.NewBus(ctx, d, slog.New(slog.DiscardHandler))
		ch, stop := bus.Subscribe(32)
		defer stop()
		time.Sleep(100 * time.Millisecond) // a Postgres listener attaches asynchronously
		svc := f.newService(t, "Evented")
		r := f.role(t, svc.Sid, "service", "createConversation")
		if _, err := f.e.CreateUser(f.ctx, svc.Sid, conversations.UserParams{Identity: ptr("x"), RoleSid: ptr("bad")}); err == nil {
			t.Fatal("a bad role was accepted")
		}
		u := f.user(t, svc.Sid, "x")
		if _, err := f.e.UpdateUser(f.ctx, svc.Sid, u.Sid, conversations.UserParams{FriendlyName: ptr("X")}); err != nil {
			t.Fatal(err)
		}
		if err := f.e.DeleteUser(f.ctx, svc.Sid, u.Sid, "API"); err != nil {
			t.Fatal(err)
		}
		if err := f.e.DeleteRole(f.ctx, svc.Sid, r.Sid); err != nil {
			t.Fatal(err)
		}
		if _, err := f.e.UpdateConfiguration(f.ctx, conversations.ConfigurationParams{DefaultClosedTimer: ptr("PT1H")}); err != nil {
			t.Fatal(err)
		}
		if err := f.e.DeleteService(f.ctx, svc.Sid); err != nil {
			t.Fatal(err)
		}
		want := []events.Type{events.ServiceAdded, events.RoleAdded, events.UserAdded, events.UserUpdated, events.UserRemoved,
			events.RoleRemoved, events.ConfigurationUpdated, events.ServiceRemoved}
		timeout := time.After(5 * time.Second)
		for i := 0; i < len(want); {
			select {
			case ev := <-ch:
				// Postgres notifications cross schemas: skip other tests' events.
				if ev.ServiceSid != svc.Sid && ev.Type != events.ConfigurationUpdated {
					continue
				}
				if ev.Type != want[i] {
					t.Fatalf("event %d = %+v, want %s", i, ev, want[i])
				}
				i++
			case <-timeout:
				t.Fatalf("waited for %s", want[i])
			}
		}
	})
}
