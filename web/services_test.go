package web_test

import (
	"strings"
	"testing"

	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/web/webtest"
)

// newService creates a service through twilio-go and returns its SID.
func newService(t *testing.T, s *webtest.Server, name string) string {
	t.Helper()
	svc, err := s.Twilio.ConversationsV1.CreateService((&conv.CreateServiceParams{}).SetFriendlyName(name))
	if err != nil {
		t.Fatal(err)
	}
	return *svc.Sid
}

func TestServiceCRUDThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		svc, err := tw.CreateService((&conv.CreateServiceParams{}).SetFriendlyName("Support"))
		if err != nil {
			t.Fatal(err)
		}
		u := s.URL + "/v1/Services/" + *svc.Sid
		if *svc.FriendlyName != "Support" || *svc.AccountSid != s.AccountSid || *svc.Url != u || svc.DateCreated == nil {
			t.Fatalf("created %+v", svc)
		}
		links := *svc.Links
		for k, path := range map[string]string{"conversations": "/Conversations", "users": "/Users", "roles": "/Roles",
			"bindings": "/Bindings", "configuration": "/Configuration", "participant_conversations": "/ParticipantConversations"} {
			if links[k] != u+path {
				t.Errorf("links[%s] = %v, want %s", k, links[k], u+path)
			}
		}
		got, err := tw.FetchService(*svc.Sid)
		if err != nil || *got.Sid != *svc.Sid {
			t.Fatalf("fetch = %+v, %v", got, err)
		}
		all, err := tw.ListService((&conv.ListServiceParams{}).SetPageSize(1))
		if err != nil || len(all) != 2 {
			t.Fatalf("listed %d services over pages of 1 (the default and ours), %v", len(all), err)
		}
		if err := tw.DeleteService(*svc.Sid); err != nil {
			t.Fatal(err)
		}
		_, err = tw.FetchService(*svc.Sid)
		wantTwilioError(t, err, 20404, 404)
	})
}

func TestServiceRulesAnswerWithTwilioErrors(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		def, err := tw.FetchConfiguration()
		if err != nil {
			t.Fatal(err)
		}
		_, err = tw.CreateService(&conv.CreateServiceParams{})
		wantTwilioError(t, err, 20001, 400)
		_, err = tw.CreateService((&conv.CreateServiceParams{}).SetFriendlyName(strings.Repeat("s", 257)))
		wantTwilioError(t, err, 20001, 400)
		wantTwilioError(t, tw.DeleteService(*def.DefaultChatServiceSid), 20001, 409)
		wantTwilioError(t, tw.DeleteService("IS00000000000000000000000000000000"), 20404, 404)
		_, err = tw.FetchService("IS00000000000000000000000000000000")
		wantTwilioError(t, err, 20404, 404)
		all, err := tw.ListService(nil)
		if err != nil || len(all) != 1 {
			t.Fatalf("after refused requests there are %d services (%v), want only the default", len(all), err)
		}
	})
}

func TestDeletingAServiceTakesItsConversationsUsersAndRolesWithIt(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		svc := newService(t, s, "Doomed")
		c, err := tw.CreateServiceConversation(svc, (&conv.CreateServiceConversationParams{}).SetUniqueName("doomed"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tw.CreateServiceConversationParticipant(svc, *c.Sid,
			(&conv.CreateServiceConversationParticipantParams{}).SetIdentity("alice")); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.CreateServiceConversationMessage(svc, *c.Sid,
			(&conv.CreateServiceConversationMessageParams{}).SetBody("bye")); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.CreateServiceRole(svc, (&conv.CreateServiceRoleParams{}).SetFriendlyName("r").SetType("service").
			SetPermission([]string{"joinConversation"})); err != nil {
			t.Fatal(err)
		}
		if err := tw.DeleteService(svc); err != nil {
			t.Fatal(err)
		}
		for table, n := range map[string]int64{"conversations": 0, "participants": 0, "messages": 0, "users": 0, "roles": 0} {
			var got int64
			if err := s.DB.Gorm.Table(table).Where("service_sid = ?", svc).Count(&got).Error; err != nil || got != n {
				t.Errorf("%s of the deleted service: %d (%v)", table, got, err)
			}
		}
		_, err = tw.FetchServiceConversation(svc, *c.Sid)
		wantTwilioError(t, err, 20404, 404)
	})
}
