package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/web/webtest"
)

const testFlowSid = "FW0123456789abcdef0123456789abcdef"

// postForm sends a form POST that twilio-go cannot express (a parameter its
// params struct lacks) and returns the status and the Twilio error code.
func postForm(t *testing.T, s *webtest.Server, path string, form url.Values) (status, code int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(s.AccountSid, s.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct{ Code int }
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body.Code
}

// object reads a JSON object field that twilio-go leaves as *interface{}.
func object(t *testing.T, v *interface{}) map[string]any {
	t.Helper()
	if v == nil {
		t.Fatal("object field missing")
	}
	m, ok := (*v).(map[string]any)
	if !ok {
		t.Fatalf("field is %T, want an object", *v)
	}
	return m
}

func TestAddressConfigurationCRUDThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		svc, err := s.Engine.ResolveService(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		res, err := tw.CreateConfigurationAddressWithMetadata((&conv.CreateConfigurationAddressParams{}).
			SetType("SMS").SetAddress("+15550001111").SetFriendlyName("Support line").SetAddressCountry("us").
			SetAutoCreationEnabled(true).SetAutoCreationType("webhook").SetAutoCreationConversationServiceSid(svc.Sid).
			SetAutoCreationWebhookUrl("https://bot.example.com/in").SetAutoCreationWebhookMethod("get").
			SetAutoCreationWebhookFilters([]string{"onParticipantAdded", "onMessageAdded"}))
		if err != nil {
			t.Fatal(err)
		}
		a := res.Resource
		if res.GetStatusCode() != http.StatusCreated {
			t.Fatalf("create answered %d, want 201", res.GetStatusCode())
		}
		if *a.Type != "sms" || *a.Address != "+15550001111" || *a.FriendlyName != "Support line" || *a.AddressCountry != "US" ||
			*a.AccountSid != s.AccountSid || !strings.HasPrefix(*a.Sid, "IG") || a.DateCreated == nil || a.DateUpdated == nil {
			t.Fatalf("created = %+v", a)
		}
		if want := s.URL + "/v1/Configuration/Addresses/" + *a.Sid; *a.Url != want {
			t.Fatalf("url = %s, want %s", *a.Url, want)
		}
		auto := object(t, a.AutoCreation)
		if auto["enabled"] != true || auto["type"] != "webhook" || auto["conversation_service_sid"] != svc.Sid ||
			auto["webhook_url"] != "https://bot.example.com/in" || auto["webhook_method"] != "GET" ||
			fmt.Sprint(auto["webhook_filters"]) != "[onParticipantAdded onMessageAdded]" {
			t.Fatalf("auto_creation = %v", auto)
		}
		if _, ok := auto["studio_flow_sid"]; ok {
			t.Fatalf("a webhook auto-creation shows studio settings: %v", auto)
		}

		for _, key := range []string{*a.Sid, "+15550001111"} {
			got, err := tw.FetchConfigurationAddress(key)
			if err != nil || *got.Sid != *a.Sid {
				t.Fatalf("fetch by %s = %v, %v", key, got, err)
			}
		}
		if status, _ := postForm(t, s, "/v1/Configuration/Addresses/%2B15550001111", url.Values{"FriendlyName": {"escaped"}}); status != 200 {
			t.Fatalf("update by the percent-escaped address answered %d, want 200", status)
		}
		up, err := tw.UpdateConfigurationAddress("+15550001111", (&conv.UpdateConfigurationAddressParams{}).
			SetFriendlyName("Studio line").SetAutoCreationType("studio").SetAutoCreationStudioFlowSid(testFlowSid).
			SetAutoCreationStudioRetryCount(2))
		if err != nil {
			t.Fatal(err)
		}
		auto = object(t, up.AutoCreation)
		if *up.FriendlyName != "Studio line" || *up.Type != "sms" || auto["type"] != "studio" ||
			auto["studio_flow_sid"] != testFlowSid || auto["studio_retry_count"] != float64(2) {
			t.Fatalf("updated = %+v, auto_creation %v", up, auto)
		}

		del, err := tw.DeleteConfigurationAddressWithMetadata(*a.Sid)
		if err != nil || del.GetStatusCode() != http.StatusNoContent {
			t.Fatalf("delete = %v, %v; want 204", del, err)
		}
		_, err = tw.FetchConfigurationAddress(*a.Sid)
		wantTwilioError(t, err, 20404, 404)
	})
}

func TestWhatsAppAddressConfigurationIsFetchedByItsAddress(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		a, err := tw.CreateConfigurationAddress((&conv.CreateConfigurationAddressParams{}).
			SetType("whatsapp").SetAddress("whatsapp:+15550001111"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := tw.FetchConfigurationAddress("whatsapp:+15550001111")
		if err != nil || *got.Sid != *a.Sid {
			t.Fatalf("fetch by whatsapp address = %v, %v", got, err)
		}
		if auto := object(t, got.AutoCreation); auto["enabled"] != false || auto["type"] != "default" {
			t.Fatalf("auto_creation defaults = %v, want disabled and default", auto)
		}
		if got.FriendlyName != nil || got.AddressCountry != nil {
			t.Fatalf("unset friendly_name/address_country = %v/%v, want null", got.FriendlyName, got.AddressCountry)
		}
	})
}

func TestAddressConfigurationBadInputIsRefusedAndWritesNothing(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		a, err := tw.CreateConfigurationAddress((&conv.CreateConfigurationAddressParams{}).
			SetType("sms").SetAddress("+15550001111").SetFriendlyName("original").SetAddressCountry("US"))
		if err != nil {
			t.Fatal(err)
		}
		create := func(p *conv.CreateConfigurationAddressParams) func() error {
			return func() error { _, err := tw.CreateConfigurationAddress(p); return err }
		}
		sms := func() *conv.CreateConfigurationAddressParams {
			return (&conv.CreateConfigurationAddressParams{}).SetType("sms").SetAddress("+15550002222")
		}
		cases := []struct {
			name         string
			call         func() error
			code, status int
		}{
			{"type missing", create((&conv.CreateConfigurationAddressParams{}).SetAddress("+15550002222")), 20001, 400},
			{"type unknown", create(sms().SetType("fax")), 20001, 400},
			{"address missing", create((&conv.CreateConfigurationAddressParams{}).SetType("sms")), 20001, 400},
			{"sms address not E.164", create(sms().SetAddress("555-0100")), 20001, 400},
			{"whatsapp address without prefix", create(sms().SetType("whatsapp")), 20001, 400},
			{"address already configured", create(sms().SetAddress("+15550001111")), 20001, 409},
			{"country not alpha-2", create(sms().SetAddressCountry("United States")), 20001, 400},
			{"unknown service", create(sms().SetAutoCreationConversationServiceSid("IS00000000000000000000000000000000")), 20001, 400},
			{"webhook without URL", create(sms().SetAutoCreationType("webhook")), 20001, 400},
			{"webhook URL not absolute", create(sms().SetAutoCreationType("webhook").SetAutoCreationWebhookUrl("bot.example.com")), 20001, 400},
			{"webhook filter unknown", create(sms().SetAutoCreationWebhookFilters([]string{"onMessageSent"})), 50365, 400},
			{"studio without flow", create(sms().SetAutoCreationType("studio")), 20001, 400},
			{"studio retry count above 3", create(sms().SetAutoCreationType("studio").SetAutoCreationStudioFlowSid(testFlowSid).
				SetAutoCreationStudioRetryCount(4)), 20001, 400},
			{"update to studio without flow", func() error {
				_, err := tw.UpdateConfigurationAddress(*a.Sid, (&conv.UpdateConfigurationAddressParams{}).
					SetFriendlyName("changed").SetAutoCreationType("studio"))
				return err
			}, 20001, 400},
			{"unknown configuration", func() error {
				_, err := tw.UpdateConfigurationAddress("+15559999999", (&conv.UpdateConfigurationAddressParams{}).SetFriendlyName("x"))
				return err
			}, 20404, 404},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) { wantTwilioError(t, tc.call(), tc.code, tc.status) })
		}
		for name, form := range map[string]url.Values{
			"update changes type":      {"Type": {"whatsapp"}, "FriendlyName": {"changed"}},
			"update changes address":   {"Address": {"+15550003333"}, "FriendlyName": {"changed"}},
			"update changes country":   {"AddressCountry": {"CA"}, "FriendlyName": {"changed"}},
			"enabled not a boolean":    {"AutoCreation.Enabled": {"yes"}, "FriendlyName": {"changed"}},
			"retry count not a number": {"AutoCreation.StudioRetryCount": {"two"}, "FriendlyName": {"changed"}},
		} {
			if status, code := postForm(t, s, "/v1/Configuration/Addresses/"+*a.Sid, form); status != 400 || code != 20001 {
				t.Fatalf("%s: answered %d/%d, want 400/20001", name, status, code)
			}
		}
		all, err := tw.ListConfigurationAddress(nil)
		if err != nil || len(all) != 1 || *all[0].FriendlyName != "original" || *all[0].Type != "sms" || *all[0].AddressCountry != "US" {
			t.Fatalf("after rejected requests: %v (%v), want only the original, unchanged", all, err)
		}
	})
}

func TestAddressConfigurationListFiltersByTypeAndPagesAcrossPages(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.ConversationsV1
		for i := range 5 {
			p := (&conv.CreateConfigurationAddressParams{}).SetType("sms").SetAddress(fmt.Sprintf("+1555000000%d", i))
			if i >= 3 {
				p.SetType("whatsapp").SetAddress(fmt.Sprintf("whatsapp:+1555000000%d", i))
			}
			if _, err := tw.CreateConfigurationAddress(p); err != nil {
				t.Fatal(err)
			}
		}
		all, err := tw.ListConfigurationAddress((&conv.ListConfigurationAddressParams{}).SetPageSize(2))
		if err != nil || len(all) != 5 {
			t.Fatalf("listed %d over pages of 2 (%v), want 5", len(all), err)
		}
		seen := map[string]bool{}
		for _, a := range all {
			seen[*a.Sid] = true
		}
		if len(seen) != 5 {
			t.Fatalf("pages repeated configurations: %d distinct of 5", len(seen))
		}
		wa, err := tw.ListConfigurationAddress((&conv.ListConfigurationAddressParams{}).SetType("WhatsApp").SetPageSize(1))
		if err != nil || len(wa) != 2 || *wa[0].Type != "whatsapp" || *wa[1].Type != "whatsapp" {
			t.Fatalf("whatsapp only = %v (%v)", wa, err)
		}
		page, err := tw.PageConfigurationAddress(nil, "", "")
		if err != nil || len(page.AddressConfigurations) != 5 || page.Meta.Key != "address_configurations" ||
			page.Meta.PageSize != 50 || page.Meta.NextPageUrl != nil {
			t.Fatalf("default page = %d items, meta %+v (%v)", len(page.AddressConfigurations), page.Meta, err)
		}
		_, err = tw.ListConfigurationAddress((&conv.ListConfigurationAddressParams{}).SetType("fax"))
		wantTwilioError(t, err, 20001, 400)
	})
}
