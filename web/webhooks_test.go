package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/web/webtest"
)

func webhookTo(u string) *conv.CreateConversationScopedWebhookParams {
	return (&conv.CreateConversationScopedWebhookParams{}).SetTarget("webhook").SetConfigurationUrl(u)
}

func TestConversationWebhookCRUDThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		c, err := tw.CreateConversation((&conv.CreateConversationParams{}).SetUniqueName("order-7"))
		if err != nil {
			t.Fatal(err)
		}
		res, err := tw.CreateConversationScopedWebhookWithMetadata("order-7", webhookTo("https://bot.example.com/events").
			SetConfigurationMethod("get").SetConfigurationFilters([]string{"onMessageAdded", "onParticipantRemoved"}).
			SetConfigurationReplayAfter(0))
		if err != nil {
			t.Fatal(err)
		}
		w := res.Resource
		if res.GetStatusCode() != http.StatusCreated {
			t.Fatalf("create answered %d, want 201", res.GetStatusCode())
		}
		if *w.Target != "webhook" || *w.ConversationSid != *c.Sid || *w.AccountSid != s.AccountSid || len(*w.Sid) != 34 ||
			w.DateCreated == nil || w.DateUpdated == nil {
			t.Fatalf("created = %+v", w)
		}
		if want := s.URL + "/v1/Conversations/" + *c.Sid + "/Webhooks/" + *w.Sid; *w.Url != want {
			t.Fatalf("url = %s, want %s", *w.Url, want)
		}
		cfg := object(t, w.Configuration)
		if cfg["url"] != "https://bot.example.com/events" || cfg["method"] != "GET" || cfg["replay_after"] != float64(0) ||
			fmt.Sprint(cfg["filters"]) != "[onMessageAdded onParticipantRemoved]" {
			t.Fatalf("configuration = %v", cfg)
		}
		if _, ok := cfg["flow_sid"]; ok {
			t.Fatalf("a webhook target shows a flow: %v", cfg)
		}

		got, err := tw.FetchConversationScopedWebhook(*c.Sid, *w.Sid)
		if err != nil || *got.Sid != *w.Sid {
			t.Fatalf("fetch = %v, %v", got, err)
		}
		up, err := tw.UpdateConversationScopedWebhook("order-7", *w.Sid, (&conv.UpdateConversationScopedWebhookParams{}).
			SetConfigurationUrl("https://bot.example.com/v2").SetConfigurationMethod("POST").
			SetConfigurationFilters([]string{"onMessageUpdated"}))
		if err != nil {
			t.Fatal(err)
		}
		cfg = object(t, up.Configuration)
		if cfg["url"] != "https://bot.example.com/v2" || cfg["method"] != "POST" || fmt.Sprint(cfg["filters"]) != "[onMessageUpdated]" ||
			cfg["replay_after"] != float64(0) {
			t.Fatalf("updated configuration = %v", cfg)
		}

		del, err := tw.DeleteConversationScopedWebhookWithMetadata(*c.Sid, *w.Sid)
		if err != nil || del.GetStatusCode() != http.StatusNoContent {
			t.Fatalf("delete = %v, %v; want 204", del, err)
		}
		_, err = tw.FetchConversationScopedWebhook(*c.Sid, *w.Sid)
		wantTwilioError(t, err, 20404, 404)
	})
}

func TestStudioAndTriggerWebhooksShowTheirOwnConfiguration(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		c, err := tw.CreateConversation(nil)
		if err != nil {
			t.Fatal(err)
		}
		studio, err := tw.CreateConversationScopedWebhook(*c.Sid, (&conv.CreateConversationScopedWebhookParams{}).
			SetTarget("studio").SetConfigurationFlowSid(testFlowSid).SetConfigurationReplayAfter(4))
		if err != nil {
			t.Fatal(err)
		}
		if cfg := object(t, studio.Configuration); cfg["flow_sid"] != testFlowSid || cfg["replay_after"] != float64(4) || cfg["url"] != nil {
			t.Fatalf("studio configuration = %v", cfg)
		}
		trigger, err := tw.CreateConversationScopedWebhook(*c.Sid, (&conv.CreateConversationScopedWebhookParams{}).
			SetTarget("trigger").SetConfigurationUrl("https://bot.example.com").SetConfigurationTriggers([]string{"agent", "human"}))
		if err != nil {
			t.Fatal(err)
		}
		if cfg := object(t, trigger.Configuration); fmt.Sprint(cfg["triggers"]) != "[agent human]" || cfg["method"] != "POST" {
			t.Fatalf("trigger configuration = %v", cfg)
		}
	})
}

func TestConversationWebhooksListFiveToAPageAndCapAtFive(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		c, err := tw.CreateConversation(nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if _, err := tw.CreateConversationScopedWebhook(*c.Sid, webhookTo(fmt.Sprintf("https://example.com/%d", i))); err != nil {
				t.Fatal(err)
			}
		}
		_, err = tw.CreateConversationScopedWebhook(*c.Sid, webhookTo("https://example.com/6"))
		wantTwilioError(t, err, 20001, 400)

		page, err := tw.PageConversationScopedWebhook(*c.Sid, nil, "", "")
		if err != nil || len(page.Webhooks) != 5 || page.Meta.PageSize != 5 || page.Meta.Key != "webhooks" || page.Meta.NextPageUrl != nil {
			t.Fatalf("default page = %d webhooks, meta %+v (%v)", len(page.Webhooks), page.Meta, err)
		}
		big, err := tw.PageConversationScopedWebhook(*c.Sid, (&conv.ListConversationScopedWebhookParams{}).SetPageSize(50), "", "")
		if err != nil || big.Meta.PageSize != 5 {
			t.Fatalf("PageSize 50 gave page size %d (%v), want the maximum 5", big.Meta.PageSize, err)
		}
		all, err := tw.ListConversationScopedWebhook(*c.Sid, (&conv.ListConversationScopedWebhookParams{}).SetPageSize(2))
		if err != nil || len(all) != 5 {
			t.Fatalf("listed %d over pages of 2 (%v), want 5", len(all), err)
		}
		seen := map[string]bool{}
		for _, w := range all {
			seen[*w.Sid] = true
		}
		if len(seen) != 5 {
			t.Fatalf("pages repeated webhooks: %d distinct of 5", len(seen))
		}
	})
}

func TestConversationWebhookBadInputAnswersWithTwilioCodesAndWritesNothing(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		c, err := tw.CreateConversation(nil)
		if err != nil {
			t.Fatal(err)
		}
		w, err := tw.CreateConversationScopedWebhook(*c.Sid, webhookTo("https://example.com/original"))
		if err != nil {
			t.Fatal(err)
		}
		closed, err := tw.CreateConversation(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tw.UpdateConversation(*closed.Sid, (&conv.UpdateConversationParams{}).SetState("closed")); err != nil {
			t.Fatal(err)
		}
		create := func(conversation string, p *conv.CreateConversationScopedWebhookParams) func() error {
			return func() error { _, err := tw.CreateConversationScopedWebhook(conversation, p); return err }
		}
		cases := []struct {
			name         string
			call         func() error
			code, status int
		}{
			{"target missing", create(*c.Sid, (&conv.CreateConversationScopedWebhookParams{}).SetConfigurationUrl("https://example.com")), 20001, 400},
			{"target unknown", create(*c.Sid, webhookTo("https://example.com").SetTarget("flex")), 20001, 400},
			{"webhook without url", create(*c.Sid, (&conv.CreateConversationScopedWebhookParams{}).SetTarget("webhook")), 20001, 400},
			{"url not http", create(*c.Sid, webhookTo("mailto:bot@example.com")), 20001, 400},
			{"method not GET or POST", create(*c.Sid, webhookTo("https://example.com").SetConfigurationMethod("PUT")), 20001, 400},
			{"filter is a pre-event", create(*c.Sid, webhookTo("https://example.com").SetConfigurationFilters([]string{"onMessageAdd"})), 50365, 400},
			{"trigger without keywords", create(*c.Sid, webhookTo("https://example.com").SetTarget("trigger")), 20001, 400},
			{"studio without flow", create(*c.Sid, (&conv.CreateConversationScopedWebhookParams{}).SetTarget("studio")), 20001, 400},
			{"negative replay index", create(*c.Sid, webhookTo("https://example.com").SetConfigurationReplayAfter(-1)), 20001, 400},
			{"closed conversation", create(*closed.Sid, webhookTo("https://example.com")), 50377, 400},
			{"unknown conversation", create("CH00000000000000000000000000000000", webhookTo("https://example.com")), 20404, 404},
			{"update clears the url", func() error {
				_, err := tw.UpdateConversationScopedWebhook(*c.Sid, *w.Sid, (&conv.UpdateConversationScopedWebhookParams{}).SetConfigurationUrl(""))
				return err
			}, 20001, 400},
			{"update with a bad filter", func() error {
				_, err := tw.UpdateConversationScopedWebhook(*c.Sid, *w.Sid, (&conv.UpdateConversationScopedWebhookParams{}).
					SetConfigurationUrl("https://example.com/changed").SetConfigurationFilters([]string{"onUserAdded"}))
				return err
			}, 50365, 400},
			{"unknown webhook", func() error {
				_, err := tw.FetchConversationScopedWebhook(*c.Sid, "WH00000000000000000000000000000000")
				return err
			}, 20404, 404},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) { wantTwilioError(t, tc.call(), tc.code, tc.status) })
		}
		path := "/v1/Conversations/" + *c.Sid + "/Webhooks/" + *w.Sid
		for name, form := range map[string]url.Values{
			"update sets ReplayAfter":    {"Configuration.ReplayAfter": {"2"}, "Configuration.Url": {"https://example.com/changed"}},
			"update changes the target":  {"Target": {"studio"}, "Configuration.FlowSid": {testFlowSid}},
			"ReplayAfter not an integer": {"Configuration.ReplayAfter": {"soon"}, "Configuration.Url": {"https://example.com/changed"}},
		} {
			if status, code := postForm(t, s, path, form); status != 400 || code != 20001 {
				t.Fatalf("%s: answered %d/%d, want 400/20001", name, status, code)
			}
		}
		all, err := tw.ListConversationScopedWebhook(*c.Sid, nil)
		if err != nil || len(all) != 1 || *all[0].Target != "webhook" || object(t, all[0].Configuration)["url"] != "https://example.com/original" {
			t.Fatalf("after rejected requests: %v (%v), want only the original webhook, unchanged", all, err)
		}
		if rest, err := tw.ListConversationScopedWebhook(*closed.Sid, nil); err != nil || len(rest) != 0 {
			t.Fatalf("closed conversation has %d webhooks (%v)", len(rest), err)
		}
	})
}

func TestServiceConversationWebhooksStayInTheirService(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		salesName := "Sales"
		svc, err := s.Engine.CreateService(t.Context(), &salesName)
		if err != nil {
			t.Fatal(err)
		}
		c, err := tw.CreateServiceConversation(svc.Sid, (&conv.CreateServiceConversationParams{}).SetUniqueName("deal-9"))
		if err != nil {
			t.Fatal(err)
		}
		w, err := tw.CreateServiceConversationScopedWebhook(svc.Sid, "deal-9", (&conv.CreateServiceConversationScopedWebhookParams{}).
			SetTarget("webhook").SetConfigurationUrl("https://crm.example.com"))
		if err != nil {
			t.Fatal(err)
		}
		if *w.ChatServiceSid != svc.Sid || *w.ConversationSid != *c.Sid {
			t.Fatalf("created = %+v", w)
		}
		if want := s.URL + "/v1/Services/" + svc.Sid + "/Conversations/" + *c.Sid + "/Webhooks/" + *w.Sid; *w.Url != want {
			t.Fatalf("url = %s, want %s", *w.Url, want)
		}
		listed, err := tw.ListServiceConversationScopedWebhook(svc.Sid, *c.Sid, nil)
		if err != nil || len(listed) != 1 || *listed[0].Sid != *w.Sid {
			t.Fatalf("service list = %v (%v)", listed, err)
		}
		// Through the default service the conversation, and so its webhook, does not exist.
		_, err = tw.FetchConversationScopedWebhook(*c.Sid, *w.Sid)
		wantTwilioError(t, err, 20404, 404)
		err = tw.DeleteConversationScopedWebhook(*c.Sid, *w.Sid)
		wantTwilioError(t, err, 20404, 404)
		if err := tw.DeleteServiceConversationScopedWebhook(svc.Sid, *c.Sid, *w.Sid); err != nil {
			t.Fatal(err)
		}
	})
}
