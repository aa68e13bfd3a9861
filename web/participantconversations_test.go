package web_test

import (
	"testing"

	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/web/webtest"
)

func TestParticipantConversationsByIdentityAndAddressThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		first, err := tw.CreateConversation((&conv.CreateConversationParams{}).SetUniqueName("order-1").SetFriendlyName("Order 1").
			SetAttributes(`{"vip":true}`).SetState("active").SetTimersInactive("PT1H"))
		if err != nil {
			t.Fatal(err)
		}
		second, err := tw.CreateConversation(nil)
		if err != nil {
			t.Fatal(err)
		}
		alice, err := tw.CreateConversationParticipant(*first.Sid, (&conv.CreateConversationParticipantParams{}).SetIdentity("alice"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tw.CreateConversationParticipant(*second.Sid, (&conv.CreateConversationParticipantParams{}).SetIdentity("alice")); err != nil {
			t.Fatal(err)
		}
		phone, err := tw.CreateConversationParticipant(*first.Sid, (&conv.CreateConversationParticipantParams{}).
			SetMessagingBindingAddress("+15550001111").SetMessagingBindingProxyAddress("+15559990000"))
		if err != nil {
			t.Fatal(err)
		}
		user, err := s.Engine.User(t.Context(), *first.ChatServiceSid, "alice")
		if err != nil {
			t.Fatal(err)
		}

		page, err := tw.PageParticipantConversation((&conv.ListParticipantConversationParams{}).SetIdentity("alice"), "", "")
		if err != nil || len(page.Conversations) != 2 || page.Meta.Key != "conversations" || page.Meta.PageSize != 50 {
			t.Fatalf("alice's page = %d, meta %+v (%v)", len(page.Conversations), page.Meta, err)
		}
		pc := page.Conversations[0]
		if *pc.AccountSid != s.AccountSid || *pc.ChatServiceSid != *first.ChatServiceSid || *pc.ParticipantSid != *alice.Sid ||
			*pc.ParticipantUserSid != user.Sid || *pc.ParticipantIdentity != "alice" || pc.ParticipantMessagingBinding != nil ||
			*pc.ConversationSid != *first.Sid || *pc.ConversationUniqueName != "order-1" || *pc.ConversationFriendlyName != "Order 1" ||
			*pc.ConversationAttributes != `{"vip":true}` || *pc.ConversationState != "active" ||
			!pc.ConversationDateCreated.Equal(*first.DateCreated) || pc.ConversationDateUpdated == nil {
			t.Fatalf("alice in order-1 = %+v", pc)
		}
		if timers := object(t, pc.ConversationTimers); timers["date_inactive"] == nil {
			t.Fatalf("conversation_timers = %v, want the inactive date", timers)
		}
		links := *pc.Links
		if links["participant"] != *alice.Url || links["conversation"] != *first.Url {
			t.Fatalf("links = %v, want %s and %s", links, *alice.Url, *first.Url)
		}

		byAddress, err := tw.ListParticipantConversation((&conv.ListParticipantConversationParams{}).SetAddress("+15550001111"))
		if err != nil || len(byAddress) != 1 {
			t.Fatalf("the number's conversations = %v (%v)", byAddress, err)
		}
		pc = byAddress[0]
		binding := object(t, pc.ParticipantMessagingBinding)
		if *pc.ParticipantSid != *phone.Sid || pc.ParticipantUserSid != nil || pc.ParticipantIdentity != nil ||
			binding["type"] != "sms" || binding["address"] != "+15550001111" || binding["proxy_address"] != "+15559990000" {
			t.Fatalf("the number in order-1 = %+v, binding %v", pc, binding)
		}

		paged, err := tw.ListParticipantConversation((&conv.ListParticipantConversationParams{}).SetIdentity("alice").SetPageSize(1))
		if err != nil || len(paged) != 2 || *paged[0].ConversationSid == *paged[1].ConversationSid {
			t.Fatalf("pages of one = %v (%v), want both conversations once", paged, err)
		}
	})
}

func TestParticipantConversationsOfAServiceStayInIt(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		name := "Sales"
		svc, err := s.Engine.CreateService(t.Context(), &name)
		if err != nil {
			t.Fatal(err)
		}
		mine, err := tw.CreateServiceConversation(svc.Sid, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tw.CreateServiceConversationParticipant(svc.Sid, *mine.Sid, (&conv.CreateServiceConversationParticipantParams{}).
			SetIdentity("alice")); err != nil {
			t.Fatal(err)
		}
		elsewhere, err := tw.CreateConversation(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tw.CreateConversationParticipant(*elsewhere.Sid, (&conv.CreateConversationParticipantParams{}).SetIdentity("alice")); err != nil {
			t.Fatal(err)
		}
		in, err := tw.ListServiceParticipantConversation(svc.Sid, (&conv.ListServiceParticipantConversationParams{}).SetIdentity("alice"))
		if err != nil || len(in) != 1 || *in[0].ConversationSid != *mine.Sid || *in[0].ChatServiceSid != svc.Sid {
			t.Fatalf("the service's list = %v (%v), want only its own conversation", in, err)
		}
		if want := s.URL + "/v1/Services/" + svc.Sid + "/Conversations/" + *mine.Sid; (*in[0].Links)["conversation"] != want {
			t.Fatalf("conversation link = %v, want %s", (*in[0].Links)["conversation"], want)
		}
		def, err := tw.ListParticipantConversation((&conv.ListParticipantConversationParams{}).SetIdentity("alice"))
		if err != nil || len(def) != 1 || *def[0].ConversationSid != *elsewhere.Sid {
			t.Fatalf("the default service's list = %v (%v)", def, err)
		}
	})
}

func TestParticipantConversationsNeedExactlyOneOfIdentityOrAddress(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		_, err := tw.ListParticipantConversation(nil)
		wantTwilioError(t, err, 20001, 400)
		_, err = tw.ListParticipantConversation((&conv.ListParticipantConversationParams{}).SetIdentity("alice").SetAddress("+15550001111"))
		wantTwilioError(t, err, 20001, 400)
		_, err = tw.ListServiceParticipantConversation("IS00000000000000000000000000000000",
			(&conv.ListServiceParticipantConversationParams{}).SetIdentity("alice"))
		wantTwilioError(t, err, 20404, 404)
	})
}
