package web_test

import (
	"slices"
	"testing"

	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/web/webtest"
)

func TestAccountConfigurationThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		cfg, err := tw.FetchConfiguration()
		if err != nil {
			t.Fatal(err)
		}
		def := *cfg.DefaultChatServiceSid
		if *cfg.AccountSid != s.AccountSid || cfg.DefaultMessagingServiceSid != nil || cfg.DefaultInactiveTimer != nil ||
			*cfg.Url != s.URL+"/v1/Configuration" || (*cfg.Links)["service"] != s.URL+"/v1/Services/"+def {
			t.Fatalf("configuration = %+v", cfg)
		}
		for _, tc := range []struct {
			name         string
			p            *conv.UpdateConfigurationParams
			code, status int
		}{
			{"unknown service", (&conv.UpdateConfigurationParams{}).SetDefaultChatServiceSid("IS00000000000000000000000000000000"), 20404, 404},
			{"not a service SID", (&conv.UpdateConfigurationParams{}).SetDefaultChatServiceSid("default"), 20001, 400},
			{"not a messaging service", (&conv.UpdateConfigurationParams{}).SetDefaultMessagingServiceSid("PN00000000000000000000000000000000"), 20001, 400},
			{"inactive timer under a minute", (&conv.UpdateConfigurationParams{}).SetDefaultInactiveTimer("PT59S"), 20001, 400},
			{"closed timer under ten minutes", (&conv.UpdateConfigurationParams{}).SetDefaultClosedTimer("PT5M"), 20001, 400},
		} {
			_, err := tw.UpdateConfiguration(tc.p)
			wantTwilioError(t, err, tc.code, tc.status)
		}
		if again, _ := tw.FetchConfiguration(); *again.DefaultChatServiceSid != def || again.DefaultInactiveTimer != nil {
			t.Fatalf("refused updates changed the configuration: %+v", again)
		}

		next := newService(t, s, "Next")
		up, err := tw.UpdateConfiguration((&conv.UpdateConfigurationParams{}).SetDefaultChatServiceSid(next).
			SetDefaultMessagingServiceSid("MG00000000000000000000000000000001").SetDefaultInactiveTimer("PT1H").SetDefaultClosedTimer("P1D"))
		if err != nil || *up.DefaultChatServiceSid != next || *up.DefaultInactiveTimer != "PT1H" || *up.DefaultClosedTimer != "P1D" ||
			*up.DefaultMessagingServiceSid != "MG00000000000000000000000000000001" {
			t.Fatalf("update = %+v, %v", up, err)
		}
		c, err := tw.CreateConversation(&conv.CreateConversationParams{})
		if err != nil || *c.ChatServiceSid != next || *c.MessagingServiceSid != "MG00000000000000000000000000000001" {
			t.Fatalf("a new conversation lands in the new default service with its defaults: %+v, %v", c, err)
		}
	})
}

func TestGlobalWebhookConfigurationThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		w, err := tw.FetchConfigurationWebhook()
		if err != nil || *w.Method != "POST" || len(*w.Filters) != 0 || *w.Target != "webhook" || w.PreWebhookUrl != nil ||
			*w.Url != s.URL+"/v1/Configuration/Webhooks" {
			t.Fatalf("unset configuration = %+v, %v", w, err)
		}
		for _, tc := range []struct {
			name         string
			p            *conv.UpdateConfigurationWebhookParams
			code, status int
		}{
			{"unknown filter", (&conv.UpdateConfigurationWebhookParams{}).SetFilters([]string{"onMessageAdded", "onMessageRead"}), 50365, 400},
			{"relative URL", (&conv.UpdateConfigurationWebhookParams{}).SetPostWebhookUrl("/hooks"), 20001, 400},
			{"bad method", (&conv.UpdateConfigurationWebhookParams{}).SetMethod("PATCH"), 20001, 400},
			{"bad target", (&conv.UpdateConfigurationWebhookParams{}).SetTarget("studio"), 20001, 400},
		} {
			_, err := tw.UpdateConfigurationWebhook(tc.p)
			wantTwilioError(t, err, tc.code, tc.status)
		}
		if again, _ := tw.FetchConfigurationWebhook(); len(*again.Filters) != 0 || again.PostWebhookUrl != nil {
			t.Fatalf("refused updates changed the configuration: %+v", again)
		}
		w, err = tw.UpdateConfigurationWebhook((&conv.UpdateConfigurationWebhookParams{}).SetMethod("GET").
			SetFilters([]string{"onMessageAdded", "onUserAdded"}).SetPreWebhookUrl("https://hooks.example.com/pre").
			SetPostWebhookUrl("https://hooks.example.com/post").SetTarget("flex"))
		if err != nil || *w.Method != "GET" || !slices.Equal(*w.Filters, []string{"onMessageAdded", "onUserAdded"}) ||
			*w.PreWebhookUrl != "https://hooks.example.com/pre" || *w.PostWebhookUrl != "https://hooks.example.com/post" || *w.Target != "flex" {
			t.Fatalf("update = %+v, %v", w, err)
		}
	})
}

func TestServiceConfigurationThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		svc := newService(t, s, "Support")
		cfg, err := tw.FetchServiceConfiguration(svc)
		u := s.URL + "/v1/Services/" + svc + "/Configuration"
		if err != nil || *cfg.ChatServiceSid != svc || *cfg.Url != u || (*cfg.Links)["notifications"] != u+"/Notifications" ||
			(*cfg.Links)["webhooks"] != u+"/Webhooks" || cfg.DefaultConversationRoleSid == nil {
			t.Fatalf("configuration = %+v, %v", cfg, err)
		}
		_, err = tw.UpdateServiceConfiguration(svc, (&conv.UpdateServiceConfigurationParams{}).
			SetDefaultConversationRoleSid(*cfg.DefaultChatServiceRoleSid))
		wantTwilioError(t, err, 20001, 400)
		_, err = tw.UpdateServiceConfiguration(svc, (&conv.UpdateServiceConfigurationParams{}).
			SetDefaultChatServiceRoleSid("RL00000000000000000000000000000000"))
		wantTwilioError(t, err, 20404, 404)
		_, err = tw.FetchServiceConfiguration("IS00000000000000000000000000000000")
		wantTwilioError(t, err, 20404, 404)

		member, err := tw.CreateServiceRole(svc, (&conv.CreateServiceRoleParams{}).SetFriendlyName("member").
			SetType("conversation").SetPermission([]string{"sendMessage"}))
		if err != nil {
			t.Fatal(err)
		}
		up, err := tw.UpdateServiceConfiguration(svc, (&conv.UpdateServiceConfigurationParams{}).
			SetDefaultConversationRoleSid(*member.Sid).SetReachabilityEnabled(true))
		if err != nil || *up.DefaultConversationRoleSid != *member.Sid || !*up.ReachabilityEnabled ||
			*up.DefaultChatServiceRoleSid != *cfg.DefaultChatServiceRoleSid {
			t.Fatalf("update = %+v, %v", up, err)
		}
		user, err := tw.CreateServiceUser(svc, (&conv.CreateServiceUserParams{}).SetIdentity("alice"))
		if err != nil || user.IsOnline == nil || *user.IsOnline {
			t.Fatalf("with reachability on a user reads as offline, got %+v, %v", user, err)
		}
	})
}

func TestServiceNotificationsThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		svc := newService(t, s, "Support")
		n, err := tw.FetchServiceNotification(svc)
		if err != nil || *n.LogEnabled || *n.ChatServiceSid != svc || *n.Url != s.URL+"/v1/Services/"+svc+"/Configuration/Notifications" {
			t.Fatalf("notifications = %+v, %v", n, err)
		}
		n, err = tw.UpdateServiceNotification(svc, (&conv.UpdateServiceNotificationParams{}).SetLogEnabled(true).
			SetNewMessageEnabled(true).SetNewMessageTemplate("${PARTICIPANT}: ${MESSAGE}").SetNewMessageBadgeCountEnabled(true).
			SetNewMessageWithMediaEnabled(true).SetNewMessageWithMediaTemplate("${PARTICIPANT} sent a file").
			SetAddedToConversationEnabled(true).SetAddedToConversationSound("ring").SetRemovedFromConversationTemplate("Bye"))
		if err != nil {
			t.Fatal(err)
		}
		nm := (*n.NewMessage).(map[string]any)
		media := nm["with_media"].(map[string]any)
		added := (*n.AddedToConversation).(map[string]any)
		removed := (*n.RemovedFromConversation).(map[string]any)
		if !*n.LogEnabled || nm["enabled"] != true || nm["template"] != "${PARTICIPANT}: ${MESSAGE}" || nm["badge_count_enabled"] != true ||
			media["enabled"] != true || media["template"] != "${PARTICIPANT} sent a file" || added["sound"] != "ring" ||
			added["enabled"] != true || removed["template"] != "Bye" || removed["enabled"] != false {
			t.Fatalf("notifications = %+v %+v %+v %+v", n, nm, added, removed)
		}
		_, err = tw.UpdateServiceNotification(svc, (&conv.UpdateServiceNotificationParams{}).SetLogEnabled(false))
		if err != nil {
			t.Fatal(err)
		}
		again, _ := tw.FetchServiceNotification(svc)
		if *again.LogEnabled || (*again.NewMessage).(map[string]any)["template"] != "${PARTICIPANT}: ${MESSAGE}" {
			t.Fatalf("an update of one setting changed others: %+v", again)
		}
	})
}

func TestServiceWebhookConfigurationThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		svc := newService(t, s, "Support")
		_, err := tw.UpdateServiceWebhookConfiguration(svc, (&conv.UpdateServiceWebhookConfigurationParams{}).
			SetFilters([]string{"onUserAdded"}))
		wantTwilioError(t, err, 50365, 400)
		_, err = tw.UpdateServiceWebhookConfiguration(svc, (&conv.UpdateServiceWebhookConfigurationParams{}).
			SetPreWebhookUrl("mailto:ops@example.com"))
		wantTwilioError(t, err, 20001, 400)
		w, err := tw.UpdateServiceWebhookConfiguration(svc, (&conv.UpdateServiceWebhookConfigurationParams{}).
			SetFilters([]string{"onMessageAdd", "onConversationStateUpdated"}).SetPostWebhookUrl("https://hooks.example.com/svc"))
		if err != nil || *w.ChatServiceSid != svc || *w.Method != "POST" || *w.PostWebhookUrl != "https://hooks.example.com/svc" ||
			!slices.Equal(*w.Filters, []string{"onMessageAdd", "onConversationStateUpdated"}) ||
			*w.Url != s.URL+"/v1/Services/"+svc+"/Configuration/Webhooks" {
			t.Fatalf("update = %+v, %v", w, err)
		}
		if got, _ := tw.FetchServiceWebhookConfiguration(svc); *got.PostWebhookUrl != "https://hooks.example.com/svc" {
			t.Fatalf("fetch = %+v", got)
		}
		if global, _ := tw.FetchConfigurationWebhook(); global.PostWebhookUrl != nil {
			t.Fatalf("a service's configuration leaked into the global one: %+v", global)
		}
		other := newService(t, s, "Other")
		if got, _ := tw.FetchServiceWebhookConfiguration(other); got.PostWebhookUrl != nil || len(*got.Filters) != 0 {
			t.Fatalf("a service's configuration leaked into another: %+v", got)
		}
	})
}
