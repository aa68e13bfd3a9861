package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/internal/channels/twiliomsg/twiliofake"
	"github.com/switchboardhq/switchboard/internal/channels/whatsapp/metafake"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// carrierSetup configures a provider account and a sender through the REST
// API, with auto-creation on the sender's address.
func carrierSetup(t *testing.T, s *webtest.Server, provider url.Values, sender url.Values) (providerSid, webhookURL string) {
	t.Helper()
	res, raw := mcsCall{method: "POST", path: "/v1/Channels/Providers", body: []byte(provider.Encode()),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}.do(t, s)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create provider: %d %s", res.StatusCode, raw)
	}
	var p struct {
		Sid        string `json:"sid"`
		WebhookURL string `json:"webhook_url"`
		SecretSet  bool   `json:"secret_set"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), provider.Get("Secret")) || !p.SecretSet {
		t.Fatalf("the provider's JSON shows its secret or hides that it is set: %s", raw)
	}
	sender.Set("ProviderSid", p.Sid)
	res, raw = mcsCall{method: "POST", path: "/v1/Channels/Senders", body: []byte(sender.Encode()),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}.do(t, s)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create sender: %d %s", res.StatusCode, raw)
	}
	typ := "sms"
	if strings.HasPrefix(sender.Get("Address"), "whatsapp:") {
		typ = "whatsapp"
	}
	if _, err := s.Twilio.ConversationsV1.CreateConfigurationAddress((&conv.CreateConfigurationAddressParams{}).
		SetType(typ).SetAddress(sender.Get("Address")).SetAutoCreationEnabled(true).SetAutoCreationType("default")); err != nil {
		t.Fatal(err)
	}
	return p.Sid, p.WebhookURL
}

// runJobsFor runs due jobs for some rounds, moving the runner's clock past retry backoffs.
func runJobsFor(t *testing.T, s *webtest.Server, rounds int) {
	t.Helper()
	var offset time.Duration
	s.Jobs.Now = func() time.Time { return time.Now().UTC().Add(offset) }
	for range rounds {
		if _, err := s.Jobs.RunDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		offset += 2 * time.Hour
	}
}

// onlyConversation returns the one conversation of the default service.
func onlyConversation(t *testing.T, s *webtest.Server) conv.ConversationsV1Conversation {
	t.Helper()
	cs, err := s.Twilio.ConversationsV1.ListConversation(&conv.ListConversationParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 {
		t.Fatalf("%d conversations, want 1", len(cs))
	}
	return cs[0]
}

func messagesOf(t *testing.T, s *webtest.Server, c string) []conv.ConversationsV1ConversationMessage {
	t.Helper()
	ms, err := s.Twilio.ConversationsV1.ListConversationMessage(c, &conv.ListConversationMessageParams{})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func receiptStatus(t *testing.T, s *webtest.Server, c, m string) string {
	t.Helper()
	rs, err := s.Twilio.ConversationsV1.ListConversationMessageReceipt(c, m, &conv.ListConversationMessageReceiptParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("%d receipts, want 1", len(rs))
	}
	return *rs[0].Status
}

const (
	twilioNumber = "+15550142000"
	smsCustomer  = "+15557654321"
)

func startTwilio(t *testing.T, s *webtest.Server) (*twiliofake.Server, string) {
	t.Helper()
	fake := twiliofake.New()
	t.Cleanup(fake.Close)
	cfg := fake.Config("")
	_, hook := carrierSetup(t, s, url.Values{"Kind": {"twilio"}, "AccountId": {cfg.AccountID}, "Secret": {cfg.Secret}, "BaseUrl": {cfg.BaseURL}},
		url.Values{"Address": {twilioNumber}})
	return fake, hook
}

func TestTwilioTextsBecomeConversationsAndRepliesGoBackOnce(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ctx := context.Background()
		fake, hook := startTwilio(t, s)
		in := fake.SMS(smsCustomer, twilioNumber, "my order is late")
		for range 2 { // Twilio retries; the second is a duplicate
			ans, err := fake.SendInbound(ctx, hook, in)
			if err != nil || ans.Status != 200 || !strings.Contains(string(ans.Body), "<Response>") {
				t.Fatalf("inbound answered %+v, %v", ans, err)
			}
		}
		c := onlyConversation(t, s)
		ms := messagesOf(t, s, *c.Sid)
		if len(ms) != 1 || *ms[0].Body != "my order is late" || *ms[0].Author != smsCustomer {
			t.Fatalf("messages = %+v", ms)
		}
		// A forged request changes nothing.
		forged := fake.SMS(smsCustomer, twilioNumber, "forged")
		req, _ := http.NewRequest("POST", hook, strings.NewReader(forged.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", "bm90IGEgc2lnbmF0dXJl")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized || len(messagesOf(t, s, *c.Sid)) != 1 {
			t.Fatalf("forged webhook answered %d", res.StatusCode)
		}

		// The agent's reply: Twilio is down for a while, then takes it once.
		fake.FailSends(2, twiliofake.Fault{Status: 503})
		fake.FailSends(1, twiliofake.Fault{Status: 500, Accept: true}) // taken, but the answer is lost
		reply, err := s.Twilio.ConversationsV1.CreateConversationMessage(*c.Sid, (&conv.CreateConversationMessageParams{}).
			SetAuthor("agent-ann").SetBody("Sorry! It ships today."))
		if err != nil {
			t.Fatal(err)
		}
		runJobsFor(t, s, 8)
		sent := fake.Messages()
		if len(sent) != 1 {
			t.Fatalf("Twilio has %d copies of the reply, want 1", len(sent))
		}
		m := sent[0]
		if m.To != smsCustomer || m.From != twilioNumber || m.Body != "Sorry! It ships today." || !strings.HasPrefix(m.StatusCallback, hook+"?ref=OD") {
			t.Fatalf("sent = %+v", m)
		}
		if got := receiptStatus(t, s, *c.Sid, *reply.Sid); got != "sent" {
			t.Fatalf("receipt %q, want sent", got)
		}
		// Status callbacks, out of order: delivered, then a late sent.
		if _, err := fake.Report(ctx, m.Sid, "delivered", 0); err != nil {
			t.Fatal(err)
		}
		if _, err := fake.SendStatus(ctx, m.StatusCallback, fake.StatusParams(m, "sent", 0)); err != nil {
			t.Fatal(err)
		}
		if got := receiptStatus(t, s, *c.Sid, *reply.Sid); got != "delivered" {
			t.Fatalf("receipt %q, want delivered", got)
		}
		msg, err := s.Twilio.ConversationsV1.FetchConversationMessage(*c.Sid, *reply.Sid)
		if err != nil {
			t.Fatal(err)
		}
		if d := object(t, msg.Delivery); d["delivered"] != "all" {
			t.Fatalf("delivery = %v", d)
		}
	})
}

func TestPictureMessagesBringTheirMediaIntoTheConversation(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		fake, hook := startTwilio(t, s)
		png := []byte("\x89PNG\r\n\x1a\nfake image bytes")
		if _, err := fake.SendInbound(context.Background(), hook, fake.MMS(smsCustomer, twilioNumber, "the box", twiliofake.Media{ContentType: "image/png", Data: png})); err != nil {
			t.Fatal(err)
		}
		runJobsFor(t, s, 1)
		c := onlyConversation(t, s)
		ms := messagesOf(t, s, *c.Sid)
		if len(ms) != 1 || ms[0].Media == nil {
			t.Fatalf("messages = %+v", ms)
		}
		raw, _ := json.Marshal(ms[0].Media)
		var media []struct {
			Sid         string `json:"sid"`
			ContentType string `json:"content_type"`
			Size        int    `json:"size"`
		}
		if err := json.Unmarshal(raw, &media); err != nil || len(media) != 1 || media[0].ContentType != "image/png" || media[0].Size != len(png) {
			t.Fatalf("media = %s (%v)", raw, err)
		}
		res, body := mcsCall{method: "GET", path: "/v1/Services/" + *c.ChatServiceSid + "/Media/" + media[0].Sid + "/Content"}.do(t, s)
		if res.StatusCode != 200 || string(body) != string(png) {
			t.Fatalf("content = %d %q", res.StatusCode, body)
		}
	})
}

const (
	metaSender     = "whatsapp:+" + metafake.DefaultDisplayPhoneNumber
	waCustomer     = "+15559876543"
	metaTemplateHX = "HX0123456789abcdef0123456789abcdef"
)

func startMeta(t *testing.T, s *webtest.Server) (*metafake.Server, string) {
	t.Helper()
	fake := metafake.New(metafake.Config{})
	t.Cleanup(func() {
		fake.Close()
		if p := fake.Problems(); len(p) > 0 {
			t.Errorf("the fake Graph API refused our requests: %v", p)
		}
	})
	cfg := fake.ProviderConfig()
	_, hook := carrierSetup(t, s, url.Values{"Kind": {"whatsapp_cloud"}, "Secret": {cfg.Secret}, "AppSecret": {cfg.AppSecret},
		"VerifyToken": {cfg.VerifyToken}, "BaseUrl": {cfg.BaseURL},
		"Templates": {`{"` + metaTemplateHX + `":{"name":"order_update","language":"en_US"}}`}},
		url.Values{"Address": {metaSender}, "SenderId": {metafake.DefaultPhoneNumberID}})
	return fake, hook
}

func TestWhatsAppCloudMessagesRoundTripWithTheWindowEnforced(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ctx := context.Background()
		fake, hook := startMeta(t, s)
		if code, err := fake.Verify(ctx, hook, fake.ProviderConfig().VerifyToken); err != nil || code != 200 {
			t.Fatalf("verify handshake = %d, %v", code, err)
		}
		if code, _ := fake.Verify(ctx, hook, "wrong-token"); code != http.StatusUnauthorized {
			t.Fatalf("verify with a wrong token = %d, want 401", code)
		}
		ids, err := fake.PostMessages(ctx, hook, metafake.Inbound{From: waCustomer, Name: "Grace", Text: "¿Dónde está mi pedido?"})
		if err != nil {
			t.Fatal(err)
		}
		c := onlyConversation(t, s)
		ps, err := s.Twilio.ConversationsV1.ListConversationParticipant(*c.Sid, &conv.ListConversationParticipantParams{})
		if err != nil || len(ps) != 1 || !strings.Contains(*ps[0].Attributes, "Grace") {
			t.Fatalf("participants = %+v, %v", ps, err)
		}
		// Meta retries the same webhook: still one message.
		if _, err := fake.PostMessages(ctx, hook, metafake.Inbound{ID: ids[0], From: waCustomer, Name: "Grace", Text: "¿Dónde está mi pedido?"}); err != nil {
			t.Fatal(err)
		}
		if n := len(messagesOf(t, s, *c.Sid)); n != 1 {
			t.Fatalf("%d messages after a retried webhook, want 1", n)
		}

		// Meta is unavailable once; it cannot be asked what it took, so the
		// delivery waits for a status naming it, then sends again — once.
		fake.FailNext(1, 503, 2)
		reply, err := s.Twilio.ConversationsV1.CreateConversationMessage(*c.Sid, (&conv.CreateConversationMessageParams{}).
			SetAuthor("agent-ann").SetBody("Llega mañana."))
		if err != nil {
			t.Fatal(err)
		}
		runJobsFor(t, s, 1)
		time.Sleep(1100 * time.Millisecond) // the status grace (1 s in webtest) runs on the wall clock
		runJobsFor(t, s, 3)
		sent := fake.Messages()
		if len(sent) != 1 {
			t.Fatalf("Meta has %d copies of the reply, want 1", len(sent))
		}
		if err := fake.PostStatuses(ctx, hook, sent[0].Status("delivered"), sent[0].Status("read")); err != nil {
			t.Fatal(err)
		}
		if got := receiptStatus(t, s, *c.Sid, *reply.Sid); got != "read" {
			t.Fatalf("receipt %q, want read", got)
		}

		// A day later the window has closed: free text is refused, a
		// template goes out.
		if err := s.DB.Gorm.Exec(`UPDATE channel_contacts SET last_inbound_at = ?`, time.Now().UTC().Add(-25*time.Hour)).Error; err != nil {
			t.Fatal(err)
		}
		_, err = s.Twilio.ConversationsV1.CreateConversationMessage(*c.Sid, (&conv.CreateConversationMessageParams{}).
			SetAuthor("agent-ann").SetBody("¿Algo más?"))
		wantTwilioError(t, err, 63016, 409)
		if _, err := s.Twilio.ConversationsV1.CreateConversationMessage(*c.Sid, (&conv.CreateConversationMessageParams{}).
			SetAuthor("agent-ann").SetContentSid(metaTemplateHX).SetContentVariables(`{"1":"Grace"}`)); err != nil {
			t.Fatal(err)
		}
		runJobsFor(t, s, 1)
		if sent := fake.Messages(); len(sent) != 2 || sent[1].Type != "template" {
			t.Fatalf("sent = %+v", sent)
		}
	})
}

func TestConcurrentRepliesEachReachTheCustomerOnce(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		fake, hook := startTwilio(t, s)
		if _, err := fake.SendInbound(context.Background(), hook, fake.SMS(smsCustomer, twilioNumber, "hi")); err != nil {
			t.Fatal(err)
		}
		c := onlyConversation(t, s)
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.Twilio.ConversationsV1.CreateConversationMessage(*c.Sid, (&conv.CreateConversationMessageParams{}).
					SetAuthor("agent-ann").SetBody("part "+string(rune('A'+i)))); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		var runners sync.WaitGroup
		for range 3 { // several job runners, as on several nodes
			runners.Add(1)
			go func() {
				defer runners.Done()
				if _, err := s.Jobs.RunDue(context.Background()); err != nil {
					t.Error(err)
				}
			}()
		}
		runners.Wait()
		seen := map[string]int{}
		for _, m := range fake.Messages() {
			seen[m.Body]++
		}
		if len(seen) != 10 {
			t.Fatalf("Twilio got %d distinct replies, want 10: %v", len(seen), seen)
		}
		for body, n := range seen {
			if n != 1 {
				t.Fatalf("%q sent %d times", body, n)
			}
		}
	})
}
