package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/web/webtest"
)

func TestUserCRUDThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		u, err := tw.CreateUser((&conv.CreateUserParams{}).SetIdentity("alice+support@example.com").SetFriendlyName("Alice").
			SetAttributes(`{"team":"blue"}`))
		if err != nil {
			t.Fatal(err)
		}
		url := s.URL + "/v1/Users/" + *u.Sid
		if *u.Identity != "alice+support@example.com" || *u.FriendlyName != "Alice" || *u.Attributes != `{"team":"blue"}` ||
			u.RoleSid == nil || u.IsOnline != nil || u.IsNotifiable != nil || *u.Url != url ||
			(*u.Links)["user_conversations"] != url+"/Conversations" || *u.ChatServiceSid != *mustConfig(t, s).DefaultChatServiceSid {
			t.Fatalf("created %+v", u)
		}
		byIdentity, err := tw.FetchUser("alice+support@example.com")
		if err != nil || *byIdentity.Sid != *u.Sid {
			t.Fatalf("fetch by identity = %+v, %v", byIdentity, err)
		}
		up, err := tw.UpdateUser(*u.Sid, (&conv.UpdateUserParams{}).SetFriendlyName("Alice B").SetAttributes(""))
		if err != nil || *up.FriendlyName != "Alice B" || *up.Attributes != "{}" || *up.Identity != "alice+support@example.com" {
			t.Fatalf("update = %+v, %v", up, err)
		}
		if err := tw.DeleteUser("alice+support@example.com", nil); err != nil {
			t.Fatal(err)
		}
		_, err = tw.FetchUser(*u.Sid)
		wantTwilioError(t, err, 20404, 404)
	})
}

func TestUserRulesAnswerWithTwilioErrors(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		if _, err := tw.CreateUser((&conv.CreateUserParams{}).SetIdentity("alice")); err != nil {
			t.Fatal(err)
		}
		cfg, err := tw.FetchServiceConfiguration(*mustConfig(t, s).DefaultChatServiceSid)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name         string
			p            *conv.CreateUserParams
			code, status int
		}{
			{"identity taken", (&conv.CreateUserParams{}).SetIdentity("alice"), 50201, 409},
			{"no identity", (&conv.CreateUserParams{}).SetFriendlyName("x"), 20001, 400},
			{"identity over 256", (&conv.CreateUserParams{}).SetIdentity(strings.Repeat("i", 257)), 20001, 400},
			{"friendly name over 256", (&conv.CreateUserParams{}).SetIdentity("b").SetFriendlyName(strings.Repeat("f", 257)), 20001, 400},
			{"attributes not JSON", (&conv.CreateUserParams{}).SetIdentity("b").SetAttributes("{nope"), 20001, 400},
			{"attributes over 16 KB", (&conv.CreateUserParams{}).SetIdentity("b").
				SetAttributes(`{"a":"` + strings.Repeat("a", 16*1024) + `"}`), 20001, 413},
			{"conversation role", (&conv.CreateUserParams{}).SetIdentity("b").SetRoleSid(*cfg.DefaultConversationRoleSid), 20001, 400},
			{"unknown role", (&conv.CreateUserParams{}).SetIdentity("b").SetRoleSid("RL00000000000000000000000000000000"), 20404, 404},
		} {
			_, err := tw.CreateUser(tc.p)
			if err == nil {
				t.Fatalf("%s: accepted", tc.name)
			}
			wantTwilioError(t, err, tc.code, tc.status)
		}
		if all, _ := tw.ListUser(nil); len(all) != 1 {
			t.Fatalf("refused creates left %d users, want 1", len(all))
		}
		_, err = tw.UpdateUser("alice", (&conv.UpdateUserParams{}).SetAttributes("[1,"))
		wantTwilioError(t, err, 20001, 400)
		_, err = tw.UpdateUser("nobody", (&conv.UpdateUserParams{}).SetFriendlyName("x"))
		wantTwilioError(t, err, 20404, 404)
		wantTwilioError(t, tw.DeleteUser("US00000000000000000000000000000000", nil), 20404, 404)
	})
}

func TestUsersPageAcrossPages(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		svc := newService(t, s, "Paged")
		for i := range 7 {
			if _, err := tw.CreateServiceUser(svc, (&conv.CreateServiceUserParams{}).SetIdentity(fmt.Sprint("u", i))); err != nil {
				t.Fatal(err)
			}
		}
		all, err := tw.ListServiceUser(svc, (&conv.ListServiceUserParams{}).SetPageSize(3))
		if err != nil || len(all) != 7 {
			t.Fatalf("listed %d users over pages of 3 (%v), want 7", len(all), err)
		}
		for i, u := range all {
			if *u.Identity != fmt.Sprint("u", i) {
				t.Fatalf("user %d is %s: not in creation order", i, *u.Identity)
			}
		}
		page, err := tw.PageServiceUser(svc, (&conv.ListServiceUserParams{}).SetPageSize(3), "", "")
		if err != nil || len(page.Users) != 3 || page.Meta.NextPageUrl == nil || page.Meta.Key != "users" {
			t.Fatalf("first page = %+v, %v", page, err)
		}
		if def, _ := tw.ListUser(nil); len(def) != 0 {
			t.Fatalf("the default service lists %d users of another service", len(def))
		}
		_, err = tw.FetchUser("u0")
		wantTwilioError(t, err, 20404, 404)
	})
}

func TestUserConversationsThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		svc := newService(t, s, "Support")
		c, err := tw.CreateServiceConversation(svc, (&conv.CreateServiceConversationParams{}).SetUniqueName("ticket-1").
			SetFriendlyName("Ticket 1"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := tw.CreateServiceConversationParticipant(svc, *c.Sid, (&conv.CreateServiceConversationParticipantParams{}).SetIdentity("alice"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if _, err := tw.CreateServiceConversationMessage(svc, *c.Sid, (&conv.CreateServiceConversationMessageParams{}).
				SetBody(fmt.Sprint("m", i))); err != nil {
				t.Fatal(err)
			}
		}
		user, err := tw.FetchServiceUser(svc, "alice")
		if err != nil {
			t.Fatalf("joining as a chat participant creates the user: %v", err)
		}
		list, err := tw.ListServiceUserConversation(svc, "alice", nil)
		if err != nil || len(list) != 1 {
			t.Fatalf("list = %+v, %v", list, err)
		}
		uc := list[0]
		if *uc.ConversationSid != *c.Sid || *uc.ParticipantSid != *p.Sid || *uc.UserSid != *user.Sid || *uc.ChatServiceSid != svc ||
			*uc.FriendlyName != "Ticket 1" || *uc.UniqueName != "ticket-1" || *uc.ConversationState != "active" ||
			*uc.NotificationLevel != "default" || uc.UnreadMessagesCount != nil || uc.LastReadMessageIndex != nil ||
			*uc.Url != s.URL+"/v1/Services/"+svc+"/Users/"+*user.Sid+"/Conversations/"+*c.Sid ||
			(*uc.Links)["participant"] != *p.Url || (*uc.Links)["conversation"] != *c.Url {
			t.Fatalf("user conversation = %+v", uc)
		}

		read := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
		up, err := tw.UpdateServiceUserConversation(svc, *user.Sid, "ticket-1", (&conv.UpdateServiceUserConversationParams{}).
			SetLastReadMessageIndex(0).SetLastReadTimestamp(read).SetNotificationLevel("muted"))
		if err != nil || *up.LastReadMessageIndex != 0 || *up.UnreadMessagesCount != 2 || *up.NotificationLevel != "muted" {
			t.Fatalf("update = %+v, %v", up, err)
		}
		part, err := tw.FetchServiceConversationParticipant(svc, *c.Sid, *p.Sid)
		if err != nil || *part.LastReadMessageIndex != 0 || *part.LastReadTimestamp != read.Format(time.RFC3339) {
			t.Fatalf("the horizon lives on the participant: %+v, %v", part, err)
		}
		_, err = tw.UpdateServiceUserConversation(svc, "alice", *c.Sid, (&conv.UpdateServiceUserConversationParams{}).
			SetNotificationLevel("loud"))
		wantTwilioError(t, err, 20001, 400)
		_, err = tw.UpdateServiceUserConversation(svc, "alice", *c.Sid, (&conv.UpdateServiceUserConversationParams{}).
			SetLastReadMessageIndex(9))
		wantTwilioError(t, err, 20001, 400)
		if got, _ := tw.FetchServiceUserConversation(svc, "alice", *c.Sid); *got.NotificationLevel != "muted" || *got.LastReadMessageIndex != 0 {
			t.Fatalf("refused updates changed the membership: %+v", got)
		}
		_, err = tw.FetchUserConversation("alice", *c.Sid)
		wantTwilioError(t, err, 20404, 404)

		if err := tw.DeleteServiceUserConversation(svc, "alice", *c.Sid); err != nil {
			t.Fatal(err)
		}
		_, err = tw.FetchServiceConversationParticipant(svc, *c.Sid, *p.Sid)
		wantTwilioError(t, err, 20404, 404)
		if _, err := tw.FetchServiceUser(svc, "alice"); err != nil {
			t.Fatalf("leaving a conversation removed the user: %v", err)
		}
		_, err = tw.FetchServiceUserConversation(svc, "alice", *c.Sid)
		wantTwilioError(t, err, 20404, 404)
	})
}

func TestUserConversationsUnderTheDefaultScope(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		c, err := tw.CreateConversation(&conv.CreateConversationParams{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tw.CreateConversationParticipant(*c.Sid, (&conv.CreateConversationParticipantParams{}).SetIdentity("bob")); err != nil {
			t.Fatal(err)
		}
		list, err := tw.ListUserConversation("bob", nil)
		if err != nil || len(list) != 1 || *list[0].ConversationSid != *c.Sid ||
			!strings.HasPrefix(*list[0].Url, s.URL+"/v1/Users/US") {
			t.Fatalf("list = %+v, %v", list, err)
		}
		up, err := tw.UpdateUserConversation("bob", *c.Sid, (&conv.UpdateUserConversationParams{}).SetNotificationLevel("muted"))
		if err != nil || *up.NotificationLevel != "muted" {
			t.Fatalf("update = %+v, %v", up, err)
		}
		if err := tw.DeleteUserConversation("bob", *c.Sid); err != nil {
			t.Fatal(err)
		}
		if list, _ := tw.ListUserConversation("bob", nil); len(list) != 0 {
			t.Fatalf("after leaving, bob still lists %d conversations", len(list))
		}
	})
}
