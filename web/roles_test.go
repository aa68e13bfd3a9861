package web_test

import (
	"slices"
	"strings"
	"testing"

	twclient "github.com/twilio/twilio-go/client"
	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/web/webtest"
)

func TestRoleCRUDThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		r, err := tw.CreateRole((&conv.CreateRoleParams{}).SetFriendlyName("agent").SetType("conversation").
			SetPermission([]string{"sendMessage", "addParticipant"}))
		if err != nil {
			t.Fatal(err)
		}
		if *r.FriendlyName != "agent" || *r.Type != "conversation" || !slices.Equal(*r.Permissions, []string{"sendMessage", "addParticipant"}) ||
			*r.Url != s.URL+"/v1/Roles/"+*r.Sid || *r.AccountSid != s.AccountSid || r.ChatServiceSid == nil {
			t.Fatalf("created %+v", r)
		}
		up, err := tw.UpdateRole(*r.Sid, (&conv.UpdateRoleParams{}).SetPermission([]string{"leaveConversation"}))
		if err != nil || !slices.Equal(*up.Permissions, []string{"leaveConversation"}) || *up.FriendlyName != "agent" {
			t.Fatalf("update = %+v, %v", up, err)
		}
		got, err := tw.FetchRole(*r.Sid)
		if err != nil || !slices.Equal(*got.Permissions, []string{"leaveConversation"}) {
			t.Fatalf("fetch = %+v, %v", got, err)
		}
		all, err := tw.ListRole((&conv.ListRoleParams{}).SetPageSize(2))
		if err != nil || len(all) != 5 {
			t.Fatalf("listed %d roles over pages of 2 (four defaults and ours), %v", len(all), err)
		}
		if err := tw.DeleteRole(*r.Sid); err != nil {
			t.Fatal(err)
		}
		_, err = tw.FetchRole(*r.Sid)
		wantTwilioError(t, err, 20404, 404)
	})
}

func TestRoleRulesAnswerWithTwilioErrors(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		_, err := tw.CreateRole((&conv.CreateRoleParams{}).SetFriendlyName("r").SetType("conversation").
			SetPermission([]string{"sendMessage", "createConversation"}))
		wantTwilioError(t, err, 20001, 400)
		if te := err.(*twclient.TwilioRestError); !strings.Contains(te.Message, "createConversation") {
			t.Fatalf("the error does not name the bad permission: %q", te.Message)
		}
		for _, p := range []*conv.CreateRoleParams{
			(&conv.CreateRoleParams{}).SetFriendlyName("r").SetType("conversation"),
			(&conv.CreateRoleParams{}).SetFriendlyName("r").SetPermission([]string{"sendMessage"}),
			(&conv.CreateRoleParams{}).SetType("service").SetPermission([]string{"joinConversation"}),
			(&conv.CreateRoleParams{}).SetFriendlyName(strings.Repeat("r", 65)).SetType("service").SetPermission([]string{"joinConversation"}),
		} {
			_, err := tw.CreateRole(p)
			wantTwilioError(t, err, 20001, 400)
		}
		if all, _ := tw.ListRole(nil); len(all) != 4 {
			t.Fatalf("refused creates left %d roles, want the 4 defaults", len(all))
		}
		cfg, err := tw.FetchServiceConfiguration(*mustConfig(t, s).DefaultChatServiceSid)
		if err != nil {
			t.Fatal(err)
		}
		wantTwilioError(t, tw.DeleteRole(*cfg.DefaultConversationRoleSid), 20001, 409)
		held, err := tw.CreateRole((&conv.CreateRoleParams{}).SetFriendlyName("vip").SetType("service").
			SetPermission([]string{"joinConversation"}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tw.CreateUser((&conv.CreateUserParams{}).SetIdentity("alice").SetRoleSid(*held.Sid)); err != nil {
			t.Fatal(err)
		}
		wantTwilioError(t, tw.DeleteRole(*held.Sid), 20001, 409)
		_, err = tw.UpdateRole(*held.Sid, (&conv.UpdateRoleParams{}).SetPermission([]string{"sendTelegram"}))
		wantTwilioError(t, err, 20001, 400)
		wantTwilioError(t, tw.DeleteRole("RL00000000000000000000000000000000"), 20404, 404)
	})
}

func TestARoleOfOneServiceIsInvisibleInAnother(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		svc := newService(t, s, "Other")
		r, err := tw.CreateServiceRole(svc, (&conv.CreateServiceRoleParams{}).SetFriendlyName("r").SetType("service").
			SetPermission([]string{"joinConversation"}))
		if err != nil {
			t.Fatal(err)
		}
		if *r.ChatServiceSid != svc || *r.Url != s.URL+"/v1/Services/"+svc+"/Roles/"+*r.Sid {
			t.Fatalf("created %+v", r)
		}
		if _, err := tw.FetchServiceRole(svc, *r.Sid); err != nil {
			t.Fatal(err)
		}
		_, err = tw.FetchRole(*r.Sid)
		wantTwilioError(t, err, 20404, 404)
		_, err = tw.CreateUser((&conv.CreateUserParams{}).SetIdentity("bob").SetRoleSid(*r.Sid))
		wantTwilioError(t, err, 20404, 404)
		if all, _ := tw.ListServiceRole(svc, nil); len(all) != 5 {
			t.Fatalf("the service lists %d roles, want its 4 defaults and ours", len(all))
		}
	})
}

func mustConfig(t *testing.T, s *webtest.Server) *conv.ConversationsV1Configuration {
	t.Helper()
	cfg, err := s.Twilio.ConversationsV1.FetchConfiguration()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
